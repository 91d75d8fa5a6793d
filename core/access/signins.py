"""Sign-in sessions: one row per signed-in browser, found again from the cookie's token.

    token        32 random bytes, URL-safe base64 (43 characters): lives only in the browser's
                 cookie (HttpOnly); the database keeps its SHA-256 (token_hash), like API keys
                 (core.access.api_keys explains why a plain SHA-256 is enough for random tokens)
    start        after a successful sign-in: a row with the address and user agent, ending at
                 created + DRAFTGATE_SESSION_MAX_HOURS at the latest
    look_up      every script run and page load: the row and its user, or why there is none:

        unknown  -> no such token (or not one of ours)
        revoked  -> signed out (here or in another tab), or ended by an admin's change
        expired  -> past its absolute end                       (revoked now, audited)
        idle     -> unused for DRAFTGATE_SESSION_IDLE_MINUTES   (revoked now, audited)
        disabled -> its user is disabled or deleted             (revoked now)
        ""       -> signed in; last_seen_at moves on, written at most once a minute
                    (a conditional UPDATE, so replicas and tabs together write it once)

    revoke / revoke_all   one browser, or every browser of a user (sign out everywhere;
                          disabling, a role change, a password change or reset)

Rows that ended long ago are deleted when their user signs in again (KEEP_ENDED).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from core.platform import audit, constants
from core.platform.i18n import N_, Message
from core.platform.models import SignInSession, User, utcnow

if TYPE_CHECKING:
    from core.platform.config import Settings

TOKEN_BYTES = 32
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
ADDRESS_MAX_CHARS, USER_AGENT_MAX_CHARS = 64, 300
KEEP_ENDED = timedelta(days=30)

UNKNOWN, REVOKED, EXPIRED, IDLE, DISABLED = "unknown", "revoked", "expired", "idle", "disabled"


@dataclass(frozen=True)
class SessionRules:
    idle: timedelta | None  # None: never idle (DRAFTGATE_SESSION_IDLE_MINUTES=0)
    max_age: timedelta = timedelta(hours=constants.SESSION_MAX_HOURS)
    touch_every: timedelta = timedelta(seconds=constants.SESSION_TOUCH_S)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionRules:
        idle = settings.session_idle_minutes
        return cls(idle=timedelta(minutes=idle) if idle else None, max_age=timedelta(hours=settings.session_max_hours))


@dataclass(frozen=True)
class Lookup:
    """What a token stands for: the sign-in and its user, or `ended` saying why not."""

    sign_in: SignInSession | None = None
    user: User | None = None
    ended: str = UNKNOWN

    @property
    def signed_in(self) -> bool:
        return self.user is not None and not self.ended


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session, *, user_id: int, address: str = "", user_agent: str = "", rules: SessionRules,
    now: datetime | None = None,
) -> tuple[str, SignInSession]:
    """A new sign-in for this user: (the token for the cookie, the stored row). Commits."""
    now = now or utcnow()
    token = new_token()
    row = SignInSession(
        user_id=user_id, token_hash=token_hash(token), created_at=now, last_seen_at=now,
        expires_at=now + rules.max_age, address=(address or "")[:ADDRESS_MAX_CHARS],
        user_agent=_printable(user_agent)[:USER_AGENT_MAX_CHARS],
    )
    session.add(row)
    session.exec(delete(SignInSession).where(
        col(SignInSession.user_id) == user_id,
        or_(col(SignInSession.revoked_at) < now - KEEP_ENDED, col(SignInSession.expires_at) < now - KEEP_ENDED),
    ))
    session.commit()
    return token, row


def look_up(session: Session, token: str | None, *, rules: SessionRules, now: datetime | None = None) -> Lookup:
    """The sign-in this token stands for (see the module docstring). Commits what it changes."""
    if not token or not TOKEN_PATTERN.fullmatch(token):
        return Lookup()
    hashed = token_hash(token)
    row = session.exec(select(SignInSession).where(SignInSession.token_hash == hashed)).first()
    if row is None or not hmac.compare_digest(row.token_hash, hashed):
        return Lookup()
    if row.revoked_at is not None:
        return Lookup(sign_in=row, ended=REVOKED)
    now = now or utcnow()
    ended = _ended(row, rules, now)
    if ended:
        _end(session, row, ended, now)
        audit.record(session, actor_id=row.user_id, action="auth.sign_out", target="", reason=ended)
        session.commit()
        return Lookup(sign_in=row, ended=ended)
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        _end(session, row, DISABLED, now)
        session.commit()
        return Lookup(sign_in=row, ended=DISABLED)
    if now - row.last_seen_at >= rules.touch_every:
        session.exec(
            update(SignInSession)
            .where(col(SignInSession.id) == row.id, col(SignInSession.last_seen_at) <= now - rules.touch_every)
            .values(last_seen_at=now)
        )
        session.commit()
        row.last_seen_at = now
    return Lookup(sign_in=row, user=user, ended="")


def revoke(session: Session, *, sign_in_id: int, reason: str, user_id: int | None = None,
           now: datetime | None = None) -> bool:
    """End one sign-in (only one of `user_id`'s, when given); True when it was still on.
    In the caller's transaction."""
    query = update(SignInSession).where(col(SignInSession.id) == sign_in_id, col(SignInSession.revoked_at).is_(None))
    if user_id is not None:
        query = query.where(col(SignInSession.user_id) == user_id)
    return session.exec(query.values(revoked_at=now or utcnow(), revoked_reason=reason[:32])).rowcount > 0


def revoke_all(session: Session, *, user_id: int, reason: str, keep_id: int | None = None,
               now: datetime | None = None) -> int:
    """End every sign-in of a user (but `keep_id`); how many were on. In the caller's transaction."""
    query = update(SignInSession).where(col(SignInSession.user_id) == user_id, col(SignInSession.revoked_at).is_(None))
    if keep_id is not None:
        query = query.where(col(SignInSession.id) != keep_id)
    return session.exec(query.values(revoked_at=now or utcnow(), revoked_reason=reason[:32])).rowcount


def active(session: Session, *, user_id: int, rules: SessionRules, now: datetime | None = None) -> list[SignInSession]:
    """A user's sign-ins that are still on, the most recently used first."""
    now = now or utcnow()
    query = select(SignInSession).where(
        SignInSession.user_id == user_id, col(SignInSession.revoked_at).is_(None), col(SignInSession.expires_at) > now,
    )
    if rules.idle is not None:
        query = query.where(col(SignInSession.last_seen_at) > now - rules.idle)
    return list(session.exec(query.order_by(col(SignInSession.last_seen_at).desc(), col(SignInSession.id).desc())))


BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
            ("Chromium/", "Chromium"), ("Safari/", "Safari"))
SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("CrOS", "ChromeOS"),
           ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("Linux", "Linux"))


AS_IT_IS = "{name}"  # a browser's or a system's name is not translated


def describe_device(user_agent: str) -> str:
    """A short name for a browser from its User-Agent: "Chrome on Linux", or "unknown device"."""
    return str(device_message(user_agent))


def device_message(user_agent: str) -> Message:
    """describe_device() as a message, to render in the reader's language."""
    browser = next((name for mark, name in BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in SYSTEMS if mark in user_agent), "")
    if browser and system:
        return Message(N_("{browser} on {system}"), browser=browser, system=system)
    if browser or system:
        return Message(AS_IT_IS, name=browser or system)
    return Message(N_("other client")) if user_agent.strip() else Message(N_("unknown device"))


def _ended(row: SignInSession, rules: SessionRules, now: datetime) -> str:
    if now >= row.expires_at:
        return EXPIRED
    if rules.idle is not None and now - row.last_seen_at > rules.idle:
        return IDLE
    return ""


def _end(session: Session, row: SignInSession, reason: str, now: datetime) -> None:
    assert row.id is not None  # a stored row
    revoke(session, sign_in_id=row.id, reason=reason, now=now)
    row.revoked_at, row.revoked_reason = now, reason


def _printable(text: str) -> str:
    return "".join(char for char in (text or "") if char.isprintable())
