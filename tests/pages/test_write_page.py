import time

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.platform.models import Draft, Job, Turn, WritingSession
from core.writing.sessions import create_session
from tests.pages.conftest import texts
from tests.utils.factories import make_project
from tests.utils.jobs import wait_for_draft


def test_writer_creates_a_session_and_the_url_carries_it(make_app, app_db, users):
    make_project(app_db, "Essays", references=("Spring in Beijing.",))
    at = make_app("pages/write.py", users["writer"])
    assert not at.exception
    assert "Create a writing session" in at.info[0].value
    at.text_input[0].input("Spring")
    at.button(key="FormSubmitter:write.new_session-Create session").click().run()
    assert not at.exception
    created = app_db.exec(select(WritingSession)).one()
    assert created.title == "Spring" and at.query_params["session"] == created.public_id
    assert f"ID `{created.public_id}`" in texts(at)


def test_an_unknown_or_foreign_session_id_is_refused(make_app, app_db, users):
    project = make_project(app_db, "Essays")
    other = create_session(session=app_db, owner=users["editor"], project_id=project.id)
    at = make_app("pages/write.py", users["writer"], query={"session": other.public_id})
    assert [e.value for e in at.error] == ["No writing session with this ID is open to you."]


def test_preset_sets_the_parameters(make_app, app_db, users):
    project = make_project(app_db, "Essays")
    session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    at.selectbox(key="params.preset").set_value("factual").run()
    assert at.slider(key="params.temperature").value == pytest.approx(0.2)
    at.number_input(key="params.max_tokens").set_value(40)
    at.selectbox(key="params.preset").set_value("creative").run()
    assert at.slider(key="params.temperature").value == pytest.approx(1.1)
    assert at.number_input(key="params.max_tokens").value == 40  # a preset keeps the length


@pytest.mark.embedded
def test_writer_drafts_two_turns_with_the_embedded_model(make_app, app_db, users):
    project = make_project(app_db, "Essays", references=("春天的北京，柳絮在风里飘着。",))
    session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    at.slider(key="params.temperature").set_value(0.0)  # reproducible: the same text every run
    at.number_input(key="params.max_tokens").set_value(8).run()
    at.chat_input[0].set_value("写一段关于春天的短文").run()
    assert not at.exception
    draft = wait_until_scored(app_db)
    at.run()  # the scoring job ran off the page's thread; the page shows its result
    assert draft.status == "completed" and draft.text and draft.model
    assert draft.params["max_tokens"] == 8 and draft.finish_reason in ("length", "stop")
    shown = texts(at)
    assert "写一段关于春天的短文" in shown and "chrF" in shown
    assert ("cut off at the max tokens limit" in shown) == (draft.finish_reason == "length")
    assert ("in review" in shown) == (draft.route == "needs_review")

    at.button(key="write.continue").click().run()
    assert not at.exception
    turns = app_db.exec(select(Turn).order_by(Turn.index)).all()
    assert [t.kind for t in turns] == ["instruction", "continue"]
    assert len(app_db.exec(select(Draft)).all()) == 2


def test_invalid_parameters_get_a_clear_message_and_nothing_is_saved(make_app, app_db, users):
    project = make_project(app_db, "Essays")
    session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    at.text_area(key="params.stop").set_value("a\nb\nc\nd\ne").run()
    at.chat_input[0].set_value("Write something").run()
    assert [e.value for e in at.error] == ["stop takes at most 4 non-empty strings."]
    assert app_db.exec(select(Turn)).all() == []


def open_session_page(make_app, app_db, users, **query):
    project = make_project(app_db, "Essays", references=("The quick brown fox jumps over the lazy dog.",))
    session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
    return make_app("pages/write.py", users["writer"], query={"session": session.public_id, **query}), session


def test_over_the_user_limit_the_writer_is_told_to_slow_down(make_app, app_db, users, monkeypatch):
    from core.llm.ratelimit import check_user_rate
    from ui import resources

    monkeypatch.setenv("DRAFTGATE_USER_RATE_LIMIT", "1")
    resources.reset()
    at, _ = open_session_page(make_app, app_db, users)
    check_user_rate(users["writer"].id, settings=resources.settings())  # uses the one request allowed
    at.chat_input[0].set_value("Write something").run()
    assert not at.exception
    assert "slow down" in at.error[0].value.lower()
    assert app_db.exec(select(Turn)).all() == []


@pytest.mark.embedded
def test_variants_run_as_a_job_and_show_side_by_side(make_app, app_db, users):
    at, _ = open_session_page(make_app, app_db, users)
    at.number_input(key="params.max_tokens").set_value(4)
    at.number_input(key="write.variants").set_value(3).run()
    at.chat_input[0].set_value("Write about a fox").run()
    assert not at.exception
    drafts = app_db.exec(select(Draft).order_by(Draft.variant)).all()
    assert [d.variant for d in drafts] == [0, 1, 2] and len({d.turn_id for d in drafts}) == 1
    for draft in drafts:  # one job per variant, all running at once, off the page
        wait_for_draft(app_db.get_bind(), draft.id, timeout_s=120)
    at.run()  # in a browser each draft's live fragment reruns the page at its end
    for draft in drafts:
        app_db.refresh(draft)
    assert all(d.status == "completed" for d in drafts)
    assert "3 variants" in texts(at) and "Variant 3" in texts(at)


def wait_until_scored(db, timeout_s=60):
    """The one draft, once its scoring job has routed it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        draft = db.exec(select(Draft)).one()
        db.refresh(draft)
        if draft.route:
            return draft
        time.sleep(0.1)
    raise AssertionError(f"draft {draft.id} not routed after {timeout_s} s")


def test_a_draft_being_scored_says_so_and_shows_its_scores_when_ready(make_app, app_db, users, app_engine):
    from core.gate.rescoring import SCORE
    from core.jobs.runner import create_job, run_job
    from tests.utils.factories import make_finished_draft

    project = make_project(app_db, "Essays", references=("Spring in Beijing is short and windy.",))
    draft = make_finished_draft(app_db, users["writer"], project, "Spring in Beijing is windy.", routed=False)
    job_id = create_job(app_engine, kind=SCORE, payload={"draft_id": draft.id}, owner_id=users["writer"].id)
    draft.score_job_id = job_id
    app_db.add(draft)
    app_db.commit()
    session = app_db.exec(select(WritingSession)).one()
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    assert not at.exception
    assert "being scored" in texts(at) and "chrF" not in texts(at)

    run_job(app_engine, job_id, {})  # what the job runner's thread (or an RQ worker) does
    at.run()
    assert not at.exception
    assert "being scored" not in texts(at) and "chrF" in texts(at)


def test_a_draft_whose_scoring_stopped_can_be_scored_again(make_app, app_db, users, app_engine):
    from core.gate.rescoring import SCORE
    from core.jobs.runner import cancel_job, create_job
    from tests.utils.factories import make_finished_draft

    project = make_project(app_db, "Essays", references=("Spring in Beijing is short and windy.",))
    draft = make_finished_draft(app_db, users["writer"], project, "Spring in Beijing is windy.", routed=False)
    job_id = create_job(app_engine, kind=SCORE, payload={"draft_id": draft.id}, owner_id=users["writer"].id)
    cancel_job(session=app_db, job_id=job_id, user=users["writer"])
    draft.score_job_id = job_id
    app_db.add(draft)
    app_db.commit()
    session = app_db.exec(select(WritingSession)).one()
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    assert [w.value for w in at.warning] == ["Not scored yet. Scoring stopped: Cancelled before it started."]

    at.button(key=f"write.score_again.{draft.id}").click().run()
    assert not at.exception
    assert wait_until_scored(app_db).score_job_id != job_id
    at.run()
    assert not at.warning and "chrF" in texts(at)


def wait_until_finished(db, job_id, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = db.get(Job, job_id)
        db.refresh(job)
        if job.status not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout_s} s")


@pytest.mark.embedded
def test_a_cached_answer_says_so_and_regenerate_skips_the_cache(make_app, app_db, users):
    first, _ = open_session_page(make_app, app_db, users)
    first.slider(key="params.temperature").set_value(0.0)
    first.number_input(key="params.max_tokens").set_value(4).run()
    first.chat_input[0].set_value("Write about a fox").run()
    wait_for_draft(app_db.get_bind(), app_db.exec(select(Draft)).one().id, timeout_s=120)  # the answer is cached
    second = create_session(session=app_db, owner=users["writer"], project_id=app_db.exec(select(WritingSession)).first().project_id)
    at = make_app("pages/write.py", users["writer"], query={"session": second.public_id})
    at.slider(key="params.temperature").set_value(0.0)
    at.number_input(key="params.max_tokens").set_value(4).run()
    at.chat_input[0].set_value("Write about a fox").run()
    assert not at.exception
    cached = app_db.exec(select(Draft).order_by(Draft.id.desc())).first()
    wait_for_draft(app_db.get_bind(), cached.id, timeout_s=120)
    at.run()
    assert "from the response cache" in texts(at)
    at.button(key=f"write.regenerate.{cached.id}").click().run()
    assert not at.exception
    regenerated = app_db.exec(select(Draft).order_by(Draft.id.desc())).first()
    wait_for_draft(app_db.get_bind(), regenerated.id, timeout_s=120)
    app_db.expire_all()
    drafts = app_db.exec(select(Draft).order_by(Draft.id)).all()
    assert [d.cache_hit for d in drafts] == [False, True, False]
    assert (drafts[2].turn_id, drafts[2].variant) == (cached.turn_id, 1)  # a variant of the same turn


def test_the_writer_sees_the_reviewers_comment_and_verdict(make_app, app_db, users):
    from core.platform.models import ReviewItem
    from core.review.claims import claim
    from core.review.comments import add_comment
    from core.review.decisions import decide
    from tests.utils.factories import make_finished_draft

    project = make_project(app_db, "Blurbs", references=("A light mug that keeps coffee hot.",))
    draft = make_finished_draft(app_db, users["writer"], project, "Bright lamp.", instruction="Write a lamp blurb")
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    add_comment(session=app_db, draft_id=draft.id, author=users["reviewer"], body="Say what makes it bright.")
    claimed = claim(session=app_db, item_id=item.id, reviewer=users["reviewer"])
    decide(session=app_db, item_id=item.id, reviewer=users["reviewer"], verdict="rejected",
           reason="Too short", expected_version=claimed.version)
    session = app_db.exec(select(WritingSession)).one()
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    assert not at.exception
    shown = texts(at)
    assert "Say what makes it bright." in shown and "reviewer" in shown
    assert "rejected by a reviewer: Too short" in shown


def test_a_listed_word_is_masked_on_the_write_page(make_app, app_db, users):
    from core.writing.moderation import add_words
    from tests.utils.factories import make_finished_draft

    add_words(session=app_db, words=["秘密"], actor_id=SYSTEM)
    project = make_project(app_db, "Essays", references=("春天的北京很美。",))
    make_finished_draft(app_db, users["writer"], project, "这是一个秘密计划。")
    session = app_db.exec(select(WritingSession)).one()
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    assert not at.exception
    draft_texts = [t.value for t in at.text if "这是一个" in t.value]
    assert draft_texts and all("秘密" not in t for t in draft_texts)


def test_the_page_says_when_a_variants_job_was_cancelled(make_app, app_db, users):
    from ui.writing import JOB_KEY

    at, _ = open_session_page(make_app, app_db, users)
    job = Job(kind="variants", status="cancelled", owner_id=users["writer"].id, error="Cancelled.",
              payload={"draft_ids": [1, 2, 3]}, result={"draft_ids": [1, 2, 3], "written": 1, "failed": 0})
    app_db.add(job)
    app_db.commit()
    at.session_state[JOB_KEY] = job.id
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["The variants job was cancelled: 1 of 3 variants written."]
    assert JOB_KEY not in at.session_state


def test_a_drafts_reference_free_checks_are_shown_with_its_scores_in_chinese_too(make_app, app_db, users):
    from tests.utils.factories import make_finished_draft

    project = make_project(app_db, "随笔")  # no references: the checks are all the scores it gets
    make_finished_draft(app_db, users["writer"], project, "春天来了。" * 12, instruction="写一段关于春天的短文")
    session = app_db.exec(select(WritingSession)).one()
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    assert not at.exception
    shown = texts(at)
    assert "checks: repetition 0.91 · longest repeated span 44 · distinct-1 0.08" in shown
    assert "repeats itself: 91% repeated character 6-grams" in shown


def test_the_embedded_model_is_said_to_be_small_and_offline_with_how_to_use_a_hosted_one(make_app, app_db, users):
    project = make_project(app_db, "Essays")
    writing_session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
    at = make_app("pages/write.py", users["writer"], query={"session": writing_session.public_id})
    assert not at.exception
    [note] = [c.value for c in at.sidebar.caption if "embedded model" in c.value]
    assert "small offline model" in note and "Providers page" in note and "DRAFTGATE_LLM_BASE_URL" in note


def test_a_writer_with_many_sessions_sees_the_most_recent_and_finds_the_others(make_app, app_db, users):
    from ui.session_picker import FIND_KEY, PICK_KEY, SHOWN_SESSIONS

    project = make_project(app_db, "Essays")
    oldest = create_session(session=app_db, owner=users["writer"], project_id=project.id, title="The very first")
    for number in range(SHOWN_SESSIONS + 4):
        create_session(session=app_db, owner=users["writer"], project_id=project.id, title=f"Draft {number}")
    at = make_app("pages/write.py", users["writer"])
    assert not at.exception
    assert len(at.selectbox(key=PICK_KEY).options) == SHOWN_SESSIONS
    assert f"The {SHOWN_SESSIONS} most recent are listed." in [c.value for c in at.caption]
    at.text_input(key=FIND_KEY).input("very first").run()
    assert [o.split(" · ")[0] for o in at.selectbox(key=PICK_KEY).options] == ["The very first"]

    at = make_app("pages/write.py", users["writer"], query={"session": oldest.public_id})  # older than the list
    assert not at.exception
    assert at.selectbox(key=PICK_KEY).value == oldest.public_id
    assert f"The very first · {oldest.public_id[:6]}" in at.selectbox(key=PICK_KEY).options
