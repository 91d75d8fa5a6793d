"""tests/core/test_moderation.py on PostgreSQL."""

from tests.core.test_moderation import *  # noqa: F403
