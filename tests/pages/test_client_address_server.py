"""Against a real `streamlit run` (uvicorn under Streamlit 1.67): a forged X-Forwarded-For sent
from this machine does not become the address the app sees (ui.auth.client_address), and a
trusted proxy's header does.

A tiny script page writes ui.auth.client_address() to a file; a WebSocket client (as the
browser's is) opens the app's stream with the headers of the case and asks for a script run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from core.access.client_address import UNKNOWN

websockets_sync = pytest.importorskip("websockets.sync.client")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = textwrap.dedent("""
    import os

    import streamlit as st

    from ui import auth

    with open(os.environ["DG_TEST_ADDRESS_FILE"], "a", encoding="utf-8") as handle:
        handle.write(auth.client_address() + "\\n")
    st.write("ok")
""")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class App:
    """`streamlit run` of the script, on loopback, with the environment given."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.addresses = tmp_path / f"addresses-{self.port}.txt"
        script = tmp_path / "address_page.py"
        script.write_text(SCRIPT, encoding="utf-8")
        environment = {**os.environ, "PYTHONPATH": str(ROOT), "DG_TEST_ADDRESS_FILE": str(self.addresses),
                       "DRAFTGATE_DATA_DIR": str(tmp_path / "data"), **env}
        environment.pop("FORWARDED_ALLOW_IPS", None)  # uvicorn's default: it trusts loopback
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._wait_until_healthy()

    def _wait_until_healthy(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"streamlit exited with {self.process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/_stcore/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("streamlit did not answer its health check")

    def address_seen(self, headers: dict[str, str], timeout_s: float = 30.0) -> str:
        """Open the app's stream with these extra headers, run the script once, return what it saw."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        before = self._lines()
        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_script_hash = ""
        url = f"ws://127.0.0.1:{self.port}/_stcore/stream"
        with websockets_sync.connect(url, additional_headers={"Origin": f"http://127.0.0.1:{self.port}", **headers},
                                     subprotocols=["streamlit"], open_timeout=10) as stream:
            stream.send(message.SerializeToString())
            deadline = time.monotonic() + timeout_s
            while len(self._lines()) == len(before):
                if time.monotonic() > deadline:
                    raise AssertionError("the script did not run")
                try:
                    stream.recv(timeout=0.2)
                except TimeoutError:
                    pass
        return self._lines()[-1]

    def _lines(self) -> list[str]:
        return self.addresses.read_text(encoding="utf-8").splitlines() if self.addresses.exists() else []

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def start_app(tmp_path):
    started: list[App] = []

    def start(**env: str) -> App:
        started.append(App(tmp_path, env))
        return started[-1]

    yield start
    for app in started:
        app.stop()


def test_a_forged_forwarded_for_from_this_machine_does_not_become_the_address(start_app):
    app = start_app(DRAFTGATE_TRUSTED_PROXIES="")
    assert app.address_seen({}) == "127.0.0.1"
    forged = app.address_seen({"X-Forwarded-For": "10.9.9.9"})
    assert forged == UNKNOWN  # not 10.9.9.9: uvicorn reported it, Draftgate did not believe it
    assert app.address_seen({"X-Forwarded-For": "203.0.113.1, 10.9.9.8:80"}) == UNKNOWN


def test_a_trusted_proxy_on_this_machine_names_the_client(start_app):
    app = start_app(DRAFTGATE_TRUSTED_PROXIES="127.0.0.1/32, ::1/128")
    assert app.address_seen({"X-Forwarded-For": "203.0.113.7"}) == "203.0.113.7"
    assert app.address_seen({"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}) == "203.0.113.7"  # the proxy's hop wins
    assert app.address_seen({}) == "127.0.0.1"
