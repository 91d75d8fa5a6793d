"""The API's answers as pydantic models: what the OpenAPI document promises, OpenAI-shaped where
OpenAI has the same thing (lists, models, errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.platform import constants
from core.review.rubric import RUBRIC_MAX_ITEMS


class ErrorDetail(BaseModel):
    message: str = Field(description="What went wrong, written for the person reading it.")
    type: str = Field(description="invalid_request_error, authentication_error, permission_error, "
                                  "rate_limit_error, upstream_error or server_error.")
    param: str | None = Field(default=None, description="The parameter at fault (`messages[0].content`).")
    code: str | None = Field(default=None, description="A stable code (`rate_limit_exceeded`, `invalid_api_key`...).")


class ErrorResponse(BaseModel):
    error: ErrorDetail


NOT_FOUND = {"model": ErrorResponse, "description": "No such object, or not open to this key."}
CONFLICT = {"model": ErrorResponse, "description": "The object changed or is held by someone else."}


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]


class ModelInfo(BaseModel):
    provider: str = Field(description="The provider's name: what `model` names in a request.")
    model: str = Field(description="The model the provider is asked for.")
    api_style: str = Field(description="chat, completions or task.")
    default: bool = Field(description="Used when a request names no model.")


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="Unix time; 0 when not known.")
    owned_by: str
    draftgate: ModelInfo


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class Project(BaseModel):
    id: int
    object: Literal["project"] = "project"
    name: str
    description: str
    created: int = Field(description="Unix time.")


class ProjectList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Project]
    has_more: bool
    first_id: int | None
    last_id: int | None


# -- requests: generation (OpenAI's fields, and Draftgate's as extra body fields) ---------------

MAX_N = 32
MAX_PROMPT_CHARS = 8_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Strict):
    type: Literal["text"]
    text: str = Field(max_length=MAX_PROMPT_CHARS)


class ChatMessageIn(_Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] = Field(description="Text, or a list of text parts.")
    name: str | None = Field(default=None, max_length=64)

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


class StreamOptions(_Strict):
    include_usage: bool = False


class GenerationFields(_Strict):
    """What every generation request may set; unset fields take the session's parameters."""

    model: str | None = Field(default=None, max_length=200,
                              description="A model of GET /models; empty: the session's provider (else the default).")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=constants.MAX_TOKENS_LIMIT)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    stop: str | list[str] | None = Field(default=None, description="Up to 4 sequences.")
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    session_id: str | None = Field(default=None, max_length=64, description=(
        "Draftgate: a writing session's public ID; the call becomes its next turn, with its context."))
    project: str | int | None = Field(default=None, description=(
        "Draftgate: without session_id, the project (name or id) of the new session; default: the key's "
        "project, else the first one."))
    user: str | None = Field(default=None, max_length=256, description="OpenAI's end-user field (not used).")


class ChatCompletionRequest(GenerationFields):
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=256, description=(
        "The last message is the instruction (role user); the session keeps the context, so earlier "
        "messages are not sent to the model."))
    n: int = Field(default=1, ge=1, le=MAX_N, description="Variants: n drafts of one turn.")
    stream: bool = False
    stream_options: StreamOptions | None = None


class CompletionRequest(GenerationFields):
    prompt: str = Field(max_length=MAX_PROMPT_CHARS, description="The instruction.")
    n: int = Field(default=1, ge=1, le=MAX_N)
    stream: bool = False
    stream_options: StreamOptions | None = None


class TaskRequest(GenerationFields):
    prompt: str = Field(max_length=MAX_PROMPT_CHARS, description="The instruction.")


class BatchRequest(_Strict):
    tasks: list[TaskRequest] = Field(min_length=1, json_schema_extra={"maxItems": constants.MAX_BATCH_CONCURRENCY},
                                     description=f"1 to {constants.MAX_BATCH_CONCURRENCY} tasks.")


# -- answers: generation ------------------------------------------------------------------------


class DraftgateInfo(BaseModel):
    """What the gate says of a draft (`route` "pending" while it is being scored)."""

    draft_id: int
    session_id: str
    status: str = Field(description="generating, completed, failed, interrupted or stopped.")
    scores: dict[str, float | None]
    route: Literal["pending", "accepted", "needs_review"]
    route_reasons: list[str]
    review_state: str | None = Field(description="open, claimed, approved, rejected or accepted; null: not queued; "
                                                 "in_review: decided, in a blind second review this caller holds "
                                                 "or may take (the first verdict is never shown to them).")
    error: str = ""


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int
    message: ChatMessageOut
    finish_reason: str
    logprobs: None = None
    draftgate: DraftgateInfo


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    draftgate: DraftgateInfo = Field(description="The first choice's (each choice carries its own).")


class CompletionChoice(BaseModel):
    index: int
    text: str
    finish_reason: str
    logprobs: None = None
    draftgate: DraftgateInfo


class Completion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage
    draftgate: DraftgateInfo


class TaskResult(BaseModel):
    text: str
    finish_reason: str
    usage: Usage
    draftgate: DraftgateInfo


class TaskError(BaseModel):
    message: str
    code: str | None = None


class Task(BaseModel):
    id: str = Field(description="task-<n>")
    object: Literal["task"] = "task"
    status: Literal["queued", "running", "completed", "failed", "cancelled"]
    created: int
    result: TaskResult | None = None
    error: TaskError | None = None


class TextCompletion(BaseModel):
    id: str
    text: str
    finish_reason: str
    usage: Usage
    draftgate: DraftgateInfo


class BatchEntry(BaseModel):
    index: int
    task: Task | None = Field(description="null: the task was refused when the batch was submitted (see error).")
    error: ErrorDetail | None = None


class Batch(BaseModel):
    id: str = Field(description="batch-<n>")
    object: Literal["batch"] = "batch"
    status: Literal["running", "completed"] = Field(description="completed: every task has finished.")
    created: int
    counts: dict[str, int]
    tasks: list[BatchEntry]


# -- the gate, sessions, review, privacy -----------------------------------------------------------


class ScoreRequest(_Strict):
    candidate: str = Field(max_length=constants.MAX_SCORED_CHARS * 4)
    references: list[str] = Field(default_factory=list, max_length=100,
                                  description="Texts to score against; empty: the project's references.")
    project: str | int | None = None


class ScoreOut(BaseModel):
    metric: str
    value: float | None
    signature: str


class ScoreAnswer(BaseModel):
    object: Literal["score"] = "score"
    scores: dict[str, float | None]
    signatures: dict[str, str]
    language: str
    closest_reference: int | None


class SessionRequest(_Strict):
    project: str | int | None = None
    title: str = Field(default="", max_length=200)


class DraftOut(BaseModel):
    id: int
    object: Literal["draft"] = "draft"
    turn_id: int
    variant: int
    text: str
    finish_reason: str
    model: str
    created: int
    draftgate: DraftgateInfo


class TurnOut(BaseModel):
    id: int
    index: int
    kind: str
    instruction: str
    created: int
    drafts: list[DraftOut]


class SessionOut(BaseModel):
    id: str
    object: Literal["session"] = "session"
    title: str
    project_id: int
    created: int
    params: dict
    turns: list[TurnOut]


class ReviewItemOut(BaseModel):
    id: int
    object: Literal["review_item"] = "review_item"
    draft_id: int
    project_id: int
    project: str = ""
    state: str
    reasons: list[str]
    excerpt: str = ""
    claimed_by: str | None = None
    claim_expires: int | None = None
    version: int = Field(description="Send it back as expected_version when deciding.")
    scores: dict[str, float | None] = Field(default_factory=dict)
    created: int


class ReviewList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ReviewItemOut]


class ClaimNextRequest(_Strict):
    project: str | int | None = None
    reason: str | None = Field(default=None, max_length=64)


class DecisionRequest(_Strict):
    verdict: Literal["approved", "rejected"]
    expected_version: int = Field(ge=0, le=2**31 - 1)
    reason: str = Field(default="", max_length=2000)
    edited_text: str | None = Field(default=None, max_length=200_000)
    rubric: dict[str, bool] = Field(default_factory=dict, max_length=RUBRIC_MAX_ITEMS,
                                    description="The project's rubric items marked passed (true) or failed (false); "
                                                "items left out are unmarked.")


class AssignRequest(_Strict):
    item_ids: list[int] = Field(min_length=1, max_length=constants.BULK_REVIEW_LIMIT,
                                description="The review items (ids of `GET review/items`).")
    reviewer_id: int | None = Field(ge=1, le=2**31 - 1, description="Who is asked to decide them (an id of "
                                    "`GET review/load`); null unassigns them.")


class SeenItem(_Strict):
    id: int = Field(ge=1, le=2**31 - 1)
    expected_version: int = Field(ge=0, le=2**31 - 1, description="The item's version as you saw it: an item "
                                                                   "that changed since is skipped.")


class BulkDecisionRequest(_Strict):
    items: list[SeenItem] = Field(min_length=1, max_length=constants.BULK_REVIEW_LIMIT)
    verdict: Literal["approved", "rejected"]
    reason: str = Field(default="", max_length=2000, description="One reason for them all (required to reject).")


class Skipped(BaseModel):
    id: int
    reason: str = Field(description="Why this item was left as it was, written for the person reading it.")


class BulkOutcome(BaseModel):
    object: Literal["review.bulk_result"] = "review.bulk_result"
    done: list[int] = Field(description="The items assigned, unassigned or decided (or already as asked).")
    skipped: list[Skipped] = Field(description="Items held by someone else, changed, decided meanwhile or not found.")


class ReviewerLoad(BaseModel):
    reviewer_id: int
    username: str
    role: str
    disabled: bool
    assigned: int = Field(description="Undecided items assigned to them.")


class ReviewerLoadList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ReviewerLoad]


class PolicyOut(BaseModel):
    version: int
    thresholds: dict[str, float | None]
    rule: str
    weights: dict[str, float]
    composite_threshold: float | None
    note: str
    created: int | None


class PolicyList(BaseModel):
    object: Literal["thresholds"] = "thresholds"
    project_id: int
    current: PolicyOut
    history: list[PolicyOut]


class DeleteMeRequest(_Strict):
    password: str = Field(max_length=1024, description="Your current password confirms the deletion.")


class Deletion(BaseModel):
    object: Literal["deletion"] = "deletion"
    deleted: Literal[True] = True
    counts: dict[str, int]
    warnings: list[str]
