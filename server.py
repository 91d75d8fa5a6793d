"""The server: Draftgate's Streamlit app (app.py), its sign-in routes, behind its security headers, on one port.

    browser --HTTP or WebSocket--> SecurityHeaders --> SignInGate --> st.App: ROUTES, app.py, /_stcore/*, static files
    any HTTP client -------------> SecurityHeaders --> /api/v1 (in ROUTES; the gate lets it pass)
      SecurityHeaders   every response: Content-Security-Policy, nosniff, referrer policy
      SignInGate        a page URL (/review, /write?session=3...) without a live sign-in: 303 to /auth/sign-in
      ROUTES            GET/POST /auth/sign-in, POST /auth/sign-out (ui.sign_in_routes: the cookie is set
                        there; app.py reads it each run), and /api/v1: the HTTP API (api/), on the app's
                        own core Runtime (ui.resources.runtime, made on first use)

Start it with `streamlit run server.py` (the flags and .streamlit/config.toml of `streamlit run
app.py` apply), or `uvicorn server:app`.

The policy is defence in depth behind ui.safe: whatever a page shows, the browser loads scripts,
styles, fonts, images and frames only from this server (images also from data: and blob: URLs,
which Streamlit makes itself), talks only to it (the WebSocket too), and nothing may frame it.
Streamlit needs inline styles (CSS-in-JS) and compiles a small WebAssembly module ('wasm-unsafe-eval',
which allows no JavaScript eval); its one inline script is allowed by its hash. Checked in Chromium
on every page, charts included, with no policy violation (tests/browser/test_no_request_leaves.py).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import streamlit as st
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import ApiRuntime, api_mount
from api.logs import install_key_redaction
from ui import resources
from ui.page_map import no_legacy_pages
from ui.sign_in_routes import SignInGate, sign_in_routes

STREAMLIT_INDEX = Path(st.__file__).parent / "static" / "index.html"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def inline_script_hashes(index_html: str) -> list[str]:
    """CSP sources allowing exactly the inline scripts of Streamlit's index.html."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(index_html)
    ]


def content_security_policy() -> str:
    scripts = " ".join(["'self'", "'wasm-unsafe-eval'", *inline_script_hashes(STREAMLIT_INDEX.read_text(encoding="utf-8"))])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "media-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])


class SecurityHeaders:
    """ASGI middleware: the same security headers on every HTTP response and WebSocket accept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": content_security_policy(),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


no_legacy_pages()  # pages come from app.py's st.navigation, even for a fresh server's first visitor
ROUTES = [*sign_in_routes(resources.runtime), api_mount(ApiRuntime.behind_streamlit(core=resources.runtime))]
app = st.App(
    "app.py",
    routes=ROUTES,
    middleware=[Middleware(SecurityHeaders), Middleware(SignInGate, runtime=resources.runtime)],
)
install_key_redaction()
