"""A user's data: export it all, delete it everywhere (proved on the raw database files), retention."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import SQLModel, func, select

from core.access.actors import SYSTEM
from core.access.privacy import HANDLED, apply_retention, delete_user_data, export_json, export_user_data
from core.access.users import authenticate, create_user, ensure_initial_admin
from core.gate.checks import CHECK_METRICS
from core.gate.policies import save_policy
from core.platform.config import Settings
from core.platform.db import make_engine, open_session
from core.platform.errors import AuthenticationError, ConflictError, PermissionDeniedError
from core.platform.models import (
    AuditEvent,
    CacheEntry,
    Comment,
    Draft,
    Job,
    LoginFailure,
    Preset,
    Reference,
    ReviewItem,
    RubricMark,
    Score,
    ThresholdPolicy,
    Turn,
    User,
    WritingSession,
    utcnow,
)
from core.review.claims import claim
from core.review.comments import add_comment
from core.review.decisions import decide
from core.review.rubric import set_rubric
from tests.utils.factories import make_finished_draft, make_project, make_user

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

MARK = "QZXV-PRIVATE-7731"  # appears only in the text of the user being deleted
MARK_ZH = "秘密标记甲乙丙"  # non-ASCII: stored as UTF-8 in text columns, \u escapes in JSON ones
USERNAME = "qzxv-writer"


def needles(*texts: str) -> list[bytes]:
    found = []
    for text in texts:
        found += [text.encode(), text.lower().encode(), json.dumps(text)[1:-1].encode()]
    return found


def scan(directory: Path, *texts: str) -> list[tuple[str, bytes]]:
    """Every (file, needle) where one of the texts is found in the raw bytes of the data directory."""
    hits = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            raw = path.read_bytes()
            hits += [(path.name, needle) for needle in needles(*texts) if needle in raw]
    return hits


def rows_holding(engine, *texts: str) -> list[tuple[str, str]]:
    """Every (table, column) of the database where a row holds one of the texts (any database)."""
    hits = []
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                for column, value in row._mapping.items():
                    shown = json.dumps(value, ensure_ascii=False, default=str)
                    hits += [(table.name, column) for text in texts if text.lower() in shown.lower()]
    return hits


def assert_gone(engine, db, data_dir: Path, *texts: str) -> None:
    """No row holds the texts; on SQLite, not a byte of the database files either."""
    assert rows_holding(engine, *texts) == []
    if engine.dialect.name == "sqlite":
        db.close()
        engine.dispose()  # every connection closed: what is on disk is all there is
        assert scan(data_dir, *texts) == []


@pytest.fixture
def admin(db):
    ensure_initial_admin(session=db, password="from-the-env")
    return db.exec(select(User).where(User.username == "admin")).one()


@pytest.fixture
def victim(db, admin, reviewer, editor):
    """A writer with everything a user can have: sessions, turns, drafts, scores, a review with a
    reviewer's comment and reason, a cached answer, a job, a promoted reference, a preset, a failed sign-in."""
    user = create_user(session=db, username=USERNAME, password="victim-secret-9", role="writer", actor_id=SYSTEM)
    project = make_project(db, references=("The quick brown fox jumps over the lazy dog.",))
    flagged = make_finished_draft(db, user, project, f"Nothing alike {MARK} {MARK_ZH}", instruction=f"Write {MARK}")
    passing = make_finished_draft(db, user, project, f"The quick brown fox jumps over the lazy dog {MARK}")
    session_row = db.exec(select(WritingSession).where(WritingSession.owner_id == user.id)).first()
    session_row.title = f"Title {MARK}"
    db.add(session_row)
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == flagged.id)).one()
    claim(session=db, item_id=item.id, reviewer=reviewer)
    add_comment(session=db, draft_id=flagged.id, author=reviewer, body=f"About {MARK}")
    db.add(CacheEntry(key="a" * 64, value={"id": "x", "text": passing.text, "finish_reason": "stop"},
                      expires_at=utcnow() + timedelta(days=1), session_id=db.get(Turn, passing.turn_id).session_id,
                      draft_id=passing.id))
    db.add(CacheEntry(key="b" * 64, value={"id": "y", "text": "someone else's answer"},
                      expires_at=utcnow() + timedelta(days=1)))
    db.add(Job(kind="variants", payload={"prompt": f"Write {MARK}"}, owner_id=user.id))
    db.add(Reference(project_id=project.id, text=passing.text, source="promoted"))
    db.add(Preset(project_id=project.id, instruction=f"Q {MARK}", normalized=f"q {MARK.lower()}", answer=passing.text,
                  source="draft", source_draft_id=passing.id))
    db.commit()
    with pytest.raises(AuthenticationError):
        authenticate(session=db, username=USERNAME, password="typo-typo-typo")
    export_user_data(session=db, user_id=user.id, actor_id=user.id)  # audited with the user name
    return user


def test_export_holds_every_kind_of_data_and_no_secret(db, victim, reviewer):
    document = export_user_data(session=db, user_id=victim.id, actor_id=victim.id)
    text = export_json(document)
    assert json.loads(text) == json.loads(json.dumps(document, default=str))
    assert document["user"]["username"] == USERNAME and "password" not in text and "argon2" not in text
    [first, second] = document["sessions"]
    turn = first["turns"][0]
    assert turn["instruction"] == f"Write {MARK}"
    draft = turn["drafts"][0]
    assert MARK_ZH in draft["text"] and {s["metric"] for s in draft["scores"]} == {"bleu", "chrf", "rouge1", "rouge2", "rougeL", *CHECK_METRICS.values()}
    assert draft["review"]["state"] == "claimed"
    assert draft["comments"] == [{"by_you": False, "body": f"About {MARK}", "created_at": draft["comments"][0]["created_at"]}]
    assert second["turns"][0]["drafts"][0]["review"] is None
    assert document["jobs"][0]["kind"] == "variants"
    assert any(e["action"] == "privacy.export" for e in document["audit_events"])
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "privacy.export")).all()


def test_export_holds_what_deletion_removes_besides_the_sessions(db, victim, admin):
    """Every row that deletion removes or clears is in the export: job prompts, what editors made
    of their drafts, failed sign-ins, and audit events naming them (not only those they did)."""
    export_user_data(session=db, user_id=victim.id, actor_id=admin.id)  # an admin's event naming them
    document = export_user_data(session=db, user_id=victim.id, actor_id=victim.id)
    passing = db.exec(select(Draft).where(Draft.text.contains("quick brown fox"))).one()
    [job] = document["jobs"]
    assert job["payload"] == {"prompt": f"Write {MARK}"}
    [preset] = document["presets_from_your_drafts"]
    assert (preset["instruction"], preset["answer"], preset["draft_id"]) == (f"Q {MARK}", passing.text, passing.id)
    [reference] = document["references_from_your_drafts"]
    assert reference["text"] == passing.text and reference["project"] == preset["project"] != ""
    assert len(document["failed_sign_ins"]) == 1
    exports = [e for e in document["audit_events"] if e["action"] == "privacy.export"]
    assert len(exports) == 2 and all(e["target"] == USERNAME for e in exports)
    assert document["review_claims"] == []


@pytest.fixture
def others_draft(db, writer):
    """Another writer's draft with a preset and a reference made from it, and a typed-in preset."""
    project = make_project(db, name="Other")
    draft = make_finished_draft(db, writer, project, "Someone else's words")
    db.add(Preset(project_id=project.id, instruction="Q other", normalized="q other", answer=draft.text,
                  source="draft", source_draft_id=draft.id))
    db.add(Preset(project_id=project.id, instruction="Q manual", normalized="q manual", answer="typed in"))
    db.add(Reference(project_id=project.id, text=draft.text, source="promoted"))
    db.commit()
    return draft


def test_export_leaves_out_other_users_material(db, victim, writer, others_draft):
    document = export_user_data(session=db, user_id=victim.id, actor_id=victim.id)
    assert [p["instruction"] for p in document["presets_from_your_drafts"]] == [f"Q {MARK}"]
    assert len(document["references_from_your_drafts"]) == 1
    mine = export_user_data(session=db, user_id=writer.id, actor_id=writer.id)
    assert [p["instruction"] for p in mine["presets_from_your_drafts"]] == ["Q other"]
    assert [r["text"] for r in mine["references_from_your_drafts"]] == ["Someone else's words"]
    assert mine["failed_sign_ins"] == [] and mine["jobs"] == []


def test_a_reviewers_export_has_their_comments_and_decisions(db, victim, reviewer):
    document = export_user_data(session=db, user_id=reviewer.id, actor_id=reviewer.id)
    assert document["sessions"] == []
    assert [c["body"] for c in document["comments_written"]] == [f"About {MARK}"]
    [held] = document["review_claims"]
    flagged = db.exec(select(ReviewItem)).one()
    assert (held["review_id"], held["draft_id"]) == (flagged.id, flagged.draft_id) and held["claim_expires_at"]


def test_only_admins_export_or_delete_someone_else(db, victim, reviewer, editor):
    for actor in (reviewer, editor):
        with pytest.raises(PermissionDeniedError):
            export_user_data(session=db, user_id=victim.id, actor_id=actor.id)
        with pytest.raises(PermissionDeniedError):
            delete_user_data(session=db, user_id=victim.id, actor_id=actor.id)
    assert db.get(User, victim.id) is not None


@pytest.mark.sqlite_only("it scans the SQLite file in the data directory; PostgreSQL's files live with the server")
def test_deleting_a_user_leaves_nothing_of_their_text_in_the_database_files(engine, db, data_dir, victim, admin):
    assert scan(data_dir, MARK) and scan(data_dir, MARK_ZH) and scan(data_dir, USERNAME)  # the scan sees them
    report = delete_user_data(session=db, user_id=victim.id, actor_id=admin.id)
    assert (report.sessions, report.turns, report.drafts, report.jobs, report.references, report.presets) == (2, 2, 2, 1, 1, 1)
    assert report.scores == 2 * (5 + len(CHECK_METRICS)) and report.review_items == 1 and report.comments == 1 and report.cache_entries == 1
    assert report.warnings == []
    db.close()
    engine.dispose()  # every connection closed: what is on disk is all there is
    assert scan(data_dir, MARK, MARK_ZH, USERNAME) == []


def _review(db, reviewer, draft, verdict, reason="", edited_text=None):
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    return decide(session=db, item_id=item.id, reviewer=reviewer, verdict=verdict, reason=reason,
                  edited_text=edited_text, expected_version=claimed.version)


def test_reviewers_words_quoting_a_deleted_writer_go_with_the_writer(engine, db, data_dir, admin, reviewer):
    """A reviewer's reason or comment often quotes the draft: the audit trail (review.rejected's
    `reason`), comments and decision reasons must not keep the writer's text after deletion."""
    writer = create_user(session=db, username=USERNAME, password="victim-secret-9", role="writer", actor_id=SYSTEM)
    project = make_project(db, references=("The quick brown fox jumps over the lazy dog.",))
    rejected = make_finished_draft(db, writer, project, f"Nothing alike {MARK}")
    approved = make_finished_draft(db, writer, project, f"Unrelated words {MARK_ZH}")
    _review(db, reviewer, rejected, "rejected", reason=f"Never write “{MARK}” again")
    _review(db, reviewer, approved, "approved", reason=f"Fine: {MARK_ZH}", edited_text=f"Better words {MARK_ZH}")
    add_comment(session=db, draft_id=rejected.id, author=reviewer, body=f"Quoting {MARK}")
    assert rows_holding(engine, MARK) and rows_holding(engine, MARK_ZH)
    decisions = [e.id for e in db.exec(select(AuditEvent).where(AuditEvent.action.in_(["review.rejected", "review.approved"])))]

    report = delete_user_data(session=db, user_id=writer.id, actor_id=admin.id)

    assert report.audit_events_anonymised >= 2
    db.expire_all()
    kept = [db.get(AuditEvent, event_id) for event_id in decisions]
    assert [(e.actor_id, e.target, e.detail) for e in kept] == [(reviewer.id, "", {})] * 2  # the reviewer's work is still counted
    assert_gone(engine, db, data_dir, MARK, MARK_ZH, USERNAME)


def test_a_deleted_reviewers_and_editors_own_words_go_with_them(engine, db, data_dir, admin, writer):
    """Their comments, decision reasons (in the item and in the audit trail) and policy notes."""
    reviewer = make_user(db, "qzxv-reviewer", "reviewer")
    editor = make_user(db, "qzxv-editor", "editor")
    project = make_project(db, references=("alpha beta gamma",))
    draft = make_finished_draft(db, writer, project, "delta one")
    _review(db, reviewer, draft, "rejected", reason=f"My private view {MARK}")
    add_comment(session=db, draft_id=draft.id, author=reviewer, body=f"My comment {MARK_ZH}")
    save_policy(session=db, project_id=project.id, thresholds={"chrf": 30}, author_id=editor.id,
                note=f"Because {MARK}")
    for user in (reviewer, editor):
        delete_user_data(session=db, user_id=user.id, actor_id=admin.id)
    db.expire_all()
    [policy] = db.exec(select(ThresholdPolicy)).all()
    assert policy.thresholds["chrf"] == 30 and policy.author_id is None and MARK not in policy.note
    assert db.get(Draft, draft.id).text == "delta one"
    assert_gone(engine, db, data_dir, MARK, MARK_ZH, "qzxv-reviewer", "qzxv-editor")


def test_deleting_a_session_takes_reviewers_reasons_about_it_out_of_the_audit_trail(db, writer, reviewer):
    from core.writing.sessions import delete_session

    project = make_project(db, references=("alpha beta gamma",))
    draft = make_finished_draft(db, writer, project, f"delta {MARK}")
    _review(db, reviewer, draft, "rejected", reason=f"Quoting {MARK}")
    public_id = db.get(WritingSession, db.get(Turn, draft.turn_id).session_id).public_id
    delete_session(session=db, user=writer, public_id=public_id)
    [decision] = db.exec(select(AuditEvent).where(AuditEvent.action == "review.rejected")).all()
    assert (decision.actor_id, decision.target, decision.detail) == (reviewer.id, "", {})


def test_deletion_cascades_to_every_table_and_keeps_one_anonymous_event(db, victim, admin):
    delete_user_data(session=db, user_id=victim.id, actor_id=admin.id)
    for model in (WritingSession, Turn, Draft, Score, ReviewItem, Comment, Job, Preset):
        assert db.exec(select(func.count()).select_from(model)).one() == 0, model.__name__
    assert db.exec(select(User).where(User.username == USERNAME)).first() is None
    assert db.exec(select(LoginFailure).where(LoginFailure.key == USERNAME)).first() is None
    assert [e.value["text"] for e in db.exec(select(CacheEntry))] == ["someone else's answer"]
    events = db.exec(select(AuditEvent)).all()
    assert all(e.actor_id != victim.id and USERNAME not in json.dumps([e.target, e.detail]) for e in events)
    [deletion] = [e for e in events if e.action == "privacy.delete"]
    assert deletion.actor_id == admin.id and deletion.target == "" and deletion.detail["drafts"] == 2
    assert deletion.detail["by"] == "admin"


def test_deletion_leaves_no_preset_pointing_at_a_deleted_draft_and_keeps_the_others(
    db, victim, admin, writer, others_draft
):
    """source_draft_id has no foreign key: a preset made from one of the user's drafts goes with
    them (its answer is their text); presets of other drafts keep their link, typed-in ones stay."""
    victims_drafts = {d.id for d in db.exec(select(Draft)) if d.id != others_draft.id}
    report = delete_user_data(session=db, user_id=victim.id, actor_id=admin.id)
    assert (report.presets, report.references) == (1, 1)
    remaining = {p.instruction: p.source_draft_id for p in db.exec(select(Preset))}
    assert remaining == {"Q other": others_draft.id, "Q manual": None}
    assert not victims_drafts & set(remaining.values())
    assert db.get(Draft, others_draft.id) is not None
    assert [r.text for r in db.exec(select(Reference).where(Reference.source == "promoted"))] == [others_draft.text]


def test_deleting_a_reviewer_removes_their_words_and_frees_their_claims(db, admin, writer):
    reviewer = make_user(db, "rev-two", "reviewer")
    project = make_project(db, references=("alpha beta gamma",))
    decided = make_finished_draft(db, writer, project, "delta one")
    held = make_finished_draft(db, writer, project, "delta two")
    items = {i.draft_id: i for i in db.exec(select(ReviewItem))}
    claimed = claim(session=db, item_id=items[decided.id].id, reviewer=reviewer)
    decide(session=db, item_id=claimed.id, reviewer=reviewer, verdict="rejected", reason=f"Bad {MARK}",
           expected_version=claimed.version)
    claim(session=db, item_id=items[held.id].id, reviewer=reviewer)
    add_comment(session=db, draft_id=held.id, author=reviewer, body=f"Hmm {MARK}")
    delete_user_data(session=db, user_id=reviewer.id, actor_id=admin.id)
    db.expire_all()
    after = {i.draft_id: i for i in db.exec(select(ReviewItem))}
    assert after[decided.id].state == "rejected" and after[decided.id].decided_by_id is None
    assert MARK not in after[decided.id].decision_reason
    assert after[held.id].state == "open" and after[held.id].claimed_by_id is None
    assert db.exec(select(Comment)).all() == []
    assert db.get(Draft, held.id).text == "delta two"  # the writer's draft stays


def test_policies_keep_their_versions_without_the_author(db, admin, editor):
    project = make_project(db)
    save_policy(session=db, project_id=project.id, thresholds={"chrf": 30}, author_id=editor.id)
    delete_user_data(session=db, user_id=editor.id, actor_id=admin.id)
    [policy] = db.exec(select(ThresholdPolicy)).all()
    assert policy.author_id is None and policy.thresholds["chrf"] == 30


def test_users_delete_themselves_with_their_password(db, admin):
    ana = create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    with pytest.raises(AuthenticationError, match="password"):
        delete_user_data(session=db, user_id=ana.id, actor_id=ana.id, password="wrong-one")
    delete_user_data(session=db, user_id=ana.id, actor_id=ana.id, password="s3cret-pass")
    assert db.get(User, ana.id) is None
    [deletion] = db.exec(select(AuditEvent).where(AuditEvent.action == "privacy.delete")).all()
    assert deletion.actor_id is None and deletion.detail["by"] == "self"


def test_the_last_admin_cannot_be_deleted(db, admin):
    with pytest.raises(ConflictError, match="last admin"):
        delete_user_data(session=db, user_id=admin.id, actor_id=admin.id, password="from-the-env")
    with pytest.raises(ConflictError, match="last admin"):
        delete_user_data(session=db, user_id=admin.id, actor_id=SYSTEM)


def test_every_table_pointing_at_a_users_data_is_handled():
    """A table added later with a link to users, sessions, turns or drafts must be handled by privacy."""
    personal = {"user", "writingsession", "turn", "draft"}
    linked = set()
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            by_key = any(fk.column.table.name in personal for fk in column.foreign_keys)
            by_name = column.name.endswith(("user_id", "draft_id", "turn_id", "session_id", "owner_id", "author_id", "by_id"))
            if by_key or (by_name and not column.primary_key):
                linked.add((table.name, column.name))
    assert linked == set(HANDLED)


def test_without_secure_delete_the_text_would_stay_in_the_file(data_dir, admin):
    """The control for the scan above: SQLite's default (on most builds) leaves deleted text in free pages."""
    engine = make_engine(f"sqlite:///{data_dir / 'control.db'}")

    @event.listens_for(engine, "connect")
    def _insecure(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA secure_delete=OFF")

    SQLModel.metadata.create_all(engine)
    with open_session(engine) as db:
        ensure_initial_admin(session=db, password="from-the-env")
        writer = make_user(db, "someone", "writer")
        make_finished_draft(db, writer, make_project(db), f"Text {MARK} " * 50)
        db.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        delete_user_data(session=db, user_id=writer.id, actor_id=SYSTEM)
    engine.dispose()
    assert any(name == "control.db" for name, _ in scan(data_dir, MARK))


# -- retention ------------------------------------------------------------------------------


def _age(db, draft_id: int, days: int) -> None:
    then = utcnow() - timedelta(days=days)
    draft = db.get(Draft, draft_id)
    turn = db.get(Turn, draft.turn_id)
    writing_session = db.get(WritingSession, turn.session_id)
    draft.created_at = turn.created_at = writing_session.created_at = writing_session.updated_at = then
    db.add_all([draft, turn, writing_session])
    db.commit()


def test_retention_deletes_old_drafts_the_same_way(engine, db, data_dir, writer, reviewer):
    project = make_project(db, references=("alpha beta gamma",))
    old = make_finished_draft(db, writer, project, f"Old words {MARK}", instruction=f"Old {MARK}")
    new = make_finished_draft(db, writer, project, "New words")
    add_comment(session=db, draft_id=old.id, author=reviewer, body=f"Old comment {MARK}")
    _review(db, reviewer, old, "rejected", reason=f"Old reason {MARK}")
    db.add(CacheEntry(key="c" * 64, value={"text": old.text}, expires_at=utcnow() + timedelta(days=1), draft_id=old.id))
    db.add(Preset(project_id=project.id, instruction="Q", normalized="q", answer="A curated answer",
                  source="draft", source_draft_id=old.id))
    db.commit()
    _age(db, old.id, 40)
    report = apply_retention(session=db, days=30, actor_id=SYSTEM)
    assert (report.drafts, report.turns, report.sessions, report.comments, report.cache_entries) == (1, 1, 1, 1, 1)
    assert [d.id for d in db.exec(select(Draft))] == [new.id]
    [preset] = db.exec(select(Preset)).all()
    assert preset.source_draft_id is None  # the editors' preset stays, unlinked
    [event_row] = db.exec(select(AuditEvent).where(AuditEvent.action == "privacy.retention")).all()
    assert event_row.detail["days"] == 30 and event_row.detail["drafts"] == 1
    db.close()
    engine.dispose()
    assert scan(data_dir, MARK) == []


def test_retention_with_nothing_old_changes_nothing(db, writer):
    make_finished_draft(db, writer, make_project(db), "Fresh")
    report = apply_retention(session=db, days=1, actor_id=SYSTEM)
    assert report.drafts == 0
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "privacy.retention")).first() is None


@pytest.mark.parametrize("days", [0, -3, 2.5, True, "7"])
def test_retention_days_are_checked(db, days):
    from core.platform.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="whole number of days"):
        apply_retention(session=db, days=days, actor_id=SYSTEM)


# -- the Redis response cache ---------------------------------------------------------------


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_deletion_purges_the_users_answers_from_redis(db, admin, writer, monkeypatch):
    import uuid

    from core.llm import cache
    from core.llm.cache import CacheOrigin, RedisStore
    from core.llm.ratelimit import redis_client

    monkeypatch.setenv("DRAFTGATE_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setattr(cache, "REDIS_PREFIX", f"draftgate-test:{uuid.uuid4().hex}:")  # this test's keys only
    settings = Settings()
    client = redis_client(settings.redis_url)
    store = RedisStore(client)
    draft = make_finished_draft(db, writer, make_project(db), f"Cached {MARK}")
    session_id = db.get(Turn, draft.turn_id).session_id
    store.put("mine", {"text": draft.text}, 60, CacheOrigin(session_id, draft.id))
    store.put("other", {"text": "not theirs"}, 60, CacheOrigin(session_id + 1, draft.id + 1))
    try:
        report = delete_user_data(session=db, user_id=writer.id, actor_id=admin.id, settings=settings)
        assert report.cache_entries == 1
        assert store.get("mine") is None and store.get("other") is not None
    finally:
        keys = list(client.scan_iter(match=cache.REDIS_PREFIX + "*"))
        if keys:
            client.delete(*keys)


def _marked_decision(db, writer, reviewer):
    """A draft of `writer` decided by `reviewer` with rubric marks (names in Chinese too)."""
    project = make_project(db, "Rubric", references=("alpha beta gamma",))
    set_rubric(session=db, project_id=project.id, names=["Accuracy", "语气"], actor_id=SYSTEM)
    draft = make_finished_draft(db, writer, project, "delta epsilon")
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    decide(session=db, item_id=item.id, reviewer=reviewer, verdict="rejected", reason="Off",
           expected_version=claimed.version, marks={"Accuracy": False, "语气": True})
    return item


def test_exports_hold_the_rubric_marks_and_deleting_the_writer_takes_them_along(db, admin, writer, reviewer):
    item = _marked_decision(db, writer, reviewer)
    [session_doc] = export_user_data(session=db, user_id=writer.id, actor_id=writer.id)["sessions"]
    assert session_doc["turns"][0]["drafts"][0]["review"]["rubric"] == {"Accuracy": False, "语气": True}
    [decision] = export_user_data(session=db, user_id=reviewer.id, actor_id=reviewer.id)["review_decisions"]
    assert decision["review_id"] == item.id and decision["rubric"] == {"Accuracy": False, "语气": True}

    delete_user_data(session=db, user_id=writer.id, actor_id=admin.id)
    assert db.exec(select(func.count()).select_from(RubricMark)).one() == 0
    assert db.exec(select(func.count()).select_from(ReviewItem)).one() == 0


def test_deleting_the_reviewer_keeps_the_marks_with_the_verdict_and_no_name(db, admin, writer):
    reviewer = make_user(db, "rev-rubric", "reviewer")
    item = _marked_decision(db, writer, reviewer)
    delete_user_data(session=db, user_id=reviewer.id, actor_id=admin.id)
    db.expire_all()
    assert db.get(ReviewItem, item.id).decided_by_id is None
    assert {m.name: m.passed for m in db.exec(select(RubricMark))} == {"Accuracy": False, "语气": True}
