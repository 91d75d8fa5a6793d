"""User and model text on a page: shown as text, never as Markdown or HTML.

Streamlit renders Markdown in st.markdown, st.write, st.caption, st.subheader, st.info /
warning / error / success, st.toast, expander, tab, radio and widget labels and help tooltips.
User or model text put there as it is would act: `![x](http://host/pixel?data)` makes the
reader's browser fetch that URL, links become live, and `:material/...:`, `:red[...]`, `$...$`
or `**...**` change what the text says. So every such text goes through `md()` first, and a
draft that streams in goes through `stream_text()` (never st.write_stream, which renders Markdown).

    "![x](http://h/p)"  --md-->  "!\\[x\\](http\\:⁠//h/p)"  --page-->  ![x](http://h/p)

Two steps, because Streamlit changes text in two places:
- while parsing: a backslash escapes an ASCII punctuation mark (CommonMark), and an escaped mark
  opens nothing. Escaped everywhere: the marks that open an image, link, autolink, raw HTML,
  entity, emphasis, code, table, directive (`:color[...]`, `:material/...:`), emoji short code
  or LaTeX; at a line's start only: the marks of headings, lists, quotes and rules. Other marks
  (. , ' " ( ) ! ? / % and a colon before a space) stay as they are, as do messages built of them;
- after parsing, on the text itself: bare URLs (`http://`, `www.`), e-mail addresses and
  `:streamlit:` become links or an image, and ` -> `, ` -- `, ` >= ` become arrows and dashes.
  An invisible WORD JOINER (U+2060) inside each such pattern keeps it from matching.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import streamlit as st

WORD_JOINER = "\u2060"
TEXT_PATTERNS = re.compile(r"(?<=:)(?=\S)|(?=@)|(?<=www)(?=\.)|(?<=[-<>=~])(?=[-<>=~])", re.IGNORECASE)
INLINE_MARKS = re.compile(r"([\\`*_~\[\]<>&|${}]|:(?=\S))")
LINE_START_MARKS = re.compile(r"^(\s*(?:\d{1,9}(?=[.)](?:\s|$))|(?=[#+\-=])))")  # `# h`, `- item`, `1. item`, `1) item`, `===`
HARD_BREAK = "  \n"


def md(text: object) -> str:
    """`text` as Markdown that shows exactly `text` (its line breaks kept, its whitespace as HTML shows it)."""
    joined = TEXT_PATTERNS.sub(WORD_JOINER, str(text))
    lines = INLINE_MARKS.sub(r"\\\1", joined).splitlines() or [""]
    # Spaces at a line's start or end are not shown anyway; left there, four of them would make a code block.
    return HARD_BREAK.join(LINE_START_MARKS.sub(r"\1\\", line.strip(" \t"), count=1) for line in lines)


def stream_text(chunks: Iterable[str]) -> str:
    """Show text as it arrives, as plain text in one placeholder that grows; return the whole text."""
    placeholder = st.empty()
    text = ""
    for chunk in chunks:
        text += chunk
        placeholder.text(text)
    return text
