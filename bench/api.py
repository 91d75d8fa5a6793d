"""The HTTP API: what it adds per request, its limiter across replicas, time to first token.

    python -m bench.api [--requests 400] [--limit 20] [--seconds 10] [--redis redis://127.0.0.1:6379/15]

    overhead   POST /api/v1/completions (a new session, a turn, a draft, its scoring handed to
               a job) against the same completions request sent to the mock provider directly,
               p50/p95 at concurrency 1 and 32; `python -m core serve-api` in its own process,
               the mock (bench.mock_server, zero latency) in another
    limiter    two serve-api replicas sharing Redis, one key limited to --limit requests/s,
               GET /models sent at 10x that rate for --seconds, spread over both replicas:
               admitted per second against the limit (target within 2%), every rejection a
               well-formed 429 (OpenAI envelope, code rate_limit_exceeded, Retry-After,
               x-ratelimit-*), and no admitted request lost (each 200 has its whole body)
    ttft       time to the first text chunk of a stream through the API, against the mock directly
               (mock latency 50 ms, then a token every 10 ms)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.mock_server import running_mock

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Write one sentence about the sea"
BODY = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 32}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(data_dir: Path, *, qps: float | None) -> str:
    """A database with a writer, a project and the writer's key (returned)."""
    os.environ["DRAFTGATE_DATA_DIR"] = str(data_dir)
    from core.access.actors import SYSTEM
    from core.access.api_keys import create_api_key
    from core.platform.config import Settings
    from core.platform.db import create_schema, make_engine, open_session
    from core.platform.models import User
    from core.writing.projects import create_project

    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url)
    create_schema(engine)
    with open_session(engine) as db:
        user = User(username="bench", password_hash="x", role="writer")
        db.add(user)
        db.commit()
        create_project(session=db, name="Bench", actor_id=SYSTEM)
        key = create_api_key(session=db, user_id=user.id, name="bench", actor_id=SYSTEM, qps_limit=qps).key
    engine.dispose()
    return key


@contextmanager
def serve_api(data_dir: Path, mock_url: str, **env: str) -> Iterator[str]:
    port = free_port()
    environment = {**os.environ, "DRAFTGATE_DATA_DIR": str(data_dir), "DRAFTGATE_LLM_BASE_URL": mock_url,
                   "DRAFTGATE_LLM_MODEL": "bench", "DRAFTGATE_LLM_API_STYLE": "completions",
                   "DRAFTGATE_LLM_API_KEY": "sk-bench", "DRAFTGATE_USER_RATE_LIMIT": "0",
                   "DRAFTGATE_API_CONCURRENCY_LIMIT": "0", "DRAFTGATE_API_QPS_LIMIT": "0", **env}
    log = open(data_dir / f"serve-api-{port}.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "core", "serve-api", "--port", str(port), "--log-level",
                                "warning"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("serve-api did not start: " + (data_dir / log.name).read_text()[-2000:])
            time.sleep(0.2)
        yield url
    finally:
        if os.environ.get("BENCH_API_LOGS"):
            print((data_dir / log.name).read_text()[-4000:], file=sys.stderr)
        process.send_signal(2)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(send: Callable[[int], None], count: int, concurrency: int) -> list[float]:
    """Each request's wall time, `concurrency` at once."""

    def one(index: int) -> float:
        started = time.perf_counter()
        send(index)
        return time.perf_counter() - started

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(count)))


def overhead(requests: int) -> None:
    with tempfile.TemporaryDirectory() as temp, running_mock() as mock_url:
        key = prepare(Path(temp), qps=None)
        with serve_api(Path(temp), mock_url) as api_url:
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            client = httpx.Client(limits=limits, timeout=60, trust_env=False)
            headers = {"Authorization": f"Bearer {key}"}

            def direct(index: int) -> None:
                answer = client.post(f"{mock_url}/completions", headers={"Authorization": "Bearer sk-bench"},
                                     json={"model": "bench", "prompt": f"{PROMPT} {index}", **BODY})
                answer.raise_for_status()

            def through_api(index: int) -> None:
                answer = client.post(f"{api_url}/completions", headers=headers,
                                     json={"prompt": f"{PROMPT} {index}", **BODY})
                answer.raise_for_status()

            timed(through_api, 20, 1)  # warm up
            timed(direct, 20, 1)
            print(f"overhead: {requests} completions each, a new session per call, mock at zero latency")
            print(f"  {'concurrency':>11s} {'path':8s} {'p50':>9s} {'p95':>9s}")
            for concurrency in (1, 32):
                times = {"direct": timed(direct, requests, concurrency), "api": timed(through_api, requests, concurrency)}
                for name, values in times.items():
                    print(f"  {concurrency:11d} {name:8s} {percentile(values, 0.5) * 1000:7.2f}ms "
                          f"{percentile(values, 0.95) * 1000:7.2f}ms")
                added50 = percentile(times["api"], 0.5) - percentile(times["direct"], 0.5)
                added95 = percentile(times["api"], 0.95) - percentile(times["direct"], 0.95)
                print(f"  {concurrency:11d} {'added':8s} {added50 * 1000:7.2f}ms {added95 * 1000:7.2f}ms")
            client.close()


def well_formed_429(response: httpx.Response) -> bool:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    headers = response.headers
    return (error.get("code") == "rate_limit_exceeded" and error.get("type") == "rate_limit_error"
            and bool(error.get("message")) and headers.get("retry-after", "").isdigit()
            and int(headers["retry-after"]) >= 1 and "x-ratelimit-limit-requests" in headers
            and "x-ratelimit-remaining-requests" in headers and "x-ratelimit-reset-requests" in headers)


def limiter(limit: int, seconds: float, redis_url: str) -> None:
    rate = limit * 10
    with tempfile.TemporaryDirectory() as temp, running_mock() as mock_url:
        key = prepare(Path(temp), qps=float(limit))
        env = {"DRAFTGATE_REDIS_URL": redis_url}
        with serve_api(Path(temp), mock_url, **env) as first, serve_api(Path(temp), mock_url, **env) as second:
            replicas = [first, second]
            clients = [httpx.Client(timeout=30, trust_env=False,
                                    limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
                       for _ in replicas]
            headers = {"Authorization": f"Bearer {key}"}
            admitted_at: list[float] = []
            rejected, malformed, lost, other = [0], [0], [0], [0]
            lock = threading.Lock()
            start = time.monotonic() + 0.5

            def send(index: int) -> None:
                delay = start + index / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sent_at = time.monotonic()
                try:
                    answer = clients[index % 2].get(f"{replicas[index % 2]}/models", headers=headers)
                except httpx.HTTPError:
                    with lock:
                        lost[0] += 1
                    return
                with lock:
                    if answer.status_code == 200:
                        try:
                            complete = answer.json()["object"] == "list"
                        except ValueError:
                            complete = False
                        admitted_at.append(sent_at - start) if complete else lost.__setitem__(0, lost[0] + 1)
                    elif answer.status_code == 429:
                        rejected[0] += 1
                        malformed[0] += 0 if well_formed_429(answer) else 1
                    else:
                        other[0] += 1

            total = int(rate * seconds)
            with ThreadPoolExecutor(64) as pool:
                list(pool.map(send, range(total)))
            for client in clients:
                client.close()
    steady = [t for t in admitted_at if 1.0 <= t < seconds]
    per_second = len(steady) / (seconds - 1.0)
    print(f"limiter: two replicas on Redis, limit {limit}/s, {rate}/s offered (10x) for {seconds:g} s, "
          f"{total} requests")
    print(f"  admitted {len(admitted_at)}, rejected {rejected[0]} (malformed 429s: {malformed[0]}), "
          f"other statuses {other[0]}, lost {lost[0]}")
    print(f"  admitted per second after the first second: {per_second:.2f} "
          f"({(per_second - limit) / limit * 100:+.2f}% of the limit; target within 2%)")


def ttft(requests: int) -> None:
    with tempfile.TemporaryDirectory() as temp, running_mock(latency=0.05, tokens=10, token_gap=0.01) as mock_url:
        key = prepare(Path(temp), qps=None)
        with serve_api(Path(temp), mock_url) as api_url:
            client = httpx.Client(timeout=60, trust_env=False)

            def first_text(url: str, headers: dict, body: dict) -> float:
                started = time.perf_counter()
                with client.stream("POST", url, headers=headers, json=body) as response:
                    lines = response.iter_lines()
                    for line in lines:
                        if line.startswith("data: ") and line != "data: [DONE]":
                            chunk = json.loads(line[6:])
                            if chunk.get("choices") and chunk["choices"][0].get("text"):
                                elapsed = time.perf_counter() - started
                                for _ in lines:  # the rest of the stream, so the draft completes
                                    pass
                                return elapsed
                raise RuntimeError("no text arrived")

            direct, api = [], []
            for index in range(requests):
                body = {"prompt": f"{PROMPT} {index}", "stream": True, **BODY}
                direct.append(first_text(f"{mock_url}/completions", {"Authorization": "Bearer sk-bench"},
                                         {"model": "bench", **body}))
                api.append(first_text(f"{api_url}/completions", {"Authorization": f"Bearer {key}"}, body))
            client.close()
    print(f"time to first token, {requests} streams each (mock: first token after 50 ms):")
    print(f"  direct p50 {percentile(direct, 0.5) * 1000:.1f} ms p95 {percentile(direct, 0.95) * 1000:.1f} ms;"
          f" api p50 {percentile(api, 0.5) * 1000:.1f} ms p95 {percentile(api, 0.95) * 1000:.1f} ms;"
          f" added p50 {(percentile(api, 0.5) - percentile(direct, 0.5)) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per path and concurrency (default 400)")
    parser.add_argument("--limit", type=int, default=20, help="the key's requests per second (default 20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the overload (default 10)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15", help="Redis for the two replicas")
    parser.add_argument("--only", choices=("overhead", "limiter", "ttft"), help="run one part only")
    args = parser.parse_args()
    if args.only in (None, "overhead"):
        overhead(args.requests)
    if args.only in (None, "limiter"):
        limiter(args.limit, args.seconds, args.redis)
    if args.only in (None, "ttft"):
        ttft(min(args.requests, 100))


if __name__ == "__main__":
    main()
