"""No request leaves the browser for a URL written in a draft, an instruction, a session title, a
comment, a reference or a preset, and no such URL becomes a live link: in Chromium, against the
real server (`streamlit run server.py`), with a slow provider on loopback streaming the draft.

    Chromium ──> Draftgate (server.py) ──> slow provider (FaultyServer): the hostile draft, piece by piece
       └──X──> counting server on 127.0.0.1:PORT: the URLs in the text point here; it must see nothing

The writer's Write page (while the draft streams, then with every turn), the reviewer's Review
page (the claimed draft with its session, instruction, closest reference and comments) and the
editor's References and Presets pages are opened; the counting server, Playwright's request log
and the pages' links must all stay clear of PORT, and the Content-Security-Policy reports no
violation (it breaks nothing Streamlit needs).
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from core.access.actors import SYSTEM
from core.platform.config import get_settings
from core.platform.db import create_schema, make_engine, open_session
from core.platform.models import ReviewItem, Turn
from core.review.comments import add_comment
from core.writing.moderation import add_words
from core.writing.presets import add_preset
from core.writing.sessions import create_session
from tests.browser.conftest import running_app, sign_in, sign_out
from tests.core.llm.faulty_server import FaultyServer, _event
from tests.utils.factories import PASSWORD, make_finished_draft, make_project, make_user

pytestmark = pytest.mark.browser

RECORD_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


class CountingServer:
    """An HTTP server on loopback that counts every request it gets (and answers each with a tiny GIF)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                counter.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()
                self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

            do_POST = do_HEAD = do_GET

            def log_message(self, *args) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def counter():
    server = CountingServer()
    yield server
    server.stop()


def bait(port: int) -> str:
    return (f"![x](http://127.0.0.1:{port}/p) <img src=http://127.0.0.1:{port}/q> "
            f"[link](http://127.0.0.1:{port}/l)")


def seed(port: int) -> dict:
    """Users, and the bait in a project, a reference, a preset, a session title, instructions, a
    flagged draft and a reviewer's comment (in the database the app is about to open)."""
    engine = make_engine(get_settings().resolved_database_url)
    create_schema(engine)
    text = bait(port)
    with open_session(engine) as db:
        users = {role: make_user(db, role, role) for role in ("writer", "reviewer", "editor")}
        project = make_project(db, f"Leaks {text}", references=(f"Reference {text}",))
        add_preset(session=db, project_id=project.id, instruction=f"Preset {text}", answer=f"Preset answer {text}",
                   actor_id=SYSTEM)
        add_words(session=db, words=["leaked"], actor_id=SYSTEM)  # sends the draft to review
        draft = make_finished_draft(db, users["writer"], project, f"Draft {text} leaked",
                                    instruction=f"Instruction {text}")
        turn = db.get(Turn, draft.turn_id)
        flagged = create_session(session=db, owner=users["writer"], project_id=project.id, title=f"Title {text}")
        turn.session_id = flagged.id
        db.add(turn)
        db.commit()
        assert db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
        add_comment(session=db, draft_id=draft.id, author=users["reviewer"], body=f"Comment {text}")
        return {"session": flagged.public_id}


def half_then_wait(first: str, rest: str, go_on: threading.Event):
    """A provider act: stream `first`, wait until the test has looked at the page, then `rest`."""

    def act(handler, received) -> None:
        handler.start_chunks()
        handler.chunk(_event(received, first))
        go_on.wait(60)
        handler.chunk(_event(received, rest, "stop"))
        handler.chunk(b"data: [DONE]\n\n")
        handler.end_chunks()

    return act


def shown_text(page: Page) -> str:
    return page.evaluate("() => document.body.innerText").replace("\u2060", "")


def assert_nothing_leaves(page: Page, counter: CountingServer, requests: list[str]) -> None:
    target = f"127.0.0.1:{counter.port}"
    assert counter.paths == []
    assert [url for url in requests if target in url] == []
    live = page.evaluate(
        "port => [...document.querySelectorAll('a[href], img[src], iframe[src], [srcset]')]"
        ".map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('srcset'))"
        ".filter(u => u.includes(port))",
        target,
    )
    assert live == []
    assert page.evaluate("() => window.__csp") == []


def test_no_request_leaves_for_urls_in_user_and_model_text(data_dir, counter, browser_page: Page):
    text = bait(counter.port)
    seeded = seed(counter.port)
    provider = FaultyServer().start()
    go_on = threading.Event()
    first, rest = f"Streamed {text} (the first half,", " then the second)."
    provider.script(half_then_wait(first, rest, go_on))
    page = browser_page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    try:
        with running_app(data_dir, DRAFTGATE_LLM_BASE_URL=provider.base_url, DRAFTGATE_LLM_MODEL="slow",
                         DRAFTGATE_LLM_API_STYLE="completions") as url:
            sign_in(page, f"{url}/?session={seeded['session']}", "writer", PASSWORD)  # lands on that session
            expect(page.get_by_text(f"Draft {text}")).to_be_visible(timeout=20_000)
            page.get_by_test_id("stChatInputTextArea").fill(f"Write about {text}")
            page.get_by_test_id("stChatInputTextArea").press("Enter")
            # still streaming (the sensitive-word masker holds back the last few characters it got)
            expect(page.get_by_text(f"Streamed {text}")).to_be_visible(timeout=20_000)
            assert_nothing_leaves(page, counter, requests)
            go_on.set()
            expect(page.get_by_text(first + rest)).to_be_visible(timeout=60_000)
            expect(page.get_by_text(re.compile("model slow"))).to_be_visible(timeout=60_000)  # scored: the page settled
            assert [r.path for r in provider.requests] == ["/v1/completions"]  # one answer, not retried

            page.get_by_test_id("stChatInputTextArea").fill(f"Preset {text}")
            page.get_by_test_id("stChatInputTextArea").press("Enter")
            expect(page.get_by_text(f"Preset answer {text}")).to_be_visible(timeout=20_000)
            for seen in (f"Title {text}", f"Instruction {text}", f"Comment {text}", f"Write about {text}"):
                assert seen in shown_text(page), seen
            assert_nothing_leaves(page, counter, requests)

            sign_out(page)
            sign_in(page, url, "reviewer", PASSWORD)
            page.get_by_role("button", name="Claim next").click()  # the oldest: the seeded draft
            expect(page.get_by_role("button", name=re.compile(r"^Approve\b"))).to_be_visible(timeout=20_000)
            page.get_by_text("Session context:").click()
            expect(page.locator("body")).to_contain_text(f"Draft {text}", timeout=20_000)  # the whole panel is in
            for seen in (f"Leaks {text}", f"Title {text}", f"Instruction {text}", f"Draft {text}",
                         f"Reference {text}", f"Comment {text}"):
                assert seen in shown_text(page), seen
            assert_nothing_leaves(page, counter, requests)

            sign_out(page)
            sign_in(page, url, "editor", PASSWORD)
            for area, label in (("References", f"Reference {text}"), ("Presets", f"Preset {text}")):
                page.get_by_test_id("stSidebarNav").get_by_text(area).click()
                expander = page.get_by_test_id("stExpander").filter(has_text=label[:label.index("(")])
                expect(expander).to_be_visible(timeout=20_000)  # its label: the first 60 or 80 characters
                assert label[:50] in expander.inner_text().replace("\u2060", "")
                assert_nothing_leaves(page, counter, requests)
    finally:
        go_on.set()
        provider.stop()
