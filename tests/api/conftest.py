"""The HTTP API under test: a real uvicorn on a free loopback port, a real database.

    live_api                the API with two projects and a mock provider, for schemathesis
    start_api(**settings)   the API (api_server) served by uvicorn in a thread of this process,
                            over the test's SQLite database, with these settings (DRAFTGATE_*
                            fields); stopped after the test. Returns a LiveApi.
    serve_api_process(env)  `python -m core serve-api` in its own process (logs captured);
                            serve_api_processes: several, started together
    snapshot(engine)        every row of every table: equal before and after = nothing written

The PostgreSQL and Redis fixtures are the ones of tests/services (skipped when not running).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlmodel import SQLModel

from api import ApiRuntime, api_server
from core.access.actors import SYSTEM
from core.access.api_keys import create_api_key
from core.platform.config import Settings
from core.platform.db import open_session
from core.platform.models import User
from tests.core.llm.faulty_server import FaultyServer
from tests.services.conftest import (  # noqa: F401  (fixtures)
    create_database,
    drop_database,
    gather,
    pg_url,
    postgres_server_url,
    redis_prefix,
    redis_url,
)
from tests.utils.factories import make_project

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


class ThreadedServer:
    """uvicorn serving `app` on 127.0.0.1 in a daemon thread (uvicorn skips signal handlers there)."""

    def __init__(self, app, **config) -> None:
        options = {"host": "127.0.0.1", "port": 0, "proxy_headers": False, "log_level": "warning", "lifespan": "off"}
        self.server = uvicorn.Server(uvicorn.Config(app, **{**options, **config}))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.port = 0

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@dataclass
class LiveApi:
    base_url: str  # http://127.0.0.1:PORT/api/v1
    runtime: ApiRuntime
    engine: object
    server: ThreadedServer
    keys: dict = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def key_for(self, user: User, **options) -> str:
        with open_session(self.engine) as db:
            return create_api_key(session=db, user_id=user.id, name=options.pop("name", "test"), actor_id=SYSTEM,
                                  **options).key

    def get(self, path: str, key: str | None = None, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.get(self.url(path), headers=headers, timeout=30, **kwargs)


@pytest.fixture
def start_api(engine):
    started: list[LiveApi] = []

    def start(app_hook=None, **settings) -> LiveApi:
        runtime = ApiRuntime.create(Settings(**settings), engine=engine)
        app = api_server(runtime)
        if app_hook is not None:
            app_hook(app.routes[0].app)  # the FastAPI app inside the mount: tests add routes to it
        server = ThreadedServer(app).start()
        live = LiveApi(f"http://127.0.0.1:{server.port}/api/v1", runtime, engine, server)
        started.append(live)
        return live

    yield start
    for live in started:
        live.server.stop()
        live.runtime.close()


@pytest.fixture
def live_api(start_api, db):
    """The API for schemathesis (tests/api/test_schemathesis*.py): two projects, a mock provider."""
    make_project(db, "English samples", references=("A short English sample.",))
    make_project(db, "中文样例")
    provider = FaultyServer().start()  # generations answer from a local mock, never the embedded model
    yield start_api(llm_base_url=provider.base_url, llm_model="mock", llm_api_style="chat", user_rate_limit=0)
    provider.stop()


def snapshot(engine) -> dict[str, list]:
    """Every row of every table, as JSON text (compare two to see whether anything was written)."""
    rows = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows[table.name] = [json.dumps(dict(row._mapping), default=str, sort_keys=True)
                                for row in connection.execute(table.select())]
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ApiProcess:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT: uvicorn shuts down cleanly
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def serve_api_process(env: dict[str, str], log_path: Path, *extra: str) -> ApiProcess:
    """`python -m core serve-api` on a free port with `env` (plus PATH); waits until it answers."""
    return serve_api_processes(env, [log_path], *extra)[0]


def serve_api_processes(env: dict[str, str], log_paths: list[Path], *extra: str) -> list[ApiProcess]:
    """One serve-api per log path, all started before waiting for each to answer."""
    started = []
    for log_path in log_paths:
        port = free_port()
        log = open(log_path, "w", encoding="utf-8")
        process = subprocess.Popen(
            [PYTHON, "-m", "core", "serve-api", "--port", str(port), *extra], cwd=ROOT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        started.append(ApiProcess(process, port, log_path))
    try:
        for server in started:
            _wait_until_it_answers(server)
    except BaseException:
        for server in started:
            server.stop()
        raise
    return started


def _wait_until_it_answers(started: ApiProcess) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if started.process.poll() is not None:
            raise AssertionError(f"serve-api exited with {started.process.returncode}:\n{started.log()}")
        try:
            if httpx.get(f"{started.base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve-api did not answer within 60 s:\n{started.log()}")
