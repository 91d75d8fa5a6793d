"""DRAFTGATE_RETENTION_DAYS is applied when the app starts (then at most once a day per process)."""

from datetime import timedelta

import pytest
from sqlmodel import select

from core.platform.models import AuditEvent, Draft, utcnow
from tests.utils.factories import make_finished_draft, make_project
from ui import maintenance, resources


@pytest.fixture
def retention(monkeypatch, app_engine):
    monkeypatch.setenv("DRAFTGATE_RETENTION_DAYS", "30")
    resources.reset()
    maintenance.retention_once.clear()
    yield
    resources.reset()
    maintenance.retention_once.clear()


def test_the_app_deletes_old_drafts_when_it_starts(make_app, app_db, users, retention):
    project = make_project(app_db)
    old = make_finished_draft(app_db, users["writer"], project, "Old words")
    new = make_finished_draft(app_db, users["writer"], project, "New words")
    old.created_at = utcnow() - timedelta(days=31)
    app_db.add(old)
    app_db.commit()
    at = make_app("app.py")
    assert not at.exception
    app_db.expire_all()
    assert [d.id for d in app_db.exec(select(Draft))] == [new.id]
    assert app_db.exec(select(AuditEvent).where(AuditEvent.action == "privacy.retention")).one().detail["days"] == 30


def test_without_the_setting_nothing_is_deleted(make_app, app_db, users):
    maintenance.retention_once.clear()
    draft = make_finished_draft(app_db, users["writer"], make_project(app_db), "Old words")
    draft.created_at = utcnow() - timedelta(days=3650)
    app_db.add(draft)
    app_db.commit()
    make_app("app.py")
    assert maintenance.retention_once() is None
    assert app_db.exec(select(Draft)).all()
