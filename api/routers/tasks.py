"""The source document's task style: text-completion, tasks polled by id, batches of up to 32.

    POST text-completion     a task, waited for: {"id": "task-<n>", "text", "finish_reason", ...}
    POST tasks               202 {"id": "task-<n>", "status": "queued"}: a generation job that
                             outlives the caller (core.usecases.writing.start_variants, one draft);
                             it holds one of the key's concurrency slots until it ends (a key at
                             its limit: 429 concurrency_limit_exceeded, as for a generation)
    GET/DELETE tasks/{id}    its status (queued|running|completed|failed|cancelled) and result; cancel
    POST batches             up to 32 tasks (a 33rd: 400 batch_too_large); a task refused when
                             submitted fails alone (its entry carries the error); the batch needs a
                             free slot per task, or is refused whole (429 concurrency_limit_exceeded)
    GET batches/{id}         each task's status and result
"""

from __future__ import annotations

import re
from itertools import zip_longest
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from sqlmodel import Session

from api.access import authenticated, concurrency_refused, database, generation_slot, runtime_of
from api.drafting import acting_user, finish_reason, finished_job, gate_info, turn_request, usage_of
from api.errors import ApiError, from_core, localized_envelope, request_translations
from api.idempotency import IdempotencyKey, run_idempotent
from api.runtime import ApiRuntime
from api.schemas import NOT_FOUND, Batch, BatchRequest, Task, TaskRequest, TextCompletion
from api.traffic import Lease
from core.access.api_keys import ApiCaller
from core.platform import constants
from core.platform.errors import DraftgateError, NotFoundError
from core.platform.i18n import N_, Message, Translator
from core.platform.models import Job, User
from core.platform.states import DraftStatus, JobStatus
from core.runtime import Runtime
from core.usecases import jobs
from core.usecases.writing import TurnStarted, draft_report, start_batch, start_variants

router = APIRouter(tags=["tasks"])
TASK_ID = re.compile(r"task-([1-9][0-9]{0,17})")
BATCH_ID = re.compile(r"batch-([1-9][0-9]{0,17})")
STATUSES = {JobStatus.QUEUED: "queued", JobStatus.RUNNING: "running", JobStatus.SUCCEEDED: "completed",
            JobStatus.FAILED: "failed", JobStatus.CANCELLED: "cancelled"}


@router.post("/text-completion", response_model=TextCompletion, summary="Generate and wait: the task style, at once")
def text_completion(
    body: TaskRequest, request: Request, idempotency_key: IdempotencyKey = None,
    caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user), db: Session = Depends(database),
    runtime: ApiRuntime = Depends(runtime_of), _slot: Lease = Depends(generation_slot),
):
    def answer() -> tuple[int, Any]:
        job_id = _submit(runtime, db, caller, user, body)
        job = finished_job(runtime.core, user, job_id)
        task = _task(runtime, user, job)
        if task.result is None:
            message = task.error.message if task.error else N_("The task did not finish.")
            raise ApiError(502 if job.status == JobStatus.FAILED else 409, message,
                           code="task_failed" if job.status == JobStatus.FAILED else "task_cancelled")
        return 200, TextCompletion(id=task.id, text=task.result.text, finish_reason=task.result.finish_reason,
                                   usage=task.result.usage, draftgate=task.result.draftgate).model_dump(mode="json")

    return run_idempotent(runtime.idempotency, api_key_id=caller.key_id, key=idempotency_key, method="POST",
                          path=request.url.path, payload=body.model_dump(mode="json", exclude_unset=True), answer=answer)


@router.post("/tasks", status_code=202, response_model=Task, summary="Submit a task; poll GET tasks/{id}")
def submit_task(
    body: TaskRequest, request: Request, idempotency_key: IdempotencyKey = None,
    caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user), db: Session = Depends(database),
    runtime: ApiRuntime = Depends(runtime_of),
):
    def answer() -> tuple[int, Any]:
        [lease] = _slots(runtime, caller, 1)
        try:
            job_id = _submit(runtime, db, caller, user, body)
        except BaseException:
            lease.release()
            raise
        _hold(runtime, job_id, lease)
        return 202, _task(runtime, user, jobs.task(runtime.core, user, job_id)).model_dump(mode="json")

    return run_idempotent(runtime.idempotency, api_key_id=caller.key_id, key=idempotency_key, method="POST",
                          path=request.url.path, payload=body.model_dump(mode="json", exclude_unset=True), answer=answer)


@router.get("/tasks/{task_id}", response_model=Task, responses={404: NOT_FOUND}, summary="A task's status and result")
def get_task(task_id: str = Path(description="task-<n>", max_length=30), user: User = Depends(acting_user), runtime: ApiRuntime = Depends(runtime_of)) -> Task:
    return _task(runtime, user, jobs.task(runtime.core, user, _number(TASK_ID, task_id, "task")))


@router.delete("/tasks/{task_id}", response_model=Task, responses={404: NOT_FOUND},
               summary="Cancel a task (a queued one at once, a running one between steps)")
def cancel_task(task_id: str = Path(description="task-<n>", max_length=30), user: User = Depends(acting_user), runtime: ApiRuntime = Depends(runtime_of)) -> Task:
    return _task(runtime, user, jobs.cancel_task(runtime.core, user, _number(TASK_ID, task_id, "task")))


@router.post("/batches", status_code=202, response_model=Batch, summary=f"Up to {constants.MAX_BATCH_CONCURRENCY} tasks at once")
def submit_batch(
    body: BatchRequest, request: Request, idempotency_key: IdempotencyKey = None,
    caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user), db: Session = Depends(database),
    runtime: ApiRuntime = Depends(runtime_of),
):
    if len(body.tasks) > constants.MAX_BATCH_CONCURRENCY:
        raise ApiError(400, Message(N_("A batch holds at most {limit} tasks (this one has {n}): split it."),
                                    limit=constants.MAX_BATCH_CONCURRENCY, n=len(body.tasks)),
                       code="batch_too_large", param="tasks")

    t = request_translations(request)  # the refused tasks' messages, as the batch records them

    def answer() -> tuple[int, Any]:
        core = runtime.core
        entries: list[dict[str, Any]] = [{} for _ in body.tasks]
        requests, places = [], []
        for index, task in enumerate(body.tasks):
            try:
                requests.append(turn_request(core, db, caller, user, task, task.prompt))
                places.append(index)
            except (ApiError, DraftgateError) as err:
                entries[index] = _refused(err, t)
        leases = _slots(runtime, caller, len(requests))  # every task that will run holds one of the key's slots
        try:
            outcomes = start_batch(core, user, requests) if requests else []  # the rate counts the batch once
        except BaseException:
            for lease in leases:
                lease.release()
            raise
        for started, lease in zip_longest(outcomes, leases):  # every slot is handed to its job or given back
            if lease is not None:  # before anything below may fail, which would leave slots taken for good
                _hold(runtime, None if isinstance(started, DraftgateError) or started is None else started.job_id,
                      lease)
        for index, started in zip(places, outcomes):
            entries[index] = _refused(started, t) if isinstance(started, DraftgateError) else {
                "task": _task_id(core, user, started)}
        record = jobs.record_batch(runtime.core, user, entries=entries)
        return 202, _batch(runtime, user, record.id).model_dump(mode="json")

    return run_idempotent(runtime.idempotency, api_key_id=caller.key_id, key=idempotency_key, method="POST",
                          path=request.url.path, payload=body.model_dump(mode="json", exclude_unset=True), answer=answer)


@router.get("/batches/{batch_id}", response_model=Batch, responses={404: NOT_FOUND},
            summary="A batch: each task's status and result")
def get_batch(batch_id: str = Path(description="batch-<n>", max_length=30), user: User = Depends(acting_user), runtime: ApiRuntime = Depends(runtime_of)) -> Batch:
    return _batch(runtime, user, _number(BATCH_ID, batch_id, "batch"))


# -- the steps -----------------------------------------------------------------------------------


def _submit(runtime: ApiRuntime, db: Session, caller: ApiCaller, user: User, body: TaskRequest) -> int:
    core = runtime.core
    return _task_id(core, user, start_variants(core, user, turn_request(core, db, caller, user, body, body.prompt)))


def _slots(runtime: ApiRuntime, caller: ApiCaller, count: int) -> list[Lease]:
    """`count` of the key's generation slots (tasks count as generations), or a 429 saying why."""
    if count == 0:
        return []
    leases = runtime.concurrency.acquire_many(caller, count)
    if leases is None:
        raise concurrency_refused(runtime.concurrency, caller, count)
    return leases


def _hold(runtime: ApiRuntime, job_id: int | None, lease: Lease) -> None:
    """The slot stays taken while the task's job runs (None: answered at once, given back now)."""
    if job_id is None:
        lease.release()
    else:
        runtime.task_slots.hold(job_id, lease)


def _task_id(core: Runtime, user: User, started: TurnStarted) -> int:
    if started.job_id is None:  # answered at once (a preset answer)
        return jobs.record_answered(core, user, draft_ids=started.draft_ids).id
    return started.job_id


def _refused(err: ApiError | DraftgateError, t: Translator) -> dict[str, Any]:
    return localized_envelope(err if isinstance(err, ApiError) else from_core(err), t)


def _number(pattern: re.Pattern[str], value: str, what: str) -> int:
    match = pattern.fullmatch(value)
    if match is None:
        raise NotFoundError(Message(N_("No such {what}: its id looks like {what}-12."), what=what))
    return int(match.group(1))


def _task(runtime: ApiRuntime, user: User, job: Job) -> Task:
    status = STATUSES[JobStatus(job.status)]
    result = error = None
    draft_ids = job.payload.get("draft_ids") or []
    report = None
    if draft_ids and status in ("completed", "failed", "cancelled"):
        try:
            report = draft_report(runtime.core, user, draft_id=draft_ids[0])
        except NotFoundError:  # deleted with its session
            report = None
    if status == "completed" and report is not None and report.draft.status != DraftStatus.COMPLETED:
        # the job wrote its draft to the end, but the draft itself ended otherwise: that is the task's end
        status = "cancelled" if report.draft.status == DraftStatus.STOPPED else "failed"
    if status == "completed" and report is not None and report.draft.status == DraftStatus.COMPLETED:
        result = {"text": report.draft.text, "finish_reason": finish_reason(report.draft),
                  "usage": usage_of([report.draft]), "draftgate": gate_info(report)}
    elif status in ("failed", "cancelled") or (status == "completed" and result is None):
        message = (report.draft.error if report is not None and report.draft.error else "") or job.error or status
        error = {"message": message, "code": "task_failed" if status == "failed" else f"task_{status}"}
    return Task(id=f"task-{job.id}", status=status, created=int(job.created_at.timestamp()), result=result, error=error)


def _batch(runtime: ApiRuntime, user: User, batch_id: int) -> Batch:
    record, tasks = jobs.batch(runtime.core, user, batch_id)
    entries, counts = [], {"total": 0, "queued": 0, "running": 0, "completed": 0, "failed": 0, "cancelled": 0}
    for index, entry in enumerate(record.payload.get("entries", [])):
        counts["total"] += 1
        job = tasks.get(entry.get("task"))
        if job is None:
            counts["failed"] += 1
            detail = entry.get("error") or {"message": "This task no longer exists.", "code": "not_found",
                                            "type": "invalid_request_error", "param": None}
            entries.append({"index": index, "task": None, "error": detail})
            continue
        task = _task(runtime, user, job)
        counts[task.status] += 1
        entries.append({"index": index, "task": task, "error": None})
    running = counts["queued"] + counts["running"]
    return Batch(id=f"batch-{record.id}", status="running" if running else "completed",
                 created=int(record.created_at.timestamp()), counts=counts, tasks=entries)
