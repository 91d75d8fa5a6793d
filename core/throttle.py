"""Sign-in throttling: after too many failures for a user name or a client address, wait.

Each failed sign-in is a LoginFailure row (one per user name, one per address), so the count
holds across processes and app replicas sharing the database. The rule is a sliding window:
at most `max_failures` failures per user name (and `max_failures_per_address` per address)
within `window`; beyond that, attempts are refused without checking the password until the
oldest counted failure leaves the window. The wait is said in the message. A success clears
the user name's failures (not the address's: one good account must not unlock guessing
others from the same address). Unknown user names count like known ones, so the answers do
not tell which names exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlmodel import Session, col, select

from core import constants
from core.errors import RateLimitedError
from core.models import LoginFailure, utcnow

if TYPE_CHECKING:
    from core.config import Settings

USER, ADDRESS = "user", "address"


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


def user_key(username: str) -> str:
    return username.strip().lower()[:128]


def check_allowed(
    session: Session, *, username: str, address: str | None, limits: LoginLimits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> None:
    """Raise RateLimitedError (with retry_after_s) when this name or address must wait."""
    now = now or utcnow()
    checks = [(USER, user_key(username), limits.max_failures, "this user name")]
    if address:
        checks.append((ADDRESS, address, limits.max_failures_per_address, "your address"))
    for scope, key, limit, what in checks:
        wait = _wait(session, scope, key, limit, limits.window, now)
        if wait > 0:
            raise RateLimitedError(
                f"Too many failed sign-ins for {what}: try again in {describe_wait(wait)}.", retry_after_s=wait
            )


def record_failure(session: Session, *, username: str, address: str | None, now: datetime | None = None,
                   window: timedelta = DEFAULT_LIMITS.window) -> None:
    """Count a failure (in the caller's transaction); forget failures older than the window."""
    now = now or utcnow()
    session.add(LoginFailure(scope=USER, key=user_key(username), created_at=now))
    if address:
        session.add(LoginFailure(scope=ADDRESS, key=address[:128], created_at=now))
    session.exec(delete(LoginFailure).where(col(LoginFailure.created_at) < now - window))


def clear_user(session: Session, *, username: str) -> None:
    """Forget a user name's failures (after a successful sign-in or a password reset)."""
    session.exec(delete(LoginFailure).where(LoginFailure.scope == USER, LoginFailure.key == user_key(username)))


def describe_wait(seconds: float) -> str:
    if seconds < 60:
        whole = max(1, math.ceil(seconds))
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _wait(session: Session, scope: str, key: str, limit: int, window: timedelta, now: datetime) -> float:
    """Seconds until fewer than `limit` failures are left in the window; 0 when allowed now."""
    if limit <= 0:
        return 0.0
    recent = list(
        session.exec(
            select(LoginFailure.created_at)
            .where(LoginFailure.scope == scope, LoginFailure.key == key, col(LoginFailure.created_at) > now - window)
            .order_by(col(LoginFailure.created_at).desc())
            .limit(limit)
        )
    )
    if len(recent) < limit:
        return 0.0
    return max(0.0, (recent[limit - 1] + window - now).total_seconds())
