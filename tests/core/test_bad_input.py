"""Bad input x every entry point where text enters core: a clear InvalidInputError, nothing written.

Each bad value (a NUL, a lone surrogate, a control character, one character too many) goes
through each core function a page, the CLI or the HTTP API calls with typed or uploaded text.
Before core checked them, PostgreSQL refused NUL and over-long names with a raw DataError,
both databases failed on a lone surrogate with a UnicodeEncodeError, and SQLite stored the
rest. tests/services/postgres/test_bad_input_pg.py runs this module on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

from core.gate.policies import PolicySpec
from core.gate.route import apply_policy
from core.llm.registry import add_provider, update_provider
from core.llm.types import GenerationParams
from core.platform import constants
from core.platform.config import Settings
from core.platform.errors import InvalidInputError
from core.platform.models import (
    Preset,
    Project,
    Provider,
    Reference,
    ReviewItem,
    SensitiveWord,
    User,
    WritingSession,
)
from core.review.claims import claim
from core.review.comments import add_comment
from core.review.decisions import decide
from core.writing.moderation import add_words, import_words, parse_word_file
from core.writing.presets import add_preset, import_presets, parse_preset_csv, update_preset
from core.writing.projects import (
    add_reference,
    create_project,
    import_references,
    parse_reference_file,
    update_reference,
)
from core.writing.sessions import MAX_TITLE_LENGTH, create_session, rename_session, save_params
from core.writing.turns import MAX_INSTRUCTION_CHARS, TurnRequest, prepare_turn
from tests.utils.factories import make_finished_draft, make_project
from tests.utils.mock_llm import PROVIDER

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


@dataclass
class World:
    """One of everything an entry point needs, made before the snapshot is taken."""

    db: object
    settings: Settings
    editor: object
    reviewer: object
    admin: object
    writer: object
    project: Project
    reference: Reference
    preset: Preset
    item: ReviewItem
    writing_session: WritingSession


def quick_user(db, role: str) -> User:
    """A user who never signs in (no password hash to compute: this fixture runs for every case)."""
    user = User(username=role, password_hash="-", role=role)
    db.add(user)
    db.commit()
    return user


@pytest.fixture
def world(db) -> World:
    editor, reviewer, writer, admin = (quick_user(db, role) for role in ("editor", "reviewer", "writer", "admin"))
    project = make_project(db, "Sample", references=("The quick brown fox jumps over the lazy dog.",))
    reference = db.exec(select(Reference)).one()
    preset = add_preset(session=db, project_id=project.id, instruction="Opening hours?", answer="Nine to five.",
                        actor_id=editor.id)
    draft = make_finished_draft(db, writer, project, "Completely unrelated words here.")
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    item = claim(session=db, item_id=item.id, reviewer=reviewer)
    app_settings = Settings()
    add_provider(session=db, settings=app_settings, name="openai", base_url="https://api.openai.com/v1",
                 model="gpt-4o-mini", actor_id=admin.id)
    writing_session = create_session(session=db, owner=writer, project_id=project.id, title="Mine")
    return World(db, app_settings, editor, reviewer, admin, writer, project, reference, preset, item, writing_session)


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, read on a connection of its own."""
    with engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(table.select()).all()), key=repr)
            for table in SQLModel.metadata.sorted_tables
        }


def csv_file(*rows: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def jsonl_file(*records: dict) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()  # \ud800, \u0000 as escapes


@dataclass(frozen=True)
class EntryPoint:
    name: str
    limit: int
    what: str  # how the message names the field
    enter: Callable[[World, str], object]
    line: int | None = None  # imports: the line of the file holding the bad value
    utf8_file: bool = False  # the value travels as UTF-8 bytes (no lone surrogate can)


E = EntryPoint
ENTRY_POINTS = [
    E("project name", constants.PROJECT_NAME_MAX_CHARS, "project name",
      lambda w, v: create_project(session=w.db, name=v, actor_id=w.editor.id)),
    E("project description", constants.PROJECT_DESCRIPTION_MAX_CHARS, "project description",
      lambda w, v: create_project(session=w.db, name="Other", description=v, actor_id=w.editor.id)),
    E("reference add", constants.REFERENCE_MAX_CHARS, "reference text",
      lambda w, v: add_reference(session=w.db, project_id=w.project.id, text=v, actor_id=w.editor.id)),
    E("reference edit", constants.REFERENCE_MAX_CHARS, "reference text",
      lambda w, v: update_reference(session=w.db, reference_id=w.reference.id, text=v, actor_id=w.editor.id)),
    E("reference import csv", constants.REFERENCE_MAX_CHARS, "reference text",
      lambda w, v: import_references(session=w.db, project_id=w.project.id, filename="r.csv",
                                     content=csv_file(["text"], ["fine"], [v]), actor_id=w.editor.id),
      line=3, utf8_file=True),
    E("reference import jsonl", constants.REFERENCE_MAX_CHARS, "reference text",
      lambda w, v: import_references(session=w.db, project_id=w.project.id, filename="r.jsonl",
                                     content=jsonl_file({"text": "fine"}, {"text": v}), actor_id=w.editor.id),
      line=2),
    E("preset instruction", constants.PRESET_INSTRUCTION_MAX_CHARS, "instruction",
      lambda w, v: add_preset(session=w.db, project_id=w.project.id, instruction=v, answer="A.", actor_id=w.editor.id)),
    E("preset answer", constants.PRESET_ANSWER_MAX_CHARS, "answer",
      lambda w, v: add_preset(session=w.db, project_id=w.project.id, instruction="Q?", answer=v, actor_id=w.editor.id)),
    E("preset edit", constants.PRESET_ANSWER_MAX_CHARS, "answer",
      lambda w, v: update_preset(session=w.db, preset_id=w.preset.id, answer=v, actor_id=w.editor.id)),
    E("preset import instruction", constants.PRESET_INSTRUCTION_MAX_CHARS, "instruction",
      lambda w, v: import_presets(session=w.db, project_id=w.project.id, filename="p.csv",
                                  content=csv_file(["instruction", "answer"], ["Q1", "A1"], [v, "A2"]),
                                  actor_id=w.editor.id),
      line=3, utf8_file=True),
    E("preset import answer", constants.PRESET_ANSWER_MAX_CHARS, "answer",
      lambda w, v: import_presets(session=w.db, project_id=w.project.id, filename="p.csv",
                                  content=csv_file(["instruction", "answer"], ["Q1", "A1"], ["Q2", v]),
                                  actor_id=w.editor.id),
      line=3, utf8_file=True),
    E("sensitive word add", constants.SENSITIVE_WORD_MAX_CHARS, "sensitive word",
      lambda w, v: add_words(session=w.db, words=["fine", v], actor_id=w.admin.id)),
    E("sensitive word import txt", constants.SENSITIVE_WORD_MAX_CHARS, "sensitive word",
      lambda w, v: import_words(session=w.db, filename="w.txt", content=f"# list\nfine\n{v}\n".encode(),
                                actor_id=w.admin.id),
      line=3, utf8_file=True),
    E("sensitive word import csv", constants.SENSITIVE_WORD_MAX_CHARS, "sensitive word",
      lambda w, v: import_words(session=w.db, filename="w.csv", content=csv_file(["word"], ["fine"], [v]),
                                actor_id=w.admin.id),
      line=3, utf8_file=True),
    E("review reason", constants.REVIEW_REASON_MAX_CHARS, "reason",
      lambda w, v: decide(session=w.db, item_id=w.item.id, reviewer=w.reviewer, verdict="rejected", reason=v,
                          expected_version=w.item.version)),
    E("review edited text", constants.EDITED_TEXT_MAX_CHARS, "edited text",
      lambda w, v: decide(session=w.db, item_id=w.item.id, reviewer=w.reviewer, verdict="approved", edited_text=v,
                          expected_version=w.item.version)),
    E("review comment", constants.COMMENT_MAX_CHARS, "comment",
      lambda w, v: add_comment(session=w.db, draft_id=w.item.draft_id, author=w.reviewer, body=v)),
    E("provider name", constants.PROVIDER_NAME_MAX_CHARS, "provider name",
      lambda w, v: add_provider(session=w.db, settings=w.settings, name=v, base_url="https://x.example/v1",
                                model="m", actor_id=w.admin.id)),
    E("provider base url", constants.PROVIDER_BASE_URL_MAX_CHARS, "base URL",
      lambda w, v: add_provider(session=w.db, settings=w.settings, name="other", base_url=v, model="m",
                                actor_id=w.admin.id)),
    E("provider model", constants.PROVIDER_MODEL_MAX_CHARS, "model name",
      lambda w, v: add_provider(session=w.db, settings=w.settings, name="other", base_url="https://x.example/v1",
                                model=v, actor_id=w.admin.id)),
    E("provider edit model", constants.PROVIDER_MODEL_MAX_CHARS, "model name",
      lambda w, v: update_provider(session=w.db, settings=w.settings, name="openai", model=v, actor_id=w.admin.id)),
    E("provider default stop", constants.STOP_SEQUENCE_MAX_CHARS, "stop sequence",
      lambda w, v: add_provider(session=w.db, settings=w.settings, name="other", base_url="https://x.example/v1",
                                model="m", default_params={"stop": [v]}, actor_id=w.admin.id)),
    E("session title", MAX_TITLE_LENGTH, "session title",
      lambda w, v: create_session(session=w.db, owner=w.writer, project_id=w.project.id, title=v)),
    E("session rename", MAX_TITLE_LENGTH, "session title",
      lambda w, v: rename_session(session=w.db, user=w.writer, public_id=w.writing_session.public_id, title=v)),
    E("session stop", constants.STOP_SEQUENCE_MAX_CHARS, "stop sequence",
      lambda w, v: save_params(session=w.db, user=w.writer, public_id=w.writing_session.public_id,
                               params=GenerationParams(stop=(v,)))),
    E("turn instruction", MAX_INSTRUCTION_CHARS, "instruction",
      lambda w, v: prepare_turn(
          session=w.db, user=w.writer,
          request=TurnRequest(
              public_id=w.writing_session.public_id, instruction=v, params=GenerationParams(max_tokens=8),
          ),
          provider=PROVIDER,
      )),
    E("threshold note", constants.POLICY_NOTE_MAX_CHARS, "note",
      lambda w, v: apply_policy(session=w.db, project_id=w.project.id, spec=PolicySpec({"chrf": 30.0}),
                                author_id=w.editor.id, note=v)),
]

BAD_VALUES = {
    "nul": (lambda limit: "bad\x00word", "contains a NUL character"),
    "lone surrogate": (lambda limit: "bad\ud800word", "lone UTF-16 surrogate"),
    "control character": (lambda limit: "bad\x1bword", "control characters (the first, U+001B, is character 4)"),
    "one too many": (lambda limit: "x" * (limit + 1), "too long"),
}


@pytest.mark.parametrize("bad", list(BAD_VALUES))
@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda e: e.name)
def test_bad_text_is_refused_clearly_and_nothing_is_written(engine, world, entry, bad):
    make_value, problem = BAD_VALUES[bad]
    if bad == "lone surrogate" and entry.utf8_file:
        pytest.skip("UTF-8 has no form for a lone surrogate (see test_a_file_that_is_not_utf8_is_refused)")
    before = snapshot(engine)
    with pytest.raises(InvalidInputError) as raised:
        entry.enter(world, make_value(entry.limit))
    message = str(raised.value)
    assert problem in message
    assert entry.what.lower() in message.lower()
    if bad == "one too many":
        assert f"at most {entry.limit:,}" in message
    if entry.line is not None:
        assert message.startswith(f"On line {entry.line}: ")
    assert_nothing_written(engine, world, before)


def assert_nothing_written(engine: Engine, world: World, before: dict) -> None:
    """Nothing in the database changed, and nothing waits in the session to be written."""
    session = world.db
    assert not (session.new or session.dirty or session.deleted), (session.new, session.dirty, session.deleted)
    session.rollback()
    assert snapshot(engine) == before


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda e: e.name)
def test_the_longest_text_allowed_is_stored(engine, world, entry):
    """The limits are real: a value of exactly the limit is taken, on both databases."""
    value = "x" * entry.limit
    if entry.name == "provider base url":
        value = "https://x.example/" + "v" * (entry.limit - len("https://x.example/"))
    if entry.name == "provider name":
        value = "p" * entry.limit
    entry.enter(world, value)


def test_the_limits_match_the_columns():
    """A limit of a column with a length is that length (else PostgreSQL refuses what SQLite stores)."""
    def length(model, column: str) -> int:
        return inspect(model).columns[column].type.length

    assert length(Project, "name") == constants.PROJECT_NAME_MAX_CHARS
    assert length(Provider, "name") == constants.PROVIDER_NAME_MAX_CHARS
    assert length(Provider, "base_url") == constants.PROVIDER_BASE_URL_MAX_CHARS
    assert length(Provider, "model") == constants.PROVIDER_MODEL_MAX_CHARS
    assert length(WritingSession, "title") == MAX_TITLE_LENGTH
    assert length(Preset, "normalized") == constants.PRESET_KEY_MAX_CHARS
    assert length(SensitiveWord, "word") >= constants.SENSITIVE_WORD_MAX_CHARS
    assert length(SensitiveWord, "folded") >= constants.SENSITIVE_WORD_MAX_CHARS


# -- imports: one reader for every CSV, JSON lines, line numbers --------------------------------

CSV_IMPORTS = {
    "references": (lambda w, content: import_references(session=w.db, project_id=w.project.id, filename="r.csv",
                                                        content=content, actor_id=w.editor.id), ["text"]),
    "presets": (lambda w, content: import_presets(session=w.db, project_id=w.project.id, filename="p.csv",
                                                  content=content, actor_id=w.editor.id), ["instruction", "answer"]),
    "sensitive words": (lambda w, content: import_words(session=w.db, filename="w.csv", content=content,
                                                        actor_id=w.admin.id), ["word"]),
}


def _row(columns: list[str], cell: str) -> str:
    """A CSV line putting `cell` (raw CSV text) in the first column and plain values in the others."""
    return ",".join([cell] + [f"v{i}" for i in range(1, len(columns))])


MALFORMED_CSV = {  # each names line 3 of its file
    # a quote never closed: a lax reader takes the rest of the file as one cell and imports one merged row
    "unterminated quote": (lambda c: f"{','.join(c)}\n{_row(c, 'fine')}\n{_row(c, chr(34) + 'unterminated quote')}\nfoo\n",
                           "a quoted cell is never closed"),
    "unterminated quote at the very end": (lambda c: f"{','.join(c)}\n{_row(c, 'fine')}\n\"unterminated",
                                           "a quoted cell is never closed"),
    "text after a closing quote": (lambda c: f"{','.join(c)}\n{_row(c, 'fine')}\n{_row(c, chr(34) + 'a' + chr(34) + 'b')}\n",
                                   "a quoted cell must end at a comma or at the end of the line"),
    "more cells than columns": (lambda c: f"{','.join(c)}\n{_row(c, 'fine')}\n{_row(c, 'Hello')}, world\n",
                                "cells, but the header has"),
    "a cell over 128 KB": (lambda c: f"{','.join(c)}\n{_row(c, 'fine')}\n{_row(c, 'x' * 140_000)}\n", "is too long: 140,000"),
}


@pytest.mark.parametrize("malformed", list(MALFORMED_CSV))
@pytest.mark.parametrize("kind", list(CSV_IMPORTS))
def test_a_malformed_csv_is_refused_with_its_line_and_nothing_is_imported(engine, world, kind, malformed):
    enter, columns = CSV_IMPORTS[kind]
    make_text, problem = MALFORMED_CSV[malformed]
    before = snapshot(engine)
    with pytest.raises(InvalidInputError) as raised:
        enter(world, make_text(columns).encode())
    message = str(raised.value)
    assert message.startswith("On line 3: ") and problem in message, message[:200]
    assert_nothing_written(engine, world, before)


def test_the_example_of_the_issue_is_refused(world):
    with pytest.raises(InvalidInputError, match=re.escape("On line 2: a quoted cell is never closed")):
        import_references(session=world.db, project_id=world.project.id, filename="r.csv",
                          content=b'text\n"unterminated quote,\nfoo', actor_id=world.editor.id)


def test_a_cell_over_128_kb_names_its_line_and_the_limit(world):
    content = csv_file(["text"], ["fine"], ["x" * 140_000])
    with pytest.raises(InvalidInputError) as raised:
        import_references(session=world.db, project_id=world.project.id, filename="r.csv", content=content,
                          actor_id=world.editor.id)
    assert str(raised.value) == (
        f"On line 3: The reference text is too long: 140,000 characters (at most {constants.REFERENCE_MAX_CHARS:,})."
    )


def test_well_formed_csv_still_imports_quotes_commas_newlines_and_blank_lines(world):
    content = 'text\r\n"He said ""hi"", then left"\r\n\r\n"two\nlines, one cell"\r\nplain,\r\n'.encode("utf-8-sig")
    references = import_references(session=world.db, project_id=world.project.id, filename="r.csv", content=content,
                                   actor_id=world.editor.id)
    assert [r.text for r in references] == ['He said "hi", then left', "two\nlines, one cell", "plain"]


def test_a_line_number_counts_the_lines_of_a_multi_line_cell(world):
    content = b'text\n"one\ntwo\nthree"\n""\n'
    with pytest.raises(InvalidInputError, match=re.escape("On line 5: The reference text is empty.")):
        import_references(session=world.db, project_id=world.project.id, filename="r.csv", content=content,
                          actor_id=world.editor.id)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "\\ud800"}', "On line 2: The reference text contains a broken character (a lone UTF-16 surrogate)."),
        ('{"text": "a\\u0000b"}', "On line 2: The reference text contains a NUL character, which cannot be stored."),
        ('{"other": "x"}', "On line 2: The reference text is missing."),
        ('{"text": 7}', "On line 2: The reference text must be text."),
        ('{"text": "x", "n": ' + "9" * 5000 + "}", "Line 2 is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "Line 2 is not valid JSON"),
        ('"just a string"', "Line 2 is not a JSON object."),
    ],
    ids=["lone surrogate", "NUL", "no text", "a number", "a huge number", "deep nesting", "not an object"],
)
def test_a_bad_json_line_is_refused_with_its_line_and_nothing_is_imported(engine, world, line, message):
    before = snapshot(engine)
    with pytest.raises(InvalidInputError) as raised:
        import_references(session=world.db, project_id=world.project.id, filename="r.jsonl",
                          content=f'{{"text": "fine"}}\n{line}\n{{"text": "after"}}\n'.encode(), actor_id=world.editor.id)
    assert str(raised.value).startswith(message)
    assert_nothing_written(engine, world, before)


def test_json_lines_end_only_at_line_breaks(world):
    """U+2028 and U+2029 are text inside a JSON string, not line ends (str.splitlines would split there)."""
    content = '{"text": "a\u2028b\u2029c"}\n\n{"text": "二"}\r\n'.encode()
    references = import_references(session=world.db, project_id=world.project.id, filename="r.jsonl",
                                   content=content, actor_id=world.editor.id)
    assert [r.text for r in references] == ["a\u2028b\u2029c", "二"]


def test_a_file_that_is_not_utf8_is_refused(world):
    surrogate_in_utf8 = b"text\n\xed\xa0\x80\n"  # what a lone surrogate would be, were UTF-8 to allow it
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        import_references(session=world.db, project_id=world.project.id, filename="r.csv", content=surrogate_in_utf8,
                          actor_id=world.editor.id)


def test_a_provider_name_that_cannot_exist_is_not_found(world):
    from core.llm.registry import get_provider, remove_provider
    from core.platform.errors import NotFoundError

    for name in ("bad\x00name", "bad\udcffname", "x" * 300):
        with pytest.raises(NotFoundError, match="There is no provider named"):
            get_provider(session=world.db, settings=world.settings, name=name)
        with pytest.raises(NotFoundError):
            remove_provider(session=world.db, name=name, actor_id=world.admin.id)


def test_the_command_line_refuses_bytes_that_are_not_utf8_in_one_line(capsys):
    from core.cli import main

    broken = "hi\udcff"  # how Python hands on a command-line byte that is not UTF-8
    assert main(["generate", "--prompt", broken, "--base-url", "http://127.0.0.1:9/v1", "--model", "x"]) == 1
    assert capsys.readouterr().err == "error: The prompt contains a broken character (a lone UTF-16 surrogate).\n"
    assert main(["provider", "add", "--name", "p", "--base-url", "https://x.example/v1", "--model", broken]) == 1
    assert capsys.readouterr().err == "error: The model name contains a broken character (a lone UTF-16 surrogate).\n"
    assert main(["provider", "remove", broken]) == 1
    assert capsys.readouterr().err == "error: There is no provider named 'hi\\udcff'.\n"


@pytest.mark.parametrize("public_id", ["bad\x00id", "bad\ud800id", "x" * 300, ""], ids=["NUL", "lone surrogate", "long", "empty"])
def test_a_session_id_that_cannot_exist_is_not_found(world, public_id):
    """A session ID comes from the URL (?session=...) or, later, the API."""
    from core.platform.errors import NotFoundError
    from core.writing.sessions import get_session

    with pytest.raises(NotFoundError, match="No writing session with this ID"):
        get_session(session=world.db, user=world.writer, public_id=public_id)


def test_a_draft_that_cannot_become_a_reference_leaves_no_trace(engine, world):
    """A model's text may hold what a typed reference may not (here an escape character)."""
    from core.review.decisions import promote_to_reference

    draft = make_finished_draft(world.db, world.writer, world.project, "Colours: \x1b[31mred\x1b[0m.")
    item = world.db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    item = claim(session=world.db, item_id=item.id, reviewer=world.editor)
    decide(session=world.db, item_id=item.id, reviewer=world.editor, verdict="approved", expected_version=item.version)
    before = snapshot(engine)
    with pytest.raises(InvalidInputError, match=re.escape("The reference text contains control characters")):
        promote_to_reference(session=world.db, item_id=item.id, actor=world.editor)
    assert_nothing_written(engine, world, before)


# -- any file at all: a clear refusal or texts fit to store -------------------------------------

CSV_PIECES = st.sampled_from(['"', '""', ",", "\n", "\r\n", "\r", " ", "text", "word", "instruction", "answer",
                              "x", "中文", "\x00", "\x1b", "\u2028", "\ufeff", "{", "}", ":", "\\ud800", "\\u0000"])
FILES = st.one_of(
    st.binary(max_size=300),
    st.lists(CSV_PIECES, max_size=40).map(lambda pieces: "".join(pieces).encode()),
    st.lists(CSV_PIECES, max_size=40).map(lambda pieces: ("instruction,answer\n" + "".join(pieces)).encode()),
    st.lists(CSV_PIECES, max_size=40).map(lambda pieces: ('{"text": "' + "".join(pieces) + '"}\n').encode()),
)
PARSERS = [
    (parse_reference_file, ("r.csv", "r.jsonl")),
    (parse_preset_csv, ("p.csv",)),
    (parse_word_file, ("w.csv", "w.txt")),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=FILES)
def test_any_file_is_refused_clearly_or_gives_texts_fit_to_store(content):
    for parse, filenames in PARSERS:
        for filename in filenames:
            try:
                parsed = parse(filename, content)
            except InvalidInputError as err:
                assert str(err)
                continue
            for row in parsed:
                for text in (row if isinstance(row, tuple) else (row,)):
                    if isinstance(text, str):
                        text.encode("utf-8")  # no lone surrogate
                        assert "\x00" not in text and text == text.strip() and text
