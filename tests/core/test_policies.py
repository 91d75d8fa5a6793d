import pytest
from sqlmodel import select

from core.constants import DEFAULT_THRESHOLDS
from core.errors import InvalidInputError
from core.models import AuditEvent
from core.policies import current_policy, policy_history, preview_policy, save_policy
from tests.utils.factories import make_finished_draft, make_project


def test_defaults_until_an_editor_saves_then_versions_count_up(db, editor):
    project = make_project(db)
    assert current_policy(session=db, project_id=project.id).version == 0
    assert current_policy(session=db, project_id=project.id).thresholds == DEFAULT_THRESHOLDS
    save_policy(session=db, project_id=project.id, thresholds={"chrf": 40}, author_id=editor.id, note="stricter")
    save_policy(session=db, project_id=project.id, thresholds={"bleu": 5}, author_id=editor.id)
    current = current_policy(session=db, project_id=project.id)
    assert current.version == 2 and current.thresholds["bleu"] == 5.0 and current.thresholds["chrf"] is None
    assert [p.version for p in policy_history(session=db, project_id=project.id)] == [2, 1]
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "policy.save")).all()
    assert [e.detail["version"] for e in events] == [1, 2]


@pytest.mark.parametrize("thresholds", [{"chrf": 101}, {"rougeL": 1.5}, {"bleu": -1}])
def test_out_of_range_thresholds_are_refused(db, editor, thresholds):
    project = make_project(db)
    with pytest.raises(InvalidInputError, match="between 0 and"):
        save_policy(session=db, project_id=project.id, thresholds=thresholds, author_id=editor.id)


def test_preview_counts_recent_drafts_sent_to_review(db, writer):
    project = make_project(db, references=("the cat sat on the mat",))
    make_finished_draft(db, writer, project, "the cat sat on the mat")  # chrF 100
    make_finished_draft(db, writer, project, "the cat sat on a rug")  # in between
    make_finished_draft(db, writer, project, "dogs bark loudly")  # low
    preview = preview_policy(session=db, project_id=project.id, thresholds={"chrf": 99.0})
    assert preview.drafts_considered == 3
    assert preview.to_review_now == 1  # the defaults (chrF 25, ROUGE-L 0.2) flag only the unrelated draft
    assert preview.to_review_with_new == 2
    loose = preview_policy(session=db, project_id=project.id, thresholds={})
    assert loose.to_review_with_new == 0
