"""Schema migrations (Alembic), the same on SQLite and PostgreSQL.

    upgrade(engine)          apply the pending migrations (the app does it on start; so does
                             `python -m core migrate`); safe when several processes start at once
    status(engine)           the database's revision, the code's head, what is pending
    differences(engine)      what the database lacks or has beyond the models (alembic's
                             compare_metadata); empty when migrations and models agree
    new_revision(message)    write the next numbered migration from the models' changes
                             (`python -m core migrate --revision "add X"`): no database needed

Migrations live in core/migrations/versions/, numbered 0001, 0002, ... There is no alembic.ini:
`alembic_config()` builds the configuration, and env.py takes the open connection from it.

A database made before migrations existed (by SQLModel's create_all, with no alembic_version
table) is adopted when it holds every table and column of the first migration: it is stamped
at 0001, then upgraded. One that lacks some is refused with a message naming what is missing;
nothing is changed then, because guessing how an unknown schema came to be could lose data.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from core.platform import models  # noqa: F401  (registers the tables)
from core.platform.errors import DraftgateError

MIGRATIONS_DIR = Path(__file__).resolve().parent
BASELINE = "0001"  # the first migration: the schema as it was when migrations began
VERSION_TABLE = "alembic_version"
_PG_LOCK_KEY = 0x44524654  # "DRFT": one advisory lock so replicas starting together migrate once


class MigrationError(DraftgateError):
    """The database cannot be brought to the code's schema automatically."""


@dataclass(frozen=True)
class MigrationStatus:
    current: str | None  # None: no migration applied yet (empty or pre-migration database)
    head: str
    pending: tuple[str, ...]  # revisions still to apply, oldest first
    legacy: bool = False  # tables exist but no alembic_version (made by create_all)

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.legacy


@dataclass(frozen=True)
class UpgradeReport:
    before: str | None
    after: str
    applied: tuple[str, ...] = field(default_factory=tuple)
    adopted: bool = False  # a pre-migration database was stamped at the baseline first


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    config.attributes["connection"] = connection
    return config


@functools.lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _script().get_current_head()
    if head is None:
        raise MigrationError(f"No migration found in {MIGRATIONS_DIR / 'versions'}: the installation is incomplete.")
    return head


def status(engine: Engine) -> MigrationStatus:
    with engine.connect() as connection:
        return _status(connection)


def _status(connection: Connection) -> MigrationStatus:
    current = MigrationContext.configure(connection).get_current_revision()
    script = _script()
    head = head_revision()
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise MigrationError(
            f"The database is at migration {current}, which this version of Draftgate does not know: "
            "a newer version upgraded it. Run that version (or newer) against this database."
        )
    legacy = current is None and _has_draftgate_tables(connection)
    if current == head:
        pending: list[str] = []
    else:
        pending = [rev.revision for rev in script.iterate_revisions(head, current or "base")]
        pending.reverse()
    return MigrationStatus(current, head, tuple(pending), legacy)


def upgrade(engine: Engine, *, revision: str = "head") -> UpgradeReport:
    """Apply every pending migration (up to `revision`). Raises MigrationError when it cannot."""
    with engine.connect() as connection, _exclusive(connection):
        before = _status(connection)
        if before.legacy:
            _adopt(connection)
        pending = _status(connection).pending
        _run(connection, revision)
        connection.commit()
        after = MigrationContext.configure(connection).get_current_revision()
    if after is None:
        raise MigrationError(f"Upgrading to {revision} left the database without a migration applied.")
    applied = pending[: pending.index(after) + 1] if after in pending else ()
    return UpgradeReport(before.current, after, applied, before.legacy)


def differences(engine: Engine) -> list[Any]:
    """Alembic's compare_metadata of the database against the models: [] when they agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def new_revision(message: str, *, directory: Path | None = None) -> Path:
    """Autogenerate the next migration from the difference between head and the models.

    The comparison runs against a scratch SQLite database upgraded to head, so no server is
    needed. Read the file it writes: a rename shows up as a drop and an add, and a server
    default is spelled as SQLite would (sa.text('0') for false: write sa.false() so that
    PostgreSQL takes it too). tests/services runs every migration on both databases.
    """
    import tempfile

    from alembic import command

    if not message.strip():
        raise MigrationError("Describe the migration in a few words (e.g. --revision 'add draft tags').")
    numbers = [int(rev.revision) for rev in _script().walk_revisions() if rev.revision.isdigit()]
    rev_id = f"{max(numbers, default=0) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        try:
            upgrade(engine)
            if not differences(engine):
                raise MigrationError("The models match the latest migration: there is nothing to write.")
            with engine.connect() as connection:
                config = alembic_config(connection)
                if directory is not None:  # write there, still reading the real chain
                    locations = [str(MIGRATIONS_DIR / "versions"), str(directory)]
                    config.set_main_option("version_locations", os.pathsep.join(locations))
                script = command.revision(
                    config, message=message, autogenerate=True, rev_id=rev_id,
                    version_path=str(directory) if directory is not None else None,
                )
        finally:
            engine.dispose()
    _script.cache_clear()
    if not isinstance(script, Script):  # a list or None only when the chain has several heads
        raise MigrationError("The migrations have more than one head: chain them before writing a new one.")
    return Path(script.path)


# -- internals -----------------------------------------------------------------------------------


def _run(connection: Connection, destination: str) -> None:
    script = _script()
    config = alembic_config(connection)

    def upgrade_steps(rev, _context):
        return script._upgrade_revs(destination, rev)

    with EnvironmentContext(config, script, fn=upgrade_steps, destination_rev=destination):
        script.run_env()


def _stamp(connection: Connection, revision: str) -> None:
    script = _script()
    config = alembic_config(connection)

    def stamp_steps(rev, _context):
        return script._stamp_revs(revision, rev)

    with EnvironmentContext(config, script, fn=stamp_steps, destination_rev=revision):
        script.run_env()


def _has_draftgate_tables(connection: Connection) -> bool:
    tables = set(inspect(connection).get_table_names())
    return bool(tables & set(baseline_schema()))


def _adopt(connection: Connection) -> None:
    """Stamp a create_all database at the baseline if it has all of it; else refuse."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    missing: list[str] = []
    for table, columns in sorted(baseline_schema().items()):
        if table not in present:
            missing.append(f"table {table}")
            continue
        have = {column["name"] for column in inspector.get_columns(table)}
        missing.extend(f"{table}.{column}" for column in sorted(columns - have))
    if missing:
        shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
        raise MigrationError(
            "This database was created before Draftgate used migrations, and it lacks parts of the "
            f"first migration's schema ({shown}), so it cannot be adopted safely. Back it up, then "
            "either point DRAFTGATE_DATABASE_URL at a new, empty database (and move the data with "
            "`python -m core export`-style tools or SQL), or add the missing tables and columns by "
            "hand and start again."
        )
    connection.commit()
    _stamp(connection, BASELINE)


@functools.lru_cache(maxsize=1)
def baseline_schema() -> dict[str, frozenset[str]]:
    """Table -> column names that the first migration creates (run once on in-memory SQLite)."""
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            _run(connection, BASELINE)
            connection.commit()
            inspector = inspect(connection)
            return {
                table: frozenset(column["name"] for column in inspector.get_columns(table))
                for table in inspector.get_table_names()
                if table != VERSION_TABLE
            }
    finally:
        engine.dispose()


@contextlib.contextmanager
def _exclusive(connection: Connection) -> Iterator[None]:
    """One migrating process at a time: an advisory lock on PostgreSQL, a file lock on SQLite.

    On SQLite, foreign keys are off while migrating: batch mode copies and drops tables, which
    enforced foreign keys would refuse (the pragma cannot change inside a transaction).
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({_PG_LOCK_KEY})")
        connection.commit()
        try:
            yield
        finally:
            connection.rollback()
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})")
            connection.commit()
        return
    if dialect == "sqlite":
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with _file_lock(connection.engine.url.database):
                yield
        finally:
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
        return
    yield


@contextlib.contextmanager
def _file_lock(database: str | None) -> Iterator[None]:
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one process migrates SQLite there anyway
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

