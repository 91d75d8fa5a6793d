"""The whole matrix of roles x pages x actions, enforced in core (not only by hiding pages).

Each action is a core call that changes data, tagged with the page it belongs to and the area
whose roles may do it. For every role, the call either works or raises PermissionDeniedError
and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from core.access import privacy, users
from core.access.actors import SYSTEM
from core.access.key_rotation import rotate_master_key
from core.access.roles import AREA_ROLES
from core.gate import policies, rescoring
from core.llm import registry
from core.llm.types import GenerationParams
from core.platform.config import Settings
from core.platform.constants import ROLES
from core.platform.errors import PermissionDeniedError
from core.platform.models import (
    AuditEvent,
    Draft,
    Job,
    Project,
    Reference,
    ReviewItem,
    RubricMark,
    User,
    WritingSession,
    utcnow,
)
from core.review import assignments, bulk, claims, comments, decisions, rubric, second
from core.writing import moderation, presets, projects, sessions
from core.writing.turns import TurnRequest, prepare_turn
from tests.utils.factories import PASSWORD, make_finished_draft, make_project, make_user
from tests.utils.jobs import HeldRunner
from tests.utils.mock_llm import PROVIDER


@dataclass
class World:
    actor: User
    writer: User
    other: User
    project_id: int
    reference_id: int
    own_session: str
    item_id: int


def _world(db, role: str) -> World:
    actor = make_user(db, f"actor-{role}", role)
    make_user(db, "spare-admin", "admin")  # so that no action meets "the last admin"
    writer = make_user(db, "the-writer", "writer")
    other = make_user(db, "the-other", "writer")
    project = make_project(db, references=("The quick brown fox jumps over the lazy dog.",))
    reference_id = db.exec(select(Reference.id)).first()
    own = WritingSession(public_id=f"own-{role}", owner_id=actor.id, project_id=project.id, title="own")
    db.add(own)
    db.commit()
    draft = make_finished_draft(db, writer, project, "Completely unrelated words here.")
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    return World(actor, writer, other, project.id, reference_id, own.public_id, item.id)


def _claimed_by(db, w: World) -> ReviewItem:
    item = db.get(ReviewItem, w.item_id)
    item.state, item.claimed_by_id, item.claim_expires_at = "claimed", w.actor.id, utcnow() + timedelta(minutes=5)
    db.add(item)
    db.commit()
    return item


def _spare_admin(db) -> User:
    return db.exec(select(User).where(User.username == "spare-admin")).one()


def _assigned(db, w: World) -> ReviewItem:
    item = db.get(ReviewItem, w.item_id)
    item.assigned_to_id = _spare_admin(db).id
    db.add(item)
    db.commit()
    return item


@dataclass(frozen=True)
class Action:
    page: str
    name: str
    area: str
    call: Callable[[object, World], object]
    setup: Callable[[object, World], object] | None = None  # runs before the call, whatever the role


ACTIONS = (
    Action("write", "create a session", "write",
           lambda db, w: sessions.create_session(session=db, owner=w.actor, project_id=w.project_id)),
    Action("write", "rename a session", "write",
           lambda db, w: sessions.rename_session(session=db, user=w.actor, public_id=w.own_session, title="new")),
    Action("write", "save parameters", "write",
           lambda db, w: sessions.save_params(session=db, user=w.actor, public_id=w.own_session, params=GenerationParams())),
    Action("write", "write a turn", "write",
           lambda db, w: prepare_turn(
               session=db, user=w.actor,
               request=TurnRequest(public_id=w.own_session, instruction="Write", params=GenerationParams(max_tokens=8)),
               provider=PROVIDER,
           )),
    Action("review", "claim a draft", "review",
           lambda db, w: claims.claim(session=db, item_id=w.item_id, reviewer=w.actor)),
    Action("review", "release a draft", "review",
           lambda db, w: claims.release(session=db, item_id=w.item_id, reviewer=w.actor), setup=_claimed_by),
    Action("review", "decide a draft", "review",
           lambda db, w: decisions.decide(session=db, item_id=w.item_id, reviewer=w.actor, verdict="approved",
                                          expected_version=db.get(ReviewItem, w.item_id).version), setup=_claimed_by),
    Action("review", "decide a draft with rubric marks", "review",
           lambda db, w: decisions.decide(session=db, item_id=w.item_id, reviewer=w.actor, verdict="rejected",
                                          reason="Wrong", marks={"准确性": False},
                                          expected_version=db.get(ReviewItem, w.item_id).version),
           setup=lambda db, w: (rubric.set_rubric(session=db, project_id=w.project_id, names=["准确性"],
                                                  actor_id=SYSTEM), _claimed_by(db, w))),
    Action("review", "comment", "review",
           lambda db, w: comments.add_comment(session=db, draft_id=db.get(ReviewItem, w.item_id).draft_id,
                                              author=w.actor, body="Good.")),
    Action("review", "assign a draft to a reviewer", "triage",
           lambda db, w: assignments.assign(session=db, editor=w.actor, item_ids=[w.item_id],
                                            reviewer_id=_spare_admin(db).id)),
    Action("review", "unassign a draft", "triage",
           lambda db, w: assignments.assign(session=db, editor=w.actor, item_ids=[w.item_id], reviewer_id=None),
           setup=lambda db, w: _assigned(db, w)),
    Action("review", "see each reviewer's open load", "triage",
           lambda db, w: assignments.open_load(session=db, viewer=w.actor)),
    Action("review", "decide drafts in bulk", "triage",
           lambda db, w: bulk.decide_many(session=db, editor=w.actor, verdict="approved",
                                          seen={w.item_id: db.get(ReviewItem, w.item_id).version})),
    Action("thresholds", "save a threshold policy", "thresholds",
           lambda db, w: policies.save_policy(session=db, project_id=w.project_id, thresholds={"chrf": 10},
                                              author_id=w.actor.id)),
    Action("thresholds", "set a project's rubric", "thresholds",
           lambda db, w: rubric.set_rubric(session=db, project_id=w.project_id, names=["Accuracy", "语气"],
                                           actor_id=w.actor.id)),
    Action("dashboard", "read how far reviewers agree", "dashboard",
           lambda db, w: second.paired_counts(session=db, viewer=w.actor)),
    Action("references", "create a project", "references",
           lambda db, w: projects.create_project(session=db, name="New", actor_id=w.actor.id)),
    Action("references", "add a reference", "references",
           lambda db, w: projects.add_reference(session=db, project_id=w.project_id, text="More.", actor_id=w.actor.id)),
    Action("references", "edit a reference", "references",
           lambda db, w: projects.update_reference(session=db, reference_id=w.reference_id, text="Edited.",
                                                   actor_id=w.actor.id)),
    Action("references", "delete a reference", "references",
           lambda db, w: projects.delete_reference(session=db, reference_id=w.reference_id, actor_id=w.actor.id)),
    Action("references", "import references", "references",
           lambda db, w: projects.import_references(session=db, project_id=w.project_id, filename="r.csv",
                                                    content=b"text\nOne.\n", actor_id=w.actor.id)),
    Action("references", "re-score a project's drafts", "references",
           lambda db, w: rescoring.start_rescore(runner=HeldRunner(db.get_bind()), session=db,
                                                 project_id=w.project_id, actor=w.actor)),
    Action("references", "cancel a project's re-scoring", "references",
           lambda db, w: rescoring.cancel_rescore(session=db, project_id=w.project_id, actor=w.actor),
           setup=lambda db, w: HeldRunner(db.get_bind()).submit(kind=rescoring.RESCORE,
                                                                 payload={"project_id": w.project_id}, owner_id=None)),
    Action("presets", "add a preset answer", "presets",
           lambda db, w: presets.add_preset(session=db, project_id=w.project_id, instruction="What is it?",
                                            answer="A lamp.", actor_id=w.actor.id)),
    Action("moderation", "add a sensitive word", "moderation",
           lambda db, w: moderation.add_words(session=db, words=["forbidden"], actor_id=w.actor.id)),
    Action("admin", "create a user", "admin",
           lambda db, w: users.create_user(session=db, username="newbie", password="s3cret-pass", role="writer",
                                           actor_id=w.actor.id)),
    Action("admin", "change a role", "admin",
           lambda db, w: users.set_role(session=db, user_id=w.other.id, role="editor", actor_id=w.actor.id)),
    Action("admin", "disable a user", "admin",
           lambda db, w: users.set_disabled(session=db, user_id=w.other.id, disabled=True, actor_id=w.actor.id)),
    Action("admin", "reset a password", "admin",
           lambda db, w: users.reset_password(session=db, user_id=w.other.id, actor_id=w.actor.id)),
    Action("admin", "export another user's data", "admin",
           lambda db, w: privacy.export_user_data(session=db, user_id=w.writer.id, actor_id=w.actor.id)),
    Action("admin", "delete another user's data", "admin",
           lambda db, w: privacy.delete_user_data(session=db, user_id=w.writer.id, actor_id=w.actor.id)),
    Action("admin", "rotate the master key", "admin",
           lambda db, w: rotate_master_key(session=db, settings=Settings(), actor_id=w.actor.id)),
    Action("admin", "apply retention", "admin",
           lambda db, w: privacy.apply_retention(session=db, days=30, actor_id=w.actor.id)),
    Action("providers", "add a provider", "providers",
           lambda db, w: registry.add_provider(session=db, settings=Settings(), name="local",
                                               base_url="http://127.0.0.1:9/v1", model="m", actor_id=w.actor.id)),
    Action("account", "export your own data", "account",
           lambda db, w: privacy.export_user_data(session=db, user_id=w.actor.id, actor_id=w.actor.id)),
    Action("account", "delete your own account", "account",
           lambda db, w: privacy.delete_user_data(session=db, user_id=w.actor.id, actor_id=w.actor.id,
                                                  password=PASSWORD)),
    Action("account", "change your password", "account",
           lambda db, w: users.change_password(session=db, user_id=w.actor.id, old_password=PASSWORD,
                                               new_password="another-phrase")),
)


def _snapshot(db) -> tuple:
    """What an action could change: rows per table that actions touch, and the review item's state."""
    counts = tuple(
        db.exec(select(func.count()).select_from(model)).one()
        for model in (User, WritingSession, Draft, Reference, ReviewItem, AuditEvent, Job, RubricMark)
    )
    states = tuple((i.state, i.claimed_by_id, i.version, i.assigned_to_id) for i in db.exec(select(ReviewItem)))
    states += tuple((j.status, j.cancel_requested) for j in db.exec(select(Job)))
    roles = tuple((u.username, u.role, u.disabled, u.password_hash) for u in db.exec(select(User)))
    rubrics = tuple(tuple(p.rubric) for p in db.exec(select(Project)))
    return counts, states, roles, rubrics


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: f"{a.page}: {a.name}")
def test_each_role_may_do_exactly_its_actions(db, role, action):
    world = _world(db, role)
    if action.setup is not None:
        action.setup(db, world)
    if role in AREA_ROLES[action.area]:
        action.call(db, world)
    else:
        before = _snapshot(db)
        with pytest.raises(PermissionDeniedError):
            action.call(db, world)
        db.rollback()
        assert _snapshot(db) == before


def test_every_area_core_enforces_has_actions_in_the_matrix():
    """An area named in a require(...) or require_actor(...) call anywhere in core/ needs rows here."""
    enforced = set()
    for path in (Path(__file__).resolve().parents[2] / "core").rglob("*.py"):
        enforced |= set(re.findall(r'require(?:_actor)?\([^()]*"([a-z_]+)"\)', path.read_text(encoding="utf-8")))
    missing = enforced - {a.area for a in ACTIONS}
    assert not missing, f"add an Action for the area(s) {sorted(missing)} to this matrix"


def test_the_roles_of_each_area_are_what_the_design_says():
    expected = {
        "write": {"writer", "editor", "admin"},
        "review": {"reviewer", "editor", "admin"},
        "triage": {"editor", "admin"},
        "thresholds": {"editor", "admin"},
        "references": {"editor", "admin"},
        "presets": {"editor", "admin"},
        "moderation": {"admin"},
        "admin": {"admin"},
        "providers": {"admin"},
        "audit": {"admin"},
        "account": {"writer", "reviewer", "editor", "admin"},
    }
    assert {area: set(AREA_ROLES[area]) for area in expected} == expected
    assert all("admin" in roles for roles in AREA_ROLES.values())  # admins may do everything


def test_a_disabled_editor_cannot_act_even_with_a_stale_user_object(db):
    editor = make_user(db, "ed", "editor")
    project = make_project(db)
    editor.disabled = True
    db.add(editor)
    db.commit()
    with pytest.raises(PermissionDeniedError, match="disabled"):
        projects.add_reference(session=db, project_id=project.id, text="x", actor_id=editor.id)
