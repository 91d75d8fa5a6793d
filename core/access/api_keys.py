"""API keys for the HTTP API: create (the key shown once), list, revoke, authenticate, last use.

    key         dg_ + 43 letters and digits (256 random bits): shown once, when created
    prefix      its first 11 characters ("dg_" and 8 more): stored and listed, to tell keys apart
    key_hash    SHA-256 of the whole key (hex): stored; the key itself never is

Why SHA-256, not argon2 or a keyed hash. A password needs a slow hash because people choose
guessable ones; a key is 256 random bits, so there is no list of likely keys to try, and one
SHA-256 (a microsecond) protects it as well as argon2 would while costing every request 50 ms
less. A keyed hash (HMAC under the master key) would add nothing against someone holding a copy
of the database, and it would tie every key to the master key: `rotate-master-key` would
silently revoke them all.

    authenticate_key    the key's format is checked first (a malformed one costs no query),
                        then one lookup by hash and compare_digest of the hashes: what the
                        index lookup may leak in timing is about hashes, which tell nothing of
                        any key. Refused (AuthenticationError): unknown, revoked, expired, or
                        its user disabled or deleted
    a key acts as its user, with the user's role as it is now (read at every request)
    managing keys       the system (SYSTEM: the command line), an admin for anyone's keys,
                        a user for their own; every change is audited without the key
    LastUseRecorder     a key's last use is written at most once a minute: only when the row
                        read at authentication is older than that and this process has not tried
                        within the minute, by a conditional UPDATE, so replicas together write a
                        busy key once a minute and never per request; a busy database skips it

Deleting a user (core.access.privacy) deletes their keys and the answers stored for them.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from core.access.actors import SYSTEM, Actor, require_actor, require_user
from core.access.allowlist import Network, parse_allowlist
from core.platform import audit, constants
from core.platform.db import saved_id
from core.platform.errors import AuthenticationError, DatabaseBusyError, InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import ApiKey, Project, User, utcnow
from core.platform.text import check_text

KEY_START = "dg_"
KEY_ALPHABET = string.ascii_letters + string.digits
KEY_RANDOM_CHARS = 43  # 43 * log2(62) > 256 bits
KEY_PATTERN = re.compile(rf"^{KEY_START}[A-Za-z0-9]{{{KEY_RANDOM_CHARS}}}$")
PREFIX_CHARS = len(KEY_START) + 8
MAX_QPS_LIMIT = 1_000_000.0
MAX_CONCURRENCY_LIMIT = 10_000
RATE_KEY_HASH_CHARS = 24

INVALID_KEY = "Invalid API key: check the Authorization header (Bearer dg_...)."
REVOKED_KEY = "This API key was revoked: ask for a new one."
EXPIRED_KEY = "This API key expired on {date}: ask for a new one."
DISABLED_ACCOUNT = "The account of this API key is disabled."


@dataclass(frozen=True)
class ApiKeyView:
    """A key as a list shows it: never the key, never its hash."""

    id: int
    username: str
    name: str
    prefix: str
    project: str | None  # the project's name; None: any project
    expires_at: datetime | None
    qps_limit: float | None
    concurrency_limit: int | None
    ip_allowlist: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime | None = None) -> str:
        """active | revoked | expired"""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"

    def to_dict(self) -> dict:
        times = ("expires_at", "created_at", "last_used_at", "revoked_at")
        shown = {name: getattr(self, name) for name in self.__dataclass_fields__}
        shown.update({name: shown[name].isoformat() if shown[name] else None for name in times})
        return {**shown, "state": self.state()}


@dataclass(frozen=True)
class NewApiKey:
    key: str  # shown once, never stored
    view: ApiKeyView

    @property
    def id(self) -> int:
        return self.view.id


@dataclass(frozen=True)
class ApiCaller:
    """Who a request comes from: the key, and its user as they are now."""

    key_id: int
    user_id: int
    username: str
    role: str
    project_id: int | None
    qps_limit: float | None
    concurrency_limit: int | None
    ip_networks: tuple[Network, ...]
    last_used_at: datetime | None
    rate_key: str  # names the key in shared limits (unique across databases, tells nothing of the key)


# -- the key --------------------------------------------------------------------------------


def new_key() -> str:
    return KEY_START + "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_RANDOM_CHARS))


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# -- managing keys --------------------------------------------------------------------------


def create_api_key(
    *,
    session: Session,
    user_id: int,
    name: str,
    actor_id: Actor,
    project_id: int | None = None,
    expires_days: int | None = None,
    qps_limit: float | None = None,
    concurrency_limit: int | None = None,
    ip_allowlist: str = "",
    now: datetime | None = None,
) -> NewApiKey:
    """A new key for the user (their own, or anyone's for an admin); the key is in the answer only."""
    user = _managed_user(session, user_id, actor_id)
    now = now or utcnow()
    key = new_key()
    row = ApiKey(
        user_id=saved_id(user), name=check_text(name, what="The key name", max_chars=constants.API_KEY_NAME_MAX_CHARS,
                                         required=True, single_line=True, strip=True),
        key_hash=key_digest(key), prefix=key[:PREFIX_CHARS],
        project_id=_check_project(session, project_id),
        expires_at=now + timedelta(days=_check_expiry(expires_days)) if expires_days is not None else None,
        qps_limit=_check_qps(qps_limit), concurrency_limit=_check_concurrency(concurrency_limit),
        ip_allowlist=_check_allowlist(ip_allowlist), created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor_id=actor_id, action="api_key.create", target=user.username,
                 key_id=row.id, name=row.name, prefix=row.prefix)
    session.commit()
    return NewApiKey(key=key, view=_view(session, row, user))


def list_api_keys(*, session: Session, actor_id: Actor, user_id: int | None = None) -> list[ApiKeyView]:
    """Keys, newest first: one user's (`user_id`), or everyone's (the system and admins only)."""
    if user_id is not None:
        _managed_user(session, user_id, actor_id)
    elif actor_id is not SYSTEM:
        actor = _enabled_actor(session, actor_id)
        if actor.role != "admin":
            user_id = actor.id  # a user sees their own keys
    query = select(ApiKey, User).join(User, col(User.id) == ApiKey.user_id).order_by(col(ApiKey.id).desc())
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return [_view(session, row, user) for row, user in session.exec(query)]


def revoke_api_key(*, session: Session, key_id: int, actor_id: Actor, now: datetime | None = None) -> ApiKeyView:
    """Revoke a key (its user's, or anyone's for an admin); revoking a revoked key changes nothing.
    Someone else's key is, for a user who is not an admin, a key that does not exist."""
    row = session.get(ApiKey, key_id) if isinstance(key_id, int) and not isinstance(key_id, bool) else None
    if row is not None and actor_id is not SYSTEM:
        actor = _enabled_actor(session, actor_id)
        if actor.id != row.user_id and actor.role != "admin":
            row = None
    if row is None:
        raise NotFoundError(Message(N_('There is no API key {key_id}.'), key_id=key_id))
    user = session.get_one(User, row.user_id)
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.add(row)
        audit.record(session, actor_id=actor_id, action="api_key.revoke", target=user.username,
                     key_id=row.id, name=row.name, prefix=row.prefix)
        session.commit()
    return _view(session, row, user)


def project_id_named(*, session: Session, name: str) -> int:
    """The ID of the project with this name (the command line's --project)."""
    name = check_text(name, what="The project name", max_chars=constants.PROJECT_NAME_MAX_CHARS, required=True,
                      single_line=True, strip=True)
    project = session.exec(select(Project).where(Project.name == name)).first()
    if project is None:
        raise NotFoundError(Message(N_('There is no project named {name!r}.'), name=name))
    return saved_id(project)


# -- authentication -------------------------------------------------------------------------


def authenticate_key(*, session: Session, key: str, now: datetime | None = None) -> ApiCaller:
    """The caller a key stands for, or AuthenticationError (see the module's docstring). No write."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise AuthenticationError(INVALID_KEY)
    digest = key_digest(key)
    found = session.exec(
        select(ApiKey, User).join(User, col(User.id) == ApiKey.user_id).where(ApiKey.key_hash == digest)
    ).first()
    if found is None or not hmac.compare_digest(found[0].key_hash, digest):
        raise AuthenticationError(INVALID_KEY)
    row, user = found
    if row.revoked_at is not None:
        raise AuthenticationError(REVOKED_KEY)
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        raise AuthenticationError(EXPIRED_KEY.format(date=row.expires_at.strftime("%Y-%m-%d %H:%M UTC")))
    if user.disabled:
        raise AuthenticationError(DISABLED_ACCOUNT)
    return ApiCaller(
        key_id=saved_id(row), user_id=saved_id(user), username=user.username, role=user.role, project_id=row.project_id,
        qps_limit=row.qps_limit, concurrency_limit=row.concurrency_limit,
        ip_networks=parse_allowlist(row.ip_allowlist), last_used_at=row.last_used_at,
        rate_key=f"api-key:{digest[:RATE_KEY_HASH_CHARS]}",
    )


class LastUseRecorder:
    """Writes a key's last use at most once per `interval_s` (see the module's docstring)."""

    def __init__(
        self, interval_s: float = constants.API_KEY_LAST_USED_INTERVAL_S, *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._tried: dict[int, float] = {}  # key id -> when this process last tried to write

    def record(self, *, session: Session, caller: ApiCaller, now: datetime | None = None) -> bool:
        """True when this call wrote the last use."""
        now = now or utcnow()
        interval = timedelta(seconds=self.interval_s)
        if caller.last_used_at is not None and now - caller.last_used_at < interval:
            return False
        with self._lock:
            tried = self._tried.get(caller.key_id)
            if tried is not None and self._clock() - tried < self.interval_s:
                return False
            self._tried[caller.key_id] = self._clock()
        stale = or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < now - interval)
        try:
            result = session.exec(update(ApiKey).where(col(ApiKey.id) == caller.key_id, stale).values(last_used_at=now))
            session.commit()
        except DatabaseBusyError:
            session.rollback()
            return False
        return bool(result.rowcount)


# -- checks ---------------------------------------------------------------------------------


def _enabled_actor(session: Session, actor_id: int) -> User:
    return require_user(session, actor_id, "account")


def _managed_user(session: Session, user_id: int, actor_id: Actor) -> User:
    """The user whose keys are managed: the actor themself, or anyone for an admin or the system."""
    if actor_id is not SYSTEM and actor_id != user_id:
        require_actor(session, actor_id, "admin")
    elif actor_id is not SYSTEM:
        _enabled_actor(session, actor_id)
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise NotFoundError("No such user.")
    return user


def _check_project(session: Session, project_id: int | None) -> int | None:
    if project_id is None:
        return None
    if isinstance(project_id, bool) or not isinstance(project_id, int) or session.get(Project, project_id) is None:
        raise NotFoundError("No such project.")
    return project_id


def _check_expiry(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= constants.API_KEY_MAX_EXPIRES_DAYS:
        raise InvalidInputError(
            Message(N_('A key expires after a whole number of days, from 1 to {api_key_max_expires_days:,}.'), api_key_max_expires_days=constants.API_KEY_MAX_EXPIRES_DAYS)
        )
    return days


def _check_qps(qps: object) -> float | None:
    if qps is None:
        return None
    if isinstance(qps, bool) or not isinstance(qps, (int, float)) or not math.isfinite(qps) \
            or not 0 < qps <= MAX_QPS_LIMIT:
        raise InvalidInputError(Message(N_("A key's request rate is a number of requests per second above 0, at most {max_qps_limit:,.0f}."), max_qps_limit=MAX_QPS_LIMIT))
    return float(qps)


def _check_concurrency(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CONCURRENCY_LIMIT:
        raise InvalidInputError(Message(N_("A key's concurrency is a whole number from 1 to {max_concurrency_limit:,}."), max_concurrency_limit=MAX_CONCURRENCY_LIMIT))
    return limit


def _check_allowlist(text: str) -> str:
    text = check_text(text or "", what="The key's IP allowlist", max_chars=constants.API_KEY_ALLOWLIST_MAX_CHARS,
                      strip=True)
    return ", ".join(str(network) for network in parse_allowlist(text))


def _view(session: Session, row: ApiKey, user: User) -> ApiKeyView:
    project = session.get(Project, row.project_id) if row.project_id is not None else None
    return ApiKeyView(
        id=saved_id(row), username=user.username, name=row.name, prefix=row.prefix,
        project=project.name if project is not None else None, expires_at=row.expires_at,
        qps_limit=row.qps_limit, concurrency_limit=row.concurrency_limit, ip_allowlist=row.ip_allowlist,
        created_at=row.created_at, last_used_at=row.last_used_at, revoked_at=row.revoked_at,
    )


def projects_for_key(
    *, session: Session, caller: ApiCaller, after: int = 0, limit: int = constants.API_LIST_LIMIT,
) -> tuple[list[Project], bool]:
    """The projects the key may use, by id after `after`: its own project, or every one (a page
    of `limit`, and whether more follow)."""
    query = select(Project).where(col(Project.id) > after).order_by(col(Project.id)).limit(limit + 1)
    if caller.project_id is not None:
        query = query.where(Project.id == caller.project_id)
    rows = list(session.exec(query))
    return rows[:limit], len(rows) > limit
