"""In Chromium: refused input stays where it was typed, accepted input clears; labels are whole."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_write_then_review import sign_in

pytestmark = pytest.mark.browser


def open_page(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=20_000)


def test_a_refused_form_keeps_what_was_typed_and_an_accepted_one_clears(server, browser_page: Page):
    page = browser_page
    sign_in(page, server, "admin")
    open_page(page, "Providers")
    form = page.get_by_test_id("stForm").first
    expect(form.get_by_role("combobox", name="API style")).to_have_value("chat")  # the default style
    form.get_by_label("Name").fill("remote")
    form.get_by_label("Base URL (with /v1)").fill("http://example.com/v1")
    form.get_by_label("Model").fill("m-1")
    page.get_by_role("button", name="Add provider").click()
    expect(page.get_by_text(re.compile("Plain http:\u2060?// is only allowed"))).to_be_visible(timeout=20_000)  # md() breaks URLs
    expect(form.get_by_label("Name")).to_have_value("remote")
    expect(form.get_by_label("Base URL (with /v1)")).to_have_value("http://example.com/v1")
    expect(form.get_by_label("Model")).to_have_value("m-1")

    form.get_by_label("Base URL (with /v1)").fill("http://127.0.0.1:9/v1")
    page.get_by_role("button", name="Add provider").click()
    expect(page.get_by_role("button", name="Send a tiny request")).to_be_visible(timeout=20_000)
    expect(form.get_by_label("Name")).to_have_value("")
    expect(form.get_by_label("Model")).to_have_value("")


def test_a_refused_instruction_stays_in_the_box_and_the_buttons_read_whole(server, browser_page: Page):
    page = browser_page
    sign_in(page, server, "writer")
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option").first.click()
    expect(page.get_by_text(re.compile(r"Session .+ · ID"))).to_be_visible(timeout=20_000)
    page.get_by_text("Parameters").click()
    page.get_by_label("Stop sequences (one per line)").fill("a\nb\nc\nd\ne")
    page.keyboard.press("Control+Enter")

    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("Write a blurb for a kettle")
    expect(page.get_by_test_id("stChatInput").get_by_text("26/8000")).to_be_visible()  # the counter
    box.press("Enter")
    expect(page.get_by_text("stop takes at most 4 non-empty strings.")).to_be_visible(timeout=20_000)
    expect(box).to_have_value("Write a blurb for a kettle")

    for label in ("Continue the previous text", "Regenerate"):
        button = page.get_by_test_id("stBaseButton-secondary").filter(has_text=label).first
        expect(button).to_be_visible()
        assert button.evaluate("b => [...b.querySelectorAll('*')].every(e => e.scrollWidth <= e.clientWidth)"), label
