"""ASGI middleware of the API: rate limit headers on every answer, and the last line of defence.

    CatchAll    an exception no handler took is logged (with its traceback, keys redacted:
                api.logs) and answered with a plain 500 envelope; a traceback never reaches a
                body. When the answer had already begun (a stream), it can only be cut short.
                The x-ratelimit-* headers of the request's rate decision (api.access) go on
                every answer, errors included.
"""

from __future__ import annotations

import json
import logging

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import header_translations, internal_envelope

logger = logging.getLogger("api")

RATE_DECISION = "draftgate.rate_decision"  # where api.access leaves the decision in scope["state"]


class CatchAll:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                decision = scope.get("state", {}).get(RATE_DECISION)
                if decision is not None:
                    headers = MutableHeaders(scope=message)
                    for name, value in decision.headers().items():
                        headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                return
            t = header_translations(Headers(scope=scope).get("accept-language"))
            body = json.dumps(internal_envelope(t), ensure_ascii=False).encode()
            await send_with_headers({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            ]})
            await send({"type": "http.response.body", "body": body})
