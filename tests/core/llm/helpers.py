"""Helpers of the API core tests: a provider with a recognisable key, SSE bodies, a tiny real server."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from core.llm.types import ProviderConfig

SECRET_KEY = "sk-draftgate-test-SECRET-0123456789"


def provider(**changes: str) -> ProviderConfig:
    fields = {
        "name": "mock",
        "base_url": "https://llm.example/v1",
        "model": "mock-1",
        "api_style": "completions",
        "api_key": SECRET_KEY,
    }
    return ProviderConfig(**{**fields, **changes})


def sse(*chunks: dict | str) -> bytes:
    """An event stream: dicts become `data: {json}` events, strings are sent as they are."""
    parts = [c if isinstance(c, str) else f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in chunks]
    return "".join(parts).encode()


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def event_stream(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


class FakeProvider:
    """A small OpenAI-compatible server on 127.0.0.1 that answers with `reply` and records requests."""

    reply = "Hello from the fake provider."

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, body: dict) -> tuple[str, bytes]:
        chat = path.endswith("/chat/completions")
        pieces = re.findall(r"\s*\S+", self.reply)
        if not body.get("stream"):
            choice = (
                {"message": {"role": "assistant", "content": self.reply}} if chat else {"text": self.reply}
            )
            data = {
                "id": "fake-1",
                "model": body["model"],
                "choices": [{"index": 0, **choice, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": 3,
                    "completion_tokens": len(pieces),
                    "total_tokens": 3 + len(pieces),
                },
            }
            return "application/json", json.dumps(data).encode()
        chunks: list[dict | str] = []
        for piece in pieces:
            choice = {"delta": {"content": piece}} if chat else {"text": piece}
            chunks.append(
                {
                    "id": "fake-1",
                    "model": body["model"],
                    "choices": [{"index": 0, **choice, "finish_reason": None}],
                }
            )
        done = {"delta": {}} if chat else {"text": ""}
        chunks.append(
            {
                "id": "fake-1",
                "model": body["model"],
                "choices": [{"index": 0, **done, "finish_reason": "stop"}],
            }
        )
        chunks.append(
            {
                "id": "fake-1",
                "model": body["model"],
                "choices": [],
                "usage": {
                    "prompt_tokens": 3,
                    "completion_tokens": len(pieces),
                    "total_tokens": 3 + len(pieces),
                },
            }
        )
        chunks.append("data: [DONE]\n\n")
        return "text/event-stream", sse(*chunks)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if not self.path.endswith(("/completions", "/chat/completions")):
                    self.send_error(404)
                    return
                content_type, payload = fake.answer(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
