"""tests/core/test_daily_summaries.py on PostgreSQL (its triggers are PL/pgSQL functions there)."""

from tests.core.test_daily_summaries import *  # noqa: F403
