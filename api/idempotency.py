"""Idempotent POSTs: a request sent again with the same Idempotency-Key gets the first answer.

    begin(key id, Idempotency-Key, request hash)
        new key                           -> Proceed: a "running" record is committed first
        answered, same request            -> Replay: the stored status and body (header
                                             Idempotent-Replayed: true)
        another request (method, path or body differ)   -> 422 idempotency_key_reused
        the first is still running        -> 409 idempotency_request_in_progress
        a record older than IDEMPOTENCY_TTL_S, or "running" for longer than
        IDEMPOTENCY_STALE_S (its process died)   -> replaced: the request runs again
    finish(record, status, body)          the answer is stored (any status the route returned)
    abandon(record)                       the route raised: the record goes, a retry runs again

Keys are per API key: two keys never see each other's records. Two replicas racing on one new
key: the unique (api_key_id, key) constraint lets one insert win, the other answers 409.
The request hash is SHA-256 of the method, the path and the parsed body as canonical JSON, so
the same JSON written with other spacing or key order is the same request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from api.errors import ApiError
from core.platform import constants
from core.platform.db import open_session
from core.platform.i18n import N_, Message
from core.platform.models import IdempotencyRecord, utcnow

RUNNING, COMPLETED = "running", "completed"
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

# a route's parameter: `idempotency_key: IdempotencyKey = None`
IdempotencyKey = Annotated[str | None, Header(
    alias=HEADER, description="Send the request again with the same key and get the first answer back "
                              "(for 24 hours); 1 to 255 visible ASCII characters, e.g. a UUID.")]


@dataclass(frozen=True)
class Proceed:
    record_id: int


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any


def request_hash(method: str, path: str, payload: Any) -> str:
    canonical = json.dumps({"method": method.upper(), "path": path, "body": payload}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(value: str) -> str:
    """An Idempotency-Key: 1 to 255 visible ASCII characters."""
    if not 1 <= len(value) <= constants.IDEMPOTENCY_KEY_MAX_CHARS or not all(" " < char <= "~" for char in value):
        raise ApiError(400, Message(N_("An {header} has 1 to {n} visible ASCII characters (a UUID is a good "
                                       "choice)."), header=HEADER, n=constants.IDEMPOTENCY_KEY_MAX_CHARS),
                       code="invalid_idempotency_key", param=HEADER)
    return value


class IdempotencyStore:
    def __init__(
        self, engine: Engine, *, ttl_s: float = constants.IDEMPOTENCY_TTL_S,
        stale_s: float = constants.IDEMPOTENCY_STALE_S, clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self.ttl = timedelta(seconds=ttl_s)
        self.stale = timedelta(seconds=stale_s)
        self._clock = clock

    def begin(self, *, api_key_id: int, key: str, request_hash: str) -> Proceed | Replay:
        with open_session(self._engine) as session:
            now = self._clock()
            record = self._find(session, api_key_id, key)
            if record is not None and self._outlived(record, now):
                session.exec(delete(IdempotencyRecord).where(IdempotencyRecord.id == record.id))
                record = None
            if record is None:
                fresh = IdempotencyRecord(api_key_id=api_key_id, key=key, request_hash=request_hash, created_at=now)
                session.add(fresh)
                try:
                    session.commit()
                    return Proceed(fresh.id)
                except IntegrityError:  # another replica took the key a moment ago
                    session.rollback()
                    record = self._find(session, api_key_id, key)
                    if record is None:
                        raise _in_progress() from None
            session.commit()
        if record.request_hash != request_hash:
            raise ApiError(422, Message(N_("This {header} was used with another request; use a new key for a new "
                                           "request."), header=HEADER), code="idempotency_key_reused", param=HEADER)
        if record.status == RUNNING:
            raise _in_progress()
        return Replay(record.status_code or 200, record.response.get("body"))

    def finish(self, record_id: int, *, status_code: int, body: Any) -> None:
        with open_session(self._engine) as session:
            record = session.get(IdempotencyRecord, record_id)
            if record is None:
                return
            record.status, record.status_code, record.response = COMPLETED, status_code, {"body": body}
            session.add(record)
            session.commit()

    def abandon(self, record_id: int) -> None:
        with open_session(self._engine) as session:
            session.exec(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
            session.commit()

    def purge_expired(self) -> int:
        """Delete the records past their time (begin replaces them anyway; this keeps the table small)."""
        now = self._clock()
        with open_session(self._engine) as session:
            result = session.exec(delete(IdempotencyRecord).where(
                (col(IdempotencyRecord.created_at) < now - self.ttl)
                | ((IdempotencyRecord.status == RUNNING) & (col(IdempotencyRecord.created_at) < now - self.stale))
            ))
            session.commit()
        return max(result.rowcount or 0, 0)

    def _find(self, session, api_key_id: int, key: str) -> IdempotencyRecord | None:
        query = select(IdempotencyRecord).where(IdempotencyRecord.api_key_id == api_key_id,
                                                IdempotencyRecord.key == key)
        return session.exec(query).first()

    def _outlived(self, record: IdempotencyRecord, now: datetime) -> bool:
        age = now - record.created_at
        return age >= self.ttl or (record.status == RUNNING and age >= self.stale)


def _in_progress() -> ApiError:
    return ApiError(409, Message(N_("A request with this {header} is still running; retry once it has answered."),
                                 header=HEADER), code="idempotency_request_in_progress", param=HEADER,
                    headers={"Retry-After": "1"})


def run_idempotent(
    store: IdempotencyStore, *, api_key_id: int, key: str | None, method: str, path: str, payload: Any,
    answer: Callable[[], tuple[int, Any]],
) -> JSONResponse:
    """Answer a POST once per Idempotency-Key: `answer()` gives (status, JSON body) the first time."""
    if key is None:
        status, body = answer()
        return JSONResponse(body, status_code=status)
    outcome = store.begin(api_key_id=api_key_id, key=check_key(key), request_hash=request_hash(method, path, payload))
    if isinstance(outcome, Replay):
        return JSONResponse(outcome.body, status_code=outcome.status_code, headers={REPLAYED_HEADER: "true"})
    try:
        status, body = answer()
    except BaseException:
        store.abandon(outcome.record_id)
        raise
    store.finish(outcome.record_id, status_code=status, body=body)
    return JSONResponse(body, status_code=status)
