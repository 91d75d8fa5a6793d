"""The suite's watcher of a thread taking a second pooled connection while it holds one
(tests/utils/connections.py, on in every test through tests/conftest.py)."""

from __future__ import annotations

import threading

from sqlalchemy import text

from core.platform.db import open_session
from tests.utils.connections import ROOT

# app code (a file under core/) in the three shapes the watcher tells apart
APP_CODE = '''
def nested(engine):
    with open_session(engine) as outer:
        outer.exec(text("SELECT 1"))
        with open_session(engine) as inner:
            inner.exec(text("SELECT 1"))


def one_after_another(engine):
    with open_session(engine) as first:
        first.exec(text("SELECT 1"))
    with open_session(engine) as second:
        second.exec(text("SELECT 1"))


def read(session):
    session.exec(text("SELECT 1"))
'''


def app_code() -> dict:
    namespace = {"open_session": open_session, "text": text}
    exec(compile(APP_CODE, str(ROOT / "core" / "nesting_example.py"), "exec"), namespace)
    return namespace


def test_app_code_holding_a_connection_while_it_takes_a_second_is_found(engine, one_connection_at_a_time):
    app_code()["nested"](engine)

    [found] = one_connection_at_a_time.found
    assert found.held[0].startswith("core/nesting_example.py:4 nested")
    assert found.taken[0].startswith("core/nesting_example.py:6 nested")
    one_connection_at_a_time.found.clear()  # (found on purpose: the test passes)


def test_one_connection_after_another_is_not_nesting(engine, one_connection_at_a_time):
    app_code()["one_after_another"](engine)

    assert one_connection_at_a_time.found == []


def test_a_session_the_test_holds_is_not_the_apps(engine, db, one_connection_at_a_time):
    code = app_code()
    code["read"](db)  # the app's code read in the test's session and returned: the test holds it now

    code["one_after_another"](engine)

    assert one_connection_at_a_time.found == []


def test_a_connection_another_thread_holds_is_not_nesting(engine, one_connection_at_a_time):
    code, taken, done = app_code(), threading.Event(), threading.Event()

    def hold() -> None:
        with open_session(engine) as held:
            code["read"](held)
            taken.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(10)
        code["one_after_another"](engine)
    finally:
        done.set()
        holder.join(10)

    assert one_connection_at_a_time.found == []
