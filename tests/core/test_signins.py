"""Sign-in sessions (core.access.signins and the account use cases): creation, lookup by token,
idle and absolute expiry, revocation (sign-out, disable, role and password changes), hashing."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlmodel import select

from core.access import signins
from core.access.actors import SYSTEM
from core.platform.config import Settings
from core.platform.errors import AuthenticationError, NotFoundError
from core.platform.models import AuditEvent, SignInSession, utcnow
from core.usecases import accounts
from tests.utils.factories import PASSWORD, make_user

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

RULES = signins.SessionRules(idle=timedelta(minutes=30), max_age=timedelta(hours=12))


@pytest.fixture
def admin(db):
    return make_user(db, "root", "admin")


def _sign_in(runtime, username="writer", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"):
    return accounts.start_sign_in(runtime, username=username, password=PASSWORD, address="10.1.2.3",
                                  user_agent=user_agent)


def test_signing_in_stores_only_a_hash_of_a_random_token(runtime, db, writer):
    user, token = _sign_in(runtime)
    other_user, other = _sign_in(runtime)

    assert user.id == writer.id == other_user.id and token != other
    assert signins.TOKEN_PATTERN.fullmatch(token)  # 32 random bytes, URL-safe
    rows = db.exec(select(SignInSession).order_by(SignInSession.id)).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(t.encode()).hexdigest() for t in (token, other)]
    stored = " ".join(str(value) for r in rows for value in r.model_dump().values())
    assert token not in stored and other not in stored
    assert rows[0].address == "10.1.2.3" and "Chrome" in rows[0].user_agent
    assert rows[0].expires_at - rows[0].created_at == timedelta(hours=12)


def test_a_token_is_looked_up_to_its_user(runtime, writer):
    _, token = _sign_in(runtime)

    found = accounts.look_up_sign_in(runtime, token=token)

    assert found.signed_in and found.user.id == writer.id and found.ended == ""


@pytest.mark.parametrize("token", [None, "", "x" * 43, "not a token", "a" * 200])
def test_unknown_or_malformed_tokens_stand_for_nobody(runtime, writer, token):
    _sign_in(runtime)
    found = accounts.look_up_sign_in(runtime, token=token)
    assert not found.signed_in and found.ended == signins.UNKNOWN


def test_wrong_password_makes_no_sign_in(runtime, db, writer):
    with pytest.raises(AuthenticationError):
        accounts.start_sign_in(runtime, username="writer", password="wrong-one", address="10.1.2.3")
    assert db.exec(select(SignInSession)).all() == []


def test_last_seen_is_written_at_most_once_a_minute(db, writer):
    now = utcnow()
    token, row = signins.start(db, user_id=writer.id, rules=RULES, now=now)

    signins.look_up(db, token, rules=RULES, now=now + timedelta(seconds=30))
    db.expire_all()
    assert db.get(SignInSession, row.id).last_seen_at == now  # not written again yet
    signins.look_up(db, token, rules=RULES, now=now + timedelta(seconds=61))
    db.expire_all()
    assert db.get(SignInSession, row.id).last_seen_at == now + timedelta(seconds=61)


def test_an_idle_sign_in_ends_and_is_audited(db, writer):
    now = utcnow()
    token, row = signins.start(db, user_id=writer.id, rules=RULES, now=now)

    assert signins.look_up(db, token, rules=RULES, now=now + timedelta(minutes=29)).signed_in
    late = signins.look_up(db, token, rules=RULES, now=now + timedelta(minutes=29 + 31))

    assert not late.signed_in and late.ended == signins.IDLE
    assert db.get(SignInSession, row.id).revoked_reason == "idle"
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_out")).one()
    assert event.actor_id == writer.id and event.detail == {"reason": "idle"}
    # once ended it stays ended, even if the clock were to go back
    assert signins.look_up(db, token, rules=RULES, now=now).ended == signins.REVOKED


def test_activity_keeps_a_sign_in_only_until_its_absolute_end(db, writer):
    now = utcnow()
    token, _ = signins.start(db, user_id=writer.id, rules=RULES, now=now)
    for minutes in range(20, 12 * 60, 20):  # busy all day: never idle
        assert signins.look_up(db, token, rules=RULES, now=now + timedelta(minutes=minutes)).signed_in

    assert signins.look_up(db, token, rules=RULES, now=now + timedelta(hours=12)).ended == signins.EXPIRED


def test_idle_and_lifetime_come_from_the_settings(monkeypatch, engine, writer):
    monkeypatch.setenv("DRAFTGATE_SESSION_IDLE_MINUTES", "0")
    monkeypatch.setenv("DRAFTGATE_SESSION_MAX_HOURS", "2")
    rules = signins.SessionRules.from_settings(Settings())
    assert rules.idle is None and rules.max_age == timedelta(hours=2)
    assert signins.SessionRules.from_settings(Settings(session_max_hours=12, session_idle_minutes=5)).idle == timedelta(minutes=5)


def test_sign_out_revokes_this_browser_only(runtime, db, writer):
    _, first = _sign_in(runtime)
    _, second = _sign_in(runtime)

    assert accounts.end_sign_in(runtime, token=first) is True
    assert accounts.end_sign_in(runtime, token=first) is False  # already ended

    assert accounts.look_up_sign_in(runtime, token=first).ended == signins.REVOKED
    assert accounts.look_up_sign_in(runtime, token=second).signed_in
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_out")).all()
    assert [(e.actor_id, e.detail) for e in events] == [(writer.id, {"reason": "sign_out"})]


def test_disabling_a_user_revokes_their_sign_ins(runtime, admin, writer):
    _, token = _sign_in(runtime)
    accounts.set_disabled(runtime, SYSTEM, username="writer", disabled=True)
    accounts.set_disabled(runtime, SYSTEM, username="writer", disabled=False)

    found = accounts.look_up_sign_in(runtime, token=token)
    assert not found.signed_in and found.sign_in.revoked_reason == "disabled"


def test_a_role_change_revokes_their_sign_ins(runtime, admin, writer):
    _, token = _sign_in(runtime)
    _, admins = _sign_in(runtime, username="root")
    accounts.set_role(runtime, SYSTEM, username="writer", role="writer")  # no change: nothing ends
    assert accounts.look_up_sign_in(runtime, token=token).signed_in

    accounts.set_role(runtime, SYSTEM, username="writer", role="reviewer")

    assert accounts.look_up_sign_in(runtime, token=token).sign_in.revoked_reason == "role"
    assert accounts.look_up_sign_in(runtime, token=admins).signed_in  # other users keep theirs


def test_a_password_reset_revokes_every_sign_in(runtime, admin, writer):
    _, token = _sign_in(runtime)
    accounts.reset_password(runtime, SYSTEM, username="writer", new_password="another-secret-1")
    assert accounts.look_up_sign_in(runtime, token=token).sign_in.revoked_reason == "password"


def test_changing_ones_password_signs_out_the_other_browsers(runtime, writer):
    _, here = _sign_in(runtime)
    _, elsewhere = _sign_in(runtime)
    this = accounts.look_up_sign_in(runtime, token=here)

    accounts.change_password(runtime, this.user, old_password=PASSWORD, new_password="another-secret-1",
                             keep_sign_in_id=this.sign_in.id)

    assert accounts.look_up_sign_in(runtime, token=here).signed_in
    assert accounts.look_up_sign_in(runtime, token=elsewhere).sign_in.revoked_reason == "password"


def test_the_account_lists_and_ends_its_own_sign_ins(runtime, writer, admin):
    _, phone = _sign_in(runtime, user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1")
    _, laptop = _sign_in(runtime)
    _, admins = _sign_in(runtime, username="root")
    listed = accounts.list_sign_ins(runtime, writer)
    assert [signins.describe_device(s.user_agent) for s in listed] == ["Chrome on Linux", "Safari on iPhone"]

    with pytest.raises(NotFoundError):  # not one of theirs
        accounts.end_own_sign_in(runtime, writer, sign_in_id=accounts.look_up_sign_in(runtime, token=admins).sign_in.id)
    accounts.end_own_sign_in(runtime, writer, sign_in_id=listed[1].id)
    assert [s.id for s in accounts.list_sign_ins(runtime, writer)] == [listed[0].id]
    assert accounts.look_up_sign_in(runtime, token=phone).ended == signins.REVOKED

    assert accounts.sign_out_everywhere(runtime, writer) == 1
    assert accounts.list_sign_ins(runtime, writer) == []
    assert not accounts.look_up_sign_in(runtime, token=laptop).signed_in
    assert accounts.look_up_sign_in(runtime, token=admins).signed_in


def test_deleting_a_user_deletes_their_sign_ins(runtime, db, writer, admin):
    _, token = _sign_in(runtime)
    accounts.delete_user(runtime, SYSTEM, username="writer")
    assert db.exec(select(SignInSession)).all() == []
    assert not accounts.look_up_sign_in(runtime, token=token).signed_in


@pytest.mark.parametrize(("agent", "device"), [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36 Edg/130.0", "Edge on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0; rv:131.0) Gecko/20100101 Firefox/131.0", "Firefox on macOS"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/130.0 Safari/537.36", "Chrome on Linux"),
    ("curl/8.5", "other client"),
    ("", "unknown device"),
])
def test_devices_are_named_from_the_user_agent(agent, device):
    assert signins.describe_device(agent) == device
