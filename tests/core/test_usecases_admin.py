"""The use cases of accounts, providers and the review queue: users named by user name, the system
acting as SYSTEM, each one unit of work on the runtime's database."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.platform.config import Settings
from core.platform.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from core.platform.models import AuditEvent, Preset, Reference, ReviewItem, User, utcnow
from core.platform.states import ReviewState, Role
from core.runtime import Runtime
from core.usecases import accounts, providers, review
from tests.utils.factories import PASSWORD, make_finished_draft, make_project, make_user

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


@pytest.fixture
def runtime(engine, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_CLAIM_LEASE_MINUTES", "7")
    made = Runtime(Settings(), engine=engine)
    yield made
    made.close(wait=True)  # no job of this test runs on after it


@pytest.fixture
def admin(db):
    return make_user(db, "root", "admin")


def test_the_system_manages_users_by_name_and_is_audited_as_no_user(runtime, db):
    accounts.create_user(runtime, SYSTEM, username="ana", password="s3cret-pass", role="writer")
    assert accounts.set_role(runtime, SYSTEM, username="ａｎａ", role="editor").role == Role.EDITOR  # full-width
    assert accounts.set_disabled(runtime, SYSTEM, username="ana", disabled=True).disabled
    generated = accounts.reset_password(runtime, SYSTEM, username="ana")
    assert generated and len(generated) >= 12
    events = db.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id) for e in events] == [
        ("user.create", None), ("user.role", None), ("user.disable", None), ("user.password_reset", None)]


def test_a_name_made_before_the_user_name_rules_is_found_as_it_is(runtime, db):
    make_user(db, "old <b>name</b>", "writer")  # what the rules refuse now (spaces, markup) may exist
    assert accounts.set_role(runtime, SYSTEM, username="old <b>name</b>", role="editor").role == Role.EDITOR


def test_an_unknown_or_malformed_user_name_is_not_found(runtime):
    for name in ("nobody", "bad\x00name", ""):
        with pytest.raises(NotFoundError, match="There is no user named"):
            accounts.delete_user(runtime, SYSTEM, username=name)


def test_an_admins_id_is_checked_and_another_role_refused(runtime, db, admin, writer):
    accounts.create_user(runtime, admin.id, username="bo", password="s3cret-pass", role="reviewer")
    with pytest.raises(PermissionDeniedError):
        accounts.set_role(runtime, writer.id, username="bo", role="admin")
    with pytest.raises(TypeError):
        accounts.set_role(runtime, None, username="bo", role="admin")
    db.expire_all()
    assert db.exec(select(User).where(User.username == "bo")).one().role == "reviewer"


def test_the_last_admin_cannot_be_deleted_by_the_system_either(runtime, admin):
    with pytest.raises(ConflictError, match="last admin"):
        accounts.delete_user(runtime, SYSTEM, username="root")


def test_an_own_account_is_exported_and_deleted_with_its_password(runtime, db, writer):
    assert accounts.export_account(runtime, writer)["user"]["username"] == "writer"
    with pytest.raises(AuthenticationError):
        accounts.delete_account(runtime, writer, password="wrong")
    writer_id = writer.id
    accounts.delete_account(runtime, writer, password=PASSWORD)
    db.expire_all()
    assert db.get(User, writer_id) is None


def test_sign_in_is_throttled_by_the_settings(runtime, writer, monkeypatch):
    assert accounts.sign_in(runtime, username="writer", password=PASSWORD, address="10.0.0.1").id == writer.id
    with pytest.raises(AuthenticationError, match="Wrong user name or password"):
        accounts.sign_in(runtime, username="writer", password="nope", address="10.0.0.1")


def test_retention_off_is_said_and_on_deletes_old_drafts(runtime):
    with pytest.raises(InvalidInputError, match="Retention is off"):
        accounts.apply_retention(runtime, SYSTEM)
    assert accounts.apply_retention(runtime, SYSTEM, days=30).counts()["drafts"] == 0


def test_providers_are_added_checked_and_removed_through_the_use_cases(runtime, admin, writer):
    view = providers.add_provider(runtime, admin.id, name="far", base_url="https://far.example/v1", model="m",
                                  api_key="sk-far-0123456789abcdef")
    assert view.key_mask == "sk-…cdef" and [v.name for v in providers.list_providers(runtime)] == ["far"]
    assert providers.update_provider(runtime, SYSTEM, "far", model="m-2").model == "m-2"
    with pytest.raises(PermissionDeniedError):
        providers.check_provider(runtime, writer.id, "far")
    providers.remove_provider(runtime, SYSTEM, "far")
    assert providers.list_providers(runtime) == []


def test_a_reviewer_claims_with_the_configured_lease_decides_and_comments(runtime, db, writer, reviewer):
    project = make_project(db, references=("Something else entirely, nothing like it.",))
    draft = make_finished_draft(db, writer, project, "A short draft that needs a look.")
    before = utcnow()
    item = review.claim_next(runtime, reviewer)
    assert item is not None and item.draft_id == draft.id and item.state == ReviewState.CLAIMED
    lease = (item.claim_expires_at.replace(tzinfo=None) - before.replace(tzinfo=None)).total_seconds()
    assert 7 * 60 - 5 <= lease <= 7 * 60 + 5  # DRAFTGATE_CLAIM_LEASE_MINUTES
    review.comment(runtime, reviewer, draft_id=draft.id, body="Shorter, please.")
    decided = review.decide(runtime, reviewer, item_id=item.id, verdict="approved", expected_version=item.version)
    assert decided.state == ReviewState.APPROVED
    assert review.claim_next(runtime, reviewer) is None


def test_an_approved_draft_is_promoted_to_a_reference_or_a_preset(runtime, db, writer, reviewer, editor):
    project = make_project(db, references=("Something else entirely, nothing like it.",))
    make_finished_draft(db, writer, project, "Approved words.", instruction="Write approved words")
    item = review.claim_next(runtime, reviewer)
    review.decide(runtime, reviewer, item_id=item.id, verdict="approved", expected_version=item.version)
    assert isinstance(review.promote(runtime, editor, item_id=item.id, to="reference"), Reference)
    assert isinstance(review.promote(runtime, editor, item_id=item.id, to="preset"), Preset)
    with pytest.raises(PermissionDeniedError):
        review.promote(runtime, reviewer, item_id=item.id, to="reference")
    review.release(runtime, reviewer, item_id=item.id)  # nothing held: nothing to release
    assert db.get(ReviewItem, item.id).state == ReviewState.APPROVED
