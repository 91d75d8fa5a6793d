"""tests/core/test_generation_jobs.py on PostgreSQL (Stop from another process, a killed writer included)."""

from tests.core.test_generation_jobs import *  # noqa: F403
