"""A local OpenAI-compatible server that misbehaves on purpose, one scripted act per request.

    server = FaultyServer().start()
    server.script(status(503), status(429, headers={"Retry-After": "2"}), answer("Hello"))

Acts run in order (then every request gets `answer(FaultyServer.reply)`). The server speaks
HTTP/1.1 with keep-alive, counts the TCP connections it accepted, and records each request
with its arrival time (time.monotonic()).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Act = Callable[["Handler", "Received"], None]


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    body: dict
    at: float


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that hung up mid-answer is one of the faults staged here: not worth a traceback on
        stderr, where a command run in the test's process (tests/utils/cli.py) prints its own."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FaultyServer:
    reply = "Hello from the faulty server."

    def __init__(self, *, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s  # added before every answer
        self.requests: list[Received] = []
        self.connections = 0
        self.released = threading.Event()  # stalled acts wait on it; set when the server stops
        self._acts: deque[Act] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.faulty = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FaultyServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def script(self, *acts: Act) -> FaultyServer:
        with self._lock:
            self._acts.extend(acts)
        return self

    def next_act(self) -> Act:
        with self._lock:
            return self._acts.popleft() if self._acts else answer(self.reply)

    def record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def connected(self) -> None:
        with self._lock:
            self.connections += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    @property
    def faulty(self) -> FaultyServer:
        return self.server.faulty  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        self.faulty.connected()

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        received = Received(self.command, self.path, json.loads(raw) if raw else {}, time.monotonic())
        self.faulty.record(received)
        act = self.faulty.next_act()
        if self.faulty.delay_s:
            time.sleep(self.faulty.delay_s)
        act(self, received)

    def send_body(self, status: int, content_type: str, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def start_chunks(self, content_type: str = "text/event-stream", *, chunked: bool = True) -> None:
        """Chunked framing, or (chunked=False) a body that ends when the connection closes."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding" if chunked else "Connection", "chunked" if chunked else "close")
        self.end_headers()

    def chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def write_flushed(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        return


# -- acts -------------------------------------------------------------------------------------


def _completion(received: Received, text: str) -> dict:
    chat = received.path.endswith("/chat/completions")
    choice = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
    return {
        "id": "faulty-1",
        "model": received.body.get("model", "m"),
        "choices": [{"index": 0, **choice, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
    }


def _event(received: Received, piece: str, finish_reason: str | None = None) -> bytes:
    chat = received.path.endswith("/chat/completions")
    choice = {"delta": {"content": piece}} if chat else {"text": piece}
    chunk = {"id": "faulty-1", "model": received.body.get("model", "m"),
             "choices": [{"index": 0, **choice, "finish_reason": finish_reason}]}
    return _data(chunk)


def _data(chunk: dict) -> bytes:
    """One `data:` event; text UTF-8 cannot encode (a lone surrogate) goes as JSON escapes (\\ud83d)."""
    try:
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
    except UnicodeEncodeError:
        return f"data: {json.dumps(chunk)}\n\n".encode()


def _textless_chunks(received: Received) -> list[bytes]:
    """Chunks that carry no text: an empty delta, a role-only delta, a usage-only chunk."""
    chat = received.path.endswith("/chat/completions")
    model = received.body.get("model", "m")
    role_only = {"delta": {"role": "assistant"}} if chat else {"text": ""}
    return [
        _event(received, ""),
        _data({"id": "faulty-1", "model": model, "choices": [{"index": 0, **role_only, "finish_reason": None}]}),
        _data({"id": "faulty-1", "model": model, "choices": [], "usage": {"prompt_tokens": 3}}),
    ]


def answer(text: str) -> Act:
    """A correct answer: JSON, or an event stream when the request asked for one."""

    def act(handler: Handler, received: Received) -> None:
        if received.body.get("stream"):
            stream([text])(handler, received)
        else:
            handler.send_body(200, "application/json", json.dumps(_completion(received, text)).encode())

    return act


def stream(
    pieces: list[str], *, gap_s: float = 0.0, then: str = "done", finish_reason: str | None = "stop",
    chunked: bool = True, textless: int = 0, hold: threading.Event | None = None,
) -> Act:
    """An event stream of `pieces` (the last one with `finish_reason` when then is "done" or
    "end"); then "done" ([DONE]), "end" (the body ends cleanly without [DONE]), "stall"
    (silence until the server stops), "close" (the connection drops), "error" (an SSE error
    event), "keepalive" (only comments, one every gap_s, until the server stops) or "textless"
    (`textless` chunks without any text, one every gap_s, then [DONE]).
    `chunked=False`: no framing, the body ends when the server closes the connection.
    `hold`: after the first piece, wait until the test sets it (or the server stops)."""

    def act(handler: Handler, received: Received) -> None:
        handler.start_chunks(chunked=chunked)
        send = handler.chunk if chunked else handler.write_flushed
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1 and then in ("done", "end")
            send(_event(received, piece, finish_reason if last else None))
            if hold is not None and index == 0:
                while not (hold.wait(0.05) or handler.faulty.released.is_set()):
                    pass
            if gap_s:
                time.sleep(gap_s)
        if then == "textless":
            kinds = _textless_chunks(received)
            for index in range(textless):
                send(kinds[index % len(kinds)])
                time.sleep(gap_s)
        if then in ("done", "textless"):
            send(b"data: [DONE]\n\n")
        if then in ("done", "end", "textless"):
            if chunked:
                handler.end_chunks()
            else:
                handler.close_connection = True
        elif then == "error":
            handler.chunk(b'event: error\ndata: {"error": {"message": "the model crashed"}}\n\n')
            handler.end_chunks()
        elif then == "stall":
            handler.faulty.released.wait(30)
            handler.close_connection = True
        elif then == "keepalive":
            while not handler.faulty.released.wait(gap_s or 0.05):
                handler.chunk(b": keep-alive\n\n")
            handler.close_connection = True
        elif then == "close":
            handler.close_connection = True
            handler.wfile.flush()
            handler.connection.shutdown(2)

    return act


def status(code: int, *, body: dict | str | None = None, headers: dict | None = None) -> Act:
    def act(handler: Handler, received: Received) -> None:
        payload = body if body is not None else {"error": {"message": f"scripted {code}"}}
        if isinstance(payload, str):
            handler.send_body(code, "text/html", payload.encode(), headers)
        else:
            handler.send_body(code, "application/json", json.dumps(payload).encode(), headers)

    return act


def raw(code: int, content_type: str, body: bytes) -> Act:
    def act(handler: Handler, received: Received) -> None:
        handler.send_body(code, content_type, body)

    return act


def drop() -> Act:
    """Close the connection without answering."""

    def act(handler: Handler, received: Received) -> None:
        handler.close_connection = True
        handler.connection.shutdown(2)

    return act


def stall() -> Act:
    """Say nothing until the server stops."""

    def act(handler: Handler, received: Received) -> None:
        handler.faulty.released.wait(30)
        handler.close_connection = True

    return act


def task_submitted(task_id: str = "t-1") -> Act:
    def act(handler: Handler, received: Received) -> None:
        handler.send_body(202, "application/json", json.dumps({"task_id": task_id}).encode())

    return act


def task_state(state: dict) -> Act:
    def act(handler: Handler, received: Received) -> None:
        handler.send_body(200, "application/json", json.dumps(state).encode())

    return act


class FakeSleep:
    """Records the waits asked for instead of sleeping (and moves a fake clock on, if given)."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.waits: list[float] = []
        self._clock = clock

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self._clock is not None:
            self._clock.now += seconds


class FakeClock:
    """A clock that stands still (`now` is moved by hand), or moves on `step` s at each reading."""

    def __init__(self, now: float = 1000.0, *, step: float = 0.0) -> None:
        self.now = now
        self.step = step

    def __call__(self) -> float:
        now = self.now
        self.now += self.step
        return now
