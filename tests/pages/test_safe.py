"""ui.safe.md: user text as Markdown that Streamlit shows exactly as typed, whatever it holds.

Two things are checked for every construct (and for random text built of their pieces):
- what the reader sees is the text itself (tests.pages.conftest.shown inverts the escaping);
- nothing is left for Streamlit 1.67 to act on: no unescaped mark that opens a construct while
  parsing, no line that starts a block, and none of the patterns its frontend rewrites in the
  parsed text (copied from its StreamlitMarkdown bundle: bare URLs and e-mail addresses become
  links, `:streamlit:` an image, ` -> ` an arrow; `:material/` and `:word:` in the source load
  icons and emoji). How Chromium renders it: tests/browser/test_markdown_escaping.py.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import shown
from ui.safe import WORD_JOINER, md

CONSTRUCTS = {
    "image": "![x](http://127.0.0.1:9/p?data)",
    "html image": "<img src=http://127.0.0.1:9/q>",
    "link": "[link](http://127.0.0.1:9/l)",
    "reference link": "[r][1]\n\n[1]: http://127.0.0.1:9/r",
    "autolink": "<http://127.0.0.1:9/a>",
    "bare URLs": "see http://127.0.0.1:9/b, HTTPS://x.example or www.example.com",
    "e-mail": "write to a.b+c@mail.example.com or mailto:x@y.example",
    "raw HTML": "<script>alert(1)</script><b onclick=x>b</b>",
    "entity": "&lt;b&gt; &amp; &#x41;",
    "material icon": "a :material/home: b",
    "emoji short codes": ":smile: :+1: :100: 10:100:5",
    "streamlit logo": "made with :streamlit:",
    "colour directives": ":red[red] :blue-background[bg] :rainbow[r] :small[s] :red-badge[b] :color[x]{foreground=red}",
    "leaf and container directives": "::youtube[v]\n:::note\nx\n:::",
    "latex": "cost $x^2$ and $$y$$ and \\(z\\) \\[w\\]",
    "emphasis and code": "**b** __b__ *i* _i_ ~~s~~ `c` ``c``",
    "escapes": "\\* back\\slash \\",
    "headings": "# h1\n###### h6\nSetext\n===\nSetext\n---",
    "lists and quotes": "- a\n+ b\n* c\n1. d\n2) e\n> q\n>> qq",
    "rules, tables, fences": "***\n---\n___\n| a | b |\n|---|---|\n```py\ncode\n```\n~~~\n    indented code",
    "footnotes and tasks": "x[^1]\n\n[^1]: note\n- [ ] task",
    "typography": "a -> b -- c >= d <= e ~= f <-> g <- h",
    "hard breaks": "two spaces  \nbackslash\\\nend",
    "Chinese": "　　春天的北京很美。「引号」**粗体** ![图](http://127.0.0.1:9/zh)",
    "plain message": "Wrong user name or password. It's (still) 100% fine, isn't it? a/b",
}

ESCAPED_PAIR = re.compile(r"\\[!-/:-@\[-`{-~]")
UNESCAPED_INLINE = re.compile(r"[\\`*_~\[\]<>&|${}]|:(?=\S)")
BLOCK_START = re.compile(r"^\s{0,3}([#>+\-=*_|~`<]|\d{1,9}[.)](\s|$))")
# Streamlit 1.67's rewrites of the parsed text (Python's \w is wider than JavaScript's: stricter here).
REWRITTEN_TEXT = [
    re.compile(r"(https?://|www(?=\.))", re.IGNORECASE),  # autolink literal
    re.compile(r"[-.\w+]@[-\w]+(\.[-\w]+)+"),  # e-mail autolink (mailto: and xmpp: ones too)
    re.compile(r":streamlit:"),
    re.compile(r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)"),  # arrows, dashes
]
REWRITTEN_SOURCE = [
    re.compile(r":material/"),  # replaced before parsing
    re.compile(r":(?!material/|streamlit:)[\w+-][\w_+-]*:"),  # loads emoji short codes
]


def expected(text: str) -> str:
    """What md promises to show: the text, its lines' outer spaces aside (HTML does not show them;
    nor word joiners, which shown() drops)."""
    return "\n".join(line.strip(" \t") for line in text.splitlines()).replace(WORD_JOINER, "")


def parsed_text(markdown: str) -> str:
    """The text a CommonMark parser makes of md's output: escapes resolved, word joiners kept."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def assert_inert(text: str) -> None:
    out = md(text)
    assert shown(out) == expected(text)
    assert not UNESCAPED_INLINE.search(ESCAPED_PAIR.sub("", out)), out
    for line in out.split("\n"):
        assert not BLOCK_START.match(line), line
    for pattern in REWRITTEN_SOURCE:
        assert not pattern.search(out), (pattern, out)
    for pattern in REWRITTEN_TEXT:
        assert not pattern.search(parsed_text(out)), (pattern, out)


@pytest.mark.parametrize("text", CONSTRUCTS.values(), ids=CONSTRUCTS.keys())
def test_every_construct_is_shown_as_typed_and_does_nothing(text):
    assert_inert(text)


def test_a_plain_message_keeps_its_punctuation_unescaped():
    """Messages built of . , ' ( ) ? % / and "word: " stay as they are (tests and logs read them)."""
    for text in ("Wrong user name or password.", "It's (still) 100% fine, isn't it? a/b", "Reason: too short",
                 "203.0.113.5", "GPT-4 模型 (v2)"):
        assert md(text) == text


def test_line_breaks_stay_line_breaks():
    assert md("one\ntwo\r\nthree\rfour") == "one  \ntwo  \nthree  \nfour"
    assert md("") == ""


PIECES = st.sampled_from([
    *"![]()<>*_~`#-+=.:/$&|{}\\@^ \t\n\r", "a", "w", "1", "春", "\u3000", WORD_JOINER,
    "http", "https", "://", "www.", "mailto:", ":streamlit:", ":material/", "->", "--", "1. ", "    ",
])


@given(st.lists(PIECES, max_size=40).map("".join))
def test_any_text_is_shown_as_typed_and_does_nothing(text):
    assert_inert(text)


def test_stream_text_shows_the_growing_text_as_text_only():
    def page():
        from ui.safe import stream_text

        stream_text(iter(["![x](http://127.0.0.1:9/p) ", "<img src=x> ", "**b**"]))

    at = AppTest.from_function(page).run()
    assert not at.exception
    assert [t.value for t in at.text] == ["![x](http://127.0.0.1:9/p) <img src=x> **b**"]
    assert not at.markdown


@pytest.mark.parametrize("text", ["\u3000# heading", "\u3000\u30001. item", "\u3000- item"])
def test_a_line_mark_after_ideographic_spaces_is_escaped_too(text):
    """Hypothesis found "\u3000#": a heading mark after spaces that strip(" \\t") leaves."""
    assert "\\" in md(text) and shown(md(text)) == text
