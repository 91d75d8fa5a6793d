"""daily summaries: the dashboard's figures per project and UTC day, and triggers marking changed days (issue 17)

Revision ID: 0012
Revises: 0011
Created: 2026-12-01

`summaryday` holds versions per UTC day; the triggers below add 1 to one in the writer's own
transaction whenever a draft, score or review item of that day changes (a draft's day is that
of its created_at, a decision's that of its decided_at), whatever code writes it: the ORM,
bulk updates and deletes, the privacy deletion, the retention purge. core.review.daily
summarizes a day again into `dailysummary` when its version moved, before the dashboard reads it.
On PostgreSQL each server process (connection) moves a row
of its own (shard: pg_backend_pid()), so concurrent writers never wait for each other's lock on a
day's row; SQLite has one writer at a time and one row per day (shard 0). Existing days are marked here, so the first dashboard summarizes them (`python -m core
summaries --rebuild` does it at once).

A later migration that recreates the draft, score, reviewitem, turn or writingsession table
(SQLite batch mode) drops its triggers: tests/core/test_daily_summaries.py checks that they are
there at head.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DRAFT_COLUMNS = ("turn_id", "status", "route", "route_reasons", "provider", "model", "prompt_tokens",
                 "completion_tokens", "latency_ms", "cache_hit", "created_at")
SCORE_COLUMNS = ("draft_id", "metric", "value")
ITEM_COLUMNS = ("project_id", "state", "created_at", "decided_at", "edited_text")
TRIGGERED = ("draft", "score", "reviewitem", "turn", "writingsession")


def _sqlite_day(moment: str) -> str:
    return f"date({moment})"


def _pg_day(moment: str) -> str:
    return f"to_char(timezone('UTC', {moment}), 'YYYY-MM-DD')"


def _days_of(table: str, row: str, day) -> str:
    """SQL: the days a row of `table` (as OLD or NEW) touches."""
    if table == "draft":
        return f"SELECT {day(row + '.created_at')} AS d"
    if table == "score":
        return f"SELECT {day('draft.created_at')} AS d FROM draft WHERE draft.id = {row}.draft_id"
    if table == "reviewitem":
        return f"SELECT {day(row + '.decided_at')} AS d"
    if table == "turn":
        return f"SELECT DISTINCT {day('draft.created_at')} AS d FROM draft WHERE draft.turn_id = {row}.id"
    return (f"SELECT DISTINCT {day('draft.created_at')} AS d FROM draft JOIN turn ON turn.id = draft.turn_id "
            f"WHERE turn.session_id = {row}.id")


def _events(table: str) -> list[tuple[str, tuple[str, ...]]]:
    """(event, rows it marks) per trigger of `table`."""
    columns = {"draft": DRAFT_COLUMNS, "score": SCORE_COLUMNS, "reviewitem": ITEM_COLUMNS,
               "turn": ("session_id",), "writingsession": ("project_id",)}[table]
    update = (f"UPDATE OF {', '.join(columns)}", ("OLD", "NEW"))
    if table in ("turn", "writingsession"):  # their drafts' days: a draft's own triggers cover the rest
        return [update]
    return [("INSERT", ("NEW",)), ("DELETE", ("OLD",)), update]


def _mark_sqlite(select: str) -> str:
    return (f"INSERT INTO summaryday (day, shard, version, summarized_version) SELECT d, 0, 1, 0 FROM ({select}) AS t "
            "WHERE d IS NOT NULL ON CONFLICT (day, shard) DO UPDATE SET version = summaryday.version + 1;")


def _sqlite_triggers() -> None:
    for table in TRIGGERED:
        for n, (event, rows) in enumerate(_events(table)):
            body = " ".join(_mark_sqlite(_days_of(table, row, _sqlite_day)) for row in rows)
            op.execute(f'CREATE TRIGGER summary_{table}_{n} AFTER {event} ON "{table}" FOR EACH ROW BEGIN {body} END')


def _pg_triggers() -> None:
    op.execute("""
        CREATE FUNCTION summary_mark(marked text) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            IF marked IS NOT NULL THEN
                INSERT INTO summaryday (day, shard, version, summarized_version) VALUES (marked, pg_backend_pid(), 1, 0)
                ON CONFLICT (day, shard) DO UPDATE SET version = summaryday.version + 1;
            END IF;
        END $$""")
    for table in TRIGGERED:
        for n, (event, rows) in enumerate(_events(table)):
            marks = " ".join(f"PERFORM summary_mark(d) FROM ({_days_of(table, row, _pg_day)}) AS t;" for row in rows)
            op.execute(f"CREATE FUNCTION summary_{table}_{n}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                       f"BEGIN {marks} RETURN NULL; END $$")
            op.execute(f'CREATE TRIGGER summary_{table}_{n} AFTER {event} ON "{table}" FOR EACH ROW '
                       f"EXECUTE FUNCTION summary_{table}_{n}()")


def upgrade() -> None:
    op.create_table(
        'summaryday',
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('summarized_version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'shard'),
    )
    op.create_table(
        'dailysummary',
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column('drafts', sa.JSON(), nullable=False),
        sa.Column('latencies', sa.JSON(), nullable=False),
        sa.Column('scores', sa.JSON(), nullable=False),
        sa.Column('decisions', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'day'),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    (_pg_triggers if postgres else _sqlite_triggers)()
    day = _pg_day if postgres else _sqlite_day
    op.execute(f"INSERT INTO summaryday (day, shard, version, summarized_version) "
               f"SELECT {day('created_at')}, 0, 1, 0 FROM draft UNION "
               f"SELECT {day('decided_at')}, 0, 1, 0 FROM reviewitem WHERE decided_at IS NOT NULL")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TRIGGERED:
        for n, _ in enumerate(_events(table)):
            op.execute(f'DROP TRIGGER summary_{table}_{n} ON "{table}"' if postgres else f"DROP TRIGGER summary_{table}_{n}")
            if postgres:
                op.execute(f"DROP FUNCTION summary_{table}_{n}()")
    if postgres:
        op.execute("DROP FUNCTION summary_mark(text)")
    op.drop_table('dailysummary')
    op.drop_table('summaryday')
