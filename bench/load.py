"""Load: two app processes on PostgreSQL and Redis, 50 writers and 5 reviewers, a mock provider.

    python -m bench.load [--seconds 30] [--writers 50] [--reviewers 5] [--processes 2]
                         [--variants-every 10] [--rq-workers 4] [--rq-threads 16]
                         [--latency 0.3] [--tokens 20] [--token-gap 0.02]
                         [--postgres-url URL] [--redis-url URL] [--profile]

It creates a database of its own (draftgate_load_<random>) on the PostgreSQL server, migrates
it, seeds two projects (one whose reference is the mock's answer, so its drafts pass; one
whose drafts are all flagged), users and one writing session per writer; starts the bench's
mock OpenAI-compatible server (fixed latency, streamed tokens at a fixed pace) and `--rq-workers`
`python -m core worker --threads N` processes (N = `--rq-threads`: 4 x 16 by default, so that no
draft of 50 writers waits for a worker thread; on 2 cores 4 x 16 did better than 2 x 32, each
process being one GIL, and than 8 x 8); then starts `--processes` app processes, each with its
Runtime (its job runner is the RQ queue) running its share of the writers and reviewers as
threads (Streamlit runs each browser session in a thread) through the use cases the pages call:

    writer    start_turn (the Write page's call: the user's rate, the turn, its draft and a
              "generate" job on the RQ queue; an RQ worker writes the draft), then watch(after=
              the last view, wait_s=0.5) until the draft is done (the page follows it the same
              way), then 0.5-1.5 s of "thinking"; until the time is up (a started turn is
              finished); every --variants-every'th turn asks for 3 variants (start_turn with
              variants=3, as the page does: a job per draft; not the same turn for every writer)
              and watches all three to their end
    reviewer  list_queue -> claim_next -> review_context -> decide (approve 60 %, reject 30 %,
              edit and approve 10 %) after 0.1-0.3 s of "reading"; idle 0.2 s on an empty queue

Printed: turns completed, p50/p95 of the time Draftgate adds to a turn (from start_turn to the
watcher seeing its draft done, minus the mock's fixed answer time), errors by kind, how long
jobs waited for a worker, and a consistency check read from the database afterwards (the RQ
workers stopped warm first, so every job they took has ended): every turn has its drafts
(1, or 3 for variants), completed, scored and routed; every generation job succeeded, one
per draft; every flagged draft is in the queue exactly once and no accepted one is; every
decision a reviewer was told about is stored, as told, with its audit event. The database is
dropped at the end (--keep keeps it).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, func, text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

MAX_SECONDS = 300
PROFILE_ENV = "DRAFTGATE_LOAD_PROFILE"  # --profile: the directory the first app process's threads write to
TURN_TIMEOUT_S = 120  # a turn whose drafts are not all done by then counts as an error
WATCH_WAIT_S = 0.5  # how long one watch() waits for more text
WORKERS_READY_S = 120  # the RQ workers' start (imports, the database) may take this long
# An app process's PostgreSQL connections (pool, overflow): its writers start turns and watch them
# (the RQ workers write the drafts), so fewer than its threads; 2 x 16 here and 4 workers x (16 + 4)
# stay within PostgreSQL's default 100 with a few for others.
APP_POOL = (8, 8)
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
PASSING_PROJECT, FLAGGED_PROJECT = "Load: passing", "Load: flagged"
FLAGGED_REFERENCE = "雨后的街道很安静，咖啡馆里坐满了读书的人。 An unrelated sentence about quiet rainy streets."


@dataclass
class ProcessReport:
    turns: list[tuple[int, int, float]] = field(default_factory=list)  # turn, draft, seconds
    variant_turns: list[tuple[int, float]] = field(default_factory=list)  # turn, seconds until all 3 done
    decisions: list[tuple[int, int, str, bool]] = field(default_factory=list)  # item, reviewer, verdict, edited
    errors: Counter = field(default_factory=Counter)
    rate_limited: int = 0
    ended: float = 0.0  # time.time() when the last of its writers and reviewers stopped


# -- one app process ------------------------------------------------------------------------------


def run_app_process(index: int, writer_ids: list[int], reviewer_ids: list[int], seconds: float,
                    start_at: float, variants_every: int, results) -> None:
    """An app replica: its share of writers and reviewers as threads, against the shared services."""
    from core.platform import db as database
    from core.runtime import Runtime

    database.PG_POOL_SIZE, database.PG_MAX_OVERFLOW = APP_POOL  # PostgreSQL's 100 connections are shared
    runtime = Runtime(migrate=False)  # its jobs go to the RQ queue: DRAFTGATE_REDIS_URL is set
    runtime.job_runner  # noqa: B018 - connected before the drive starts
    report = ProcessReport()
    lock = threading.Lock()
    time.sleep(max(0.0, start_at - time.time()))
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=_counted(_writer, report, lock),
                                args=(runtime, user_id, deadline, variants_every, report, lock))
               for user_id in writer_ids]
    threads += [threading.Thread(target=_counted(_reviewer, report, lock),
                                 args=(runtime.engine, user_id, deadline, report, lock))
                for user_id in reviewer_ids]
    profile_dir = os.environ.get(PROFILE_ENV, "") if index == 0 else ""
    if profile_dir:
        threads = [_profiled(thread, Path(profile_dir) / f"thread-{n}.prof") for n, thread in enumerate(threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.ended = time.time()
    runtime.close()
    results.put((index, report))


def _counted(user, report: ProcessReport, lock: threading.Lock):
    """`user` (a writer's or reviewer's loop), its end by an exception counted as an error too."""

    def run(*args) -> None:
        try:
            user(*args)
        except Exception as err:
            with lock:
                report.errors[f"a user's thread ended: {type(err).__name__}: {err}"[:160]] += 1
            raise

    return run


def _profiled(thread: threading.Thread, path: Path) -> threading.Thread:
    """The same work in a thread of its own under cProfile, its statistics written to `path`."""
    import cProfile

    def run() -> None:
        profile = cProfile.Profile()
        profile.runcall(thread.run)
        profile.dump_stats(str(path))

    return threading.Thread(target=run, daemon=thread.daemon)


def print_profile(directory: Path, limit: int = 40) -> None:
    """The app process's threads' statistics together, by cumulative and by own time."""
    import pstats

    files = sorted(str(p) for p in directory.glob("thread-*.prof"))
    if not files:
        return
    stats = pstats.Stats(*files)
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)


def _writer(runtime, user_id, deadline, variants_every, report, lock) -> None:
    from core.llm.types import GenerationParams
    from core.platform.db import open_session
    from core.platform.errors import DraftgateError, RateLimitedError
    from core.platform.models import User, WritingSession
    from core.usecases import writing

    rng = random.Random(user_id)
    with open_session(runtime.engine) as db:
        user = db.get(User, user_id)
        public_id = db.exec(select(WritingSession.public_id).where(WritingSession.owner_id == user_id)).one()
    params = GenerationParams(temperature=0.8, max_tokens=64)
    number = 0
    while time.monotonic() < deadline:
        number += 1
        variants = 3 if variants_every and (number + user_id) % variants_every == 0 else 1  # writers take turns
        started = time.perf_counter()
        try:
            instruction = (f"Write paragraph {number} three ways." if variants > 1
                           else f"Write paragraph {number} about the harbour at dawn.")
            turn = writing.start_turn(runtime, user, writing.TurnRequest(
                public_id=public_id, instruction=instruction, params=params, variants=variants))
            turn_deadline = time.monotonic() + TURN_TIMEOUT_S
            ends = [_watch_to_end(runtime, user, draft_id, turn_deadline) for draft_id in turn.draft_ids]
            elapsed = time.perf_counter() - started
            with lock:
                unfinished = [status for status in ends if status != "completed"]
                if unfinished:
                    report.errors[f"a draft ended {', '.join(unfinished)}"[:160]] += 1
                elif variants > 1:
                    report.variant_turns.append((turn.turn_id, elapsed))
                else:
                    report.turns.append((turn.turn_id, turn.draft_ids[0], elapsed))
        except RateLimitedError:
            with lock:
                report.rate_limited += 1
        except DraftgateError as err:
            with lock:
                report.errors[f"{type(err).__name__}: {err}"[:160]] += 1
        except Exception as err:  # a bug: counted and shown, the writer carries on
            with lock:
                report.errors[f"BUG {type(err).__name__}: {err}"[:160]] += 1
            traceback.print_exc()
        time.sleep(min(rng.uniform(0.5, 1.5), max(0.0, deadline - time.monotonic())))


def _watch_to_end(runtime, user, draft_id: int, deadline: float) -> str:
    """Follow the draft as the Write page does until it is done; its final status ("timed out": not by `deadline`)."""
    from core.usecases import writing

    view = None
    while view is None or not view.done:
        if time.monotonic() > deadline:
            return "timed out"
        view = writing.watch(runtime, user, draft_id, after=view, wait_s=WATCH_WAIT_S)
    return view.status


def _reviewer(engine, user_id, deadline, report, lock) -> None:
    from core.platform.db import open_session
    from core.platform.errors import DraftgateError
    from core.platform.models import User
    from core.review.claims import claim_next
    from core.review.context import review_context
    from core.review.decisions import decide
    from core.review.queue import list_queue

    rng = random.Random(-user_id)
    with open_session(engine) as db:
        reviewer = db.get(User, user_id)
    while time.monotonic() < deadline:
        try:
            with open_session(engine) as db:
                list_queue(session=db)
                item = claim_next(session=db, reviewer=reviewer)
                if item is None:
                    time.sleep(0.2)
                    continue
                context = review_context(session=db, item_id=item.id)
                time.sleep(rng.uniform(0.1, 0.3))
                roll = rng.random()
                edited = None
                if roll < 0.6:
                    verdict, reason = "approved", ""
                elif roll < 0.9:
                    verdict, reason = "rejected", "Off topic."
                else:
                    verdict, reason = "approved", ""
                    edited = context.draft.text + " (edited)"
                decided = decide(session=db, item_id=item.id, reviewer=reviewer, verdict=verdict, reason=reason,
                                 edited_text=edited, expected_version=item.version)
            with lock:
                report.decisions.append((decided.id, user_id, decided.state, edited is not None))
        except DraftgateError as err:
            with lock:
                report.errors[f"{type(err).__name__}: {err}"[:160]] += 1
        except Exception as err:
            with lock:
                report.errors[f"BUG {type(err).__name__}: {err}"[:160]] += 1
            traceback.print_exc()


# -- setting up, checking, printing ---------------------------------------------------------------


def seed(database_url: str, writers: int, reviewers: int, tokens: int) -> tuple[list[int], list[int]]:
    from core.access.actors import SYSTEM
    from core.access.passwords import hash_password
    from core.platform.db import make_engine, open_session
    from core.platform.models import User
    from core.writing.projects import add_reference, create_project
    from core.writing.sessions import create_session

    engine = make_engine(database_url)
    password_hash = hash_password(secrets.token_urlsafe(16))  # nobody signs in: the bench calls core directly
    with open_session(engine) as db:
        passing = create_project(session=db, name=PASSING_PROJECT, actor_id=SYSTEM)
        add_reference(session=db, project_id=passing.id, actor_id=SYSTEM,
                      text=" ".join(f"t{i}" for i in range(tokens)))  # the mock's answer: these drafts pass
        flagged = create_project(session=db, name=FLAGGED_PROJECT, actor_id=SYSTEM)
        add_reference(session=db, project_id=flagged.id, actor_id=SYSTEM, text=FLAGGED_REFERENCE)
        writer_users = [User(username=f"writer{n:02d}", password_hash=password_hash, role="writer") for n in range(writers)]
        reviewer_users = [User(username=f"reviewer{n}", password_hash=password_hash, role="reviewer")
                          for n in range(reviewers)]
        db.add_all(writer_users + reviewer_users)
        db.commit()
        for n, user in enumerate(writer_users):
            create_session(session=db, owner=user, project_id=(passing if n % 2 == 0 else flagged).id,
                           title=f"Load {n}")
        writer_ids = [u.id for u in writer_users]
        reviewer_ids = [u.id for u in reviewer_users]
    engine.dispose()
    return writer_ids, reviewer_ids


def consistency(database_url: str, reports: list[ProcessReport]) -> list[tuple[str, bool, str]]:
    """(check, ok, detail) for each promise the load must keep."""
    from core.platform.db import make_engine, open_session
    from core.platform.models import AuditEvent, Draft, Job, ReviewItem, Turn

    engine = make_engine(database_url)
    checks = []
    with open_session(engine) as db:
        turns = db.exec(select(func.count()).select_from(Turn)).one()
        drafts_per_turn = Counter(db.exec(select(Draft.turn_id)).all())
        statuses = Counter(db.exec(select(Draft.status)).all())
        variant_turns = {t[0] for r in reports for t in r.variant_turns}
        reported = sum(len(r.turns) + len(r.variant_turns) for r in reports)
        missing = turns - len(drafts_per_turn)
        wrong = sum(1 for turn, n in drafts_per_turn.items() if n != (3 if turn in variant_turns else 1))
        checks.append(("every turn has its drafts", missing == 0 and wrong == 0,
                       f"{turns} turns ({len(variant_turns)} with 3 variants), {missing} without a draft, "
                       f"{wrong} with a wrong number"))
        why = Counter(db.exec(select(Draft.error).where(Draft.status != "completed")).all())
        checks.append(("every draft completed", set(statuses) == {"completed"},
                       f"{dict(statuses)}" + "".join(f"\n         {n} x {error[:200]}" for error, n in why.most_common(5))))
        checks.append(("every turn a writer saw is stored", reported == turns,
                       f"{reported} reported by writers, {turns} in the database"))
        routes = Counter(db.exec(select(Draft.route)).all())
        checks.append(("every draft scored and routed", set(routes) <= {"accepted", "needs_review"},
                       dict(routes).__repr__()))
        jobs = Counter(db.exec(select(Job.kind, Job.status)).all())
        drafts = sum(drafts_per_turn.values())
        checks.append(("every generation job succeeded, one per draft",
                       set(jobs) == {("generate", "succeeded")} and sum(jobs.values()) == drafts,
                       f"{ {f'{kind} {status}': n for (kind, status), n in jobs.items()} } for {drafts} drafts"))
        flagged = set(db.exec(select(Draft.id).where(Draft.route == "needs_review")).all())
        queued = Counter(db.exec(select(ReviewItem.draft_id)).all())
        accepted = set(db.exec(select(Draft.id).where(Draft.route == "accepted")).all())
        checks.append(("every flagged draft is in the queue exactly once",
                       set(queued) == flagged and set(queued.values()) <= {1},
                       f"{len(flagged)} flagged, {len(queued)} queue items, "
                       f"{sum(1 for n in queued.values() if n > 1)} duplicated, {len(flagged - set(queued))} missing"))
        checks.append(("no accepted draft is in the queue", not (accepted & set(queued)),
                       f"{len(accepted)} accepted, {len(accepted & set(queued))} of them queued"))
        told = [d for r in reports for d in r.decisions]
        rows = {row.id: row for row in db.exec(select(ReviewItem).where(col(ReviewItem.id).in_([d[0] for d in told])))}
        lost = [d for d in told if d[0] not in rows or rows[d[0]].state != d[2] or rows[d[0]].decided_by_id != d[1]
                or (rows[d[0]].edited_text is not None) != d[3]]
        stored = db.exec(select(func.count()).select_from(ReviewItem)
                         .where(col(ReviewItem.state).in_(["approved", "rejected"]))).one()
        audited = db.exec(select(func.count()).select_from(AuditEvent)
                          .where(col(AuditEvent.action).in_(["review.approved", "review.rejected"]))).one()
        checks.append(("no decision lost", not lost and stored == len(told) == audited,
                       f"{len(told)} decisions told to reviewers, {stored} stored, {audited} audited, "
                       f"{len(lost)} differ"))
        doubly = [item for item, n in Counter(d[0] for d in told).items() if n > 1]
        checks.append(("no item decided twice", not doubly, f"{len(doubly)} decided twice"))
    engine.dispose()
    return checks


def start_workers(redis_url: str, count: int, threads: int) -> list[subprocess.Popen]:
    """`count` `python -m core worker --threads N` processes on the "draftgate" queue, once all
    their threads are registered in RQ."""
    import redis
    from rq import Queue, Worker

    from core.jobs.rq import QUEUE_NAME

    prefix = f"load-{secrets.token_hex(3)}"
    workers = [subprocess.Popen([sys.executable, "-m", "core", "worker", "--threads", str(threads),
                                 "--name", f"{prefix}-{n}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for n in range(count)]
    queue = Queue(QUEUE_NAME, connection=redis.Redis.from_url(redis_url))
    ready_by = time.monotonic() + WORKERS_READY_S
    while sum(1 for worker in Worker.all(queue=queue) if worker.name.startswith(prefix)) < count * threads:
        if time.monotonic() > ready_by or any(worker.poll() is not None for worker in workers):
            stop_workers(workers)
            raise RuntimeError("the RQ workers did not start")
        time.sleep(0.5)
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """A warm shutdown: each worker ends the jobs it runs, then exits."""
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(60)


def create_database(server_url: str) -> str:
    name = f"draftgate_load_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(database_url).database}" WITH (FORCE)')
    admin.dispose()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def _check_services(postgres_url: str, redis_url: str) -> str | None:
    import redis

    try:
        probe = create_engine(postgres_url, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as err:
        return f"PostgreSQL is not reachable at {make_url(postgres_url).render_as_string()}: {err}"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as err:
        return f"Redis is not reachable at {redis_url}: {err}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help=f"how long to drive the load (at most {MAX_SECONDS})")
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--reviewers", type=int, default=5)
    parser.add_argument("--processes", type=int, default=2, help="app processes sharing the services")
    parser.add_argument("--variants-every", type=int, default=10,
                        help="every Nth turn of a writer asks for 3 variants; 0: never")
    parser.add_argument("--rq-workers", type=int, default=4, help="`python -m core worker` processes to start")
    parser.add_argument("--rq-threads", type=int, default=16, help="jobs each worker runs at once (--threads)")
    parser.add_argument("--latency", type=float, default=0.3, help="the mock's time to first token (s)")
    parser.add_argument("--tokens", type=int, default=20, help="tokens in each streamed answer")
    parser.add_argument("--token-gap", type=float, default=0.02, help="seconds between streamed tokens")
    parser.add_argument("--postgres-url", default=os.environ.get("DRAFTGATE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
                        help="a server where the bench may create (and drop) a database")
    parser.add_argument("--redis-url", default=os.environ.get("DRAFTGATE_BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (its URL is printed)")
    parser.add_argument("--profile", action="store_true",
                        help="run the first app process's users under cProfile and print where their time went "
                             "(the profiler slows them: the latencies printed are then not the benchmark's)")
    args = parser.parse_args(argv)
    if args.profile:
        os.environ[PROFILE_ENV] = tempfile.mkdtemp(prefix="draftgate-load-profile-")
    if not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 1 and {MAX_SECONDS}")
    if args.processes < 1 or args.writers < 1 or args.reviewers < 0:
        parser.error("need at least one process and one writer")
    if args.rq_workers < 1 or args.rq_threads < 1:
        parser.error("need at least one RQ worker with one thread (every draft is written by one)")

    problem = _check_services(args.postgres_url, args.redis_url)
    if problem:
        print(f"error: {problem}\n(start the services, or pass --postgres-url / --redis-url)", file=sys.stderr)
        return 1

    from bench.mock_server import running_mock
    from core.platform import migrations
    from core.platform.db import make_engine

    database_url = create_database(args.postgres_url)
    data_dir = tempfile.mkdtemp(prefix="draftgate-load-")
    workers: list[subprocess.Popen] = []
    try:
        with running_mock(latency=args.latency, tokens=args.tokens, token_gap=args.token_gap) as base_url:
            os.environ.update({
                "DRAFTGATE_DATABASE_URL": database_url, "DRAFTGATE_REDIS_URL": args.redis_url,
                "DRAFTGATE_DATA_DIR": data_dir, "DRAFTGATE_LLM_BASE_URL": base_url, "DRAFTGATE_LLM_MODEL": "bench",
                "DRAFTGATE_LLM_API_STYLE": "completions", "DRAFTGATE_USER_RATE_LIMIT": "1000",
            })
            engine = make_engine(database_url)
            migrations.upgrade(engine)
            engine.dispose()
            writer_ids, reviewer_ids = seed(database_url, args.writers, args.reviewers, args.tokens)
            mock_seconds = args.latency + (args.tokens - 1) * args.token_gap
            print(f"database {make_url(database_url).database}, redis {args.redis_url}, mock {base_url} "
                  f"(answer {mock_seconds * 1000:.0f} ms: {args.latency * 1000:.0f} ms to the first of "
                  f"{args.tokens} tokens, {args.token_gap * 1000:.0f} ms apart)", flush=True)
            print(f"{args.processes} app processes, {args.writers} writers, {args.reviewers} reviewers, "
                  f"{args.rq_workers} RQ workers x {args.rq_threads} threads, {args.seconds:g} s ...", flush=True)

            workers += start_workers(args.redis_url, args.rq_workers, args.rq_threads)
            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            start_at = time.time() + 3.0  # every process imports and connects first
            processes = [
                context.Process(target=run_app_process, args=(
                    n, writer_ids[n::args.processes], reviewer_ids[n::args.processes], args.seconds, start_at,
                    args.variants_every, results))
                for n in range(args.processes)
            ]
            for process in processes:
                process.start()
            reports = [report for _, report in sorted(results.get(timeout=args.seconds + 300) for _ in processes)]
            for process in processes:
                process.join(30)
            stop_workers(workers)
            wall = max(r.ended for r in reports) - start_at  # the drive, plus the turns and jobs it let finish
        _print_report(reports, mock_seconds, wall, args)
        if args.profile:
            print_profile(Path(os.environ[PROFILE_ENV]))
        _print_job_times(database_url, args.rq_workers * args.rq_threads)
        checks = consistency(database_url, reports)
        print("consistency:")
        for name, ok, detail in checks:
            print(f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}")
        errors = sum(sum(r.errors.values()) for r in reports)
        return 0 if all(ok for _, ok, _ in checks) and errors == 0 else 1
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
        _forget_rate_windows(args.redis_url, writer_ids if "writer_ids" in locals() else [])
        if args.keep:
            print(f"kept {database_url}")
        else:
            drop_database(args.postgres_url, database_url)


def _print_report(reports: list[ProcessReport], mock_seconds: float, wall: float, args) -> None:
    turns = [t for r in reports for t in r.turns]
    totals = [t[2] for t in turns]
    added = [max(0.0, t[2] - mock_seconds) for t in turns]
    decisions = Counter(d[2] + (" (edited)" if d[3] else "") for r in reports for d in r.decisions)
    errors = sum((r.errors for r in reports), Counter())
    print(f"single-draft turns completed: {len(turns)} started in the {args.seconds:g} s drive "
          f"({len(turns) / args.seconds:.1f}/s; the last finished {wall:.1f} s after the start); "
          f"per process {[len(r.turns) for r in reports]}")
    if turns:
        print(f"turn time: p50 {statistics.median(totals) * 1000:.0f} ms, p95 {percentile(totals, 0.95) * 1000:.0f} ms "
              f"(the mock answers in {mock_seconds * 1000:.0f} ms)")
        print(f"added by Draftgate: p50 {statistics.median(added) * 1000:.0f} ms, "
              f"p95 {percentile(added, 0.95) * 1000:.0f} ms, max {max(added) * 1000:.0f} ms")
    variants = [t for r in reports for t in r.variant_turns]
    if variants:
        times = [t[1] for t in variants]
        print(f"variants turns (3 drafts each, a job per draft): {len(variants)}; time to all 3 seen done "
              f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {percentile(times, 0.95) * 1000:.0f} ms")
    print(f"review decisions: {sum(decisions.values())} {dict(decisions)}")
    print(f"rate-limited turns: {sum(r.rate_limited for r in reports)}")
    print(f"errors: {sum(errors.values())}" + "".join(f"\n  {n} x {message}" for message, n in errors.most_common(10)))


def _print_job_times(database_url: str, threads: int) -> None:
    """How long generation jobs waited in the queue for a worker, how long they ran, and the most
    that ran at once (of the workers' `threads`)."""
    from core.platform.db import make_engine, open_session
    from core.platform.models import Job

    engine = make_engine(database_url)
    with open_session(engine) as db:
        jobs = [job for job in db.exec(select(Job)) if job.started_at and job.finished_at]
    engine.dispose()
    if jobs:
        waits = [(job.started_at - job.created_at).total_seconds() for job in jobs]
        runs = [(job.finished_at - job.started_at).total_seconds() for job in jobs]
        print(f"generation jobs: {len(jobs)}; waited for a worker p50 {statistics.median(waits) * 1000:.0f} ms, "
              f"p95 {percentile(waits, 0.95) * 1000:.0f} ms; ran p50 {statistics.median(runs) * 1000:.0f} ms, "
              f"p95 {percentile(runs, 0.95) * 1000:.0f} ms; at most {_most_at_once(jobs)} running at once "
              f"(of {threads} worker threads)")


def _most_at_once(jobs) -> int:
    edges = sorted([(job.started_at, 1) for job in jobs] + [(job.finished_at, -1) for job in jobs])
    running = most = 0
    for _at, step in edges:  # (an end sorts before a start at the same instant)
        running += step
        most = max(most, running)
    return most


def _forget_rate_windows(redis_url: str, user_ids: list[int]) -> None:
    """Remove the per-user windows this run wrote (the next run reuses the same user ids)."""
    import redis

    from core.llm.ratelimit import KEY_PREFIX

    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
        keys = [key for user_id in user_ids for key in client.scan_iter(match=f"{KEY_PREFIX}user:{user_id}:*")]
        if keys:
            client.delete(*keys)
        client.close()
    except redis.RedisError:
        pass


if __name__ == "__main__":
    sys.exit(main())
