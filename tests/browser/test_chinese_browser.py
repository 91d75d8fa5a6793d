"""The app in a browser whose language is Chinese (Playwright locale="zh-CN"): the sign-in form
(served by server.py, from Accept-Language) and the pages after it (st.context.locale) speak
Chinese with no setting made; the DOM text is what is checked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser]

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_a_chinese_browser_signs_in_and_works_in_chinese(server, chinese_browser_page: Page):
    page = chinese_browser_page
    page.goto(f"{server}/review")
    page.wait_for_url("**/auth/sign-in**")
    expect(page.get_by_role("button", name="登录")).to_be_visible(timeout=20_000)
    assert page.evaluate("navigator.language") == "zh-CN"
    page.get_by_label("用户名").fill("editor")
    page.get_by_label("密码").fill("draftgate-demo")
    page.get_by_role("button", name="登录").click()

    expect(page.get_by_text("已登录：editor（编辑）")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="审核", exact=True)).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name=re.compile(r"审核队列（\d+）"))).to_be_visible(timeout=30_000)
    assert page.url == f"{server}/review"
    nav = page.get_by_test_id("stSidebarNav")
    for title in ("写作", "审核", "阈值", "账户"):
        expect(nav.get_by_text(title, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    expect(page.get_by_text("Sign out")).to_have_count(0)

    nav.get_by_text("账户", exact=True).click()
    expect(page.get_by_role("heading", name="账户", exact=True)).to_be_visible(timeout=30_000)
    main = page.get_by_test_id("stMain").inner_text()
    assert CJK.search(main) and "Account" not in main and "Password" not in main
