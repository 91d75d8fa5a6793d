"""POST chat/completions and completions: OpenAI's shapes, each answer a draft through the gate.

    body -> the session's next turn (core.usecases.writing.start_turn; a new session without
    session_id) -> the draft's text (api.drafting.draft_pieces) -> the answer with `draftgate`
    (route "pending" while the scoring job runs)

    n > 1     n variants of one turn, written by a job; the answer has one choice per variant
    stream    OpenAI's SSE chunks, the last with finish_reason and `draftgate`, then [DONE]; a
              failure before any text is an HTTP error, one after it an `error` event and no [DONE]
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from api.access import authenticated, database, generation_slot, runtime_of
from api.drafting import acting_user, draft_pieces, finish_reason, finished_drafts, gate_info, turn_request, usage_of
from api.errors import ApiError, from_core, internal_envelope, localized_envelope, request_translations
from api.idempotency import IdempotencyKey, run_idempotent
from api.runtime import ApiRuntime
from api.schemas import ChatCompletion, ChatCompletionRequest, Completion, CompletionRequest, GenerationFields
from api.traffic import Lease
from core.access.api_keys import ApiCaller
from core.platform.errors import DraftgateError
from core.platform.i18n import Translator
from core.platform.models import User
from core.platform.states import DraftStatus
from core.usecases.writing import DraftReport, draft_report, start_turn

logger = logging.getLogger("api")
router = APIRouter(tags=["generation"])
SSE_EVENT = {"type": "object", "required": ["data"], "properties": {
    "data": {"type": "string", "description": "A chunk as JSON, `[DONE]` last; after a failure an error envelope."},
    "event": {"type": "string", "description": "`error` for a failure mid-stream."}}}
STREAMED = {200: {"content": {"text/event-stream": {"schema": SSE_EVENT}},
                  "description": "JSON, or with stream: true the SSE chunks then `data: [DONE]`."}}


@router.post("/chat/completions", response_model=ChatCompletion, responses=STREAMED,
             summary="A chat completion: the next turn of a writing session, scored and routed")
def chat_completions(
    body: ChatCompletionRequest, request: Request, idempotency_key: IdempotencyKey = None,
    caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user),
    db: Session = Depends(database), runtime: ApiRuntime = Depends(runtime_of), _slot: Lease = Depends(generation_slot),
):
    last = body.messages[-1]
    if last.role != "user":
        raise ApiError(400, "The last message is the instruction: its role must be user.",
                       param=f"messages[{len(body.messages) - 1}].role")
    return _generate(Shape.CHAT, body, last.text(), request, idempotency_key, caller, user, db, runtime)


@router.post("/completions", response_model=Completion, responses=STREAMED,
             summary="A completion: `prompt` is the instruction of the session's next turn")
def completions(
    body: CompletionRequest, request: Request, idempotency_key: IdempotencyKey = None,
    caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user),
    db: Session = Depends(database), runtime: ApiRuntime = Depends(runtime_of), _slot: Lease = Depends(generation_slot),
):
    return _generate(Shape.COMPLETION, body, body.prompt, request, idempotency_key, caller, user, db, runtime)


class Shape:
    """OpenAI's two answer shapes."""

    CHAT, COMPLETION = "chat", "completion"
    OBJECTS = {CHAT: ("chat.completion", "chat.completion.chunk", "chatcmpl-dg"),
               COMPLETION: ("text_completion", "text_completion", "cmpl-dg")}


def _generate(shape: str, body: GenerationFields, instruction: str, request: Request, idempotency_key: str | None,
              caller: ApiCaller, user: User, db: Session, runtime: ApiRuntime):
    core, n = runtime.core, body.n
    if body.stream:
        started = start_turn(core, user, turn_request(core, db, caller, user, body, instruction, variants=n))
        db.close()  # nothing more to read here: no connection held while the answer streams
        t = request_translations(request)
        return StreamingResponse(_stream(shape, core, user, started, body, t), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    def answer() -> tuple[int, Any]:
        started = start_turn(core, user, turn_request(core, db, caller, user, body, instruction, variants=n))
        if len(started.draft_ids) == 1:
            text = "".join(draft_pieces(core, user, started.draft_ids[0]))
            return 200, _whole(shape, [(draft_report(core, user, draft_id=started.draft_ids[0]), text)])
        return 200, _whole(shape, _variants(core, user, started))

    payload = body.model_dump(mode="json", exclude_unset=True)
    return run_idempotent(runtime.idempotency, api_key_id=caller.key_id, key=idempotency_key, method="POST",
                          path=request.url.path, payload=payload, answer=answer)


def _variants(core, user: User, started) -> list[tuple[DraftReport, str]]:
    reports = finished_drafts(core, user, started)
    if not any(r.draft.status == DraftStatus.COMPLETED for r in reports):
        raise ApiError(502, next((r.draft.error for r in reports if r.draft.error), "")
                       or "The variants could not be written.", code="upstream_error")
    return [(report, report.draft.text) for report in reports]


def _whole(shape: str, drafts: list[tuple[DraftReport, str]]) -> dict[str, Any]:
    kind, _, prefix = Shape.OBJECTS[shape]
    first = drafts[0][0]
    choices = []
    for index, (report, text) in enumerate(drafts):
        reason = finish_reason(report.draft) if report.draft.status == "completed" else "error"
        info = gate_info(report).model_dump()
        if shape == Shape.CHAT:
            choices.append({"index": index, "message": {"role": "assistant", "content": text},
                            "finish_reason": reason, "logprobs": None, "draftgate": info})
        else:
            choices.append({"index": index, "text": text, "finish_reason": reason, "logprobs": None,
                            "draftgate": info})
    return {"id": f"{prefix}{first.draft.id}", "object": kind, "created": int(first.draft.created_at.timestamp()),
            "model": first.draft.model, "choices": choices,
            "usage": usage_of([report.draft for report, _ in drafts]).model_dump(),
            "draftgate": gate_info(first).model_dump()}


# -- streaming -----------------------------------------------------------------------------------


def _stream(shape: str, core, user: User, started, body: GenerationFields, t: Translator) -> Iterator[bytes]:
    _, kind, prefix = Shape.OBJECTS[shape]
    head = {"id": f"{prefix}{started.draft_ids[0]}", "object": kind, "created": int(time.time()), "model": ""}
    include_usage = bool(getattr(body, "stream_options", None) and body.stream_options.include_usage)

    def chunk(index: int, text: str | None, reason: str | None = None, **extra: Any) -> bytes:
        if shape == Shape.CHAT:
            delta = {} if text is None else ({"role": "assistant", "content": text} if text == "" else {"content": text})
            choice = {"index": index, "delta": delta, "finish_reason": reason, "logprobs": None}
        else:
            choice = {"index": index, "text": text or "", "finish_reason": reason, "logprobs": None}
        return _event({**head, "choices": [choice], **extra})

    try:
        if len(started.draft_ids) == 1:
            head["model"] = draft_report(core, user, draft_id=started.draft_ids[0]).draft.model
            if shape == Shape.CHAT:
                yield chunk(0, "")
            for piece in draft_pieces(core, user, started.draft_ids[0]):
                yield chunk(0, piece)
            drafts = [(draft_report(core, user, draft_id=started.draft_ids[0]), None)]
        else:
            drafts = _variants(core, user, started)
            for index, (_report, text) in enumerate(drafts):
                if shape == Shape.CHAT:
                    yield chunk(index, "")
                yield chunk(index, text)
        for index, (report, _text) in enumerate(drafts):
            head["model"] = report.draft.model
            reason = finish_reason(report.draft) if report.draft.status == "completed" else "error"
            extra: dict[str, Any] = {"draftgate": gate_info(report).model_dump()}
            if include_usage and index == len(drafts) - 1:
                extra["usage"] = usage_of([r.draft for r, _ in drafts]).model_dump()
            yield chunk(index, None, reason, **extra)
        yield b"data: [DONE]\n\n"
    except ApiError as err:
        yield _error_event(localized_envelope(err, t))
    except DraftgateError as err:
        yield _error_event(localized_envelope(from_core(err), t))
    except Exception:
        logger.exception("a streamed answer failed")
        yield _error_event(internal_envelope(t))


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _error_event(body: dict[str, Any]) -> bytes:
    """An error mid-stream: OpenAI's SDKs raise APIError on it; no [DONE] follows."""
    return f"event: error\ndata: {json.dumps(body, ensure_ascii=False)}\n\n".encode()


__all__ = ["router"]
