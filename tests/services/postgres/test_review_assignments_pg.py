"""tests/core/test_review_assignments.py on PostgreSQL (the bulk race from processes included)."""

from tests.core.test_review_assignments import *  # noqa: F403
