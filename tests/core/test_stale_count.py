"""The References page's stale-draft count (core.gate.rescoring.stale_count): the same number as
stale_drafts after every change that moves it, counted again only when its key moves."""

from __future__ import annotations

from core.gate import rescoring
from core.writing.projects import add_reference, delete_reference, update_reference
from tests.core.test_rescoring import FOX, SPRING, rescore, runner  # noqa: F401 (fixture)
from tests.utils.factories import make_finished_draft, make_project


def test_the_count_follows_every_change_and_is_counted_once_per_change(db, writer, editor, runner, engine, monkeypatch):  # noqa: F811
    counted = []
    original = rescoring.stale_drafts
    monkeypatch.setattr(rescoring, "stale_drafts", lambda **kw: counted.append(1) or original(**kw))

    def both() -> int:
        shown = rescoring.stale_count(session=db, project_id=project.id)
        assert shown == original(session=db, project_id=project.id)
        return shown

    project = make_project(db, references=(FOX,))
    make_finished_draft(db, writer, project, FOX)
    assert both() == 0 and len(counted) == 1
    for _ in range(3):  # renders with nothing changed: no new count
        assert both() == 0
    assert len(counted) == 1

    added = add_reference(session=db, project_id=project.id, text=SPRING, actor_id=editor.id)
    assert both() == 1
    make_finished_draft(db, writer, project, "The lazy dog sleeps.")  # scored against both: not stale
    assert both() == 1
    rescore(db, runner, engine, project, editor)
    assert both() == 0
    update_reference(session=db, reference_id=added.id, text="春天很短。", actor_id=editor.id)
    assert both() == 2
    delete_reference(session=db, reference_id=added.id, actor_id=editor.id)
    assert both() == 2
    assert len(counted) == 6  # once per change above, never for the renders in between
