"""The audit trail: who did what, when; filtered and exported for the Audit page.

Actions recorded (prefix.name): auth.sign_in, auth.failed (target: the account's name, or
"unknown:" and a keyed hash of what was typed, see unknown_name), auth.sign_out; user.create,
user.role, user.disable, user.enable, user.password_reset, user.password_change;
provider.add, provider.edit, provider.remove, secrets.rotate (key changes); policy.save
(thresholds); review.claim, review.approved, review.rejected, review.assign, review.unassign,
review.bulk (one per bulk decision, beside each item's own events); reference.*, project.create,
session.delete; privacy.export, privacy.delete, privacy.retention.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from core.access.actors import Actor, audited_id
from core.access.secrets import derived_key
from core.platform.config import get_settings
from core.platform.constants import AUDIT_QUERY_LIMIT
from core.platform.db import saved_id
from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message
from core.platform.models import AuditEvent, User
from core.platform.spreadsheet import safe_row

if TYPE_CHECKING:
    from core.platform.config import Settings

CSV_COLUMNS = ("id", "time_utc", "actor", "action", "target", "detail")
AUDIT_NAME_PURPOSE = "audit:unknown-user-name"
UNKNOWN_NAME_PREFIX = "unknown:"  # the target of a failed sign-in with a name of no account
_NAME_HASH_HEX = 16


@dataclass(frozen=True)
class AuditRow:
    id: int
    time: datetime
    actor: str  # the user name, "—" for the system or a deleted user
    action: str
    target: str
    detail: dict[str, Any]


def record(session: Session, *, actor_id: Actor | None, action: str, target: str = "", **detail: Any) -> None:
    """Add an event to the caller's transaction (it commits with the change it describes);
    the system (SYSTEM) and nobody (None: a failed sign-in) are stored as no user."""
    session.add(AuditEvent(actor_id=audited_id(actor_id), action=action, target=target, detail=detail))


def unknown_name(typed: str, *, settings: Settings | None = None) -> str:
    """What the trail keeps of a user name that names no account: a keyed hash (HMAC-SHA256,
    the key derived from the master key, core.access.secrets.derived_key), never the text, which may be
    a password typed in the wrong box. The same typed name gives the same value, so repeated
    guesses still show as such; without the key the value tells nothing about the text."""
    key = derived_key(settings or get_settings(), AUDIT_NAME_PURPOSE)
    digest = hmac.new(key, typed.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return UNKNOWN_NAME_PREFIX + digest[:_NAME_HASH_HEX]


def recent_events(*, session: Session, limit: int = 200) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)))


def newest_event_id(*, session: Session) -> int | None:
    """The id of the newest event (one index lookup). Every change to the trail adds an event
    (an anonymisation records privacy.delete, retention privacy.retention), so a view of the
    trail made at this id stays right until it moves."""
    return session.exec(select(func.max(AuditEvent.id))).one()


def actions(*, session: Session) -> list[str]:
    """Every action name present in the trail, sorted (for the page's filter).

    A loose index scan (a recursive query jumping from one name to the next in the action
    index): as many index lookups as there are names, however long the trail."""
    found = session.connection().execute(text(
        "WITH RECURSIVE names(action) AS ("
        " SELECT min(action) FROM auditevent"
        " UNION ALL"
        " SELECT (SELECT min(action) FROM auditevent WHERE action > names.action) FROM names"
        " WHERE names.action IS NOT NULL)"
        " SELECT action FROM names WHERE action IS NOT NULL"
    ))
    return sorted(name for (name,) in found)


def query_events(
    *,
    session: Session,
    actions: Sequence[str] = (),
    actor_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = AUDIT_QUERY_LIMIT,
) -> list[AuditRow]:
    """Events newest first, filtered by action names, actor and a date range (UTC, both days included).

    Newest first is by time then id, the order of the created_at index (and of the actor's
    (actor_id, created_at, id) index): the database walks the index and stops at `limit`, never
    sorting the whole range."""
    if since and until and since > until:
        raise InvalidInputError("The start date is after the end date.")
    if not 1 <= limit <= AUDIT_QUERY_LIMIT:
        raise InvalidInputError(Message(N_('Ask for 1 to {audit_query_limit:,} events.'), audit_query_limit=AUDIT_QUERY_LIMIT))
    query = (
        select(AuditEvent, User.username)
        .join(User, col(User.id) == AuditEvent.actor_id, isouter=True)
        .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
    )
    if actions:
        query = query.where(col(AuditEvent.action).in_(list(actions)))
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if since:
        query = query.where(col(AuditEvent.created_at) >= datetime.combine(since, time.min, UTC))
    if until:
        query = query.where(col(AuditEvent.created_at) < datetime.combine(until + timedelta(days=1), time.min, UTC))
    return [
        AuditRow(saved_id(event), event.created_at, username or "—", event.action, event.target, dict(event.detail))
        for event, username in session.exec(query)
    ]


def to_csv(rows: Iterable[AuditRow]) -> str:
    """CSV text of the rows; cells a spreadsheet would run as a formula are neutralised (core.platform.spreadsheet)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        cells = (row.id, row.time.isoformat(), row.actor, row.action, row.target,
                 json.dumps(row.detail, ensure_ascii=False, sort_keys=True, default=str))
        writer.writerow(safe_row(cells))
    return buffer.getvalue()
