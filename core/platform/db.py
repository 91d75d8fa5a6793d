"""Engine factory: SQLite (WAL, busy timeout) by default, PostgreSQL (psycopg 3) by URL.

    make_engine(url)      sqlite:///path, or postgresql+psycopg://user:password@host:5432/name
                          (postgres:// and postgresql:// are read as psycopg 3 too); `connections`:
                          how many this process may use at once, if more than the pool's default
                          (a worker running many jobs on threads: core.jobs.rq_threads); on either, a
                          statement that meets a busy database (SQLite "database is locked",
                          PostgreSQL lock or statement timeouts, deadlocks) raises
                          core.platform.errors.DatabaseBusyError, a message the user can act on: retry
    create_schema(engine) bring the database to the code's schema: the pending Alembic
                          migrations (core.platform.migrations), never create_all
    open_session(engine)  one session per unit of work; objects stay readable after commit
    SQLite writers of one process take turns on a lock of their own (_WriteGate) before SQLite's:
                          a writer waiting for another thread's transaction wakes as soon as it
                          ends, where SQLite's busy handler would sleep 1, 2, 5 ... 100 ms between tries
    chunks(ids)           ids in slices small enough for one `IN (...)` (SQLite's parameter limit)
    engine_of(session)    the engine a session works on (its bind, or the bind's engine)
    saved_id(row)         the primary key of a row that has been flushed (typed `int`, not `int | None`)
    saved_ids(found)      the IDs a `select(col(Model.id))` found, typed `list[int]`
    insert_row(session, Model, **values)   one row of a table model, as Model(**values) would be
                          saved, without making the object (its ORM flush cost more than the INSERT)
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache, partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic_core import PydanticUndefined
from sqlalchemy import Insert, Table, event
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlmodel import Session, SQLModel, create_engine

from core.platform import models  # noqa: F401  (registers the tables)
from core.platform.errors import DatabaseBusyError

# Per process: Streamlit runs each browser session in a thread, so a replica may hold this many
# connections (pool + overflow); PostgreSQL's default max_connections of 100 fits three replicas
# and a few workers (one with --threads N may hold N + 4: make_engine's `connections`). Raise
# max_connections (or put PgBouncer in front) for more.
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 20
PG_CONNECT_TIMEOUT_S = 5
SQLITE_BUSY_TIMEOUT_MS = 5000  # how long a SQLite writer waits for another one's lock
# SQLite connections are cheap, and a page thread or job holds one only for a unit of work: room
# for 64 concurrent turns and their jobs without waiting for a connection
SQLITE_POOL_SIZE = 20
SQLITE_MAX_OVERFLOW = 80

SQLITE_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (an extended code keeps them in its low byte)
PG_BUSY_STATES = ("55P03", "57014", "40P01")  # lock_not_available, query_canceled (timeouts), deadlock


def normalize_url(url: str) -> str:
    """postgres://... and postgresql://... mean psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def is_busy(error: BaseException) -> bool:
    """Did the driver give up waiting for another writer (sqlite3 or psycopg 3)?"""
    sqlite_code = getattr(error, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF in SQLITE_BUSY_CODES
    return getattr(error, "sqlstate", None) in PG_BUSY_STATES


def _busy_is_retryable(context: ExceptionContext) -> None:
    """A busy database becomes DatabaseBusyError (SQLAlchemy raises it from the driver's error,
    after its own clean-up); any other error is left as it is."""
    if is_busy(context.original_exception):
        raise DatabaseBusyError


def make_engine(url: str, *, connections: int = 0) -> Engine:
    engine = _make_engine(normalize_url(url), connections)
    event.listen(engine, "handle_error", _busy_is_retryable)
    return engine


def _make_engine(url: str, connections: int) -> Engine:
    if not url.startswith("sqlite"):
        connect_args = {}
        if make_url(url).get_backend_name() == "postgresql":
            connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_S, "application_name": "draftgate"}
        return create_engine(
            url, pool_pre_ping=True, pool_size=PG_POOL_SIZE,
            max_overflow=max(PG_MAX_OVERFLOW, connections - PG_POOL_SIZE), connect_args=connect_args,
        )
    db_path = url.removeprefix("sqlite:///")
    if db_path and db_path != ":memory:":
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    gate = _write_gate(db_path) if db_path and db_path != ":memory:" else None
    connect_args = {"check_same_thread": False, "timeout": 30}
    if gate is not None:
        connect_args["factory"] = _gated_connection(gate)
    engine = create_engine(url, pool_size=SQLITE_POOL_SIZE,
                           max_overflow=max(SQLITE_MAX_OVERFLOW, connections - SQLITE_POOL_SIZE),
                           connect_args=connect_args)
    if gate is not None:
        event.listen(engine, "before_cursor_execute", _enter_gate_before_writing)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")  # deleted text is overwritten, not left in free pages
        cursor.close()

    return engine


class _WriteGate:
    """One process's turn to write a SQLite file: taken before a transaction's first write, let go
    at its end. Waiting here ends as soon as the writer ahead commits; SQLite's own wait (another
    process, or a second connection of the same thread) still follows, as before."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.owner: int | None = None  # the thread holding it

    def enter(self) -> bool:
        """Take the gate (False: this thread holds it already, or it stayed closed for the busy timeout)."""
        if self.owner == threading.get_ident():
            return False
        if not self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            return False
        self.owner = threading.get_ident()
        return True

    def leave(self) -> None:
        self.owner = None
        self._lock.release()


_gates: dict[str, _WriteGate] = {}
_gates_lock = threading.Lock()
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


def _write_gate(db_path: str) -> _WriteGate:
    with _gates_lock:
        return _gates.setdefault(str(Path(db_path).resolve()), _WriteGate())


def _gated_connection(gate: _WriteGate) -> type[sqlite3.Connection]:
    class GatedConnection(sqlite3.Connection):
        """A sqlite3 connection that lets go of the process's write gate when its transaction ends."""

        holds_gate = False

        def enter_gate(self) -> None:
            if not self.holds_gate:
                self.holds_gate = gate.enter()

        def _leave_gate(self) -> None:
            if self.holds_gate:
                self.holds_gate = False
                gate.leave()

        def _ending(self, end: Callable[[sqlite3.Connection], None]) -> None:
            try:
                end(self)
            finally:
                self._leave_gate()

        def commit(self) -> None:
            self._ending(sqlite3.Connection.commit)

        def rollback(self) -> None:
            self._ending(sqlite3.Connection.rollback)

        def close(self) -> None:
            self._ending(sqlite3.Connection.close)

    return GatedConnection


def _enter_gate_before_writing(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if statement.lstrip()[:15].upper().startswith(_WRITES):
        dbapi_connection = conn.connection.dbapi_connection
        if hasattr(dbapi_connection, "enter_gate"):
            dbapi_connection.enter_gate()


def create_schema(engine: Engine) -> None:
    """Apply the pending migrations (a new database gets every one; see core.platform.migrations)."""
    from core.platform.migrations import upgrade  # alembic loads only where a schema is made

    upgrade(engine)


def open_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


T = TypeVar("T")
IN_CHUNK = 500


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def saved_id(row: _Row) -> int:
    """A table's `id` is None only until the row is flushed; reading it before then is a bug."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush the session first")
    return row.id


def saved_ids(found: Iterable[int | None]) -> list[int]:
    return [row_id for row_id in found if row_id is not None]


Defaults = tuple[tuple[str, Callable[[], Any]], ...]


def insert_row(session: Session, model: type[SQLModel], /, **values: Any) -> int:
    """INSERT one row of the table `model` in the session's transaction and return its id: the
    `values` given, the model's defaults for the others (those of its fields declared with their
    own `sa_column` too, which SQLAlchemy does not know)."""
    statement, defaults = _inserting(model)
    row = {name: make() for name, make in defaults if name not in values} | values
    return int(session.connection().execute(statement, row).scalar_one())


@cache
def _inserting(model: type[SQLModel]) -> tuple[Insert, Defaults]:
    table: Table = model.__table__  # type: ignore[attr-defined]
    defaults: list[tuple[str, Callable[[], Any]]] = []
    for name, field in model.model_fields.items():
        column = table.columns.get(name)
        if column is None or column.primary_key or column.default is not None:
            continue  # SQLAlchemy applies a column's own default
        if field.default_factory is not None:
            defaults.append((name, field.default_factory))  # type: ignore[arg-type]
        elif field.default is not PydanticUndefined:
            defaults.append((name, partial(_same, field.default)))
    return table.insert().returning(table.c.id), tuple(defaults)


def _same(value: Any) -> Any:
    return value
