"""tests/core/test_presets.py on PostgreSQL."""

from tests.core.test_presets import *  # noqa: F403
