"""Additive schema upgrades: columns a table gained after a database file was made.

`create_schema` (SQLModel's create_all) makes missing tables but never touches an existing
one, so a column added to a model later (ThresholdPolicy.rule, say) is missing from an older
database and every query of that table fails. `add_missing_columns(engine)` adds each such
column, with the model's scalar default as its SQL default, so old rows read as that default.
It never drops, renames or retypes anything; run it right after create_all (idempotent).
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from core import models  # noqa: F401  (registers the tables)


def add_missing_columns(engine: Engine) -> list[str]:
    """Add every model column missing from its existing table; return "table.column" of each added."""
    inspector = inspect(engine)
    added: list[str] = []
    with engine.begin() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            existing = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in existing or column.primary_key:
                    continue
                column_type = column.type.compile(dialect=engine.dialect)
                connection.exec_driver_sql(
                    f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {column_type}{_default_clause(column)}'
                )
                added.append(f"{table.name}.{column.name}")
    return added


def _default_clause(column) -> str:
    default = getattr(column.default, "arg", None)
    if isinstance(default, bool):
        return f" DEFAULT {int(default)}"
    if isinstance(default, (int, float)):
        return f" DEFAULT {default!r}"
    if isinstance(default, str):
        return " DEFAULT '" + default.replace("'", "''") + "'"
    return ""
