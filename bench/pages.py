"""Page render time as the data grows: every page, as its role, on databases of 1k, 10k, 100k drafts.

    python -m bench.pages [--sizes 1000,10000,100000] [--rounds 5] [--postgres URL] [--only-postgres]

Each database is built with the app's own migrations, then filled by bulk inserts in a
realistic shape: 21 writers, 2 projects with 3 references each, sessions of about 10 turns
(one draft per turn), 30% of drafts flagged to review (all decided after 2 days but 2%, a tenth of
those reviewed again blind by another reviewer, who disagreed on one in seven), about 5
scores and 2 audit events per draft, drafts at a steady 300 a day (so 100k drafts span
about 11 months). Built databases are kept under $TMPDIR/draftgate-bench/, keyed by size and
schema head (a SQLite file; on PostgreSQL a database draftgate_bench_<size>_<head> on the
server of --postgres), and reused by later runs.

Each size is measured in its own process (AppTest, a warm-up render, then the median of
`--rounds` renders per page), plus one render under tracemalloc for the peak memory it
allocates. Printed: time per page and size (wall clock, and the process's CPU time, which
other work on a shared machine disturbs much less), the ratio to the smallest size, and the peak
memory's growth from the smallest size (targets, issue 17: at most 1.5x from 1k to 100k,
under 500 ms at 100k, less than 20 MB more memory).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = Path(tempfile.gettempdir()) / "draftgate-bench"
PAGES = {  # page -> the role it is rendered as
    "review": "reviewer", "dashboard": "editor", "references": "editor", "audit": "admin",
    "thresholds": "editor", "presets": "editor", "write": "writer", "account": "writer",
    "moderation": "admin", "admin": "admin", "providers": "admin", "health": "admin",
}
WRITERS, REVIEWERS, PROJECTS, REFERENCES_PER_PROJECT = 21, 5, 2, 3
TURNS_PER_SESSION, FLAGGED_SHARE, DRAFTS_PER_DAY, EVENTS_PER_DRAFT = 10, 0.30, 300, 2
METRICS = ("bleu", "chrf", "rouge1", "rouge2", "rougeL")
WORDS = ("the quiet harbour wakes before dawn while fishing boats drift past the old stone pier and "
         "gulls circle over nets drying in the salt wind as the market opens its shutters").split()
QUEUE_DAYS, LEFT_WAITING = 2, 0.02
SECOND_EVERY, DISAGREE_EVERY = 10, 7  # every 10th decided item reviewed twice; 1 in 7 of those disagreed
SHAPE = 4  # in the cache key: a database built in another shape is built again
BATCH = 5_000
TOKEN_KEY = "bench.sign_in_token"


# -- building ----------------------------------------------------------------------------------

def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _insert(connection, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        connection.execute(table.insert(), rows[start:start + BATCH])


def fill(engine, size: int, *, seed: int = 17, per_day: float = DRAFTS_PER_DAY) -> None:
    """Bulk rows of the shape above into a migrated, empty database (`per_day` drafts a day, up to now).
    tests/core/test_query_plans.py reads query plans on a small one."""
    from core.access.passwords import hash_password
    from core.platform.models import (
        AuditEvent,
        Draft,
        Project,
        Reference,
        ReviewItem,
        Score,
        SecondReview,
        Turn,
        User,
        WritingSession,
    )

    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=size / per_day)
    step = (now - start) / size
    password = hash_password("bench-password")
    t = {m: m.__table__ for m in (User, Project, Reference, WritingSession, Turn, Draft, Score, ReviewItem, AuditEvent,
                                  SecondReview)}
    with engine.begin() as connection:
        users = [{"id": 1, "username": "admin", "role": "admin"}, {"id": 2, "username": "editor", "role": "editor"}]
        users += [{"id": 3 + i, "username": f"reviewer{i}", "role": "reviewer"} for i in range(REVIEWERS)]
        first_writer = 3 + REVIEWERS
        users += [{"id": first_writer + i, "username": f"writer{i}", "role": "writer"} for i in range(WRITERS)]
        _insert(connection, t[User], [{**u, "password_hash": password, "disabled": False, "created_at": start} for u in users])
        _insert(connection, t[Project], [{"id": p + 1, "name": f"Project {p + 1}", "description": "", "language": "",
                                          "created_at": start} for p in range(PROJECTS)])
        _insert(connection, t[Reference], [
            {"id": p * REFERENCES_PER_PROJECT + r + 1, "project_id": p + 1, "text": _text(rng, 120), "language": "latin",
             "source": "manual", "created_at": start, "updated_at": start}
            for p in range(PROJECTS) for r in range(REFERENCES_PER_PROJECT)])
        reference_ids = {p + 1: [p * REFERENCES_PER_PROJECT + r + 1 for r in range(REFERENCES_PER_PROJECT)]
                         for p in range(PROJECTS)}
        sessions, turns, drafts, scores, items, events, seconds = [], [], [], [], [], [], []
        texts = [_text(rng, rng.randint(60, 140)) for _ in range(200)]
        score_id = item_id = event_id = 0
        for n in range(size):
            draft_id = n + 1
            session_id = n // TURNS_PER_SESSION + 1
            project_id = (session_id - 1) % PROJECTS + 1
            owner = first_writer + (session_id - 1) % WRITERS
            created = start + step * n
            if n % TURNS_PER_SESSION == 0:
                sessions.append({"id": session_id, "public_id": f"bench-{session_id:08d}", "owner_id": owner,
                                 "project_id": project_id, "title": f"Session {session_id}", "params": {},
                                 "provider": "", "created_at": created, "updated_at": created})
            turns.append({"id": draft_id, "session_id": session_id, "index": n % TURNS_PER_SESSION,
                          "instruction": "Continue the story.", "kind": "instruction", "created_at": created})
            completed = rng.random() < 0.97
            flagged = completed and rng.random() < FLAGGED_SHARE
            reasons = ["low_score"] if flagged and rng.random() < 0.8 else (["sensitive_words"] if flagged else [])
            drafts.append({
                "id": draft_id, "turn_id": draft_id, "variant": 0, "text": texts[n % len(texts)],
                "status": "completed" if completed else "failed", "error": "" if completed else "Provider error.",
                "finish_reason": "stop", "request_id": "", "provider": "bench", "model": rng.choice(("m-small", "m-large")),
                "params": {}, "prompt_tokens": rng.randint(200, 900), "completion_tokens": rng.randint(80, 300),
                "latency_ms": rng.randint(300, 4000), "cache_hit": rng.random() < 0.05,
                "route": ("needs_review" if flagged else "accepted") if completed else "", "route_reasons": reasons,
                "policy_version": 1, "language": "latin", "score_job_id": None,
                "closest_reference_id": reference_ids[project_id][0] if completed else None,
                "heartbeat_at": None, "created_at": created, "updated_at": created,
            })
            if completed:
                for metric in METRICS:
                    score_id += 1
                    scores.append({"id": score_id, "draft_id": draft_id, "metric": metric,
                                   "value": round(rng.uniform(5, 60 if flagged else 95), 3),
                                   "signature": f"{metric}|bench", "reference_ids": reference_ids[project_id]})
            if flagged:
                item_id += 1
                # reviewers keep up: what is older than QUEUE_DAYS is decided, bar a few left waiting
                decided = created < now - timedelta(days=QUEUE_DAYS) and rng.random() >= LEFT_WAITING
                decided_at = created + timedelta(minutes=rng.randint(5, 600)) if decided else None
                items.append({
                    "id": item_id, "draft_id": draft_id, "project_id": project_id, "reasons": reasons,
                    "reason_detail": "", "reason_parts": [],
                    "state": ("approved" if rng.random() < 0.7 else "rejected") if decided else "open",
                    "claimed_by_id": None, "claim_expires_at": None,
                    "decided_by_id": 3 + rng.randrange(REVIEWERS) if decided else None, "decided_at": decided_at,
                    "decision_reason": "Bench verdict." if decided else "", "edited_text": None, "version": 1,
                    "created_at": created,
                    # a third assigned by an editor (without using the random sequence: the data stay as before)
                    "assigned_to_id": 3 + item_id % REVIEWERS if item_id % 3 == 0 else None,
                    "assigned_at": created if item_id % 3 == 0 else None,
                })
                if decided and item_id % SECOND_EVERY == 0:
                    seconds.append(_second_review(items[-1]))
            for k in range(EVENTS_PER_DRAFT):
                event_id += 1
                action = ("review.approved" if items and items[-1]["draft_id"] == draft_id and items[-1]["decided_at"]
                          else "auth.sign_in") if k else "draft.complete"
                events.append({"id": event_id, "actor_id": owner, "action": action, "target": f"draft:{draft_id}",
                               "detail": {"n": n}, "created_at": created + timedelta(seconds=k)})
            if len(drafts) >= BATCH:
                _flush(connection, t, sessions, turns, drafts, scores, items, events)
        _flush(connection, t, sessions, turns, drafts, scores, items, events)
        _insert(connection, t[SecondReview], seconds)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            for table in ("user", "project", "reference", "writingsession", "turn", "draft", "score", "reviewitem",
                          "auditevent", "secondreview"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))")
            connection.commit()
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    # SQLite: no ANALYZE, as in the app (which never runs it): its plans are the ones measured


def _second_review(item: dict) -> dict:
    """A blind second review of a decided item by another reviewer (without the random sequence: the data stay as before)."""
    item_id, first = item["id"], item["decided_by_id"]
    disagreed = (item_id // SECOND_EVERY) % DISAGREE_EVERY == 0
    verdict = {"approved": "rejected", "rejected": "approved"}[item["state"]] if disagreed else item["state"]
    return {"id": item_id // SECOND_EVERY, "item_id": item_id, "state": "disagreed" if disagreed else "agreed",
            "reviewer_id": 3 + (first - 3 + 1 + item_id % (REVIEWERS - 1)) % REVIEWERS, "claim_expires_at": None,
            "verdict": verdict, "reason": "Bench second verdict.", "decided_at": item["decided_at"] + timedelta(hours=20),
            "adjudicated_by_id": None, "adjudicated_verdict": "", "adjudicated_at": None, "version": 2,
            "created_at": item["decided_at"]}


def _flush(connection, t, sessions, turns, drafts, scores, items, events) -> None:
    from core.platform.models import AuditEvent, Draft, ReviewItem, Score, Turn, WritingSession

    for model, rows in ((WritingSession, sessions), (Turn, turns), (Draft, drafts), (Score, scores),
                        (ReviewItem, items), (AuditEvent, events)):
        _insert(connection, t[model], rows)
        rows.clear()


def sqlite_database(size: int) -> str:
    from core.platform import migrations
    from core.platform.db import create_schema, make_engine

    path = CACHE_DIR / f"pages-{size}-{migrations.head_revision()}-s{SHAPE}.db"
    if not path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        for leftover in CACHE_DIR.glob(partial.name + "*"):
            leftover.unlink()
        engine = make_engine(f"sqlite:///{partial}")
        create_schema(engine)
        began = time.perf_counter()
        fill(engine, size)
        engine.dispose()
        partial.rename(path)
        print(f"  built {path.name} in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    return f"sqlite:///{path}"


def postgres_database(server_url: str, size: int) -> str:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from core.platform import migrations
    from core.platform.db import create_schema, make_engine, normalize_url

    server = make_url(normalize_url(server_url))
    name = f"draftgate_bench_{size}_{migrations.head_revision()}_s{SHAPE}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}).first()
        if not exists:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}_partial"')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}_partial"')
    if not exists:
        engine = make_engine(server.set(database=f"{name}_partial").render_as_string(hide_password=False))
        create_schema(engine)
        began = time.perf_counter()
        fill(engine, size)
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}_partial" RENAME TO "{name}"')
        print(f"  built {name} in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


# -- measuring (in a child process per database) ------------------------------------------------

def measure(url: str, rounds: int, pages: list[str]) -> dict:
    os.environ["DRAFTGATE_DATABASE_URL"] = url
    os.environ["DRAFTGATE_DATA_DIR"] = tempfile.mkdtemp(prefix="draftgate-bench-data-")
    os.environ.setdefault("DRAFTGATE_ADMIN_PASSWORD", "bench-password")
    import streamlit as st
    from sqlmodel import select
    from streamlit.testing.v1 import AppTest

    import ui.auth
    from core.access import signins
    from core.platform.db import open_session
    from core.platform.models import User
    from ui import resources

    # AppTest sends no cookie: the page reads the sign-in token from session_state (as tests/pages do)
    ui.auth.browser_token = lambda: st.session_state.get(TOKEN_KEY)
    rules = signins.SessionRules.from_settings(resources.settings())
    tokens = {}
    with open_session(resources.engine()) as db:
        for role in set(PAGES.values()):
            user_id = db.exec(select(User.id).where(User.role == role).order_by(User.id)).first()
            tokens[role], _ = signins.start(db, user_id=user_id, address="127.0.0.1", user_agent="bench", rules=rules)
    results = {}
    for page in pages:
        at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=120)
        at.session_state[TOKEN_KEY] = tokens[PAGES[page]]
        at.run()  # warm-up: imports, caches
        errors = [str(e.value)[:200] for e in at.exception]
        times, cpu = [], []
        for _ in range(rounds):
            began, began_cpu = time.perf_counter(), time.process_time()
            at.run()
            times.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        at.run()
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
        results[page] = {"ms": statistics.median(times), "cpu_ms": statistics.median(cpu), "peak_mb": peak / 2**20,
                         "errors": errors}
    resources.reset()
    return results


def _child(url: str, rounds: int, pages: list[str]) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.pages", "--measure", url, "--rounds", str(rounds), "--pages", ",".join(pages)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode or not lines:
        raise SystemExit(f"measuring {url} failed:\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1])


def report(label: str, sizes: list[int], by_size: dict[int, dict], pages: list[str]) -> None:
    base = sizes[0]
    head = " | ".join(f"{s:,}" for s in sizes)
    print(f"\n## {label}: render time (median), ratio to {base:,}, peak memory growth from {base:,}\n")
    print(f"| page (role) | {head} | {sizes[-1]:,} / {base:,} | CPU {head} | CPU {sizes[-1]:,} / {base:,} "
          f"| peak MB at {base:,} | growth at {sizes[-1]:,} |")
    print("|---|" + "---|" * (2 * len(sizes) + 4))
    for page in pages:
        cells = [f"{by_size[s][page]['ms']:,.0f} ms" for s in sizes]
        cpu = [f"{by_size[s][page]['cpu_ms']:,.0f} ms" for s in sizes]
        ratio = by_size[sizes[-1]][page]["ms"] / by_size[base][page]["ms"]
        cpu_ratio = by_size[sizes[-1]][page]["cpu_ms"] / max(by_size[base][page]["cpu_ms"], 0.1)
        growth = by_size[sizes[-1]][page]["peak_mb"] - by_size[base][page]["peak_mb"]
        print(f"| {page} ({PAGES[page]}) | {' | '.join(cells)} | {ratio:.2f}x | {' | '.join(cpu)} | {cpu_ratio:.2f}x | "
              f"{by_size[base][page]['peak_mb']:.1f} | {growth:+.1f} MB |")
    for s in sizes:
        for page in pages:
            for error in by_size[s][page]["errors"]:
                print(f"  ! {page} at {s:,}: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL the benchmark may create databases on")
    parser.add_argument("--only-postgres", action="store_true")
    parser.add_argument("--measure", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pages = [p for p in args.pages.split(",") if p]
    if args.measure:
        print(json.dumps(measure(args.measure, args.rounds, pages)))
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    targets = [] if args.only_postgres else [("SQLite", sqlite_database)]
    if args.postgres:
        targets.append(("PostgreSQL", lambda size: postgres_database(args.postgres, size)))
    for label, database in targets:
        by_size = {}
        for size in sizes:
            print(f"{label}: {size:,} drafts", file=sys.stderr, flush=True)
            by_size[size] = _child(database(size), args.rounds, pages)
        report(label, sizes, by_size, pages)


if __name__ == "__main__":
    main()
