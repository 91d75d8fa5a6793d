"""The task style: text-completion, tasks polled by id, cancelled, batches of up to 32."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.core.llm.faulty_server import FaultyServer, stall, status
from tests.utils.factories import make_project, make_user


@pytest.fixture
def provider():
    server = FaultyServer().start()
    yield server
    server.stop()


@pytest.fixture
def live(start_api, db, provider):
    make_project(db, "Support")
    return start_api(llm_base_url=provider.base_url, llm_model="mock-model", llm_api_style="completions")


def call(live, method, path, key, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    return httpx.request(method, live.url(path), headers=headers, timeout=60, **kwargs)


def poll(live, key, task_id, until=("completed", "failed", "cancelled")) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        task = call(live, "GET", f"/tasks/{task_id}", key).json()
        if task["status"] in until:
            return task
        time.sleep(0.05)
    raise AssertionError(f"{task_id} is still {task['status']}")


def test_text_completion_answers_as_the_source_document_says(live, provider, writer):
    provider.reply = "Dear customer, it shipped."
    answer = call(live, "POST", "/text-completion", live.key_for(writer),
                  json={"prompt": "Write it", "temperature": 0.3, "max_tokens": 50, "top_p": 0.9,
                        "frequency_penalty": 0.1})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"].startswith("task-") and body["text"] == "Dear customer, it shipped."
    assert body["finish_reason"] == "stop" and body["draftgate"]["status"] == "completed"
    sent = provider.requests[-1].body
    assert (sent["temperature"], sent["max_tokens"], sent["top_p"], sent["frequency_penalty"]) == (0.3, 50, 0.9, 0.1)


def test_a_task_is_submitted_with_202_and_polled_to_its_result(live, provider, writer):
    key = live.key_for(writer)
    submitted = call(live, "POST", "/tasks", key, json={"prompt": "Write it"})
    assert submitted.status_code == 202 and submitted.json()["status"] in ("queued", "running", "completed")

    task = poll(live, key, submitted.json()["id"])

    assert task["status"] == "completed" and task["result"]["text"] == FaultyServer.reply
    assert task["result"]["draftgate"]["session_id"]


def test_a_failed_task_says_why_and_another_users_task_is_not_found(live, provider, writer, db):
    provider.script(*[status(400, body={"error": {"message": "bad prompt"}})] * 5)
    key = live.key_for(writer)
    task_id = call(live, "POST", "/tasks", key, json={"prompt": "Write it"}).json()["id"]
    task = poll(live, key, task_id)
    assert task["status"] == "failed" and task["error"]["message"]
    other = live.key_for(make_user(db, "wendy", "writer"))
    assert call(live, "GET", f"/tasks/{task_id}", other).status_code == 404
    assert call(live, "GET", "/tasks/task-x", key).json()["error"]["code"] == "not_found"


def test_delete_cancels_a_running_task(live, provider, writer):
    provider.script(stall())
    key = live.key_for(writer)
    task_id = call(live, "POST", "/tasks", key, json={"prompt": "Write it"}).json()["id"]
    poll(live, key, task_id, until=("running",))

    assert call(live, "DELETE", f"/tasks/{task_id}", key).status_code == 200
    # the provider never speaks: the cancel closes its silent stream (else the stall would end as "failed")
    assert poll(live, key, task_id)["status"] == "cancelled"
    assert len(provider.requests) == 1


def test_a_batch_holds_up_to_32_tasks_and_fails_per_task(live, provider, writer):
    key = live.key_for(writer)
    too_many = call(live, "POST", "/batches", key, json={"tasks": [{"prompt": f"p{i}"} for i in range(33)]})
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "batch_too_large"

    tasks = [{"prompt": "one"}, {"prompt": "two", "project": "No such project"}, {"prompt": "three"}]
    batch = call(live, "POST", "/batches", key, json={"tasks": tasks})
    assert batch.status_code == 202, batch.text
    batch_id = batch.json()["id"]
    deadline = time.monotonic() + 30
    while (body := call(live, "GET", f"/batches/{batch_id}", key).json())["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    entries = body["tasks"]
    assert entries[1]["task"] is None and entries[1]["error"]["code"] == "project_not_found"
    assert [entries[i]["task"]["status"] for i in (0, 2)] == ["completed", "completed"]
    assert body["counts"]["completed"] == 2 and body["counts"]["failed"] == 1


def test_a_full_batch_of_32_counts_once_for_the_users_rate_and_all_of_it_runs(start_api, db, provider, writer):
    make_project(db, "Support")
    limited = start_api(llm_base_url=provider.base_url, llm_model="m", llm_api_style="completions",
                        user_rate_limit=2)
    key = limited.key_for(writer, concurrency_limit=96)  # room for three whole batches: only the user's rate refuses
    batches = [call(limited, "POST", "/batches", key, json={"tasks": [{"prompt": f"p{i}"} for i in range(32)]})
               for _ in range(3)]
    assert [b.status_code for b in batches] == [202, 202, 429]  # two requests of the user's rate, then refused
    assert batches[2].json()["error"]["code"] == "rate_limit_exceeded" and batches[2].headers["Retry-After"]
    first = batches[0].json()
    assert all(entry["task"] is not None for entry in first["tasks"])
    deadline = time.monotonic() + 60
    while (body := call(limited, "GET", f"/batches/{first['id']}", key).json())["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert body["counts"]["completed"] == 32, [e for e in body["tasks"] if e["error"] or e["task"]["error"]]


def test_tasks_and_batches_count_against_the_keys_generations_at_once(live, provider, writer):
    provider.script(stall(), stall())
    key = live.key_for(writer, concurrency_limit=2)
    running = [call(live, "POST", "/tasks", key, json={"prompt": f"写 {i}"}).json()["id"] for i in range(2)]
    for task_id in running:
        poll(live, key, task_id, until=("running",))

    over = call(live, "POST", "/tasks", key, json={"prompt": "one more"})
    assert over.status_code == 429 and over.headers["Retry-After"] == "1"
    error = over.json()["error"]
    assert error["code"] == "concurrency_limit_exceeded" and "2 generations at once" in error["message"]
    batch = call(live, "POST", "/batches", key, json={"tasks": [{"prompt": "a"}]})
    assert batch.status_code == 429 and batch.json()["error"]["code"] == "concurrency_limit_exceeded"
    completion = call(live, "POST", "/text-completion", key, json={"prompt": "now"})
    assert completion.status_code == 429 and completion.json()["error"]["code"] == "concurrency_limit_exceeded"

    assert call(live, "DELETE", f"/tasks/{running[0]}", key).status_code == 200
    assert poll(live, key, running[0])["status"] == "cancelled"
    deadline = time.monotonic() + 30  # the slot comes back once the task's job has ended
    while (again := call(live, "POST", "/tasks", key, json={"prompt": "again"})).status_code == 429:
        assert time.monotonic() < deadline, again.text
        time.sleep(0.1)
    assert again.status_code == 202
    assert poll(live, key, again.json()["id"])["status"] == "completed"


def test_a_batch_needs_a_slot_per_task_or_is_refused_whole(live, provider, writer):
    key = live.key_for(writer, concurrency_limit=2)
    too_big = call(live, "POST", "/batches", key, json={"tasks": [{"prompt": f"p{i}"} for i in range(3)]})
    assert too_big.status_code == 429
    error = too_big.json()["error"]
    assert error["code"] == "concurrency_limit_exceeded" and "at most 2 at a time" in error["message"]
    assert provider.requests == []  # nothing was started

    fits = call(live, "POST", "/batches", key, json={"tasks": [{"prompt": "one"}, {"prompt": "二"}]})
    assert fits.status_code == 202, fits.text
    deadline = time.monotonic() + 30
    while (body := call(live, "GET", f"/batches/{fits.json()['id']}", key).json())["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert body["counts"]["completed"] == 2


def test_a_batch_that_fails_while_its_tasks_are_recorded_leaves_no_slot_taken(live, provider, writer, monkeypatch):
    from api.routers import tasks
    from core.platform.errors import DatabaseBusyError

    def busy(*args, **kwargs):  # the database fails just as the batch's first task is recorded
        raise DatabaseBusyError("The database is busy; try again in a moment.")

    key = live.key_for(writer, concurrency_limit=2)
    with monkeypatch.context() as patched:
        patched.setattr(tasks, "_task_id", busy)
        failed = call(live, "POST", "/batches", key, json={"tasks": [{"prompt": "one"}, {"prompt": "二"}]})
    assert failed.status_code == 503, failed.text
    deadline = time.monotonic() + 30  # its started jobs end, and give their slots back
    while (again := call(live, "POST", "/batches", key, json={"tasks": [{"prompt": "a"}, {"prompt": "b"}]})
           ).status_code == 429:
        assert time.monotonic() < deadline, again.text
        time.sleep(0.1)
    assert again.status_code == 202, again.text
    while call(live, "GET", f"/batches/{again.json()['id']}", key).json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
