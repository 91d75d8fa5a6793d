"""tests/core/test_signins.py on PostgreSQL."""

from tests.core.test_signins import *  # noqa: F403
