"""The Thresholds and re-scoring use cases: each checks the user's role in core (a page only
draws what they return), and one database session does the work."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.gate.policies import PolicySpec
from core.platform.errors import InvalidInputError, PermissionDeniedError
from core.platform.models import AuditEvent, Project, ThresholdPolicy
from core.usecases import gate
from tests.utils.factories import make_project


def test_a_writer_may_neither_preview_nor_apply_nor_set_the_language_nor_rescore(runtime, db, writer):
    project = make_project(db, "散文", references=("春天的北京。",))
    spec = PolicySpec({"chrf": 30.0})
    audited = len(db.exec(select(AuditEvent)).all())
    refused = [
        lambda: gate.preview_queue_change(runtime, writer, project_id=project.id, spec=spec),
        lambda: gate.apply_policy(runtime, writer, project_id=project.id, spec=spec),
        lambda: gate.set_project_language(runtime, writer, project_id=project.id, language="en"),
        lambda: gate.rescore_state(runtime, writer, project_id=project.id),
        lambda: gate.start_rescore(runtime, writer, project_id=project.id),
        lambda: gate.cancel_rescore(runtime, writer, project_id=project.id),
    ]
    for call in refused:
        with pytest.raises(PermissionDeniedError):
            call()
    db.expire_all()
    assert db.exec(select(ThresholdPolicy)).all() == []
    assert db.get(Project, project.id).language == project.language
    assert len(db.exec(select(AuditEvent)).all()) == audited


def test_an_editor_previews_then_applies_a_version_and_sets_the_language(runtime, db, editor):
    project = make_project(db, "城市散文", references=("外滩的夜晚很美。",))
    spec = PolicySpec({"chrf": 30.0})
    audited = len(db.exec(select(AuditEvent)).all())
    change = gate.preview_queue_change(runtime, editor, project_id=project.id, spec=spec)
    applied = gate.apply_policy(runtime, editor, project_id=project.id, spec=spec, note="更严格",
                                expected_version=change.base_version)
    assert (change.base_version, applied.policy.version, applied.policy.note) == (0, 1, "更严格")
    assert gate.set_project_language(runtime, editor, project_id=project.id, language="zh").language == "zh"
    actions = [e.action for e in db.exec(select(AuditEvent).order_by(AuditEvent.id))][audited:]
    assert actions[-1] == "project.language" and "policy.apply" in actions


def test_an_editor_sees_no_rescoring_yet_and_cannot_start_one_without_references(runtime, db, editor):
    project = make_project(db, "Product blurbs")
    state = gate.rescore_state(runtime, editor, project_id=project.id)
    assert (state.job, state.stale, state.under_way) == (None, 0, False)
    with pytest.raises(InvalidInputError, match="has no references yet"):
        gate.start_rescore(runtime, editor, project_id=project.id)
