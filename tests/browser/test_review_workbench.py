"""A reviewer works through the queue: open, decide, and the next draft opens by itself, three
times in a row, once from the keyboard; opening a draft claims nothing."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from core.platform.config import Settings
from core.platform.db import make_engine, open_session
from core.platform.models import Project, User
from tests.browser.conftest import running_app, sign_in
from tests.utils.factories import make_finished_draft

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
QUEUE = re.compile(r"Queue \((\d+)\)")
DRAFT = re.compile(r"Draft #(\d+)")


@pytest.fixture
def busy_server(data_dir):
    """The demo, with four more drafts flagged for review."""
    env = {**os.environ, "DRAFTGATE_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "core", "demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    engine = make_engine(Settings().resolved_database_url)
    with open_session(engine) as db:
        writer = db.exec(select(User).where(User.role == "writer")).first()
        project = db.exec(select(Project)).first()
        for n in range(4):
            make_finished_draft(db, writer, project, f"Lamp {n}.", instruction=f"Blurb {n}")
    engine.dispose()
    with running_app(data_dir) as url:
        yield url


def waiting(page: Page) -> int:
    return int(QUEUE.search(page.get_by_role("heading", name=QUEUE).first.inner_text()).group(1))


def shown_draft(page: Page) -> int:
    return int(DRAFT.search(page.get_by_role("heading", name=DRAFT).first.inner_text()).group(1))


def test_a_reviewer_decides_three_drafts_in_a_row(busy_server, browser_page: Page):
    page = browser_page
    sign_in(page, busy_server, "reviewer")
    expect(page.get_by_role("heading", name=QUEUE)).to_be_visible(timeout=20_000)
    before = waiting(page)
    assert before >= 4, "the demo seeds enough flagged drafts"
    page.get_by_test_id("stBaseButton-secondary").filter(has_text="Open").first.click()
    expect(page.get_by_role("button", name="Start review")).to_be_visible(timeout=20_000)
    expect(page.get_by_text(re.compile("claimed by"))).to_have_count(0)  # reading claims nothing

    seen = [shown_draft(page)]
    page.get_by_role("button", name=re.compile(r"^Approve\b")).click()
    expect(page.get_by_text(f"Draft #{seen[0]}: approved.")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("heading", name=DRAFT)).not_to_have_text(re.compile(rf"#{seen[0]}\b"))
    seen.append(shown_draft(page))

    reason = page.get_by_label("Reason (required to reject)")
    expect(reason).to_have_count(1, timeout=20_000)  # the last draft's box has gone with it
    reason.fill("Off topic")
    page.get_by_role("button", name=re.compile(r"^Reject\b")).click()
    expect(page.get_by_text(f"Draft #{seen[1]}: rejected.")).to_be_visible(timeout=20_000)
    seen.append(shown_draft(page))

    page.get_by_role("heading", name=DRAFT).first.click()  # focus out of any text box
    page.keyboard.press("Alt+a")
    expect(page.get_by_text(f"Draft #{seen[2]}: approved.")).to_be_visible(timeout=20_000)
    assert len(set(seen)) == 3
    expect(page.get_by_role("heading", name=f"Queue ({before - 3})")).to_be_visible(timeout=20_000)
