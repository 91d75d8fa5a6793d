"""Sign-in throttling: after too many failures for a user name or a client address, wait.

Each failed sign-in is a LoginFailure row (one per user name, one per address), so the count
holds across processes and app replicas sharing the database. The rule is a sliding window:
at most `max_failures` failures per user name (and `max_failures_per_address` per address)
within `window`; beyond that, attempts are refused without checking the password until the
oldest counted failure leaves the window. The wait is said in the message. A success clears
the user name's failures (not the address's: one good account must not unlock guessing
others from the same address). Unknown user names count like known ones, so the answers do
not tell which names exist.

Checking the count and counting the attempt are one atomic step, so parallel attempts (tabs,
processes, replicas) cannot all pass the check before any of them is counted:

    reserve_attempt   own transaction, under a lock per scope+key (SQLite: BEGIN IMMEDIATE;
                      PostgreSQL: pg_advisory_xact_lock): count the window's failures, refuse
                      when over, else add this attempt's rows as failures; commit
        -> the caller checks the password only now
    release           it was right: the attempt is no failure (its rows go)
                      it was wrong: nothing to do, the rows stay counted

An attempt whose process dies before it is known stays counted: a crash never frees a guess.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlmodel import Session, col, select

from core.platform import constants
from core.platform.db import open_session, saved_id
from core.platform.errors import RateLimitedError
from core.platform.i18n import N_, Message
from core.platform.models import LoginFailure, utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from core.platform.config import Settings

USER, ADDRESS = "user", "address"
KEY_MAX_CHARS = 128  # LoginFailure.key


@dataclass(frozen=True)
class LoginLimits:
    max_failures: int = constants.LOGIN_MAX_FAILURES  # per user name; 0: no limit
    max_failures_per_address: int = constants.LOGIN_MAX_FAILURES_PER_ADDRESS  # 0: no limit
    window: timedelta = timedelta(minutes=constants.LOGIN_WINDOW_MINUTES)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            max_failures=settings.login_max_failures,
            max_failures_per_address=settings.login_max_failures_per_address,
            window=timedelta(minutes=settings.login_window_minutes),
        )


DEFAULT_LIMITS = LoginLimits()


@dataclass(frozen=True)
class Reservation:
    """The LoginFailure rows that count one attempt until its password is known to be right."""

    failure_ids: tuple[int, ...]


@dataclass(frozen=True)
class _Check:
    scope: str
    key: str
    limit: int
    what: str  # for the message: "this user name", "your address"


def user_key(username: str) -> str:
    """The name's failures are counted under: NFKC (as user names are, core.access.users), case-folded."""
    return unicodedata.normalize("NFKC", username).strip().casefold()[:KEY_MAX_CHARS]


def address_key(address: str) -> str:
    return address.strip()[:KEY_MAX_CHARS]


def reserve_attempt(
    engine: Engine, *, username: str, address: str | None, limits: LoginLimits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> Reservation:
    """Count this attempt as a failure, atomically with the check that it may be made; raise
    RateLimitedError (with retry_after_s) instead when this name or address must wait.

    Runs in a transaction of its own, committed before returning, so every other attempt sees
    it before this one's password is checked. `engine` is the database's (session.get_bind())."""
    now = now or utcnow()
    checks = _checks(username, address, limits)
    with open_session(engine) as session:
        _lock(session, checks)
        for check in checks:
            wait = _wait(session, check, limits.window, now)
            if wait > 0:
                raise RateLimitedError(
                    Message(N_('Too many failed sign-ins for {what}: try again in {value}.'), what=check.what, value=describe_wait(wait)),
                    retry_after_s=wait,
                )
        rows = [LoginFailure(scope=check.scope, key=check.key, created_at=now) for check in checks]
        session.add_all(rows)
        session.exec(delete(LoginFailure).where(col(LoginFailure.created_at) < now - limits.window))
        session.flush()
        reservation = Reservation(tuple(saved_id(row) for row in rows))
        session.commit()
    return reservation


def release(session: Session, reservation: Reservation) -> None:
    """The attempt was right: it is no failure (in the caller's transaction)."""
    if reservation.failure_ids:
        session.exec(delete(LoginFailure).where(col(LoginFailure.id).in_(reservation.failure_ids)))


def clear_user(session: Session, *, username: str) -> None:
    """Forget a user name's failures (after a successful sign-in or a password reset)."""
    session.exec(delete(LoginFailure).where(col(LoginFailure.scope) == USER,
                                            col(LoginFailure.key) == user_key(username)))


def describe_wait(seconds: float) -> str:
    if seconds < 60:
        whole = max(1, math.ceil(seconds))
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _checks(username: str, address: str | None, limits: LoginLimits) -> list[_Check]:
    """What this attempt counts against, in a fixed order (locks are taken in this order)."""
    checks = [_Check(USER, user_key(username), limits.max_failures, "this user name")]
    if address and address.strip():
        checks.append(_Check(ADDRESS, address_key(address), limits.max_failures_per_address, "your address"))
    return checks


def _lock(session: Session, checks: list[_Check]) -> None:
    """Hold, until the transaction ends, the lock of every scope+key this attempt counts against.

    SQLite has one writer at a time: BEGIN IMMEDIATE takes the write lock now (a deferred BEGIN
    would let two transactions read the same count). PostgreSQL: one advisory lock per key,
    taken in sorted order so that two attempts never wait for each other's second lock.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        for lock_id in sorted({_lock_id(check) for check in checks}):
            session.connection().exec_driver_sql("SELECT pg_advisory_xact_lock(%(id)s)", {"id": lock_id})
    else:  # pragma: no cover - Draftgate runs on SQLite or PostgreSQL
        raise NotImplementedError(f"sign-in throttling has no lock for {dialect}")


def _lock_id(check: _Check) -> int:
    """A signed 64-bit advisory lock id for scope+key (a hash: unrelated keys rarely share one,
    and sharing one only makes two attempts wait for each other)."""
    digest = hashlib.sha256(f"draftgate-login:{check.scope}:{check.key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _wait(session: Session, check: _Check, window: timedelta, now: datetime) -> float:
    """Seconds until fewer than `limit` failures are left in the window; 0 when allowed now."""
    if check.limit <= 0:
        return 0.0
    recent = list(
        session.exec(
            select(LoginFailure.created_at)
            .where(LoginFailure.scope == check.scope, LoginFailure.key == check.key,
                   col(LoginFailure.created_at) > now - window)
            .order_by(col(LoginFailure.created_at).desc())
            .limit(check.limit)
        )
    )
    if len(recent) < check.limit:
        return 0.0
    return max(0.0, (recent[check.limit - 1] + window - now).total_seconds())
