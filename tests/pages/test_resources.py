"""The app's process resources: its job runner starts with its engine, and its heartbeat sweeps
the drafts of writers that died, while the app runs (not only when it starts)."""

import time
from datetime import timedelta

import pytest

from core.llm.types import ProviderConfig
from core.platform import constants
from core.platform.errors import InvalidInputError
from core.platform.models import Draft, Turn, utcnow
from core.writing.sessions import STALE_DRAFT_REASON, create_session
from tests.utils.factories import make_project
from ui import resources


def test_a_running_app_sweeps_a_dead_writers_draft(app_engine, app_db, users):
    writing_session = create_session(session=app_db, owner=users["writer"], project_id=make_project(app_db).id)
    turn = Turn(session_id=writing_session.id, index=0, instruction="Write")
    app_db.add(turn)
    app_db.flush()
    long_ago = utcnow() - timedelta(seconds=constants.DRAFT_STALE_AFTER_S + 1)
    draft = Draft(turn_id=turn.id, text="so far", heartbeat_at=long_ago, updated_at=long_ago)
    app_db.add(draft)
    app_db.commit()  # after the app started: only its running heartbeat can find it

    deadline = time.monotonic() + 6 * constants.JOB_HEARTBEAT_S
    while app_db.get(Draft, draft.id).status == "generating":
        assert time.monotonic() < deadline, "the app's heartbeat did not sweep the draft"
        time.sleep(0.1)
        app_db.expire_all()
    assert (app_db.get(Draft, draft.id).error, app_db.get(Draft, draft.id).text) == (STALE_DRAFT_REASON, "so far")


def test_resetting_the_resources_stops_the_job_runner(app_engine):
    runner = resources.job_runner()
    resources.reset()
    with pytest.raises(InvalidInputError, match="stopped"):
        runner.submit(kind="score", payload={"draft_id": 1}, owner_id=None)


def test_the_app_has_one_runtime_whose_parts_the_pages_share(app_engine):
    runtime = resources.runtime()
    assert resources.engine() is runtime.engine is app_engine and resources.settings() is runtime.settings
    assert resources.job_runner() is runtime.job_runner
    provider = ProviderConfig(name="p", base_url="https://p.example/v1", model="m-1")
    assert resources.runtime().client(provider) is runtime.client(provider)  # the same runtime on every run


def test_settings_that_are_not_acceptable_stop_the_app_with_their_names(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.pages.conftest import ROOT, TIMEOUT, shown

    resources.reset()
    monkeypatch.setenv("DRAFTGATE_LLM_BASE_URL", "https://api.example.com/v1")  # and no DRAFTGATE_LLM_MODEL
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    finally:
        resources.reset()
    assert not at.exception and at.title[0].value == "Draftgate cannot start"
    assert "DRAFTGATE_LLM_BASE_URL is set but DRAFTGATE_LLM_MODEL is not" in shown(at.error[0].value)
    assert not at.button and not at.text_input  # no sign-in form
