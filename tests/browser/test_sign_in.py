"""Sign-in that survives a reload, in Chromium against `streamlit run server.py`: the cookie and its
flags, a second tab, sign-out reaching the other tab, page URLs that land where they point after
sign-in, and the refusal (not "Page not found") for a page of another role."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import fill_sign_in, sign_in
from ui.auth import SESSION_COOKIE

pytestmark = [pytest.mark.browser]

EDITOR_PAGES = ["Write", "Review", "Thresholds", "References", "Presets", "Dashboard", "Account"]


def session_cookie(page: Page) -> dict:
    (cookie,) = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    return cookie


def test_a_reload_and_a_second_tab_stay_signed_in_and_sign_out_reaches_both(server, browser_page: Page):
    page = browser_page
    sign_in(page, f"{server}/review", "reviewer")
    expect(page.get_by_role("heading", name=re.compile(r"Queue \(\d+\)"))).to_be_visible(timeout=20_000)
    assert page.url == f"{server}/review"

    cookie = session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain HTTP to loopback; Secure whenever the request is HTTPS
    assert cookie["expires"] == -1  # a browser-session cookie: the server decides when the sign-in ends
    assert cookie["value"] not in page.url

    page.reload()
    expect(page.get_by_text("Signed in as reviewer")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("heading", name=re.compile(r"Queue \(\d+\)"))).to_be_visible(timeout=20_000)
    assert page.url == f"{server}/review"

    other = page.context.new_page()
    other.goto(f"{server}/review")
    expect(other.get_by_text("Signed in as reviewer")).to_be_visible(timeout=20_000)
    expect(other.get_by_role("heading", name=re.compile(r"Queue \(\d+\)"))).to_be_visible(timeout=20_000)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Please sign in first.")).to_be_visible(timeout=20_000)

    other.get_by_test_id("stSidebarNav").get_by_text("Account").click()  # its next action
    expect(other.get_by_text("Please sign in first.")).to_be_visible(timeout=20_000)
    expect(other.get_by_text("Signed in as reviewer")).to_have_count(0)
    other.reload()  # and a reload now goes to the sign-in form, back to the page after
    fill_sign_in(other, "reviewer")
    expect(other.get_by_test_id("stSidebarUserContent").get_by_text("Signed in as reviewer")).to_be_visible(timeout=30_000)
    expect(other.get_by_role("heading", name="Account", exact=True)).to_be_visible(timeout=30_000)
    assert other.url == f"{server}/account"


def test_a_signed_out_page_url_lands_on_that_page_after_sign_in(server, browser_page: Page):
    page = browser_page
    page.goto(f"{server}/thresholds.py")  # the fresh server's first visitor, at a URL the gate lets through
    expect(page.get_by_text("Please sign in first.")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # never the pages/ folder's listing
    assert "audit" not in page.get_by_test_id("stSidebar").all_inner_texts().__str__().lower()

    page.goto(f"{server}/thresholds")
    assert "/auth/sign-in?next=%2Fthresholds" in page.url  # the form, never the app's pages
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)

    page.get_by_label("User name").fill("editor")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    expect(page.get_by_label("User name")).to_have_value("editor")

    fill_sign_in(page, "editor")
    expect(page.get_by_role("heading", name="Thresholds")).to_be_visible(timeout=20_000)
    assert page.url == f"{server}/thresholds"
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link")).to_have_count(len(EDITOR_PAGES))
    for title in EDITOR_PAGES:
        expect(nav.get_by_text(title, exact=True)).to_be_visible()


def test_a_writer_opening_admin_sees_the_refusal_naming_the_role(server, browser_page: Page):
    page = browser_page
    sign_in(page, f"{server}/admin", "writer")
    expect(page.get_by_text("Your role (writer) does not give access to this page: it needs the role admin.")).to_be_visible(
        timeout=20_000)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    assert page.url == f"{server}/admin"
    page.get_by_test_id("stSidebarNav").get_by_text("Write").click()
    expect(page.get_by_role("heading", name="Write")).to_be_visible(timeout=20_000)
