"""Generation as jobs, watched: 64 drafts written by the job runner, each followed by a simulated
watcher through core.usecases.writing.watch (the Write page and the API do the same).

    python -m bench.generation [--streams 64] [--tokens 200] [--gap 0.01] [--rounds 2] [--no-redis]

In one run, alternating rounds:

    direct   the 64 streams consumed directly by 64 threads with the same LLM client (the baseline)
    local    64 page threads at once, as 64 writers' pages: each calls start_turn (its own session)
             -> a "generate" job on this process's threads, live text through the LocalBroadcaster,
             then follows its draft (blocking reads)
    redis    the same with live text through Redis at 127.0.0.1:6379 (skipped when it does not answer)

Printed: the delay from a token's arrival in the job (read from the provider) to its watcher seeing
it, p50 and p95; the total time until every watcher holds its whole draft, as a ratio to the direct
consumption (median over rounds), and when the last of the 64 concurrent start_turn calls returned
(each saves a turn and a draft before its job starts); how many watchers ended with the whole text.

Then the cost of re-attaching watchers on the database: 16 drafts being written, 16 watchers that
attach anew every WATCH_EVERY_S (a page rerun, a new tab), at two database sizes (a few drafts
stored, then DB_SIZES[1] more): SQL statements per second per watcher, counted on the engine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import redis
from sqlalchemy import event, insert

from bench.mock_server import running_mock

REDIS_URL = "redis://127.0.0.1:6379/15"
DB_SIZES = (0, 20_000)
WATCH_EVERY_S = 1.0
_watcher = threading.local()  # set in watcher threads: their SQL statements are counted


class Recorder:
    """Arrival times of text in the jobs: draft id -> [(length of the text so far, time)]."""

    def __init__(self) -> None:
        self.arrivals: dict[int, list[tuple[int, float]]] = {}
        self.lock = threading.Lock()

    def wrap(self, client):
        recorder = self

        class RecordingClient:
            provider = client.provider

            def stream(self, prompt, params, **kwargs):
                inner = client.stream(prompt, params, **kwargs)
                origin = kwargs.get("origin")
                return RecordingStream(inner, recorder, origin.draft_id if origin is not None else 0)

            def __getattr__(self, name):
                return getattr(client, name)

        return RecordingClient()

    def note(self, draft_id: int, length: int) -> None:
        with self.lock:
            self.arrivals.setdefault(draft_id, []).append((length, time.monotonic()))


class RecordingStream:
    def __init__(self, inner, recorder: Recorder, draft_id: int) -> None:
        self._inner, self._recorder, self._draft_id = inner, recorder, draft_id

    def __iter__(self):
        return self

    def __next__(self):
        delta = next(self._inner)
        self._recorder.note(self._draft_id, len(self._inner.text))
        return delta

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _setup(data_dir: Path, base_url: str, streams: int, redis_url: str):
    import os

    os.environ["DRAFTGATE_DATA_DIR"] = str(data_dir)
    os.environ["DRAFTGATE_USER_RATE_LIMIT"] = "0"
    os.environ["DRAFTGATE_MAX_RUNNING_GENERATIONS"] = "1000"
    os.environ["DRAFTGATE_CACHE_ENABLED"] = "false"
    if redis_url:
        os.environ["DRAFTGATE_REDIS_URL"] = redis_url
    else:
        os.environ.pop("DRAFTGATE_REDIS_URL", None)
    from core.access.actors import SYSTEM
    from core.access.passwords import hash_password
    from core.jobs.runner import JobRunner
    from core.llm.registry import add_provider
    from core.platform.config import Settings
    from core.platform.db import open_session
    from core.platform.models import User
    from core.runtime import Runtime
    from core.usecases import sessions
    from core.writing.projects import create_project

    runtime = Runtime(Settings())
    runtime._runner = JobRunner(runtime.engine, generation_workers=streams)  # jobs on threads here either way
    with open_session(runtime.engine) as db:
        writer = User(username="writer", password_hash=hash_password("bench-password"), role="writer")
        db.add(writer)
        db.commit()
        db.refresh(writer)
        add_provider(session=db, settings=runtime.settings, name="mock", base_url=base_url, model="bench",
                     api_style="completions", actor_id=SYSTEM)
        project = create_project(session=db, name="Bench", actor_id=SYSTEM)
    public_ids = []
    for _ in range(streams):
        created = sessions.create_session(runtime, writer, project_id=project.id)
        sessions.choose_provider(runtime, writer, public_id=created.public_id, provider_name="mock")
        public_ids.append(created.public_id)
    return runtime, writer, public_ids


def _direct(runtime, streams: int, expected: str) -> float:
    from core.llm.types import GenerationParams

    client = runtime.client(runtime.provider("mock"))
    texts: list[str] = []
    lock = threading.Lock()

    def consume() -> None:
        stream = client.stream("Write", GenerationParams(max_tokens=4096), cache="refresh")
        for _ in stream:
            pass
        with lock:
            texts.append(stream.text)

    started = time.monotonic()
    threads = [threading.Thread(target=consume) for _ in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - started
    assert all(text == expected for text in texts), "a direct stream was not whole"
    return took


def _through_jobs(runtime, writer, public_ids: list[str], expected: str) -> tuple[float, list[float], float, int]:
    from core.llm.types import GenerationParams
    from core.usecases import writing

    recorder = Recorder()
    real_client = runtime.client
    runtime.client = lambda provider: recorder.wrap(real_client(provider))  # type: ignore[method-assign]
    seen: dict[int, list[tuple[int, float]]] = {}
    finals: dict[int, str] = {}
    lock = threading.Lock()

    def watch(draft_id: int) -> None:
        view, marks = None, []
        while view is None or not view.done:
            view = writing.watch(runtime, writer, draft_id, after=view, wait_s=0.5)
            if view.new or view.replaces:
                marks.append((len(view.text), time.monotonic()))
        with lock:
            seen[draft_id], finals[draft_id] = marks, view.text

    starts: list[float] = []  # when each start_turn returned

    def page(public_id: str) -> None:  # one Write page: start the turn, then follow its draft
        turn = writing.start_turn(runtime, writer, writing.TurnRequest(
            public_id=public_id, instruction="Write", params=GenerationParams(max_tokens=4096), cache="refresh"))
        with lock:
            starts.append(time.monotonic())
        watch(turn.draft_ids[0])

    started = time.monotonic()
    pages = [threading.Thread(target=page, args=(public_id,)) for public_id in public_ids]
    for thread in pages:
        thread.start()
    for thread in pages:
        thread.join()
    took = time.monotonic() - started
    submitted = max(starts) - started
    runtime.client = real_client  # type: ignore[method-assign]
    whole = sum(1 for text in finals.values() if text == expected)
    delays = []
    for draft_id, arrivals in recorder.arrivals.items():
        marks = seen[draft_id]
        index = 0
        for length, at in arrivals:
            while index < len(marks) and marks[index][0] < length:
                index += 1
            if index >= len(marks):
                break
            delays.append(max(0.0, marks[index][1] - at))
    return took, delays, submitted, whole


def _queries_per_watcher(runtime, writer, public_ids: list[str], stored: int, seconds: float) -> float:
    """16 drafts being written; 16 watchers attaching anew every WATCH_EVERY_S; SQL statements per
    second per watcher (the engine counts those its watcher threads send)."""
    from core.llm.types import GenerationParams
    from core.platform.db import open_session
    from core.platform.models import Draft, Turn
    from core.usecases import writing

    if stored:
        with open_session(runtime.engine) as db:
            turn = Turn(session_id=1, index=10_000, instruction="stored")
            db.add(turn)
            db.commit()
            db.execute(insert(Draft), [{"turn_id": turn.id, "variant": i, "provider": "bench", "model": "bench",
                                     "text": "stored text " * 20, "status": "completed", "params": {}, "route_reasons": []}
                                    for i in range(stored)])
            db.commit()
    counted = [0]
    count_lock = threading.Lock()

    def count(*_args) -> None:
        if getattr(_watcher, "on", False):
            with count_lock:
                counted[0] += 1

    event.listen(runtime.engine, "before_cursor_execute", count)
    drafts = [writing.start_turn(runtime, writer, writing.TurnRequest(
        public_id=public_id, instruction="Write", params=GenerationParams(max_tokens=4096), cache="refresh",
    )).draft_ids[0] for public_id in public_ids[:16]]
    stop_at = time.monotonic() + seconds

    def reattach(draft_id: int) -> None:
        _watcher.on = True
        while time.monotonic() < stop_at:
            writing.watch(runtime, writer, draft_id)  # a new page run, a new tab: no view kept
            time.sleep(WATCH_EVERY_S)

    threads = [threading.Thread(target=reattach, args=(draft_id,)) for draft_id in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    event.remove(runtime.engine, "before_cursor_execute", count)
    for draft_id in drafts:
        writing.stop(runtime, writer, draft_id)
    return counted[0] / seconds / len(drafts)


def _redis_answers() -> bool:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.close()
        return True
    except redis.RedisError:
        return False


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.01, help="seconds between two tokens of a stream")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args()
    expected = "".join(f" t{index}" for index in range(args.tokens))
    ways = ["local"] + ([] if args.no_redis or not _redis_answers() else ["redis"])
    print(f"{args.streams} generations of {args.tokens} tokens, {args.gap * 1000:g} ms apart; ways: {', '.join(ways)}")
    with running_mock(tokens=args.tokens, token_gap=args.gap) as base_url:
        for way in ways:
            with tempfile.TemporaryDirectory() as tmp:
                runtime, writer, public_ids = _setup(Path(tmp), base_url, args.streams,
                                                     REDIS_URL if way == "redis" else "")
                try:
                    direct, jobs, delays, starts, wholes = [], [], [], [], []
                    for _ in range(args.rounds):
                        direct.append(_direct(runtime, args.streams, expected))
                        took, round_delays, submitted, whole = _through_jobs(runtime, writer, public_ids, expected)
                        jobs.append(took)
                        delays.extend(round_delays)
                        starts.append(submitted)
                        wholes.append(whole)
                    ratio = statistics.median(jobs) / statistics.median(direct)
                    print(f"  {way:5}  token->watcher p50 {_pct(delays, 0.5) * 1000:6.1f} ms  "
                          f"p95 {_pct(delays, 0.95) * 1000:6.1f} ms  total {statistics.median(jobs):5.2f} s vs "
                          f"direct {statistics.median(direct):5.2f} s: {ratio:.2f}x  (the last of {args.streams} concurrent "
                          f"start_turn calls returned after {statistics.median(starts):.2f} s; watchers with the whole text: "
                          f"{min(wholes)} of {args.streams})")
                    if way == "local":
                        for size in DB_SIZES:
                            per_watcher = _queries_per_watcher(runtime, writer, public_ids, size, seconds=3.0)
                            print(f"  re-attaching watcher, {size:6d} more drafts stored: "
                                  f"{per_watcher:.2f} SQL statements/s per watcher")
                finally:
                    runtime.close(wait=True)


if __name__ == "__main__":
    main()
