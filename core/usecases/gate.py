"""The gate's reads for integrations: scoring a text, and the threshold policies in force.

    score_candidate(runtime, user, candidate=, references=, project_id=)
        a text scored against the references given, else against the project's (nothing is
        stored; any signed-in role: it only computes)
    policies(runtime, user, project_id=)   the project's current policy and its earlier versions
        (editors and admins, as the Thresholds page; editors apply new ones there)
    rubric_evidence(runtime, user, project_id=, metric=)
        per item of the project's rubric: decisions marking it failed and passed, and the
        metric's values of those drafts (editors and admins, the Thresholds page)

The Thresholds page (editors and admins):
    preview_queue_change(runtime, user, project_id=, spec=)   what applying `spec` would move
    apply_policy(runtime, user, project_id=, spec=, note=, expected_version=)
        save `spec` as the next version and re-route the queue (refused if another version
        was saved since the preview)
    set_project_language(runtime, user, project_id=, language=)   the language the checks expect

Re-scoring, from the References page (editors and admins):
    rescore_state(runtime, user, project_id=)   the latest re-scoring job and the stale drafts' count
    start_rescore / cancel_rescore(runtime, user, project_id=)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.access.roles import require
from core.gate import evidence, rescoring, route
from core.gate import policies as gate_policies
from core.gate.policies import PolicySpec
from core.gate.scores import project_references, scored_part
from core.platform.constants import METRIC_LABELS
from core.platform.db import open_session, saved_id
from core.platform.errors import InvalidInputError
from core.platform.models import Job, Project, ThresholdPolicy, User
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


# -- the Thresholds page ---------------------------------------------------------------------


def preview_queue_change(runtime: Runtime, user: User, *, project_id: int, spec: PolicySpec) -> route.QueueChange:
    require(user.role, "thresholds")
    with open_session(runtime.engine) as db:
        return route.preview_queue_change(session=db, project_id=project_id, spec=spec)


def apply_policy(
    runtime: Runtime, user: User, *, project_id: int, spec: PolicySpec, note: str = "",
    expected_version: int | None = None,
) -> route.AppliedPolicy:
    with open_session(runtime.engine) as db:
        return route.apply_policy(session=db, project_id=project_id, spec=spec, author_id=saved_id(user), note=note,
                                  expected_version=expected_version)


def set_project_language(runtime: Runtime, user: User, *, project_id: int, language: str) -> Project:
    with open_session(runtime.engine) as db:
        return gate_policies.set_project_language(session=db, project_id=project_id, language=language,
                                                  actor_id=saved_id(user))


# -- re-scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RescoreState:
    job: Job | None  # the project's latest re-scoring
    stale: int  # drafts scored against other references than the project's current ones

    @property
    def under_way(self) -> bool:
        return self.job is not None and self.job.status in rescoring.UNDER_WAY


def rescore_state(runtime: Runtime, user: User, *, project_id: int) -> RescoreState:
    require(user.role, "references")
    with open_session(runtime.engine) as db:
        return RescoreState(rescoring.latest_rescore(session=db, project_id=project_id),
                            rescoring.stale_count(session=db, project_id=project_id))


def start_rescore(runtime: Runtime, user: User, *, project_id: int) -> int:
    """The re-scoring job's id (one at a time per project)."""
    with open_session(runtime.engine) as db:
        return rescoring.start_rescore(runner=runtime.job_runner, session=db, project_id=project_id, actor=user)


def cancel_rescore(runtime: Runtime, user: User, *, project_id: int) -> Job:
    with open_session(runtime.engine) as db:
        return rescoring.cancel_rescore(session=db, project_id=project_id, actor=user)
