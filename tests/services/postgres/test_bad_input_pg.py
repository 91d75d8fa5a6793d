"""tests/core/test_bad_input.py on PostgreSQL (where NUL and over-long names used to raise a raw DataError)."""

from tests.core.test_bad_input import *  # noqa: F403
