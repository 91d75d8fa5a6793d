"""A real Streamlit server (`streamlit run server.py`) and a real Chromium for the browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
DEMO_PASSWORD = "draftgate-demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(data_dir: Path, *, script: str = "server.py", **env_vars: str) -> Iterator[str]:
    """`streamlit run server.py` (or another `script`) on a free port over `data_dir`, with DRAFTGATE_*
    `env_vars`; yields its URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DRAFTGATE_DATA_DIR": str(data_dir), **env_vars}
    port = free_port()
    log_path = data_dir / "streamlit.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_healthy(url, process, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail("the Streamlit server did not start: " + log_path.read_text()[-2000:])


@pytest.fixture
def server(data_dir):
    """Seed the demo, start the app on a free port, yield its URL."""
    env = {**os.environ, "DRAFTGATE_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "core", "demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    with running_app(data_dir) as url:
        yield url


@contextmanager
def launched_page(**context_options):
    """A page of a fresh Chromium context (`context_options`: Playwright's, e.g. locale="zh-CN")."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium, or run ./scripts/test.sh as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1800}, **context_options)
        try:
            yield context.new_page()
        finally:
            browser.close()


@pytest.fixture
def browser_page():
    with launched_page() as page:
        yield page


@pytest.fixture
def chinese_browser_page():
    """A browser whose language is Simplified Chinese (navigator.language and Accept-Language: zh-CN)."""
    with launched_page(locale="zh-CN") as page:
        yield page


def sign_in(page, url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Open `url` signed out (the server sends the browser to its sign-in form), sign in, and
    wait for the app (back on `url`)."""
    from playwright.sync_api import expect

    page.goto(url)
    fill_sign_in(page, username, password)
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible(timeout=20_000)
    page.wait_for_url(lambda address: urlsplit(address).path != "/")  # the root opens the role's first page


def fill_sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill and send the sign-in form (GET /auth/sign-in, served by the server itself)."""
    page.wait_for_url("**/auth/sign-in**")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page) -> None:
    """Press the sidebar's "Sign out" and wait until the app shows it (the sign-in has ended)."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Please sign in first.")).to_be_visible(timeout=20_000)
