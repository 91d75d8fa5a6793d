"""core.platform.db's typed reads of a session's rows: a stored row's id, and the session's engine."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from core.platform.db import engine_of, saved_id, saved_ids
from core.platform.models import Project


def test_a_row_has_its_id_once_flushed_and_asking_before_is_a_bug(db):
    project = Project(name="未保存")
    with pytest.raises(RuntimeError, match="Project has no id yet"):
        saved_id(project)
    db.add(project)
    db.flush()
    assert saved_id(project) == project.id and isinstance(project.id, int)
    assert saved_ids(db.exec(select(col(Project.id)))) == [project.id]


def test_the_engine_of_a_session_is_its_bind_or_the_binds_engine(engine, db):
    assert engine_of(db) is engine
    with engine.connect() as connection, Session(connection) as on_connection:
        assert engine_of(on_connection) is engine
