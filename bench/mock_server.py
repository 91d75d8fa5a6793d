"""A mock OpenAI-compatible server for the benchmarks, run in its own process.

    python -m bench.mock_server [--latency S] [--tokens N] [--token-gap S] [--record]

It prints "PORT <n>" once listening on 127.0.0.1. Non-streaming answers come after --latency
seconds; a stream sends its first token after --latency, then one token every --token-gap
seconds, each scheduled against the stream's start so that waits do not add up. HTTP/1.1 with
keep-alive, on asyncio: it serves hundreds of connections in one thread.

--record: a stream asked for with a tag `[bench:KEY]` in its body (the last one, if several) notes
when each token was written (time.time(), comparable across processes); `GET /bench/sent`
answers {KEY: [time of token 0, time of token 1, ...]}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_ANSWER = {
    "id": "bench-1",
    "object": "text_completion",
    "created": 0,
    "model": "bench",
    "choices": [{"index": 0, "text": "Hello from the bench.", "finish_reason": "stop", "logprobs": None}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
}
_CHAT_ANSWER = {
    "id": "bench-1",
    "object": "chat.completion",
    "created": 0,
    "model": "bench",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the bench."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
}


def _response(body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


_JSON_RESPONSE = _response(json.dumps(_ANSWER).encode())
_CHAT_JSON_RESPONSE = _response(json.dumps(_CHAT_ANSWER).encode())
_TAG = re.compile(rb"\[bench:([A-Za-z0-9-]{1,40})\]")
_STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _token_event(index: int) -> bytes:
    event = {"id": "bench-1", "object": "text_completion", "created": 0, "model": "bench",
             "choices": [{"index": 0, "text": f" t{index}", "finish_reason": None}]}
    return _chunk(b"data: " + json.dumps(event).encode() + b"\n\n")


class MockServer:
    def __init__(self, latency: float, tokens: int, token_gap: float, record: bool = False) -> None:
        self.latency = latency
        self.record = record
        self.sent: dict[str, list[float]] = {}
        self.tokens = tokens
        self.token_gap = token_gap
        self.events = [_token_event(i) for i in range(tokens)]
        self.ending = _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                chat = b"/chat/completions" in head.split(b"\r\n", 1)[0]
                if self.record and head.startswith(b"GET /bench/sent"):
                    writer.write(_response(json.dumps(self.sent).encode()))
                    await writer.drain()
                elif b'"stream":true' in body.replace(b" ", b""):
                    tags = _TAG.findall(body) if self.record else []
                    await self.stream(writer, self.sent.setdefault(tags[-1].decode(), []) if tags else None)
                else:
                    if self.latency:
                        await asyncio.sleep(self.latency)
                    writer.write(_CHAT_JSON_RESPONSE if chat else _JSON_RESPONSE)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stream(self, writer: asyncio.StreamWriter, sent: list[float] | None = None) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time() + self.latency
        writer.write(_STREAM_HEAD)
        for index, event in enumerate(self.events):
            delay = start + index * self.token_gap - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(event)
            if sent is not None:
                sent.append(time.time())
            await writer.drain()
        writer.write(self.ending)
        await writer.drain()


async def _main(args: argparse.Namespace) -> None:
    mock = MockServer(args.latency, args.tokens, args.token_gap, args.record)
    server = await asyncio.start_server(mock.serve, "127.0.0.1", 0, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def running_mock(*, latency: float = 0.0, tokens: int = 20, token_gap: float = 0.0,
                 record: bool = False) -> Iterator[str]:
    """Start the mock in a child process; yield its base URL (…/v1); stop it afterwards."""
    command = [sys.executable, "-m", "bench.mock_server", "--latency", str(latency),
               "--tokens", str(tokens), "--token-gap", str(token_gap)] + (["--record"] if record else [])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError("the mock server did not start")
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--token-gap", type=float, default=0.0)
    parser.add_argument("--record", action="store_true", help="note when each token of a tagged stream was sent")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
