"""Re-scoring a project: drafts per second, and how long the database's write lock is held at a time.

    python -m bench.rescore [--drafts 10000] [--postgres URL]

A database in bench.pages' shape (two projects with 3 references each, about 100 words per draft,
about 5 scores per draft, 30% in review) is built with `--drafts` drafts in the project re-scored
(so twice as many in all), then the project's "rescore" job (core.gate.rescoring.run_rescore)
runs to the end in this process. Printed: drafts per second (wall clock and this process's CPU
time), the longest write transaction and its 99th percentile (from the first INSERT, UPDATE or
DELETE of a transaction to its COMMIT; on SQLite that is the time the single write lock is
held), and the longest wait of a small write made every 20 ms by another thread meanwhile (what
a writer saving a draft would wait). The database is made for the run and removed after it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

WRITES = ("INSERT", "UPDATE", "DELETE")


class WriteLockClock:
    """Every write transaction on an engine, from its first write statement to the end of its
    commit or rollback: wall-clock time, and the CPU time of the thread holding it (which other
    work on a busy machine does not stretch)."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.walls: list[float] = []
        self.cpus: list[float] = []
        self.longest: list[tuple[float, str]] = []  # (CPU ms, first write statement) of the longest
        self._started: dict[int, tuple[float, float, str]] = {}
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._statement)
        dialect = engine.dialect
        for name in ("do_commit", "do_rollback"):
            setattr(dialect, name, self._ending(getattr(dialect, name)))

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            self._started.setdefault(id(conn.connection.dbapi_connection),
                                     (time.perf_counter(), time.thread_time(), " ".join(statement.split()[:4])))

    def _ending(self, original):
        def ended(dbapi_connection) -> None:
            original(dbapi_connection)
            raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)  # the pool's proxy: its driver connection
            began = self._started.pop(id(raw), None)
            if began is not None:
                with self._lock:
                    self.walls.append((time.perf_counter() - began[0]) * 1000)
                    self.cpus.append((time.thread_time() - began[1]) * 1000)
                    self.longest = sorted([*self.longest, (self.cpus[-1], began[2])], reverse=True)[:3]
        return ended


def _probe(engine, stop: threading.Event, waits: list[float]) -> None:
    """A small write every 20 ms (a session's title touched), timed from its start to its commit."""
    from sqlalchemy import text

    while not stop.is_set():
        began = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(text("UPDATE writingsession SET title = title WHERE id = 2"))
        waits.append((time.perf_counter() - began) * 1000)
        stop.wait(0.02)


def run(url: str, drafts: int) -> dict:
    from sqlmodel import func, select

    from bench.pages import fill
    from core.gate.rescoring import RESCORE, run_rescore
    from core.jobs.runner import JobContext
    from core.platform.db import create_schema, make_engine, open_session
    from core.platform.models import Job

    engine = make_engine(url)
    create_schema(engine)
    began = time.perf_counter()
    fill(engine, drafts * 2)  # sessions alternate between the two projects
    built = time.perf_counter() - began
    with open_session(engine) as session:
        job = Job(kind=RESCORE, payload={"project_id": 1}, status="running")
        session.add(job)
        session.commit()
        job_id = job.id
    clock = WriteLockClock(engine)
    stop, waits = threading.Event(), []
    probe = threading.Thread(target=_probe, args=(engine, stop, waits), daemon=True)
    probe.start()
    began, began_cpu = time.perf_counter(), time.process_time()
    result = run_rescore(JobContext(engine, job_id, {}), {"project_id": 1})
    elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    stop.set()
    probe.join()
    with open_session(engine) as session:
        jobs = session.exec(select(func.count()).select_from(Job)).one()
    engine.dispose()
    walls, cpus = sorted(clock.walls), sorted(clock.cpus)
    return {
        "built_s": built, "rescored": result["rescored"], "elapsed_s": elapsed, "cpu_s": cpu,
        "left_queue": result["left_queue"], "joined_queue": result["joined_queue"], "jobs": jobs,
        "transactions": len(walls), "max_write_ms": walls[-1], "p99_write_ms": _p99(walls),
        "median_write_ms": statistics.median(walls), "max_write_cpu_ms": cpus[-1], "p99_write_cpu_ms": _p99(cpus),
        "median_write_cpu_ms": statistics.median(cpus),
        "probe_max_ms": max(waits), "probe_p99_ms": _p99(sorted(waits)),
        "probes": len(waits), "longest": clock.longest,
    }


def _p99(ordered: list[float]) -> float:
    return ordered[int(0.99 * (len(ordered) - 1))]


def _postgres_url(server_url: str, name: str) -> tuple[str, object]:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from core.platform.db import normalize_url

    server = make_url(normalize_url(server_url))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return server.set(database=name).render_as_string(hide_password=False), admin


def report(label: str, r: dict) -> None:
    print(f"\n## {label}: re-scoring {r['rescored']:,} drafts (database built in {r['built_s']:.0f} s)\n")
    print(f"- {r['rescored'] / r['elapsed_s']:,.0f} drafts/s wall clock ({r['elapsed_s']:.1f} s), "
          f"{r['rescored'] / r['cpu_s']:,.0f} drafts/s of this process's CPU ({r['cpu_s']:.1f} s)")
    print(f"- write transactions: {r['transactions']:,}; longest {r['max_write_ms']:.1f} ms, "
          f"p99 {r['p99_write_ms']:.2f} ms, median {r['median_write_ms']:.2f} ms wall clock; CPU of the thread "
          f"holding it: longest {r['max_write_cpu_ms']:.1f} ms, p99 {r['p99_write_cpu_ms']:.2f} ms, "
          f"median {r['median_write_cpu_ms']:.2f} ms")
    print("- the longest (CPU): " + "; ".join(f"{ms:.1f} ms from {first}" for ms, first in r["longest"]))
    print(f"- a small write every 20 ms meanwhile ({r['probes']:,}): longest {r['probe_max_ms']:.1f} ms, "
          f"p99 {r['probe_p99_ms']:.1f} ms")
    print(f"- {r['left_queue']:,} left the review queue, {r['joined_queue']:,} joined it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=10_000, help="drafts in the project re-scored")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL the benchmark may create a database on")
    parser.add_argument("--only-postgres", action="store_true")
    args = parser.parse_args()
    if not args.only_postgres:
        with tempfile.TemporaryDirectory(prefix="draftgate-rescore-") as directory:
            report("SQLite", run(f"sqlite:///{Path(directory) / 'rescore.db'}", args.drafts))
    if args.postgres:
        name = "draftgate_bench_rescore"
        url, admin = _postgres_url(args.postgres, name)
        try:
            report("PostgreSQL", run(url, args.drafts))
        finally:
            with admin.connect() as connection:  # type: ignore[attr-defined]
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
