"""Signing a browser in and out: small routes on the app's own origin, the only place that can
set the sign-in cookie (a Streamlit script cannot), and the gate that sends signed-out visitors
of a page URL to the sign-in form.

    GET  /auth/sign-in?next=/review   the form (plain HTML, no script); sets the pre-session
                                      cookie the form's CSRF token is tied to
    POST /auth/sign-in                username, password, csrf, next: the same throttle, allowlist
                                      and password rules as ever (core.usecases.accounts); on
                                      success the cookie, then 303 to `next` (a path on this
                                      origin only; "/": the first page of the user's role)
    POST /auth/sign-out               csrf: revoke this browser's sign-in, clear the cookie, 303
                                      to the form
    SignInGate (middleware)           GET of a page URL (ui.page_map) without a live sign-in:
                                      303 to the form with next=<that URL>, so a signed-out
                                      visitor never reaches the app's pages at all

The cookie (ui.auth.SESSION_COOKIE) holds only the opaque token (core.access.signins):
HttpOnly, SameSite=Lax, Path=/, Secure when the request came over HTTPS (the ASGI scheme, or
X-Forwarded-Proto from a DRAFTGATE_TRUSTED_PROXIES peer), no Max-Age: the server decides when
it ends. No token is ever in a URL. Cross-site request forgery: a POST must come with an Origin
(or, failing that, a Referer) of this host, and a csrf field equal to an HMAC (key derived from
the master key) of the pre-session cookie, which a cross-site page can neither read nor choose.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import secrets
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs, quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from core.access.allowlist import address_allowed
from core.access.client_address import address_behind_uvicorn, forwarded_hops, uvicorn_trusted_networks
from core.access.roles import may
from core.access.secrets import derived_key
from core.platform import i18n
from core.platform.errors import DraftgateError, RateLimitedError
from core.platform.i18n import Translator
from core.runtime import Runtime
from core.usecases import accounts
from ui.auth import SESSION_COOKIE, SIGN_IN_PATH, SIGN_OUT_PATH, refusal_message
from ui.page_map import PAGE_PATHS, PAGES, page_path

CSRF_COOKIE = "draftgate_presession"
CSRF_PURPOSE = "web:sign-in-csrf"
FORM_MAX_BYTES = 8 * 1024
NEXT_MAX_CHARS = 2000
USER_AGENT_MAX_CHARS = 300

RuntimeSource = Callable[[], Runtime]


# -- what a request says about itself ------------------------------------------------------------


def request_address(connection: HTTPConnection, runtime: Runtime) -> str:
    """The client's address, by the rule the app uses (ui.auth.client_address)."""
    peer = connection.client.host if connection.client else None
    return address_behind_uvicorn(
        None if peer in (None, "127.0.0.1", "::1") else peer,
        connection.headers.getlist("x-forwarded-for"),
        runtime.settings.trusted_proxy_networks,
        uvicorn_trusted_networks(os.environ.get("FORWARDED_ALLOW_IPS")),
    )


def is_https(connection: HTTPConnection, runtime: Runtime) -> bool:
    """Served over HTTPS: the scope says so, or a trusted proxy's X-Forwarded-Proto does."""
    if connection.url.scheme in ("https", "wss"):
        return True
    peer = connection.client.host if connection.client else ""
    trusted = runtime.settings.trusted_proxy_networks
    proto = forwarded_hops(connection.headers.getlist("x-forwarded-proto"))
    return bool(proto) and proto[-1].lower() == "https" and address_allowed(peer, trusted) and bool(trusted)


def safe_next(value: str | None) -> str:
    """`next` if it is a path on this origin ("/review?session=3"), else "/": never another site
    ("//evil.example", "https://...", "/\\evil"), never a control character."""
    if not value or len(value) > NEXT_MAX_CHARS or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(char) < 0x20 or ord(char) == 0x7F or char == "\\" for char in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith("/auth/"):
        return "/"
    return value


def same_origin(request: Request) -> bool:
    """The POST comes from a page of this host (Origin, else Referer); neither sent: refused."""
    host = request.headers.get("host", "").lower()
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    if not host or not source or source == "null":
        return False
    return urlsplit(source).netloc.lower() == host


def request_language(connection: HTTPConnection) -> str:
    """The form's language: the browser's Accept-Language, as far as a catalog serves it (else English)."""
    return i18n.negotiate(i18n.accept_language(connection.headers.get("accept-language")))


def landing(next_path: str, role: str) -> str:
    """Where a sign-in goes: `next`, or for the root the first page of the role (as app.py's home would)."""
    if next_path != "/":
        return next_path
    return next((page_path(area) for area, *_ in PAGES if may(role, area)), "/")


def csrf_token(runtime: Runtime, presession: str) -> str:
    key = derived_key(runtime.settings, CSRF_PURPOSE)
    return hmac.new(key, presession.encode(), hashlib.sha256).hexdigest()


def csrf_ok(request: Request, runtime: Runtime, submitted: str) -> bool:
    presession = request.cookies.get(CSRF_COOKIE, "")
    return bool(presession) and bool(submitted) and hmac.compare_digest(csrf_token(runtime, presession), submitted)


async def form_fields(request: Request) -> dict[str, str]:
    """The urlencoded form (at most FORM_MAX_BYTES), first value of each field."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_MAX_BYTES:
            return {}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=20)
    return {name: values[0] for name, values in parsed.items()}


# -- the page ---------------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; background: #f6f7f9; color: #1f2430; margin: 0; }
main { max-width: 360px; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: 8px;
       box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { margin: 0 0 .25rem; font-size: 1.6rem; } p.caption { color: #667; margin: 0 0 1.5rem; }
label { display: block; margin: .8rem 0 .3rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem;
       border: 1px solid #ccd; border-radius: 4px; }
button { margin-top: 1.2rem; width: 100%; padding: .6rem; font-size: 1rem; border: 0; border-radius: 4px;
         background: #ff4b4b; color: #fff; cursor: pointer; }
.error { background: #fdecea; color: #7a1c14; padding: .6rem; border-radius: 4px; }
.notice { background: #e8f1fc; color: #173a66; padding: .6rem; border-radius: 4px; }
"""


def page(body: str, language: str, *, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    title = html.escape(i18n.translations(language).gettext("Sign in · Draftgate"))
    document = (
        f'<!doctype html><html lang="{language.replace("_", "-")}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(document, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def form_page(csrf: str, next_path: str, language: str, *, username: str = "", error: str = "", status: int = 200,
              headers: dict[str, str] | None = None) -> HTMLResponse:
    t: Translator = i18n.translations(language)
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    caption = html.escape(t.gettext("Writing with language models, under a quality gate."))
    user_name, password, sign_in = (html.escape(t.gettext("User name")), html.escape(t.gettext("Password")),
                                    html.escape(t.gettext("Sign in")))
    return page(
        f"<h1>Draftgate</h1><p class=\"caption\">{caption}</p>"
        f"{message}"
        f'<form method="post" action="{SIGN_IN_PATH}">'
        f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        f'<input type="hidden" name="next" value="{html.escape(next_path)}">'
        f'<label for="username">{user_name}</label>'
        f'<input id="username" name="username" type="text" maxlength="64" autocomplete="username" required autofocus'
        f' value="{html.escape(username)}">'
        f'<label for="password">{password}</label>'
        '<input id="password" name="password" type="password" maxlength="1024" autocomplete="current-password" required>'
        f'<button type="submit">{sign_in}</button></form>',
        language, status=status, headers=headers,
    )


def refused_page(address: str, language: str) -> HTMLResponse:
    t = i18n.translations(language)
    text = refusal_message(address, t).replace("\\", "")  # the Markdown escapes of ui.safe.md
    title = t.gettext("Access refused")
    return page(f"<h1>{html.escape(title)}</h1><p class=\"error\">{html.escape(text)}</p>", language, status=403)


def set_presession(response: Response, value: str, secure: bool) -> None:
    response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="strict", secure=secure, path="/auth")


# -- the routes ----------------------------------------------------------------------------------


def sign_in_routes(runtime: RuntimeSource) -> list[Route]:
    """The sign-in and sign-out routes, over the process's runtime (ui.resources.runtime in the app)."""

    async def sign_in_form(request: Request) -> Response:
        made = await run_in_threadpool(runtime)
        address = request_address(request, made)
        language = request_language(request)
        if not address_allowed(address, made.settings.ip_networks):
            return refused_page(address, language)
        next_path = safe_next(request.query_params.get("next"))
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            found = await run_in_threadpool(accounts.look_up_sign_in, made, token=token)
            if found.signed_in:
                return RedirectResponse(next_path, status_code=HTTPStatus.SEE_OTHER)
        presession = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = form_page(csrf_token(made, presession), next_path, language)
        set_presession(response, presession, is_https(request, made))
        if token:  # it stands for no sign-in any more
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def sign_in(request: Request) -> Response:
        made = await run_in_threadpool(runtime)
        address = request_address(request, made)
        language = request_language(request)
        t = i18n.translations(language)
        if not address_allowed(address, made.settings.ip_networks):
            return refused_page(address, language)
        fields = await form_fields(request)
        next_path = safe_next(fields.get("next"))
        presession = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        secure = is_https(request, made)

        def again(error: str, status: int, headers: dict[str, str] | None = None) -> Response:
            response = form_page(csrf_token(made, presession), next_path, language, username=fields.get("username", "")[:64],
                                 error=error, status=status, headers=headers)
            set_presession(response, presession, secure)
            return response

        if not same_origin(request) or not csrf_ok(request, made, fields.get("csrf", "")):
            return again(t.gettext("This sign-in form has expired or did not come from this site: please sign in again."),
                         HTTPStatus.FORBIDDEN)
        username, password = fields.get("username", ""), fields.get("password", "")
        if not username.strip() or not password:
            return again(t.gettext("Enter your user name and password."), HTTPStatus.BAD_REQUEST)
        user_agent = request.headers.get("user-agent", "")[:USER_AGENT_MAX_CHARS]
        try:
            user, token = await run_in_threadpool(
                accounts.start_sign_in, made, username=username, password=password, address=address,
                user_agent=user_agent,
            )
        except RateLimitedError as err:
            return again(err.user_message(t), HTTPStatus.TOO_MANY_REQUESTS, {"Retry-After": str(max(1, round(err.retry_after_s)))})
        except DraftgateError as err:
            return again(err.user_message(t), HTTPStatus.UNAUTHORIZED)
        response = RedirectResponse(landing(next_path, user.role), status_code=HTTPStatus.SEE_OTHER)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/")
        response.headers["Cache-Control"] = "no-store"
        return response

    async def sign_out(request: Request) -> Response:
        made = await run_in_threadpool(runtime)
        fields = await form_fields(request)
        language = request_language(request)
        t = i18n.translations(language)
        if not same_origin(request) or not csrf_ok(request, made, fields.get("csrf", "")):
            title, why = t.gettext("Not signed out"), t.gettext("This request did not come from this site.")
            return page(f"<h1>{html.escape(title)}</h1><p class=\"error\">{html.escape(why)}</p>",
                        language, status=HTTPStatus.FORBIDDEN)
        await run_in_threadpool(accounts.end_sign_in, made, token=request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse(SIGN_IN_PATH, status_code=HTTPStatus.SEE_OTHER)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return [
        Route(SIGN_IN_PATH, sign_in_form, methods=["GET"], name="sign_in_form"),
        Route(SIGN_IN_PATH, sign_in, methods=["POST"], name="sign_in"),
        Route(SIGN_OUT_PATH, sign_out, methods=["POST"], name="sign_out"),
    ]


class SignInGate:
    """ASGI middleware: a GET of a page URL without a live sign-in is sent to the sign-in form,
    with next=<the URL asked for>. Everything else (Streamlit's files, WebSocket, the API) passes."""

    def __init__(self, app: ASGIApp, runtime: RuntimeSource, paths: frozenset[str] = PAGE_PATHS) -> None:
        self.app = app
        self.runtime = runtime
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or self._path(scope) not in self.paths:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        made = await run_in_threadpool(self.runtime)
        if not address_allowed(request_address(connection, made), made.settings.ip_networks):
            await self.app(scope, receive, send)  # the app shows the refusal
            return
        found = await run_in_threadpool(accounts.look_up_sign_in, made, token=connection.cookies.get(SESSION_COOKIE))
        if found.signed_in:
            await self.app(scope, receive, send)
            return
        asked = scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
        target = f"{SIGN_IN_PATH}?next={quote(safe_next(asked), safe='')}"
        response = RedirectResponse(target, status_code=HTTPStatus.SEE_OTHER, headers={"Cache-Control": "no-store"})
        await response(scope, receive, send)

    @staticmethod
    def _path(scope: Scope) -> str:
        path = scope.get("path", "")
        return path.rstrip("/") or "/"
