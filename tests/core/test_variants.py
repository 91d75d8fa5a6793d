"""Variants: N drafts of one turn written by a job, each scored and routed on its own."""

from __future__ import annotations

import json
import re
import threading
import time

import httpx
import pytest
from sqlmodel import select

from core.gate.checks import CHECK_METRICS
from core.jobs.runner import JobRunner, cancel_job
from core.llm import GenerationParams, LLMClient
from core.llm.retry import NO_RETRIES
from core.platform import constants
from core.platform.db import open_session
from core.platform.errors import InvalidInputError
from core.platform.i18n import Message, translations
from core.platform.models import Draft, Job, ReviewItem, Score, Turn
from core.writing.sessions import create_session
from core.writing.turns import TurnRequest
from core.writing.variants import CANCELLED_REASON, CANCELLED_WHILE_WRITING, start_variants
from tests.core.llm.faulty_server import FaultyServer, stream
from tests.utils.factories import make_project
from tests.utils.mock_llm import PROVIDER

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

REFERENCE = "The quick brown fox jumps over the lazy dog."


class Provider:
    """Answers the reference for even seeds (or no seed), something else for odd ones; can fail one
    seed and hold every request until released."""

    def __init__(self, fail_seed: int | None = None, hold: threading.Event | None = None) -> None:
        self.bodies: list[dict] = []
        self.fail_seed = fail_seed
        self.hold = hold
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self.lock:
            self.bodies.append(body)
        if self.hold is not None:
            self.hold.wait(10)
        seed = body.get("seed")
        if seed is not None and seed == self.fail_seed:
            return httpx.Response(400, json={"error": {"message": "this seed is cursed"}})
        text = REFERENCE if seed is None or seed % 2 == 0 else "Entirely unrelated words here."
        answer = {"id": f"v-{seed}", "model": "mock-1", "choices": [{"text": text, "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 5, "completion_tokens": 7}}
        if not body.get("stream"):
            return httpx.Response(200, json=answer)
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              content=f"data: {json.dumps(answer)}\n\ndata: [DONE]\n\n".encode())


@pytest.fixture
def writing_session(db, writer):
    project = make_project(db, references=(REFERENCE,))
    return create_session(session=db, owner=writer, project_id=project.id)


@pytest.fixture
def runner(engine):
    made = JobRunner(engine, workers=2, heartbeat_s=0.05)
    yield made
    made.shutdown()


def client_for(provider: Provider) -> LLMClient:
    return LLMClient(PROVIDER, http_client=httpx.Client(transport=httpx.MockTransport(provider)), retry=NO_RETRIES)


def start(db, writer, writing_session, runner, provider, count, params=None, **extra):
    request = TurnRequest(public_id=writing_session.public_id, instruction="Write about a fox",
                          params=params or GenerationParams(seed=10, max_tokens=16), variants=count)
    return start_variants(runner=runner, session=db, user=writer, request=request, client=client_for(provider),
                          **extra)


def finished(engine, job_id, timeout=15.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open_session(engine) as session:
            job = session.get(Job, job_id)
        if job.status in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.02)
    raise AssertionError(f"job still {job.status}")


def drafts_of(engine, turn_id) -> list[Draft]:
    with open_session(engine) as session:
        return list(session.exec(select(Draft).where(Draft.turn_id == turn_id).order_by(Draft.variant)))


def test_n_variants_become_n_drafts_of_one_turn_each_scored_and_routed(engine, db, writer, writing_session, runner):
    provider = Provider()
    started = start(db, writer, writing_session, runner, provider, count=4)
    assert len(started.draft_ids) == 4
    job = finished(engine, started.job_id)
    assert job.status == "succeeded" and job.result["written"] == 4 and job.progress_done == 4
    drafts = drafts_of(engine, started.turn_id)
    assert [d.variant for d in drafts] == [0, 1, 2, 3]
    assert [d.params["seed"] for d in drafts] == [10, 11, 12, 13]
    assert sorted(body["seed"] for body in provider.bodies) == [10, 11, 12, 13]
    assert all(d.status == "completed" and d.completion_tokens == 7 for d in drafts)
    assert [d.route for d in drafts] == ["accepted", "needs_review", "accepted", "needs_review"]
    with open_session(engine) as session:
        assert len(session.exec(select(Score)).all()) == 4 * (5 + len(CHECK_METRICS))  # the metrics and the checks
        assert len(session.exec(select(ReviewItem)).all()) == 2
        assert len(session.exec(select(Turn)).all()) == 1


def test_one_failed_variant_fails_only_its_own_draft(engine, db, writer, writing_session, runner):
    started = start(db, writer, writing_session, runner, Provider(fail_seed=11), count=3)
    job = finished(engine, started.job_id)
    assert job.status == "succeeded" and job.result == {
        "turn_id": started.turn_id, "draft_ids": started.draft_ids, "written": 2, "failed": 1}
    drafts = drafts_of(engine, started.turn_id)
    assert [d.status for d in drafts] == ["completed", "failed", "completed"]
    assert "this seed is cursed" in drafts[1].error


def test_when_every_variant_fails_the_job_fails_and_says_why(engine, db, writer, writing_session, runner):
    started = start(db, writer, writing_session, runner, Provider(fail_seed=10), count=1)
    job = finished(engine, started.job_id)
    assert job.status == "failed" and job.error.startswith("None of the 1 variants could be written:")


def test_without_a_seed_variants_differ_by_sampling_alone(engine, db, writer, writing_session, runner):
    provider = Provider()
    started = start(db, writer, writing_session, runner, provider, count=2,
                    params=GenerationParams(temperature=0.9, max_tokens=16))
    finished(engine, started.job_id)
    assert all("seed" not in body for body in provider.bodies) and len(provider.bodies) == 2


def slow_answers(server: FaultyServer, count: int) -> None:
    """Each request gets a few words (a tenth of a second apart), then silence until the server stops."""
    server.script(*(stream([f"v{i} word{n} " for n in range(8)], gap_s=0.1, then="stall") for i in range(count)))


def slow_client(server: FaultyServer) -> LLMClient:
    from core.llm.types import ProviderConfig

    return LLMClient(ProviderConfig(name="slow", base_url=server.base_url, model="slow-1", api_style="completions"),
                     retry=NO_RETRIES)


@pytest.mark.parametrize(("count", "concurrency"), [(4, 4), (5, 2)])
def test_cancelling_a_variants_job_stops_the_running_ones_and_never_starts_the_others(
    engine, db, writer, writing_session, runner, monkeypatch, count, concurrency,
):
    monkeypatch.setattr(constants, "PARTIAL_SAVE_INTERVAL_S", 0.0)  # every word is saved as it arrives
    server = FaultyServer().start()
    try:
        slow_answers(server, count)
        started = start_variants(
            runner=runner, session=db, user=writer,
            request=TurnRequest(
                public_id=writing_session.public_id, instruction="Write",
                params=GenerationParams(seed=1, max_tokens=64), variants=count,
            ),
            client=slow_client(server), concurrency=concurrency,
        )
        deadline = time.monotonic() + 15
        while not all(d.text for d in drafts_of(engine, started.turn_id)[:concurrency]):
            assert time.monotonic() < deadline, "the running variants' first words were not saved"
            time.sleep(0.02)
        cancel_job(session=db, job_id=started.job_id, user=writer)
        job = finished(engine, started.job_id)  # the streams stall: only closing them ends the job
        requests = len(server.requests)
    finally:
        server.stop()
    assert job.status == "cancelled" and job.result["written"] == 0
    assert requests == concurrency
    drafts = drafts_of(engine, started.turn_id)
    for draft in drafts[:concurrency]:
        assert draft.status == "interrupted" and draft.error == CANCELLED_WHILE_WRITING
        assert re.fullmatch(r"v(\d) word0 (v\1 word\d )*", draft.text)  # what had arrived is kept
    for draft in drafts[concurrency:]:
        assert (draft.status, draft.error, draft.text) == ("interrupted", CANCELLED_REASON, "")


@pytest.mark.parametrize("count", [0, 33, True])
def test_the_number_of_variants_is_checked_before_anything_is_saved(db, writer, writing_session, runner, count):
    with pytest.raises(InvalidInputError, match="1 to 32 variants"):
        start(db, writer, writing_session, runner, Provider(), count=count)
    assert db.exec(select(Turn)).all() == []


def test_a_runner_that_cannot_start_the_job_leaves_failed_drafts(engine, db, writer, writing_session, runner):
    runner.shutdown()
    with pytest.raises(InvalidInputError, match="stopped"):
        start(db, writer, writing_session, runner, Provider(), count=2)
    assert [d.status for d in drafts_of(engine, db.exec(select(Turn)).one().id)] == ["failed", "failed"]


def test_a_job_cancelled_before_it_starts_or_whose_app_stopped_leaves_no_draft_generating(engine, db, writer,
                                                                                      writing_session):
    from core.jobs.runner import sweep_stale_jobs
    from tests.utils.jobs import HeldRunner

    held = HeldRunner(engine)  # the jobs wait, as behind busy workers
    client = client_for(Provider())
    cancelled, stopped = (
        start_variants(
            runner=held, session=db, user=writer,
            request=TurnRequest(
                public_id=writing_session.public_id, instruction="Write about a fox",
                params=GenerationParams(max_tokens=8), variants=2,
            ),
            client=client,
        )
        for _ in range(2)
    )
    cancel_job(session=db, job_id=cancelled.job_id, user=writer)
    assert sweep_stale_jobs(engine, stale_after_s=-1) == 1  # its heartbeat is "too old": its app stopped

    for started, reason in ((cancelled, "Cancelled before it started."),
                            (stopped, "The app stopped before this job could start.")):
        drafts = drafts_of(engine, started.turn_id)
        assert [d.status for d in drafts] == ["interrupted", "interrupted"]
        assert all(d.error == f"The variants job did not finish: {reason}" for d in drafts)
        chinese = {Message.from_json(d.error_message).render(translations("zh_CN")) for d in drafts}
        assert chinese == {f"变体任务没有完成：{translations('zh_CN').gettext(reason)}"}
        assert translations("zh_CN").gettext(reason) != reason  # the reason too is in Chinese
