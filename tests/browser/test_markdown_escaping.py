"""ui.safe.md in Streamlit's real Markdown renderer: every construct of tests/pages/test_safe.py,
escaped, reads in Chromium exactly as typed, in every kind of element that renders Markdown, and
renders no link, image, formula, icon, colour or formatting (nor fetches anything).

    a tiny app (tmp_path/probe.py):  for each construct: st.markdown(md(text)), st.caption, st.error,
                                     an expander, a button, a radio and a tab labelled md(text)
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import ROOT, running_app
from tests.pages.test_safe import CONSTRUCTS, expected

pytestmark = pytest.mark.browser

PROBE = """
import json, sys
sys.path.insert(0, {root!r})
import streamlit as st
from ui.safe import md

for index, text in enumerate(json.load(open({cases!r}, encoding="utf-8"))):
    with st.container(key=f"case-{{index}}"):
        st.markdown(md(text))
        st.caption(md(text))
        st.error(md(text))
        st.expander(md(text))
        st.button(md(text), key=f"button-{{index}}")
        st.radio(md(text), [md(text)], key=f"radio-{{index}}")
        st.tabs([md(text)])
"""
MARKDOWN = "[data-testid=stMarkdownContainer], [data-testid=stCaptionContainer]"
INSPECT = """box => [...box.querySelectorAll('MARKDOWN')].map(e => ({
  text: e.innerText,
  active: e.querySelectorAll('a, img, .katex, [data-testid=stIconMaterial], .stMarkdownColoredText, '
      + '.stMarkdownColoredBackground, .stMarkdownBadge, strong, em, code, del, h1, h2, h3, h4, h5, h6, '
      + 'blockquote, li, table, hr, pre, input').length,
}))""".replace("MARKDOWN", MARKDOWN)


ELEMENTS = 8  # Markdown shown per case: markdown, caption, error, expander, button, radio label and option, tab


def normalized(text: str) -> str:
    """As a browser lays text out: word joiners invisible, any run of white space one space."""
    return " ".join(text.replace("\u2060", "").split())


def test_escaped_text_reads_as_typed_in_every_markdown_element(data_dir, tmp_path, browser_page: Page):
    cases = list(CONSTRUCTS.values())
    (tmp_path / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE.format(root=str(ROOT), cases=str(tmp_path / "cases.json")), encoding="utf-8")
    page = browser_page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    with running_app(data_dir, script=str(probe)) as url:
        page.goto(url)
        page.wait_for_function(  # widgets load lazily: wait until each case shows all its elements
            "([selector, n]) => document.querySelectorAll(selector).length >= n",
            arg=[MARKDOWN, ELEMENTS * len(cases)], timeout=30_000,
        )
        for index, text in enumerate(cases):
            rendered = page.locator(f".st-key-case-{index}").evaluate(INSPECT)
            assert len(rendered) == ELEMENTS, (text, rendered)
            for element in rendered:
                assert element["active"] == 0, (text, element)
                assert normalized(element["text"]) == normalized(expected(text)), (text, element)
    assert [u for u in requests if re.search(r"127\.0\.0\.1:9\b|example", u)] == []
