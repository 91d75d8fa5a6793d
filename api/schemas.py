"""The API's answers as pydantic models: what the OpenAPI document promises, OpenAI-shaped where
OpenAI has the same thing (lists, models, errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    message: str = Field(description="What went wrong, written for the person reading it.")
    type: str = Field(description="invalid_request_error, authentication_error, permission_error, "
                                  "rate_limit_error, upstream_error or server_error.")
    param: str | None = Field(default=None, description="The parameter at fault (`messages[0].content`).")
    code: str | None = Field(default=None, description="A stable code (`rate_limit_exceeded`, `invalid_api_key`...).")


class ErrorResponse(BaseModel):
    error: ErrorDetail


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
