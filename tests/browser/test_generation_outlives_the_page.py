"""A draft is written by the server, the page only watches (issue 13): while it streams from a slow
provider the writer ticks a sidebar checkbox, sends a second instruction, reloads, and opens the
session in a second tab; every tab ends with the full text and none says "interrupted". A turn
started in one tab shows in the other by itself. Stop ends a draft "stopped" within a second.

The provider is tests/core/llm/faulty_server.py on loopback, slow on purpose; the app is a real
`streamlit run server.py` and the database its SQLite file (read here to time Stop).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from core.platform.db import make_engine, open_session
from core.platform.models import Draft
from tests.browser.conftest import running_app, sign_in
from tests.core.llm.faulty_server import FaultyServer, stream

pytestmark = pytest.mark.browser

FIRST = [f"word{i} " for i in range(160)]  # about 24 s: time enough to click, reload, open a tab
SECOND = [f"more{i} " for i in range(15)]
TITLE = "Live session"


@pytest.fixture
def slow_provider():
    server = FaultyServer().start()
    server.script(stream(FIRST, gap_s=0.15), stream(SECOND, gap_s=0.1), stream(["Stop me "], then="stall"))
    yield server
    server.stop()


@pytest.fixture
def app(data_dir, slow_provider):
    import os
    import subprocess
    import sys

    from tests.browser.conftest import ROOT

    env = {**os.environ, "DRAFTGATE_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "core", "demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    with running_app(data_dir, DRAFTGATE_LLM_BASE_URL=slow_provider.base_url, DRAFTGATE_LLM_MODEL="slow",
                     DRAFTGATE_LLM_API_STYLE="completions") as url:
        yield url


def open_live_session(page: Page, url: str) -> None:
    """Sign in and open the session from the sidebar list."""
    sign_in(page, url, "writer")
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Open session").click()
    page.get_by_role("option", name=re.compile(TITLE)).click()
    expect(page.get_by_text(f"Session {TITLE}")).to_be_visible(timeout=20_000)


def live_text(page: Page, marker: str):
    return page.get_by_test_id("stText").filter(has_text=marker)


def drafts(where) -> list[Draft]:
    """The drafts written in the test (not the demo's), from the app's database (a data dir or an engine)."""
    engine = where if not isinstance(where, Path) else make_engine(f"sqlite:///{where / 'draftgate.db'}")
    try:
        with open_session(engine) as db:
            return list(db.exec(select(Draft).where(Draft.provider != "demo-seed").order_by(Draft.id)))
    finally:
        if engine is not where:
            engine.dispose()


def test_a_draft_outlives_clicks_a_second_instruction_a_reload_and_a_second_tab(app, browser_page: Page, data_dir,
                                                                                  tmp_path):
    page = browser_page
    sign_in(page, app, "writer")
    page.get_by_text("New session").click()
    page.get_by_label("Title (optional)").fill(TITLE)
    page.get_by_role("button", name="Create session").click()
    expect(page.get_by_text(f"Session {TITLE}")).to_be_visible(timeout=20_000)

    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("Write a long list")
    box.press("Enter")
    expect(live_text(page, "word3 ")).to_be_visible(timeout=20_000)  # live, from the job
    page.get_by_text("Reuse cached answers for any temperature").click()  # a rerun of the whole page
    expect(live_text(page, "word10 ")).to_be_visible(timeout=20_000)
    box.fill("Go on")
    box.press("Enter")
    expect(page.get_by_text(re.compile("Queued: it is written once the draft above is finished")).first).to_be_visible(
        timeout=20_000)

    page.reload()  # still signed in (the sign-in cookie), the session from the page's URL
    expect(page.get_by_text(f"Session {TITLE}")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("stSidebar").get_by_text(re.compile("Being written now: " + TITLE))).to_be_visible()
    second_tab = page.context.new_page()
    second_tab.goto(page.url)  # the same session in a second tab of the same browser
    expect(second_tab.get_by_text(f"Session {TITLE}")).to_be_visible(timeout=20_000)
    first_draft = drafts(data_dir)[0]
    assert first_draft.status == "generating", "the first draft should still be streaming here"

    for tab in (page, second_tab):
        expect(live_text(tab, "word159 ")).to_be_visible(timeout=60_000)
        expect(live_text(tab, "more14 ")).to_be_visible(timeout=60_000)
        expect(tab.get_by_text("interrupted")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "live.png"))
    written = drafts(data_dir)
    assert [(d.status, d.text) for d in written] == [("completed", "".join(FIRST)), ("completed", "".join(SECOND))]

    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("Write, then be stopped")
    box.press("Enter")
    expect(live_text(page, "Stop me")).to_be_visible(timeout=20_000)
    expect(live_text(second_tab, "Stop me")).to_be_visible(timeout=20_000)  # no click there: it notices the new turn
    stop = page.get_by_test_id("stBaseButton-secondary").filter(has_text="Stop").first
    stop.click()  # (Playwright first waits for the button to hold still between two live reruns)
    clicked = time.monotonic()
    engine = make_engine(f"sqlite:///{data_dir / 'draftgate.db'}")
    try:
        while (last := drafts(engine)[-1]).status == "generating" and time.monotonic() - clicked < 5:
            time.sleep(0.02)
    finally:
        engine.dispose()
    assert (last.status, last.text) == ("stopped", "Stop me ")  # how fast: tests/core/test_generation_jobs.py's
    # stop tests and the README's Stop figure; a browser on a busy machine adds its own rerun delays
    expect(page.get_by_text(re.compile("stopped: Stopped by the writer"))).to_be_visible(timeout=10_000)
    expect(second_tab.get_by_text(re.compile("stopped: Stopped by the writer"))).to_be_visible(timeout=10_000)
    expect(second_tab.get_by_text("interrupted")).to_have_count(0)

