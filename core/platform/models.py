"""SQLModel tables. Times are timezone-aware UTC (see utcnow)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    password_hash: str
    role: str = Field(max_length=16)  # writer | reviewer | editor | admin
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    # the interface language chosen on the Account page (core.platform.i18n: "en", "zh_CN"); "": the browser's
    language: str = Field(default="", max_length=16)


class Project(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    description: str = ""
    # the language its drafts should be in (core.scoring.language: zh, ja, ko, latin); empty: any
    language: str = Field(default="", max_length=8)
    # the share (0-1) of decided review items that go blind to a second reviewer (core.review.second)
    second_review_share: float = 0.0
    # the editors' checklist marked with each review decision (core.review.rubric): item names
    rubric: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Reference(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    language: str = ""
    source: str = "manual"  # manual | import | promoted
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class WritingSession(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(index=True, unique=True, max_length=64)
    owner_id: int = Field(foreign_key="user.id", index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    title: str = Field(max_length=200)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    provider: str = ""  # a registered provider's name; empty: the default provider
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Turn(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("session_id", "index"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="writingsession.id", index=True)
    index: int
    instruction: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = "instruction"  # instruction | continue
    created_at: datetime = Field(default_factory=utcnow)


class Draft(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    turn_id: int = Field(foreign_key="turn.id", index=True)
    variant: int = 0
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    # generating -> completed | failed | interrupted
    status: str = Field(default="generating", index=True)
    error: str = ""  # why it failed or stopped, in English (the API, exports)
    error_message: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # the same as a Message
    finish_reason: str = ""
    request_id: str = ""
    provider: str = ""
    model: str = ""
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    cache_hit: bool = False
    # accepted | needs_review; empty until scored and routed
    route: str = Field(default="", index=True)
    route_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    policy_version: int = 0
    language: str = ""
    # the job scoring it off the page (core.gate.rescoring); no foreign key: retention purges old jobs
    score_job_id: int | None = None
    # the reference with the best ROUGE-L when scored (the review page marks the spans they share);
    # no foreign key: a deleted reference leaves the review page to find the closest again
    closest_reference_id: int | None = None
    # kept fresh by the process writing a "generating" draft; a stale one means its writer died
    # (core.writing.turns sweeps it to "interrupted")
    heartbeat_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class Score(SQLModel, table=True):
    # a draft's value of one metric, from the index alone (queue sorted by score, dashboard means)
    __table_args__ = (Index("ix_score_draft_metric_value", "draft_id", "metric", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", index=True)
    metric: str = Field(max_length=16)
    value: float | None = None  # None: the text gave no tokens to compare
    signature: str = ""
    reference_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ThresholdPolicy(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    version: int
    thresholds: dict[str, float | None] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    author_id: int | None = Field(default=None, foreign_key="user.id")
    note: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    # how the metrics combine (core.gate.rules.RULES): any_below | all_below | weighted
    rule: str = Field(default="any_below", max_length=16)
    weights: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=True))
    composite_threshold: float | None = None  # weighted rule: flag below this share (0-1)


class ReviewItem(SQLModel, table=True):
    __table_args__ = (
        Index("ix_reviewitem_state_created", "state", "created_at", "id"),  # the queue, oldest or newest first
        Index("ix_reviewitem_decider_decided", "decided_by_id", "decided_at", "id"),  # a reviewer's history
        Index("ix_reviewitem_decided_at", "decided_at"),  # the dashboard's decisions of a period
        # a reviewer's assigned items first, oldest or newest; each reviewer's open load
        Index("ix_reviewitem_assignee_state_created", "assigned_to_id", "state", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", unique=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reason_detail: str = ""  # why, in English (machines, the API, exports)
    # the same as Messages' JSON (core.platform.i18n), for pages in the reader's language; [] on older rows
    reason_parts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # open -> claimed -> approved | rejected
    state: str = Field(default="open", index=True)
    claimed_by_id: int | None = Field(default=None, foreign_key="user.id")
    claim_expires_at: datetime | None = None
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = None
    decision_reason: str = ""
    edited_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, index=True)
    # the reviewer an editor asked to decide it (a hint: anyone may; core.review.assignments)
    assigned_to_id: int | None = Field(default=None, foreign_key="user.id")
    assigned_at: datetime | None = None


class SecondReview(SQLModel, table=True):
    """A blind second decision of a decided review item, and an editor's adjudication when the
    two disagree (core.review.second)."""

    __tablename__ = "secondreview"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="reviewitem.id", unique=True)
    # waiting -> claimed -> agreed | disagreed -> adjudicated
    state: str = Field(default="waiting", index=True, max_length=16)
    reviewer_id: int | None = Field(default=None, foreign_key="user.id")
    claim_expires_at: datetime | None = None
    verdict: str = Field(default="", max_length=16)
    reason: str = ""
    decided_at: datetime | None = Field(default=None, index=True)  # the Dashboard's agreement reads a period
    adjudicated_by_id: int | None = Field(default=None, foreign_key="user.id")
    adjudicated_verdict: str = Field(default="", max_length=16)
    adjudicated_at: datetime | None = None
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)


class RubricMark(SQLModel, table=True):
    """One rubric item as the deciding reviewer marked it (core.review.rubric). The item's name is
    kept with the mark, so a later rubric leaves past decisions as they were."""

    __tablename__ = "rubricmark"
    __table_args__ = (UniqueConstraint("item_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="reviewitem.id")  # indexed by the unique constraint
    name: str = Field(max_length=60)
    passed: bool


class Comment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", index=True)
    author_id: int = Field(foreign_key="user.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    __table_args__ = (  # the Audit page: newest first within dates, for everyone, one user or one action
        Index("ix_auditevent_created_id", "created_at", "id"),
        Index("ix_auditevent_actor_created", "actor_id", "created_at", "id"),
        Index("ix_auditevent_action_created", "action", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(index=True, max_length=64)
    target: str = ""
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


# -- the API core: cached answers, providers with encrypted keys, background jobs ---------------


class CacheEntry(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=64)  # sha256 of what shapes the answer
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    # where the answer came from, so deleting that session or draft purges it (no foreign keys:
    # the entry may outlive neither, and must never block their deletion)
    session_id: int | None = Field(default=None, index=True)
    draft_id: int | None = Field(default=None, index=True)


class Provider(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    base_url: str = Field(max_length=500)
    api_style: str = Field(default="chat", max_length=16)  # chat | completions | task
    model: str = Field(max_length=200)
    default_params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    qps_limit: float = 0.0  # requests per second; 0: no limit
    tpm_limit: int = 0  # estimated tokens per minute; 0: no limit
    encrypted_key: str = ""  # AES-256-GCM under the master key (core.access.secrets); empty: no key
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True, max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # queued -> running -> succeeded | failed | cancelled (queued -> cancelled | failed too)
    status: str = Field(default="queued", index=True, max_length=16)
    progress_done: int = 0
    progress_total: int = 0
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str = ""
    cancel_requested: bool = False
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime = Field(default_factory=utcnow)

    @property
    def progress(self) -> float:
        """Done so far, from 0.0 to 1.0."""
        return self.progress_done / self.progress_total if self.progress_total else 0.0


# -- security: failed sign-ins (core.access.throttle) -------------------------------------------------


class LoginFailure(SQLModel, table=True):
    """One failed sign-in, counted per user name and per client address for a while."""

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=16)  # user | address
    key: str = Field(index=True, max_length=128)  # the user name (lowercased) or the address
    created_at: datetime = Field(default_factory=utcnow, index=True)


# -- signed-in browsers (core.access.signins) ------------------------------------------------------


class SignInSession(SQLModel, table=True):
    """One signed-in browser. The cookie holds a random token; only its SHA-256 is stored here."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)  # sha256 hex of the cookie's token
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)  # written at most once a minute
    expires_at: datetime  # the absolute end (DRAFTGATE_SESSION_MAX_HOURS after sign-in)
    address: str = Field(default="", max_length=64)  # the client's address at sign-in
    user_agent: str = Field(default="", max_length=300)
    revoked_at: datetime | None = None
    revoked_reason: str = Field(default="", max_length=32)  # sign_out | idle | expired | disabled | role | password | ...


# -- presets and moderation (core.writing.presets, core.writing.moderation) ---------------------------------
# No foreign key to user or draft: who did what is in the audit trail, and deleting a user's
# data (core.access.privacy) must not be blocked by these tables.


class Preset(SQLModel, table=True):
    """A frequent instruction of a project with its fixed answer (given without calling a model)."""

    __table_args__ = (UniqueConstraint("project_id", "normalized"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    instruction: str = Field(sa_column=Column(Text, nullable=False))
    normalized: str = Field(max_length=2000)  # core.writing.presets.normalize_instruction(instruction)
    answer: str = Field(sa_column=Column(Text, nullable=False))
    min_similarity: float = 0.0  # 0: exact (normalised) match only; else fuzzy from this ratio (0-100)
    enabled: bool = True
    source: str = Field(default="manual", max_length=16)  # manual | import | draft
    source_draft_id: int | None = None  # the approved draft it was made from (no foreign key, see above)
    uses: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SensitiveWord(SQLModel, table=True):
    """A word or phrase that sends a draft to review and is masked while a draft streams."""

    id: int | None = Field(default=None, primary_key=True)
    word: str = Field(max_length=200)
    folded: str = Field(index=True, unique=True, max_length=200)  # core.writing.moderation.fold(word)
    created_at: datetime = Field(default_factory=utcnow)


# -- the HTTP API: keys and idempotent requests (core.access.api_keys, api.idempotency) ---------


class ApiKey(SQLModel, table=True):
    """A key for the HTTP API. It acts as its user, with that user's role; the key itself is never
    stored, only its SHA-256 (core.access.api_keys explains why that hash)."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=100)
    key_hash: str = Field(unique=True, max_length=64)  # sha256 hex of the whole key
    prefix: str = Field(max_length=16)  # the key's first characters ("dg_" and 8 more), shown in lists
    project_id: int | None = Field(default=None, foreign_key="project.id")  # None: any project
    expires_at: datetime | None = None  # None: never
    qps_limit: float | None = None  # requests per second; None: DRAFTGATE_API_QPS_LIMIT
    concurrency_limit: int | None = None  # generations at once; None: DRAFTGATE_API_CONCURRENCY_LIMIT
    ip_allowlist: str = Field(default="", max_length=2000)  # CIDR ranges, besides DRAFTGATE_IP_ALLOWLIST
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None  # written at most once a minute
    revoked_at: datetime | None = None


class IdempotencyRecord(SQLModel, table=True):
    """The answer to a POST sent with an Idempotency-Key, replayed when the same key comes again."""

    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    api_key_id: int = Field(foreign_key="apikey.id")  # indexed by the unique constraint
    key: str = Field(max_length=255)  # the client's Idempotency-Key
    request_hash: str = Field(max_length=64)  # sha256 of method, path and body
    status: str = Field(default="running", max_length=16)  # running -> completed
    status_code: int | None = None  # the HTTP status of the stored answer
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


# -- the dashboard's daily summaries (core.review.daily) -------------------------------------------
# Database triggers (migration 0012) mark a day when a draft, score or review item of it changes;
# the dashboard summarizes a marked day again before it reads it. No foreign keys: a summary is
# derived data, rebuilt from the drafts, and must never block a deletion.


class SummaryDay(SQLModel, table=True):
    """A UTC day with drafts or decisions. Triggers add 1 to a `version` whenever its data changes;
    its summaries are current while every row of the day has `summarized_version` equal to it.
    PostgreSQL: one row per day and server process (`shard`, its pid), so that writers do not wait
    for each other's row lock; SQLite: shard 0."""

    __tablename__ = "summaryday"
    day: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD
    shard: int = Field(default=0, primary_key=True)
    version: int = 1
    summarized_version: int = 0


class DailySummary(SQLModel, table=True):
    """A project's figures of one UTC day, as core.review.daily computes them: the day's drafts in
    groups (status, route, reasons, provider, model, cache use: count, tokens), the latencies of its
    model answers, its score sums and counts per metric, its decisions (verdict, minutes)."""

    __tablename__ = "dailysummary"
    project_id: int = Field(primary_key=True)
    day: str = Field(primary_key=True, max_length=10)
    drafts: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    latencies: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scores: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decisions: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
