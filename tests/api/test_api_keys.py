"""API keys (core.access.api_keys): shown once, stored hashed, refused when they should be,
managed by their owner or an admin, last use written at most once a minute, deleted with their user."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from core.access.actors import SYSTEM
from core.access.api_keys import (
    KEY_PATTERN,
    LastUseRecorder,
    authenticate_key,
    create_api_key,
    list_api_keys,
    projects_for_key,
    revoke_api_key,
)
from core.access.privacy import delete_user_data, export_json, export_user_data, summary
from core.access.users import set_disabled, set_role
from core.platform.db import create_schema, make_engine, open_session
from core.platform.errors import AuthenticationError, InvalidInputError, NotFoundError, PermissionDeniedError
from core.platform.models import ApiKey, AuditEvent, IdempotencyRecord, utcnow
from tests.api.conftest import gather
from tests.utils.factories import make_project, make_user

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def admin(db):
    return make_user(db, "admin", "admin")


def test_the_key_is_shown_once_and_only_its_sha256_is_stored(engine, db, writer):
    created = create_api_key(session=db, user_id=writer.id, name="CMS", actor_id=SYSTEM)

    assert KEY_PATTERN.fullmatch(created.key)
    row = db.get(ApiKey, created.id)
    assert row.key_hash == hashlib.sha256(created.key.encode()).hexdigest()
    assert row.prefix == created.key[:11] == created.view.prefix
    with engine.connect() as connection:
        dumped = json.dumps([list(map(str, r)) for table in ("apikey", "auditevent")
                             for r in connection.exec_driver_sql(f'SELECT * FROM "{table}"')])
    assert created.key not in dumped and created.key[11:] not in dumped
    assert created.key not in json.dumps(created.view.to_dict(), default=str)


def test_two_keys_never_repeat(db, writer):
    keys = {create_api_key(session=db, user_id=writer.id, name=f"k{i}", actor_id=SYSTEM).key for i in range(20)}

    assert len(keys) == 20


def test_a_key_acts_as_its_user_with_the_role_they_have_now(db, writer, admin):
    key = create_api_key(session=db, user_id=writer.id, name="CMS", actor_id=SYSTEM).key
    assert authenticate_key(session=db, key=key).role == "writer"

    set_role(session=db, user_id=writer.id, role="reviewer", actor_id=admin.id)

    caller = authenticate_key(session=db, key=key)
    assert (caller.user_id, caller.username, caller.role) == (writer.id, "writer", "reviewer")


@pytest.mark.parametrize("key", ["", "dg_", "dg_short", "sk-" + "a" * 43, "dg_" + "a" * 42 + "!", None, 7,
                                 "dg_" + "a" * 43 + "\x00", "dg_" + "é" * 43])
def test_a_malformed_key_is_refused_without_a_query(engine, db, key):
    queries = []
    event.listen(engine, "before_cursor_execute", lambda *args: queries.append(args[2]))

    with pytest.raises(AuthenticationError, match="Invalid API key"):
        authenticate_key(session=db, key=key)

    assert queries == []


def test_an_unknown_revoked_expired_or_disabled_key_is_refused(db, writer, admin):
    unknown = "dg_" + "A" * 43
    revoked = create_api_key(session=db, user_id=writer.id, name="old", actor_id=SYSTEM)
    revoke_api_key(session=db, key_id=revoked.id, actor_id=writer.id)
    expiring = create_api_key(session=db, user_id=writer.id, name="short", actor_id=SYSTEM, expires_days=1)
    other = make_user(db, "other", "writer")
    of_disabled = create_api_key(session=db, user_id=other.id, name="theirs", actor_id=SYSTEM)
    set_disabled(session=db, user_id=other.id, disabled=True, actor_id=admin.id)

    with pytest.raises(AuthenticationError, match="Invalid API key"):
        authenticate_key(session=db, key=unknown)
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate_key(session=db, key=revoked.key)
    assert authenticate_key(session=db, key=expiring.key, now=utcnow() + timedelta(hours=23)).key_id == expiring.id
    with pytest.raises(AuthenticationError, match="expired"):
        authenticate_key(session=db, key=expiring.key, now=utcnow() + timedelta(days=1, seconds=1))
    with pytest.raises(AuthenticationError, match="disabled"):
        authenticate_key(session=db, key=of_disabled.key)


def test_users_manage_their_own_keys_and_admins_anyones(db, writer, reviewer, admin):
    own = create_api_key(session=db, user_id=writer.id, name="mine", actor_id=writer.id)
    by_admin = create_api_key(session=db, user_id=reviewer.id, name="for you", actor_id=admin.id)

    with pytest.raises(PermissionDeniedError):
        create_api_key(session=db, user_id=reviewer.id, name="not mine", actor_id=writer.id)
    with pytest.raises(NotFoundError):  # someone else's key does not exist for a writer
        revoke_api_key(session=db, key_id=by_admin.id, actor_id=writer.id)
    assert [view.id for view in list_api_keys(session=db, actor_id=writer.id)] == [own.id]
    with pytest.raises(PermissionDeniedError):
        list_api_keys(session=db, actor_id=writer.id, user_id=reviewer.id)
    assert {view.id for view in list_api_keys(session=db, actor_id=admin.id)} == {own.id, by_admin.id}
    assert revoke_api_key(session=db, key_id=own.id, actor_id=admin.id).state() == "revoked"
    assert revoke_api_key(session=db, key_id=own.id, actor_id=writer.id).state() == "revoked"  # again: no change

    events = db.exec(select(AuditEvent).where(AuditEvent.action.startswith("api_key."))).all()
    assert [(e.action, e.target) for e in events] == [
        ("api_key.create", "writer"), ("api_key.create", "reviewer"), ("api_key.revoke", "writer")]
    assert all(own.key not in json.dumps(e.detail) for e in events)


@pytest.mark.parametrize("options, message", [
    ({"name": " "}, "empty"),
    ({"name": "a\nb"}, "one line"),
    ({"name": "x" * 101}, "too long"),
    ({"qps_limit": 0}, "above 0"),
    ({"qps_limit": float("nan")}, "above 0"),
    ({"qps_limit": True}, "above 0"),
    ({"concurrency_limit": 0}, "whole number"),
    ({"expires_days": 0}, "whole number of days"),
    ({"expires_days": 100_000}, "whole number of days"),
    ({"ip_allowlist": "10.0.0.1/8"}, "host bits"),
    ({"ip_allowlist": "somewhere"}, "not an IP address"),
])
def test_a_bad_setting_is_refused_with_a_clear_message_and_nothing_stored(db, writer, options, message):
    with pytest.raises(InvalidInputError, match=message):
        create_api_key(session=db, user_id=writer.id, actor_id=SYSTEM, **{"name": "k", **options})

    assert db.exec(select(ApiKey)).all() == []


def test_a_key_for_a_missing_project_or_user_is_refused(db, writer):
    with pytest.raises(NotFoundError):
        create_api_key(session=db, user_id=writer.id, name="k", actor_id=SYSTEM, project_id=999)
    with pytest.raises(NotFoundError):
        create_api_key(session=db, user_id=999, name="k", actor_id=SYSTEM)


def test_a_project_key_sees_only_its_project(db, writer):
    first, second, third = (make_project(db, name) for name in ("A", "B", "C"))
    scoped = create_api_key(session=db, user_id=writer.id, name="k", actor_id=SYSTEM, project_id=second.id)
    anywhere = create_api_key(session=db, user_id=writer.id, name="k", actor_id=SYSTEM)

    rows, more = projects_for_key(session=db, caller=authenticate_key(session=db, key=scoped.key))
    assert [row.name for row in rows] == ["B"] and not more
    page, more = projects_for_key(session=db, caller=authenticate_key(session=db, key=anywhere.key), limit=2)
    assert [row.name for row in page] == ["A", "B"] and more
    rest, more = projects_for_key(session=db, caller=authenticate_key(session=db, key=anywhere.key),
                                  after=page[-1].id, limit=2)
    assert [row.name for row in rest] == ["C"] and not more


# -- last use -------------------------------------------------------------------------------


def _updates_of_apikey(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *rest: seen.append(statement) if statement.startswith("UPDATE apikey") else None)
    return seen


def test_last_use_is_written_at_most_once_a_minute(engine, db, writer):
    key = create_api_key(session=db, user_id=writer.id, name="busy", actor_id=SYSTEM).key
    now = [1000.0]
    recorder = LastUseRecorder(clock=lambda: now[0])
    updates = _updates_of_apikey(engine)
    start = utcnow()

    written = [recorder.record(session=db, caller=authenticate_key(session=db, key=key), now=start + timedelta(seconds=i))
               for i in range(50)]
    assert written == [True] + [False] * 49 and len(updates) == 1
    now[0] += 61
    assert recorder.record(session=db, caller=authenticate_key(session=db, key=key), now=start + timedelta(seconds=61))
    assert len(updates) == 2
    db.expire_all()
    assert db.get(ApiKey, 1).last_used_at == start + timedelta(seconds=61)


def _record_uses(barrier, results, url: str, key: str, times: int) -> None:
    from core.access.api_keys import LastUseRecorder, authenticate_key
    from core.platform.db import make_engine, open_session

    engine = make_engine(url)
    recorder = LastUseRecorder()
    barrier.wait()
    wrote = 0
    for _ in range(times):
        with open_session(engine) as db:
            wrote += recorder.record(session=db, caller=authenticate_key(session=db, key=key))
    engine.dispose()
    results.put(wrote)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_four_processes_using_one_key_write_its_last_use_once(request, tmp_path, database):
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'keys.db'}"
        engine = make_engine(url)
        create_schema(engine)
    else:
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url)
    with open_session(engine) as db:
        user = make_user(db, f"busy-{database}", "writer")
        key = create_api_key(session=db, user_id=user.id, name="shared", actor_id=SYSTEM).key
    engine.dispose()
    barrier, results = SPAWN.Barrier(4), SPAWN.Queue()
    processes = [SPAWN.Process(target=_record_uses, args=(barrier, results, url, key, 25)) for _ in range(4)]
    for process in processes:
        process.start()

    assert sum(gather(processes, results)) == 1


# -- privacy --------------------------------------------------------------------------------


def test_export_lists_the_users_keys_without_any_hash(db, writer):
    created = create_api_key(session=db, user_id=writer.id, name="CMS", actor_id=SYSTEM, expires_days=30)

    document = export_user_data(session=db, user_id=writer.id, actor_id=writer.id)

    [shown] = document["api_keys"]
    assert shown["name"] == "CMS" and shown["prefix"] == created.view.prefix and shown["expires_at"]
    text = export_json(document)
    assert db.get(ApiKey, created.id).key_hash not in text and created.key not in text


def test_deleting_a_user_deletes_their_keys_and_the_answers_stored_for_them(db, writer, reviewer, admin):
    mine = create_api_key(session=db, user_id=writer.id, name="CMS", actor_id=SYSTEM)
    theirs = create_api_key(session=db, user_id=reviewer.id, name="bot", actor_id=SYSTEM)
    db.add(IdempotencyRecord(api_key_id=mine.id, key="k1", request_hash="h", status="completed",
                             response={"body": {"text": "the writer's draft"}}))
    db.add(IdempotencyRecord(api_key_id=theirs.id, key="k1", request_hash="h"))
    db.commit()

    report = delete_user_data(session=db, user_id=writer.id, actor_id=admin.id)

    assert report.api_keys == 1 and "1 API key" in summary(report)
    assert [row.id for row in db.exec(select(ApiKey))] == [theirs.id]
    assert [row.api_key_id for row in db.exec(select(IdempotencyRecord))] == [theirs.id]
    with pytest.raises(AuthenticationError):
        authenticate_key(session=db, key=mine.key)
