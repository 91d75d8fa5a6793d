"""The HTTP API: create_api(runtime) builds it; it is served under /api/v1.

    st.App server (issue 14)       st.App("app.py", routes=[api_mount(runtime)], ...)   one line
    python -m core serve-api       api_server(runtime): the API alone, under the same prefix

    request --> CatchAll (500 envelope, x-ratelimit-* headers) --> FastAPI
                --> routes: health (public), models, projects, generation (chat/completions,
                    completions), tasks (text-completion, tasks, batches), gate (score, sessions,
                    drafts, review, thresholds), privacy (export, deletion), docs
                --> errors in OpenAI's envelope (api.errors)

The routes have relative paths ("/models"); the mount gives them their prefix and FastAPI its
root_path, so the OpenAPI document names `/api/v1` as its server and the docs page finds it.
"""

from __future__ import annotations

import re

from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount

from api import docs
from api.access import known_query_only
from api.errors import install_handlers
from api.middleware import CatchAll
from api.routers import gate, generation, meta, models, privacy, projects, tasks, triage
from api.runtime import ApiRuntime
from api.schemas import ErrorResponse

API_PREFIX = "/api/v1"
TITLE = "Draftgate API"
VERSION = "1"
DESCRIPTION = (
    "Draft through Draftgate's quality gate from any OpenAI client: "
    "`openai.OpenAI(base_url=\"http://HOST/api/v1\", api_key=KEY)`. Every error is OpenAI's envelope "
    "`{\"error\": {\"message\", \"type\", \"param\", \"code\"}}`; every answer to a key carries "
    "`x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests` and `x-ratelimit-reset-requests`."
)
RATE_HEADERS = {
    "x-ratelimit-limit-requests": {"schema": {"type": "string"}, "description": "Requests per window."},
    "x-ratelimit-remaining-requests": {"schema": {"type": "string"}, "description": "Requests left now."},
    "x-ratelimit-reset-requests": {"schema": {"type": "string"}, "description": "Until the window is empty (1s, 20ms)."},
}
ERRORS = {
    400: {"model": ErrorResponse, "description": "A parameter is not acceptable (`param` names it)."},
    401: {"model": ErrorResponse, "description": "The API key is missing, wrong, revoked or expired."},
    403: {"model": ErrorResponse, "description": "Plain HTTP from elsewhere, an address outside an allowlist, "
                                                 "or the key's role."},
    429: {"model": ErrorResponse, "description": "Over the key's request rate or concurrency.",
          "headers": {**RATE_HEADERS, "Retry-After": {"schema": {"type": "string"}, "description": "Whole seconds."}}},
    "default": {"model": ErrorResponse, "description": "Any other error, in the same envelope."},
}


def create_api(runtime: ApiRuntime) -> FastAPI:
    app = FastAPI(
        title=TITLE, version=VERSION, description=DESCRIPTION, openapi_url="/openapi.json", docs_url=None,
        redoc_url=None, swagger_ui_oauth2_redirect_url=None, responses={"default": ERRORS["default"]},
        dependencies=[Depends(known_query_only)],
    )
    app.state.runtime = runtime
    install_handlers(app)
    app.add_middleware(CatchAll)
    app.include_router(meta.router)
    protected = {status: ERRORS[status] for status in (400, 401, 403, 429)}
    for router in (models.router, projects.router, generation.router, tasks.router, gate.router, triage.router,
                   privacy.router):
        app.include_router(router, responses=protected)
    app.include_router(docs.router)
    return app


def api_mount(runtime: ApiRuntime) -> Mount:
    """The API as a route of another Starlette app (st.App's routes=). Its pattern matches any
    character after the prefix (Starlette's `.*` stops at a newline, and the outer app would
    answer such a path with a plain-text 404 instead of the API's envelope)."""
    mount = Mount(API_PREFIX, app=create_api(runtime))
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount


def api_server(runtime: ApiRuntime) -> Starlette:
    """The API alone, under its prefix (python -m core serve-api)."""
    return Starlette(routes=[api_mount(runtime)])
