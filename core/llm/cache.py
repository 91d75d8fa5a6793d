"""Response cache: answers to identical requests, kept for a TTL.

The key is the SHA-256 of everything that shapes the answer: the provider's name, base URL,
model and API style, and the whole request body (prompt or messages, every sampling parameter);
whether the answer was streamed does not matter. Only whole answers are stored, never errors
or broken streams.

Modes (per call):
    "auto"     read and store only reproducible requests (temperature 0, or a fixed seed)
    "use"      read and store whatever the sampling (the caller asked for it)
    "refresh"  do not read, store the fresh answer ("regenerate" past a cached one)
    "off"      neither

Stores: `DatabaseStore` (the CacheEntry table; the default) and `RedisStore`, with the same
behaviour. A store that fails (Redis down, database locked) costs a log line, never a request.

Each answer stored for a writing session keeps its origin (`CacheOrigin`: the session and the
draft it was written for), so deleting that session or draft deletes it too (core.access.privacy):

    CacheEntry table   session_id, draft_id columns           delete_by_origin(session, ...)
    Redis              <prefix><key> plus index sets          RedisStore.purge_origins(...)
                       <prefix>index:session:<id>, <prefix>index:draft:<id>
                       holding the keys (expiring with their newest entry)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from redis.exceptions import RedisError
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, delete

from core.llm.ratelimit import redis_client
from core.llm.types import GenerationParams, GenerationResult, ProviderConfig
from core.platform import constants
from core.platform.db import chunks, open_session
from core.platform.errors import DatabaseBusyError
from core.platform.models import CacheEntry, utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from core.platform.config import Settings

logger = logging.getLogger(__name__)

CacheMode = Literal["auto", "use", "refresh", "off"]
CACHE_MODES: tuple[str, ...] = ("auto", "use", "refresh", "off")
REDIS_PREFIX = "draftgate:cache:"
_STREAM_FIELDS = ("stream", "stream_options", "id_slot", "cache_prompt")  # they do not shape the answer


@dataclass(frozen=True)
class CacheOrigin:
    """The writing session and draft an answer was asked for (either may be unknown: None)."""

    session_id: int | None = None
    draft_id: int | None = None


def cache_key(provider: ProviderConfig, body: dict[str, Any]) -> str:
    shaping = {
        "provider": provider.name,
        "base_url": provider.base_url.rstrip("/"),
        "model": provider.model,
        "api_style": provider.api_style,
        "body": {name: value for name, value in body.items() if name not in _STREAM_FIELDS},
    }
    canonical = json.dumps(shaping, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_reproducible(params: GenerationParams) -> bool:
    return params.temperature == 0 or params.seed is not None


def reads(mode: CacheMode, params: GenerationParams) -> bool:
    return mode == "use" or (mode == "auto" and is_reproducible(params))


def stores(mode: CacheMode, params: GenerationParams) -> bool:
    return mode in ("use", "refresh") or (mode == "auto" and is_reproducible(params))


class CacheStore(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any], ttl_s: float, origin: CacheOrigin | None = None) -> None: ...

    def delete(self, key: str) -> None: ...

    def purge_origins(self, *, session_ids: Sequence[int] = (), draft_ids: Sequence[int] = ()) -> int: ...


class ResponseCache:
    """A store plus a TTL and hit/miss counts; a failing store behaves as a miss."""

    def __init__(self, store: CacheStore, *, ttl_s: float = constants.CACHE_TTL_S) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ResponseCache({type(self.store).__name__}, ttl_s={self.ttl_s:g})"

    def get(self, key: str) -> GenerationResult | None:
        try:
            value = self.store.get(key)
            result = GenerationResult.from_dict({**value, "cached": True}) if value else None
        except (SQLAlchemyError, DatabaseBusyError, OSError, ValueError, TypeError, KeyError, RedisError) as err:
            logger.warning("response cache lookup failed, calling the provider: %s", err)
            result = None
        with self._lock:
            if result is None:
                self.misses += 1
            else:
                self.hits += 1
        return result

    def put(self, key: str, result: GenerationResult, origin: CacheOrigin | None = None) -> None:
        value = {**result.to_dict(), "cached": False}
        try:
            self.store.put(key, value, self.ttl_s, origin)
        except (SQLAlchemyError, DatabaseBusyError, OSError, RedisError) as err:
            logger.warning("response cache store failed (the answer is kept, not cached): %s", err)

    def delete(self, key: str) -> None:
        self.store.delete(key)


class DatabaseStore:
    """Entries in the CacheEntry table; expired ones read as absent, and are deleted every
    PURGE_EVERY stores."""

    PURGE_EVERY = 500

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self._stores = itertools.count(1)

    def get(self, key: str) -> dict[str, Any] | None:
        with open_session(self._engine) as session:
            entry = session.get(CacheEntry, key)
            if entry is None or entry.expires_at <= self._clock():
                return None
            return entry.value

    def put(self, key: str, value: dict[str, Any], ttl_s: float, origin: CacheOrigin | None = None) -> None:
        now = self._clock()
        origin = origin or CacheOrigin()
        values = {"key": key, "value": value, "created_at": now, "expires_at": now + timedelta(seconds=ttl_s),
                  "session_id": origin.session_id, "draft_id": origin.draft_id}  # the answer's, not an earlier one's
        insert = postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(CacheEntry.__table__).values(**values)  # type: ignore[attr-defined]
        statement = statement.on_conflict_do_update(  # one statement, whether an entry was there or not
            index_elements=["key"], set_={name: statement.excluded[name] for name in values if name != "key"})
        with open_session(self._engine) as session:
            session.exec(statement)
            session.commit()
        if next(self._stores) % self.PURGE_EVERY == 0:
            self.purge_expired()

    def delete(self, key: str) -> None:
        with open_session(self._engine) as session:
            entry = session.get(CacheEntry, key)
            if entry is not None:
                session.delete(entry)
                session.commit()

    def purge_origins(self, *, session_ids: Sequence[int] = (), draft_ids: Sequence[int] = ()) -> int:
        with open_session(self._engine) as session:
            removed = delete_by_origin(session, session_ids=session_ids, draft_ids=draft_ids)
            session.commit()
            return removed

    def purge_expired(self) -> int:
        with open_session(self._engine) as session:
            removed = session.exec(delete(CacheEntry).where(col(CacheEntry.expires_at) <= self._clock()))
            session.commit()
            return removed.rowcount


def delete_by_origin(session: Session, *, session_ids: Sequence[int] = (), draft_ids: Sequence[int] = ()) -> int:
    """Delete (in the caller's transaction) the CacheEntry rows asked for these sessions or drafts."""
    removed = 0
    for column, ids in ((CacheEntry.session_id, session_ids), (CacheEntry.draft_id, draft_ids)):
        for chunk in chunks(list(ids)):
            result = session.exec(delete(CacheEntry).where(col(column).in_(chunk)))
            removed += max(result.rowcount or 0, 0)
    return removed


class RedisStore:
    """Entries as JSON strings in Redis, expired by Redis itself; index sets by origin."""

    def __init__(self, client: Any, prefix: str | None = None) -> None:
        self._client = client
        self._prefix = REDIS_PREFIX if prefix is None else prefix
        self._put_script = client.register_script(_PUT_SCRIPT)

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._client.get(self._prefix + key)
        return json.loads(raw) if raw is not None else None

    def put(self, key: str, value: dict[str, Any], ttl_s: float, origin: CacheOrigin | None = None) -> None:
        """The entry and its origin's index sets in one script: each set lives at least as long
        as the longest-lived entry it holds."""
        raw = json.dumps(value, ensure_ascii=False)
        ttl_ms = max(1, round(ttl_s * 1000))
        self._put_script(keys=[self._prefix + key, *self._indexes(origin or CacheOrigin())], args=[raw, ttl_ms, key])

    def delete(self, key: str) -> None:
        self._client.delete(self._prefix + key)

    def purge_origins(self, *, session_ids: Sequence[int] = (), draft_ids: Sequence[int] = ()) -> int:
        """Delete the entries asked for these sessions or drafts, and their index sets; the count deleted."""
        indexes = [self._index("session", i) for i in session_ids] + [self._index("draft", i) for i in draft_ids]
        removed = 0
        for chunk in chunks(indexes):
            pipe = self._client.pipeline(transaction=False)
            for index in chunk:
                pipe.smembers(index)
            keys = {self._prefix + _text(key) for members in pipe.execute() for key in members}
            if keys:
                removed += self._client.delete(*keys)
            self._client.delete(*chunk)
        return removed

    def _indexes(self, origin: CacheOrigin) -> list[str]:
        return [self._index(kind, value) for kind, value in (("session", origin.session_id), ("draft", origin.draft_id))
                if value is not None]

    def _index(self, kind: str, value: int) -> str:
        return f"{self._prefix}index:{kind}:{int(value)}"


# KEYS[1] the entry, KEYS[2..] its index sets; ARGV: the value, the TTL in ms, the cache key.
# A set's TTL only grows (PTTL is -1 for a set just made by SADD).
_PUT_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
for i = 2, #KEYS do
    redis.call('SADD', KEYS[i], ARGV[3])
    if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[2]) then
        redis.call('PEXPIRE', KEYS[i], ARGV[2])
    end
end
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def cache_from_settings(settings: Settings, *, engine: Engine | None) -> ResponseCache | None:
    """Redis when DRAFTGATE_REDIS_URL is set, else the database; None when caching is off."""
    if not settings.cache_enabled:
        return None
    if settings.redis_url:
        return ResponseCache(RedisStore(redis_client(settings.redis_url)), ttl_s=settings.cache_ttl_s)
    if engine is None:
        return None
    return ResponseCache(DatabaseStore(engine), ttl_s=settings.cache_ttl_s)


