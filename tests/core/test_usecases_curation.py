"""The curation use cases: references, preset answers and sensitive words, each one unit of work,
refused by role before anything is written, a bad file named by its line."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.platform.errors import InvalidInputError, PermissionDeniedError
from core.platform.models import AuditEvent, Preset, Project, Reference, SensitiveWord
from core.usecases import curation
from tests.utils.factories import make_user


def test_an_editor_curates_a_project_and_each_change_is_audited(runtime, db):
    editor = make_user(db, "edith", "editor")
    project = curation.create_project(runtime, editor.id, name="春天", description="散文")
    reference = curation.add_reference(runtime, editor.id, project_id=project.id, text="春天来了，花开了。")
    curation.update_reference(runtime, editor.id, reference_id=reference.id, text="春天来了，桃花开了。")
    preset = curation.add_preset(runtime, editor.id, project_id=project.id, instruction="退货政策？", answer="七天无理由。")
    curation.update_preset(runtime, editor.id, preset_id=preset.id, enabled=False)

    db.expire_all()
    assert db.get(Reference, reference.id).text == "春天来了，桃花开了。"
    assert db.get(Preset, preset.id).enabled is False
    events = [(e.action, e.actor_id) for e in db.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert events == [(action, editor.id) for action in
                      ("project.create", "reference.add", "reference.edit", "preset.add", "preset.edit")]
    curation.delete_reference(runtime, editor.id, reference_id=reference.id)
    curation.delete_preset(runtime, editor.id, preset_id=preset.id)
    db.expire_all()
    assert db.get(Reference, reference.id) is None and db.get(Preset, preset.id) is None


def test_a_writer_is_refused_and_nothing_is_written(runtime, db):
    writer = make_user(db, "wanda", "writer")
    with pytest.raises(PermissionDeniedError):
        curation.create_project(runtime, writer.id, name="Mine")
    with pytest.raises(PermissionDeniedError):
        curation.add_words(runtime, writer.id, words=["secret"])
    assert db.exec(select(Project)).all() == [] and db.exec(select(SensitiveWord)).all() == []


def test_sensitive_words_are_added_once_and_a_bad_file_writes_nothing(runtime, db):
    admin = make_user(db, "root", "admin")
    assert curation.add_words(runtime, admin.id, words=["机密", "secret", "机密"]) == 2
    with pytest.raises(InvalidInputError):
        curation.import_words(runtime, SYSTEM, filename="words.txt", content=b"\xff\xfe\x00bad")
    ids = [w.id for w in db.exec(select(SensitiveWord))]
    assert len(ids) == 2
    assert curation.delete_words(runtime, admin.id, word_ids=ids) == 2
    assert db.exec(select(SensitiveWord)).all() == []
