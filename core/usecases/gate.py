"""The gate's reads for integrations: scoring a text, and the threshold policies in force.

    score_candidate(runtime, user, candidate=, references=, project_id=)
        a text scored against the references given, else against the project's (nothing is
        stored; any signed-in role: it only computes)
    policies(runtime, user, project_id=)   the project's current policy and its earlier versions
        (editors and admins, as the Thresholds page; editors apply new ones there)
    rubric_evidence(runtime, user, project_id=, metric=)
        per item of the project's rubric: decisions marking it failed and passed, and the
        metric's values of those drafts (editors and admins, the Thresholds page)
"""

from __future__ import annotations

from collections.abc import Sequence

from core.access.roles import require
from core.gate import evidence
from core.gate import policies as gate_policies
from core.gate.scores import project_references, scored_part
from core.platform.constants import METRIC_LABELS
from core.platform.db import open_session
from core.platform.errors import InvalidInputError
from core.platform.models import ThresholdPolicy, User
from core.review.rubric import project_rubric
from core.runtime import Runtime
from core.scoring import ScoreReport, score, split_sentences
from core.writing.projects import get_project


def score_candidate(
    runtime: Runtime, user: User, *, candidate: str, references: Sequence[str] = (), project_id: int | None = None,
) -> ScoreReport:
    """`candidate` scored against `references`, or against the project's when none are given."""
    texts = list(references)
    if not texts:
        if project_id is None:
            raise InvalidInputError("Give references to score against, or a project whose references to use.")
        with open_session(runtime.engine) as db:
            get_project(session=db, project_id=project_id)
            texts = [reference.text for reference in project_references(db, project_id)]
        if not texts:
            raise InvalidInputError("This project has no references yet: give references to score against.")
    if not candidate.strip():
        raise InvalidInputError("The candidate is empty: there is nothing to score.")
    text = scored_part(candidate)
    return score(text, [scored_part(reference) for reference in texts], lsum=len(split_sentences(text)) > 1)


def policies(runtime: Runtime, user: User, *, project_id: int) -> tuple[ThresholdPolicy, list[ThresholdPolicy]]:
    """(the policy in force, every saved version newest first); version 0: the defaults, never saved."""
    require(user.role, "thresholds")
    with open_session(runtime.engine) as db:
        get_project(session=db, project_id=project_id)
        return (gate_policies.current_policy(session=db, project_id=project_id),
                gate_policies.policy_history(session=db, project_id=project_id))


def rubric_evidence(
    runtime: Runtime, user: User, *, project_id: int, metric: str
) -> list[evidence.RubricItemEvidence]:
    """How each rubric item's failures and passes score on `metric` (a reference metric)."""
    require(user.role, "thresholds")
    if metric not in METRIC_LABELS:
        raise InvalidInputError(f"The evidence per rubric item reads one of {', '.join(METRIC_LABELS)}.")
    with open_session(runtime.engine) as db:
        get_project(session=db, project_id=project_id)
        return evidence.rubric_evidence(session=db, project_id=project_id, metric=metric,
                                        rubric=project_rubric(session=db, project_id=project_id))
