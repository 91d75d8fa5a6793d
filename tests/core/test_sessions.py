from datetime import timedelta

import pytest
from sqlmodel import select

from core.llm.types import PRESETS
from core.platform.errors import InvalidInputError, NotFoundError
from core.platform.models import Draft, ReviewItem, Score, Turn, utcnow
from core.writing.sessions import (
    create_session,
    delete_session,
    get_session,
    history,
    list_sessions,
    mark_stale_drafts_interrupted,
    rename_session,
)
from tests.utils.factories import make_finished_draft, make_project, make_user

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


def test_sessions_have_unguessable_ids_and_belong_to_their_owner(db, writer):
    project = make_project(db)
    first = create_session(session=db, owner=writer, project_id=project.id, title="Spring", params=PRESETS["factual"])
    second = create_session(session=db, owner=writer, project_id=project.id)
    assert first.public_id != second.public_id and len(first.public_id) >= 16
    assert first.params["temperature"] == PRESETS["factual"].temperature
    assert {s.id for s in list_sessions(session=db, owner=writer)} == {first.id, second.id}
    stranger = make_user(db, "stranger", "writer")
    with pytest.raises(NotFoundError):
        get_session(session=db, user=stranger, public_id=first.public_id)
    assert get_session(session=db, user=writer, public_id=first.public_id).id == first.id


def test_an_untitled_session_is_named_where_it_is_shown_in_the_readers_language(db, writer):
    from core.platform import i18n
    from core.writing.sessions import shown_title

    project = make_project(db)
    untitled = create_session(session=db, owner=writer, project_id=project.id)
    assert untitled.title == ""
    started = f"{untitled.created_at:%Y-%m-%d %H:%M}"
    assert shown_title(untitled) == f"Session {started}"
    assert shown_title(untitled, i18n.translations("zh_CN"), lambda moment: "2026/5/17 09:05") == "会话 2026/5/17 09:05"
    named = create_session(session=db, owner=writer, project_id=project.id, title="春天")
    assert shown_title(named, i18n.translations("zh_CN")) == "春天"


def test_rename_validates_title(db, writer):
    project = make_project(db)
    created = create_session(session=db, owner=writer, project_id=project.id)
    assert rename_session(session=db, user=writer, public_id=created.public_id, title=" 新 标题 ").title == "新 标题"
    with pytest.raises(InvalidInputError):
        rename_session(session=db, user=writer, public_id=created.public_id, title="   ")


def test_delete_removes_turns_drafts_scores_and_review_items(db, writer):
    project = make_project(db, references=("alpha beta",))
    make_finished_draft(db, writer, project, "gamma")
    assert db.exec(select(ReviewItem)).all()
    public_id = list_sessions(session=db, owner=writer)[0].public_id
    delete_session(session=db, user=writer, public_id=public_id)
    for table in (Turn, Draft, Score, ReviewItem):
        assert db.exec(select(table)).all() == []


def test_stale_generating_drafts_become_interrupted(db, writer):
    project = make_project(db)
    draft = make_finished_draft(db, writer, project, "partial")
    draft.status, draft.updated_at = "generating", utcnow() - timedelta(hours=1)
    db.add(draft)
    db.commit()
    assert mark_stale_drafts_interrupted(session=db) == 1
    db.refresh(draft)
    assert draft.status == "interrupted" and draft.text == "partial"


def test_deleting_a_session_takes_its_drafts_rubric_marks_along(db, writer, reviewer):
    from core.access.actors import SYSTEM
    from core.platform.models import RubricMark
    from core.review.claims import claim
    from core.review.decisions import decide
    from core.review.rubric import set_rubric

    project = make_project(db, references=("alpha beta",))
    set_rubric(session=db, project_id=project.id, names=["准确"], actor_id=SYSTEM)
    draft = make_finished_draft(db, writer, project, "gamma")
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    decide(session=db, item_id=item.id, reviewer=reviewer, verdict="approved", expected_version=claimed.version,
           marks={"准确": True})
    delete_session(session=db, user=writer, public_id=list_sessions(session=db, owner=writer)[0].public_id)
    assert db.exec(select(RubricMark)).all() == [] and db.exec(select(ReviewItem)).all() == []


def test_the_list_is_the_most_recent_first_bounded_and_searchable_by_title(db, writer):
    project = make_project(db)
    made = [create_session(session=db, owner=writer, project_id=project.id, title=title)
            for title in ("Spring essay", "春天的短文", "100% pure", "under_score", "Autumn")]
    assert [s.title for s in list_sessions(session=db, owner=writer, limit=2)] == ["Autumn", "under_score"]
    assert [s.title for s in list_sessions(session=db, owner=writer, title_contains="SPRING")] == ["Spring essay"]
    assert [s.title for s in list_sessions(session=db, owner=writer, title_contains="春天")] == ["春天的短文"]
    assert [s.title for s in list_sessions(session=db, owner=writer, title_contains="%")] == ["100% pure"]
    assert [s.title for s in list_sessions(session=db, owner=writer, title_contains="_")] == ["under_score"]
    assert len(list_sessions(session=db, owner=writer, title_contains="  ")) == len(made)
    stranger = make_user(db, "stranger", "writer")
    assert list_sessions(session=db, owner=stranger, title_contains="Spring") == []


def test_the_history_a_prompt_is_built_from_takes_each_turns_answer(db, writer):
    """The newest completed variant, else the newest with text; a reviewer's edit over the draft;
    turns without any text left out; `before` keeps the turns below an index."""
    project = make_project(db)
    writing_session = create_session(session=db, owner=writer, project_id=project.id)
    answers = [  # per turn: (variant, status, text, edited text)
        [(0, "completed", "First.", None), (1, "completed", "First, again.", None), (2, "failed", "Fir", None)],
        [(0, "interrupted", "Half of it", None), (1, "failed", " ", None)],
        [(0, "completed", "Third.", "Third, as edited.")],
        [(0, "failed", "", None)],
        [(0, "completed", "Fifth.", None)],
    ]
    for index, drafts in enumerate(answers):
        turn = Turn(session_id=writing_session.id, index=index, instruction=f"Task {index}", kind="instruction")
        db.add(turn)
        db.flush()
        for variant, status, text, edited in drafts:
            draft = Draft(turn_id=turn.id, variant=variant, status=status, text=text, provider="p", model="m")
            db.add(draft)
            db.flush()
            if edited:
                db.add(ReviewItem(draft_id=draft.id, project_id=project.id, state="approved", edited_text=edited))
    db.commit()
    got = history(session=db, writing_session=writing_session)
    assert [(e.instruction, e.text) for e in got] == [
        ("Task 0", "First, again."), ("Task 1", "Half of it"), ("Task 2", "Third, as edited."), ("Task 4", "Fifth.")]
    assert [e.instruction for e in history(session=db, writing_session=writing_session, before=2)] == ["Task 0", "Task 1"]
