"""tests/core/test_key_rotation.py on PostgreSQL."""

from tests.core.test_key_rotation import *  # noqa: F403
