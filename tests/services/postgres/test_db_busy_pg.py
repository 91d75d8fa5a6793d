"""PostgreSQL's own timeouts (tests/core/test_db_busy.py runs on both databases)."""

import pytest
from sqlalchemy import event, text

from core.platform.db import make_engine, open_session
from core.platform.errors import DatabaseBusyError
from tests.utils.db_locks import url_of


def test_a_statement_timeout_is_the_same_clear_retryable_error(engine):
    impatient = make_engine(url_of(engine))

    @event.listens_for(impatient, "connect")
    def _short_statements(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 100")
        dbapi_connection.commit()

    try:
        with open_session(impatient) as session, pytest.raises(DatabaseBusyError, match="try again in a moment"):
            session.exec(text("SELECT pg_sleep(5)"))
    finally:
        impatient.dispose()
