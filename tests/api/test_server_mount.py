"""The API on the app's own port: `streamlit run server.py` answers under /api/v1, and an
openai client drafts through the gate there (done when, issue 15)."""

from __future__ import annotations

import openai
import pytest

from core.access.actors import SYSTEM
from core.access.api_keys import create_api_key
from core.platform.config import Settings
from core.platform.db import create_schema, make_engine, open_session
from tests.browser.conftest import running_app
from tests.core.llm.faulty_server import FaultyServer
from tests.utils.factories import make_project, make_user


@pytest.fixture
def provider():
    server = FaultyServer().start()
    yield server
    server.stop()


def test_streamlit_run_server_serves_the_api_and_an_openai_client_drafts_through_it(data_dir, provider):
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url)
    create_schema(engine)
    with open_session(engine) as db:
        writer = make_user(db, "writer", "writer")
        make_project(db, "Support", references=("Your order has shipped.",))
        key = create_api_key(session=db, user_id=writer.id, name="cms", actor_id=SYSTEM).key
    engine.dispose()
    provider.reply = "Your order has shipped today."

    with running_app(data_dir, DRAFTGATE_LLM_BASE_URL=provider.base_url, DRAFTGATE_LLM_MODEL="mock",
                     DRAFTGATE_LLM_API_STYLE="chat") as url:
        client = openai.OpenAI(base_url=f"{url}/api/v1", api_key=key, max_retries=0, timeout=60)
        assert [model.id for model in client.models.list()] == ["configured"]
        answer = client.chat.completions.create(model="configured",
                                                messages=[{"role": "user", "content": "Say it shipped"}])

    assert answer.choices[0].message.content == "Your order has shipped today."
    gate = answer.model_extra["draftgate"]
    assert gate["status"] == "completed" and gate["session_id"] and gate["route"] in ("pending", "accepted", "needs_review")
