"""Finds user-facing text in page code that is not marked for translation (tests/pages/test_i18n.py).

A call of a Streamlit element (st.title(...), col.button(...), tab.caption(...), ...) whose label or
text argument is a string literal or an f-string with words in it, not passed through _() /
ngettext() / N_(), is unmarked; so are the tabs' labels and st.Page titles.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ELEMENTS = frozenset({
    "title", "header", "subheader", "caption", "markdown", "text", "write", "info", "warning", "error", "success",
    "toast", "button", "form_submit_button", "download_button", "link_button", "text_input", "text_area",
    "number_input", "selectbox", "multiselect", "radio", "checkbox", "toggle", "slider", "select_slider",
    "date_input", "time_input", "file_uploader", "expander", "tabs", "metric", "spinner", "status", "popover",
    "chat_input", "page_link", "Page", "set_page_config", "progress", "dialog",
})
TEXT_KEYWORDS = frozenset({"label", "help", "placeholder", "title", "body", "text", "value_label", "caption"})
MARKERS = frozenset({"_", "ngettext", "N_", "gettext", "md", "error_text", "render"})
WORDS = re.compile(r"[A-Za-z]{2,}")
# literal text that is not interface text: icons, units, formats, technical names shown as they are
NOT_TEXT = re.compile(r"^(?::material/\w+:|[\W\d_]*|Draftgate|JSON|CSV|BLEU|chrF|ROUGE-\w+|UTC|\w+\.(?:json|csv))$")


@dataclass(frozen=True)
class Unmarked:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def _literal_text(node: ast.AST) -> str | None:
    """The words a literal or f-string shows, if it has any; None for anything else (a variable, a call)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(part.value for part in node.values if isinstance(part, ast.Constant) and isinstance(part.value, str))
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal_text(node.left) or _literal_text(node.right)
    elif isinstance(node, ast.IfExp):
        return _literal_text(node.body) or _literal_text(node.orelse)
    else:
        return None
    stripped = text.strip()
    if not WORDS.search(stripped) or NOT_TEXT.match(stripped):
        return None
    return stripped


def _texts_of(call: ast.Call) -> list[ast.AST]:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name == "Page":  # st.Page(page, title=...)
        return [kw.value for kw in call.keywords if kw.arg == "title"]
    if name == "set_page_config":
        return []
    found: list[ast.AST] = []
    if call.args:
        first = call.args[0]
        found.extend(first.elts if name == "tabs" and isinstance(first, ast.List | ast.Tuple) else [first])
    found.extend(kw.value for kw in call.keywords if kw.arg in TEXT_KEYWORDS)
    return found


def unmarked(path: Path, root: Path) -> list[Unmarked]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute | ast.Name):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        if name not in ELEMENTS or not isinstance(node.func, ast.Attribute):
            continue
        for argument in _texts_of(node):
            text = _literal_text(argument)
            if text is not None:
                problems.append(Unmarked(str(path.relative_to(root)), argument.lineno, text))
    return problems
