"""Every error in OpenAI's envelope: {"error": {"message", "type", "param", "code"}}.

    ApiError(status, message, code=, param=, headers=)   raised by the API's own checks
    DraftgateError subclasses                             mapped by ERROR_STATUS (a core message is
                                                          written for the user: it goes out as is)
    RequestValidationError (FastAPI's 422)                400, `param` naming the field
    HTTPException (unknown path 404, 405, ...)            the same status, in the envelope
    anything else                                         CatchAll (api.middleware): logged, a plain
                                                          500 envelope, never a traceback

`error.message` follows the request's Accept-Language (a language with a catalog, else English;
core.platform.i18n); `type`, `code` and `param` never change with it.

The openai SDK picks its exception by status (400 BadRequestError, 401 AuthenticationError,
403 PermissionDeniedError, 404 NotFoundError, 409 ConflictError, 422 UnprocessableEntityError,
429 RateLimitError, 5xx InternalServerError); `type` and `code` tell the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.platform import errors, i18n
from core.platform.i18n import N_, Message, PluralMessage, Translator

logger = logging.getLogger("api")

ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "invalid_request_error", 405: "invalid_request_error", 409: "invalid_request_error",
    422: "invalid_request_error", 429: "rate_limit_error", 502: "upstream_error", 503: "server_error",
}
DEFAULT_CODES = {400: "invalid_request", 401: "invalid_api_key", 403: "permission_denied", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 422: "unprocessable", 429: "rate_limit_exceeded",
                 500: "server_error", 502: "upstream_error", 503: "service_unavailable"}

# the most specific class first
ERROR_STATUS: tuple[tuple[type[errors.DraftgateError], int], ...] = (
    (errors.InvalidInputError, 400),
    (errors.AuthenticationError, 401),
    (errors.PermissionDeniedError, 403),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.RateLimitedError, 429),
    (errors.DatabaseBusyError, 503),
    (errors.SecretError, 500),
    (errors.LLMError, 502),
    (errors.DraftgateError, 400),
)
INTERNAL_MESSAGE = N_("The server failed to answer this request; it has been logged. Try again later.")
BUSY_RETRY_AFTER_S = 1


class ApiError(Exception):
    """An answer other than success, with everything its envelope and headers need."""

    def __init__(
        self, status: int, message: str | Message, *, code: str | None = None, param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.status = status
        self.message = str(message)  # English
        self.source: str | Message = message
        self.code = code or DEFAULT_CODES.get(status)
        self.param = param
        self.headers = dict(headers or {})


def envelope(status: int, message: str, *, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "server_error"), "param": param,
                      "code": code or DEFAULT_CODES.get(status)}}


def request_translations(request: Request | None) -> Translator:
    """The translations for the request's Accept-Language (English without one)."""
    return header_translations(request.headers.get("accept-language") if request is not None else None)


def header_translations(accept_language: str | None) -> Translator:
    return i18n.translations(i18n.negotiate(i18n.accept_language(accept_language)))


def localized(error: ApiError, t: Translator) -> str:
    return error.source.render(t) if isinstance(error.source, Message) else t.gettext(error.message)


def localized_envelope(error: ApiError, t: Translator) -> dict[str, Any]:
    return envelope(error.status, localized(error, t), code=error.code, param=error.param)


def internal_envelope(t: Translator) -> dict[str, Any]:
    """The 500 of an unexpected error: nothing of it but that it happened."""
    return envelope(500, t.gettext(INTERNAL_MESSAGE))


def error_response(error: ApiError, request: Request | None = None) -> JSONResponse:
    return JSONResponse(localized_envelope(error, request_translations(request)), status_code=error.status,
                        headers=error.headers)


def from_core(err: errors.DraftgateError) -> ApiError:
    """The answer for a core error: its status, and its message when it is fit to show."""
    status = next(code for kind, code in ERROR_STATUS if isinstance(err, kind))
    if status == 500:
        logger.error("%s: %s", type(err).__name__, err)
        return ApiError(500, INTERNAL_MESSAGE)
    headers = {}
    if isinstance(err, errors.RateLimitedError):
        headers["Retry-After"] = str(retry_after_seconds(err.retry_after_s))
    elif isinstance(err, errors.DatabaseBusyError):
        headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
    return ApiError(status, err.message if isinstance(err.message, Message) else str(err), headers=headers)


def retry_after_seconds(wait_s: float) -> int:
    """Retry-After in whole seconds, never 0 (a client retrying at once would be refused again)."""
    whole = int(wait_s) if float(wait_s).is_integer() else int(wait_s) + 1
    return max(whole, 1)


def param_of(location: Sequence[Any]) -> str | None:
    """A validation error's location as OpenAI names a parameter: `messages[0].content`."""
    parts = list(location)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or None


def validation_error(err: RequestValidationError) -> ApiError:
    problems = list(err.errors())
    first = problems[0] if problems else {"loc": (), "msg": "The request is not valid.", "type": ""}
    if first.get("type") == "json_invalid":
        return ApiError(400, Message(N_("The request body is not valid JSON.")), code="invalid_json")
    param = param_of(first.get("loc", ()))
    code = "missing_required_parameter" if first.get("type") == "missing" else "invalid_parameter"
    problem = str(first.get("msg", "Invalid value")).removeprefix("Value error, ")
    found = Message(problem if problem.endswith(".") else f"{problem}.")  # ours are msgids; pydantic's stay English
    message = (Message(N_("Invalid value for {param!r}: {problem}"), param=param, problem=found) if param
               else Message(N_("The request is not valid: {problem}"), problem=found))
    if len(problems) > 1:
        more = PluralMessage("{n} more problem after this one.", "{n} more problems after this one.", len(problems) - 1)
        message = Message(N_("{problem} ({more})"), problem=message, more=more)
    return ApiError(400, message, code=code, param=param)


def install_handlers(app: FastAPI) -> None:
    """The handlers that turn every known error into its envelope (the rest: api.middleware.CatchAll)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError) -> JSONResponse:
        return error_response(err, request)

    @app.exception_handler(errors.DraftgateError)
    async def _core_error(request: Request, err: errors.DraftgateError) -> JSONResponse:
        return error_response(from_core(err), request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(err), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        if err.status_code == 404:
            message: str | Message = Message(N_("Unknown path: {method} {path}."), method=request.method,
                                             path=request.url.path)
        elif err.status_code == 405:
            message = Message(N_("{method} is not allowed on {path}."), method=request.method, path=request.url.path)
        else:
            message = str(err.detail)
        return error_response(ApiError(err.status_code, message, headers=err.headers), request)
