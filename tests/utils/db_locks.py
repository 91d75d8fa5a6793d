"""A busy database on purpose: another connection holds a write lock, an engine waits only briefly.

    with lock_held(engine, Draft, draft_id): ...   SQLite: BEGIN IMMEDIATE on a connection of its
                                                   own (no one else may write); PostgreSQL: that
                                                   row, SELECT ... FOR UPDATE in an open transaction
    impatient_engine(engine)                       the same database through core.platform.db.make_engine,
                                                   waiting WAIT_MS for a lock instead of 5 s
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from core.platform.db import make_engine

WAIT_MS = 100


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def impatient_engine(engine: Engine, wait_ms: int = WAIT_MS) -> Engine:
    """An engine made by make_engine (so with its error handling) that gives up on a lock after wait_ms."""
    made = make_engine(url_of(engine))
    statement = f"PRAGMA busy_timeout={wait_ms}" if is_sqlite(made) else f"SET lock_timeout = {wait_ms}"

    @event.listens_for(made, "connect")
    def _short_waits(dbapi_connection, _record):  # runs after make_engine's own pragmas
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if not is_sqlite(made):
            dbapi_connection.commit()

    return made


@contextmanager
def lock_held(engine: Engine, table: type, row_id: int | str, column: str = "id") -> Iterator[None]:
    """Another connection holds the write lock (SQLite: the database; PostgreSQL: the row)."""
    if is_sqlite(engine):
        import sqlite3

        holder = sqlite3.connect(engine.url.database, isolation_level=None, timeout=5)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        return
    with engine.connect() as connection:
        name = table.__tablename__
        connection.execute(text(f'SELECT 1 FROM "{name}" WHERE "{column}" = :id FOR UPDATE'), {"id": row_id})
        try:
            yield
        finally:
            connection.rollback()
