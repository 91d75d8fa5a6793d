"""The catalogs keep up with the code: every text the covered files show is marked, every marked
text is in every catalog and translated, and every translation names the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from core.gate.rules import REASON_LABELS
from core.platform import i18n
from tests.pages.i18n_scan import unmarked
from ui.domain_labels import CORE_LABELS

ROOT = Path(__file__).resolve().parents[2]
# Files whose every user-facing string is marked (issue 18).
COVERED = (
    "app.py", "ui/auth.py", "ui/sign_in_routes.py", "ui/page_map.py", "ui/components.py", "ui/forms.py",
    "ui/actions.py", "ui/safe.py", "pages/account.py", "pages/admin.py", "pages/audit.py", "pages/health.py",
    "pages/moderation.py", "pages/presets.py", "pages/providers.py", "pages/references.py",
    "pages/write.py", "ui/writing.py", "ui/params.py", "ui/session_picker.py",
    "pages/thresholds.py", "ui/thresholds.py", "ui/rescore.py", "pages/dashboard.py", "ui/charts.py", "ui/maintenance.py",
    "pages/review.py", "ui/review.py", "ui/second_review.py", "ui/rubric.py", "ui/agreement.py",
)
# Not covered yet (other work was changing them while the rest was marked): add each to COVERED once marked.
NOT_COVERED: tuple[str, ...] = ()
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


def catalog(language: str):
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=language)


def extracted_ids() -> set[str | tuple[str, str]]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        found.add(message if isinstance(message, str) else tuple(message[:2]))
    return found


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


@pytest.mark.parametrize("path", COVERED)
def test_every_user_facing_string_of_a_covered_file_is_marked(path):
    assert unmarked(ROOT / path, ROOT) == []


def test_the_covered_and_not_yet_covered_files_are_every_page_and_ui_module():
    pages_and_ui = {str(p.relative_to(ROOT)) for p in [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")]}
    helpers = {"ui/__init__.py", "ui/i18n.py", "ui/domain_labels.py", "ui/resources.py"}
    assert pages_and_ui - helpers == (set(COVERED) | set(NOT_COVERED)) - {"app.py"}


def test_the_scan_finds_an_unmarked_label(tmp_path):
    (tmp_path / "page.py").write_text('import streamlit as st\nst.button("Save now")\nst.title(_("Fine"))\n'
                                      'st.caption(f"Signed in as {name}")\n', encoding="utf-8")
    assert [u.text for u in unmarked(tmp_path / "page.py", tmp_path)] == ["Save now", "Signed in as"]


@pytest.mark.parametrize("language", [lang for lang in i18n.languages() if lang != i18n.SOURCE_LANGUAGE])
def test_every_marked_text_is_in_the_catalog_and_translated(language):
    entries = {m.id: m for m in catalog(language) if m.id}
    missing = sorted(map(str, extracted_ids() - set(entries)))
    assert missing == [], "run scripts/i18n.sh update, then translate"
    untranslated = sorted(str(m.id) for m in entries.values()
                          if not (m.string if isinstance(m.string, str) else all(m.string)) or m.fuzzy)
    assert untranslated == []


@pytest.mark.parametrize("language", i18n.languages())
def test_every_translation_names_the_placeholders_of_its_message(language):
    mismatched = []
    for message in catalog(language):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set().union(*(placeholders(text) for text in ids))
        for text in strings:
            if text and placeholders(text) != wanted and not (isinstance(message.id, tuple) and placeholders(text) <= wanted):
                mismatched.append((message.id, text))
    assert mismatched == []


def test_every_catalog_compiles_and_has_its_plural_rule():
    i18n.compile_catalogs()
    for language in i18n.languages():
        assert catalog(language).plural_forms.startswith("nplurals=")


def test_the_labels_of_core_tables_are_in_the_catalogs():
    from core.scoring.checks import CHECK_LABELS

    checks = {f"check: {label}" for name, label in CHECK_LABELS.items() if name != "empty"}
    assert set(REASON_LABELS.values()) - checks <= set(CORE_LABELS)
    assert set(CHECK_LABELS.values()) - {"empty"} <= set(CORE_LABELS)
