"""Health on the real services: PostgreSQL, and Redis with and without a worker listening."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from rq import Queue, Worker

from core.jobs.rq import queue_connection
from core.platform import health

ROOT = Path(__file__).resolve().parents[2]


def test_postgresql_is_ok_with_its_version_and_migration(engine):
    check = health.check_database(engine)

    assert check.status == "ok", check.detail
    assert check.detail.startswith("PostgreSQL ") and "up to date" in check.detail
    assert check.latency_ms is not None


def test_redis_without_a_worker_is_a_warning_and_with_one_ok(redis_url, engine, pg_url):
    queue_name = f"draftgate-test-{uuid.uuid4().hex[:10]}"
    connection = queue_connection(redis_url)
    queue = Queue(queue_name, connection=connection)

    idle = health.check_redis(redis_url, queue_name=queue_name)
    env = {**os.environ, "DRAFTGATE_REDIS_URL": redis_url, "DRAFTGATE_DATABASE_URL": pg_url}
    worker = subprocess.Popen([sys.executable, "-m", "core", "worker", "--queue", queue_name], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while Worker.count(connection=connection, queue=queue) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        listening = health.check_redis(redis_url, queue_name=queue_name)
    finally:
        worker.send_signal(signal.SIGTERM)  # RQ's warm shutdown: it unregisters itself
        worker.wait(30)
        connection.close()

    assert idle.status == "warning" and "0 workers" in idle.detail and "python -m core worker" in idle.detail
    assert listening.status == "ok" and "1 worker" in listening.detail
    assert listening.detail.startswith("Redis ")
