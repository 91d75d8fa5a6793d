"""tests/core/test_query_plans.py on PostgreSQL: the same calls, their plans read with EXPLAIN
(FORMAT JSON). The test database is small (PostgreSQL would rightly read it whole), so each
plan is read with sequential scans and sorts made a last resort (enable_seqscan, enable_sort
off): what is checked is that an index serves each query in its order (a Seq Scan or a Sort
that remains has no index to use instead)."""

import pytest

from bench.pages import fill
from tests.core.test_query_plans import CALLS, DRAFTS, PER_DAY, assert_plans_read_indexes


@pytest.fixture(scope="module")
def engine(pg_engine):  # this module's own: filled once, never emptied (the plans only read)
    fill(pg_engine, DRAFTS, per_day=PER_DAY)
    return pg_engine


@pytest.mark.parametrize("name", list(CALLS))
def test_plans_read_indexes_not_whole_tables(engine, name):
    assert_plans_read_indexes(engine, name)
