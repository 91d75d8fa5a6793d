"""The audit trail: who did what, when."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from core.models import AuditEvent


def record(session: Session, *, actor_id: int | None, action: str, target: str = "", **detail: Any) -> None:
    """Add an event to the caller's transaction (it commits with the change it describes)."""
    session.add(AuditEvent(actor_id=actor_id, action=action, target=target, detail=detail))


def recent_events(*, session: Session, limit: int = 200) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)))
