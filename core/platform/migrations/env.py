"""Alembic's environment: always run from core.platform.migrations with a connection handed in.

There is no alembic.ini: core.platform.migrations.alembic_config() builds the configuration and puts
the open connection in `config.attributes["connection"]`. SQLite gets batch mode (ALTER TABLE
there can add a column but not change one; batch mode copies the table instead).
"""

from alembic import context
from sqlmodel import SQLModel

from core.platform import models  # noqa: F401  (registers the tables)

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - guards `alembic` run by hand without our config
    raise RuntimeError("Run migrations with `python -m core migrate`, not the alembic command.")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
