"""Generation as jobs, watched: 64 drafts written by the job runner, each followed by a simulated
watcher through core.usecases.writing.follow, as the API's stream follows a draft (blocking reads,
at most one view per FOLLOW_EVERY_S; the Write page instead rereads core.usecases.writing.watch
every 0.2 s).

    python -m bench.generation [--streams 64] [--tokens 200] [--gap 0.01] [--rounds 2] [--no-redis] [--no-local]
                               [--rq-workers 4] [--rq-threads 16] [--postgres-url URL]

In one run, alternating rounds:

    direct   the 64 streams consumed directly by 64 threads with the same LLM client (the baseline)
    local    64 page threads at once, as 64 writers' pages: each calls start_turn (its own session)
             -> a "generate" job on this process's threads, live text through the LocalBroadcaster,
             then follows its draft (blocking reads)
    redis    two app processes and --rq-workers `python -m core worker --threads N` processes (N =
             --rq-threads; a queue of the bench's own) on a throwaway PostgreSQL database
             (127.0.0.1:5432; SQLite when it does not answer), Redis db 15 (skipped when it does not
             answer): each app process starts half of the turns (their jobs go to the RQ workers, live
             text through Redis) and 64 threads across the two follow the drafts, half of them drafts
             the other process started. At most --rq-workers x --rq-threads drafts are written at once
             (4 x 16: all 64): the direct baseline consumes its streams with as many threads.
             Token times come from the mock (when it sent each token) and from
             the Redis log (when the text reached Redis, the entry id's milliseconds): the delay is
             split into provider->Redis (the worker's read, its flusher) and Redis->watcher (the
             watcher's blocking read); only tokens sent after their watcher attached count.

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
import os
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import event, insert

from bench.mock_server import running_mock

REDIS_URL = "redis://127.0.0.1:6379/15"
DB_SIZES = (0, 20_000)
WATCH_EVERY_S = 1.0
_watcher = threading.local()  # set in watcher threads: their SQL statements are counted
_counted = [0]  # SQL statements of watcher threads (_queries_per_watcher resets it)
_counted_lock = threading.Lock()


def _count_watcher_statement(*_args) -> None:
    if getattr(_watcher, "on", False):
        with _counted_lock:
            _counted[0] += 1


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
    # (listening before any job runs: adding a listener while other threads run statements races with them)
    event.listen(runtime.engine, "before_cursor_execute", _count_watcher_statement)
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


def _direct(runtime, streams: int, expected: str, concurrency: int = 0) -> float:
    """The streams consumed directly, by `concurrency` threads (0: one per stream)."""
    from core.llm.types import GenerationParams

    client = runtime.client(runtime.provider("mock"))
    texts: list[str] = []
    lock = threading.Lock()
    left = iter(range(streams))

    def consume() -> None:
        while True:
            with lock:
                if next(left, None) is None:
                    return
            stream = client.stream("Write", GenerationParams(max_tokens=4096), cache="refresh")
            for _ in stream:
                pass
            with lock:
                texts.append(stream.text)

    started = time.monotonic()
    threads = [threading.Thread(target=consume) for _ in range(concurrency or streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - started
    assert len(texts) == streams and all(text == expected for text in texts), "a direct stream was not whole"
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
        marks = []
        for view in writing.follow(runtime, writer, draft_id, wait_s=0.5):
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
    with _counted_lock:
        _counted[0] = 0
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
    for draft_id in drafts:
        writing.stop(runtime, writer, draft_id)
    with _counted_lock:
        return _counted[0] / seconds / len(drafts)


# -- the redis way: two app processes and RQ workers ----------------------------------------------

APPS = 2
RQ_WORKERS, RQ_THREADS = 4, 16  # 64 drafts written at once (on 2 cores 4 x 16 beat 2 x 32 in bench.load)
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WORKERS_READY_S = 180.0
APP_POOL = (8, 4)  # an app process's PostgreSQL connections: pool, overflow
ROUND_TIMEOUT_S = 600.0


def _tag(round_index: int, n: int) -> str:
    return f"r{round_index}-s{n}"


def _app_process(index: int, public_ids: list[str], rounds: int, queue_name: str, barrier, inboxes, results) -> None:
    """One app replica: starts the turns of sessions n % APPS == index (RQ jobs), follows the drafts
    of sessions (n // APPS) % APPS == index, half of them started by the other replica."""
    from sqlmodel import select

    from core.jobs.rq import QueueRunner
    from core.platform import db as database
    from core.platform.config import Settings
    from core.platform.db import open_session
    from core.platform.models import User
    from core.runtime import Runtime

    database.PG_POOL_SIZE, database.PG_MAX_OVERFLOW = APP_POOL  # PostgreSQL's 100 connections are shared
    runtime = Runtime(Settings())
    runtime._runner = QueueRunner(runtime.engine, redis_url=runtime.settings.redis_url, queue_name=queue_name)
    with open_session(runtime.engine) as db:
        writer = db.exec(select(User).where(User.username == "writer")).one()
    for round_index in range(rounds):
        barrier.wait()
        started = time.time()
        seen, starts = _app_round(runtime, writer, public_ids, index, round_index, inboxes)
        results.put((index, round_index, started, time.time(), max(starts, default=started), seen))
    runtime.close(wait=True)


def _app_round(runtime, writer, public_ids: list[str], index: int, round_index: int, inboxes):
    """One round of an app replica: its turns started, its watchers done; what they saw."""
    from core.llm.types import GenerationParams
    from core.usecases import writing

    count = len(public_ids)
    watched = {n for n in range(count) if (n // APPS) % APPS == index}
    seen: dict[str, tuple[int, float, list[tuple[int, float]], str]] = {}
    starts: list[float] = []
    lock = threading.Lock()

    def follow(draft_id: int, tag: str) -> None:
        attached, marks = time.time(), []
        for view in writing.follow(runtime, writer, draft_id, wait_s=0.5):
            if view.new or view.replaces:
                marks.append((len(view.text), time.time()))
        with lock:
            seen[tag] = (draft_id, attached, marks, view.text)

    def page(n: int) -> None:
        tag = _tag(round_index, n)
        turn = writing.start_turn(runtime, writer, writing.TurnRequest(
            public_id=public_ids[n], instruction=f"Write [bench:{tag}]", params=GenerationParams(max_tokens=4096),
            cache="refresh"))
        with lock:
            starts.append(time.time())
        if n in watched:
            follow(turn.draft_ids[0], tag)
        else:  # the same session is open in the other replica: its page follows the draft
            inboxes[(n // APPS) % APPS].put((turn.draft_ids[0], tag))

    def page_elsewhere() -> None:
        follow(*inboxes[index].get(timeout=ROUND_TIMEOUT_S))

    threads = [threading.Thread(target=page, args=(n,)) for n in range(count) if n % APPS == index]
    threads += [threading.Thread(target=page_elsewhere) for n in watched if n % APPS != index]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen, starts


def _postgres_answers(url: str) -> bool:
    from sqlalchemy import create_engine, text

    try:
        probe = create_engine(url, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
        return True
    except Exception:
        return False


def _reached_redis(client: redis.Redis, draft_id: int) -> list[tuple[int, float]]:
    """(length of the text so far, when it reached Redis) per entry of the draft's live-text log."""
    from core.jobs.live import REDIS_PREFIX

    reached, text_length = [], 0
    for entry_id, fields in client.xrange(f"{REDIS_PREFIX}{{{draft_id}}}:log"):
        chunk = fields[b"d"].decode()
        text_length = (0 if fields[b"r"] == b"1" else int(fields[b"at"])) + len(chunk)
        reached.append((text_length, int(entry_id.split(b"-")[0]) / 1000))
    return reached


def _first_at(marks: list[tuple[int, float]], length: int) -> float | None:
    return next((at for seen_length, at in marks if seen_length >= length), None)


def _redis_way(args, expected: str) -> None:
    import json
    import multiprocessing
    import secrets
    import signal
    import subprocess
    import sys
    import urllib.request

    from rq import Queue, Worker

    from bench.load import create_database, drop_database
    from core.access.secrets import new_master_key

    ends = [len("".join(f" t{j}" for j in range(i + 1))) for i in range(args.tokens)]  # text length after token i
    on_postgres = _postgres_answers(args.postgres_url)
    queue_name = f"draftgate-bench-{secrets.token_hex(4)}"  # a queue of its own: tests may use db 15's
    connection = redis.Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp, running_mock(tokens=args.tokens, token_gap=args.gap, record=True) as base_url:
        database_url = create_database(args.postgres_url) if on_postgres else f"sqlite:///{tmp}/bench.db"
        os.environ.update({"DRAFTGATE_DATABASE_URL": database_url, "DRAFTGATE_MASTER_KEY": new_master_key()})
        workers: list[subprocess.Popen] = []
        apps: list = []
        runtime = None
        try:
            runtime, _writer, public_ids = _setup(Path(tmp), base_url, args.streams, REDIS_URL)
            if on_postgres:  # live-text keys are per draft id: keep clear of the tests' drafts in db 15
                with runtime.engine.begin() as db:
                    db.exec_driver_sql("SELECT setval(pg_get_serial_sequence('draft', 'id'), "
                                       f"{10**9 + secrets.randbelow(10**9)})")
            workers = [subprocess.Popen([sys.executable, "-m", "core", "worker", "--simple", "--threads", str(args.rq_threads),
                                         "--queue", queue_name, "--name", f"{queue_name}-{n}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for n in range(args.rq_workers)]
            queue = Queue(queue_name, connection=connection)
            ready_by = time.monotonic() + WORKERS_READY_S
            while len(Worker.all(queue=queue)) < args.rq_workers * args.rq_threads:
                if time.monotonic() > ready_by or any(worker.poll() is not None for worker in workers):
                    raise RuntimeError("the RQ workers did not start")
                time.sleep(0.5)
            context = multiprocessing.get_context("spawn")
            barrier, results = context.Barrier(APPS + 1), context.Queue()
            inboxes = [context.Queue() for _ in range(APPS)]
            apps = [context.Process(target=_app_process, args=(index, public_ids, args.rounds, queue_name, barrier,
                                                                inboxes, results), daemon=True)
                    for index in range(APPS)]
            for app in apps:
                app.start()
            direct, totals, submitted, wholes = [], [], [], []
            delays, to_redis, from_redis, left_out = [], [], [], 0
            for _ in range(args.rounds):
                direct.append(_direct(runtime, args.streams, expected, concurrency=min(args.streams, args.rq_workers * args.rq_threads)))
                barrier.wait(timeout=ROUND_TIMEOUT_S)
                reports = [results.get(timeout=ROUND_TIMEOUT_S) for _ in apps]
                totals.append(max(r[3] for r in reports) - min(r[2] for r in reports))
                submitted.append(max(r[4] for r in reports) - min(r[2] for r in reports))
                seen = {tag: found for r in reports for tag, found in r[5].items()}
                wholes.append(sum(1 for found in seen.values() if found[3] == expected))
                with urllib.request.urlopen(base_url.removesuffix("/v1") + "/bench/sent", timeout=30) as answer:
                    sent = json.load(answer)
                for tag, (draft_id, attached, marks, _text) in seen.items():
                    reached = _reached_redis(connection, draft_id)
                    for end, sent_at in zip(ends, sent.get(tag, [])):
                        if sent_at < attached:
                            left_out += 1
                            continue
                        watcher_at, redis_at = _first_at(marks, end), _first_at(reached, end)
                        if watcher_at is None:
                            continue
                        delays.append(max(0.0, watcher_at - sent_at))
                        if redis_at is not None:
                            to_redis.append(max(0.0, redis_at - sent_at))
                            from_redis.append(max(0.0, watcher_at - redis_at))
            ratio = statistics.median(totals) / statistics.median(direct)
            where = "PostgreSQL" if on_postgres else "SQLite"
            print(f"  redis  token->watcher p50 {_pct(delays, 0.5) * 1000:6.1f} ms  p95 {_pct(delays, 0.95) * 1000:6.1f} ms  "
                  f"total {statistics.median(totals):5.2f} s vs direct {statistics.median(direct):5.2f} s: {ratio:.2f}x  "
                  f"({APPS} app processes, {args.rq_workers} RQ workers x {args.rq_threads} threads, {where}; the last "
                  f"start_turn returned after "
                  f"{statistics.median(submitted):.2f} s; watchers with the whole text: {min(wholes)} of {args.streams})")
            print(f"         provider->Redis p50 {_pct(to_redis, 0.5) * 1000:6.1f} ms  p95 {_pct(to_redis, 0.95) * 1000:6.1f} ms; "
                  f"Redis->watcher p50 {_pct(from_redis, 0.5) * 1000:6.1f} ms  p95 {_pct(from_redis, 0.95) * 1000:6.1f} ms "
                  f"({len(delays)} tokens; {left_out} sent before their watcher attached left out)")
            for app in apps:
                app.join(60)
        finally:
            for app in apps:
                if app.is_alive():
                    app.terminate()
            for worker in workers:
                worker.send_signal(signal.SIGTERM)  # RQ's warm shutdown
            for worker in workers:
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
            if runtime is not None:
                runtime.close(wait=True)
            Queue(queue_name, connection=connection).delete(delete_jobs=True)
            if on_postgres:
                drop_database(args.postgres_url, database_url)
            os.environ.pop("DRAFTGATE_DATABASE_URL", None)


def _redis_answers() -> bool:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.close()
        return True
    except redis.RedisError:
        return False


@contextmanager
def _cpu(into: list[float]):
    """The CPU time (user and system, all threads) this process spends in the block, appended to `into`."""
    before = os.times()
    yield
    after = os.times()
    into.append(after.user - before.user + after.system - before.system)


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
    parser.add_argument("--no-local", action="store_true")
    parser.add_argument("--rq-workers", type=int, default=RQ_WORKERS, help="`python -m core worker` processes (redis way)")
    parser.add_argument("--rq-threads", type=int, default=RQ_THREADS, help="jobs each of them runs at once (--threads)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="a server where the redis way may create (and drop) a database")
    args = parser.parse_args()
    expected = "".join(f" t{index}" for index in range(args.tokens))
    ways = ([] if args.no_local else ["local"]) + ([] if args.no_redis or not _redis_answers() else ["redis"])
    print(f"{args.streams} generations of {args.tokens} tokens, {args.gap * 1000:g} ms apart; ways: {', '.join(ways)}")
    with running_mock(tokens=args.tokens, token_gap=args.gap) as base_url:
        for way in [way for way in ways if way != "redis"]:
            with tempfile.TemporaryDirectory() as tmp:
                runtime, writer, public_ids = _setup(Path(tmp), base_url, args.streams, "")
                try:
                    direct, jobs, delays, starts, wholes = [], [], [], [], []
                    direct_cpu, jobs_cpu = [], []
                    for _ in range(args.rounds):
                        with _cpu(direct_cpu):
                            direct.append(_direct(runtime, args.streams, expected))
                        with _cpu(jobs_cpu):
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
                    print(f"         CPU of this process: direct {statistics.median(direct_cpu):5.2f} s, jobs "
                          f"{statistics.median(jobs_cpu):5.2f} s: {statistics.median(jobs_cpu) / statistics.median(direct_cpu):.2f}x "
                          f"(one interpreter lock: where the direct reads keep a core busy, the total is bound by this)")
                    if way == "local":
                        for size in DB_SIZES:
                            per_watcher = _queries_per_watcher(runtime, writer, public_ids, size, seconds=3.0)
                            print(f"  re-attaching watcher, {size:6d} more drafts stored: "
                                  f"{per_watcher:.2f} SQL statements/s per watcher")
                finally:
                    runtime.close(wait=True)

    if "redis" in ways:
        _redis_way(args, expected)


if __name__ == "__main__":
    main()
