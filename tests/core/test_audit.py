"""The audit trail: the events the issue lists are recorded, filtered, exported as safe CSV."""

import csv
import io
from datetime import timedelta

import pytest
from sqlmodel import select

from core.access.privacy import delete_user_data, export_user_data
from core.access.users import authenticate, create_user, ensure_initial_admin, set_role
from core.gate.policies import save_policy
from core.llm.registry import add_provider, update_provider
from core.platform.audit import UNKNOWN_NAME_PREFIX, actions, query_events, record, to_csv, unknown_name
from core.platform.config import Settings
from core.platform.errors import AuthenticationError, InvalidInputError
from core.platform.models import AuditEvent, ReviewItem, utcnow
from core.review.claims import claim
from core.review.decisions import decide
from tests.utils.factories import make_finished_draft, make_project

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


@pytest.fixture
def admin(db):
    ensure_initial_admin(session=db, password="from-the-env")
    return authenticate(session=db, username="admin", password="from-the-env", address="10.0.0.1")


def test_every_kind_of_event_the_issue_lists_is_recorded(db, admin, writer, reviewer, editor):
    ana = create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=admin.id)
    set_role(session=db, user_id=ana.id, role="reviewer", actor_id=admin.id)
    add_provider(session=db, settings=Settings(), name="p", base_url="https://p.example/v1", model="m",
                 api_key="sk-audit-key-0000000000", actor_id=admin.id)
    update_provider(session=db, settings=Settings(), name="p", api_key="sk-audit-key-1111111111", actor_id=admin.id)
    project = make_project(db, references=("alpha beta gamma",))
    save_policy(session=db, project_id=project.id, thresholds={"chrf": 10}, author_id=editor.id)
    draft = make_finished_draft(db, writer, project, "delta")
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    decide(session=db, item_id=item.id, reviewer=reviewer, verdict="approved", expected_version=claimed.version)
    export_user_data(session=db, user_id=writer.id, actor_id=admin.id)
    delete_user_data(session=db, user_id=ana.id, actor_id=admin.id)
    recorded = set(actions(session=db))
    assert {"auth.sign_in", "user.create", "user.role", "provider.add", "provider.edit", "policy.save",
            "review.approved", "privacy.export", "privacy.delete"} <= recorded
    key_change = db.exec(select(AuditEvent).where(AuditEvent.action == "provider.edit")).one()
    assert key_change.detail["key_changed"] is True and "sk-audit" not in str(key_change.detail)


def test_filters_by_action_user_and_dates(db, admin, writer):
    record(db, actor_id=writer.id, action="x.old")
    db.commit()
    old = db.exec(select(AuditEvent).where(AuditEvent.action == "x.old")).one()
    old.created_at = utcnow() - timedelta(days=10)
    db.add(old)
    record(db, actor_id=writer.id, action="x.new", target="t")
    record(db, actor_id=None, action="x.new")
    db.commit()
    today = utcnow().date()
    assert [r.action for r in query_events(session=db, actor_id=writer.id)] == ["x.new", "x.old"]
    assert [(r.actor, r.target) for r in query_events(session=db, actions=["x.new"])] == [("—", ""), ("writer", "t")]
    assert [r.action for r in query_events(session=db, actions=["x.old", "x.new"], since=today - timedelta(days=1))] == ["x.new", "x.new"]
    assert [r.action for r in query_events(session=db, until=today - timedelta(days=5))] == ["x.old"]
    assert [r.action for r in query_events(session=db, since=today - timedelta(days=10), until=today - timedelta(days=10),
                                           actions=["x.old"])] == ["x.old"]


def test_a_reversed_date_range_or_a_silly_limit_is_refused(db):
    today = utcnow().date()
    with pytest.raises(InvalidInputError, match="start date is after the end date"):
        query_events(session=db, since=today, until=today - timedelta(days=1))
    with pytest.raises(InvalidInputError, match="Ask for 1 to"):
        query_events(session=db, limit=0)


def test_csv_has_a_header_every_row_and_no_formula_cells(db, admin):
    record(db, actor_id=admin.id, action="x.csv", target="=HYPERLINK(\"http://evil\")", note="a,b \"c\" 中文")
    db.commit()
    text = to_csv(query_events(session=db, actions=["x.csv"]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "time_utc", "actor", "action", "target", "detail"]
    assert rows[1][2:5] == ["admin", "x.csv", "'=HYPERLINK(\"http://evil\")"]
    assert rows[1][5] == '{"note": "a,b \\"c\\" 中文"}'


# -- failed sign-ins: the typed name is kept only when it names an account --------------------


def _failed_targets(db) -> list[str]:
    return [e.target for e in db.exec(select(AuditEvent).where(AuditEvent.action == "auth.failed").order_by(AuditEvent.id))]


def test_a_failed_sign_in_keeps_a_name_typed_by_mistake_only_as_a_keyed_hash(db, admin):
    """People type their password in the name box: that text must not land in the trail."""
    for typed in ("Tr0ub4dor&3-pass", "admin", "Tr0ub4dor&3-pass", "张伟的密码", " admin "):
        with pytest.raises(AuthenticationError):
            authenticate(session=db, username=typed, password="not-it", address="10.0.0.1")
    first, known, again, chinese, known_again = _failed_targets(db)
    assert known == known_again == "admin"  # an account's name is kept as it is
    assert first == again and first.startswith(UNKNOWN_NAME_PREFIX) and chinese.startswith(UNKNOWN_NAME_PREFIX)
    assert first != chinese
    stored = " ".join(str((e.target, e.detail)) for e in db.exec(select(AuditEvent)))
    assert "Tr0ub4dor" not in stored and "密码" not in stored


def test_the_name_hash_is_keyed_by_the_master_key(data_dir, monkeypatch):
    """Without the key the hash of a typed text cannot be checked against guesses."""
    import hashlib

    from core.access.secrets import new_master_key

    monkeypatch.setenv("DRAFTGATE_MASTER_KEY", new_master_key())
    one = unknown_name("hunter2-password", settings=Settings())
    assert one == unknown_name("hunter2-password", settings=Settings())
    assert one.removeprefix(UNKNOWN_NAME_PREFIX) not in hashlib.sha256(b"hunter2-password").hexdigest()
    monkeypatch.setenv("DRAFTGATE_MASTER_KEY", new_master_key())
    assert unknown_name("hunter2-password", settings=Settings()) != one
