"""Sensitive words: an admin-managed list, a multi-pattern scan of every draft, masking while streaming.

    matcher = active_matcher(session=db)      # an Aho-Corasick automaton of the current list (cached)
    matcher.scan(text) -> [Hit(start, end, word)]   positions in `text`, for highlighting
    matcher.mask(text) -> text with every hit masked (＊ for a full-width character, * otherwise)
    masker = matcher.masker(); masker.feed(delta) -> safe text; masker.flush() -> the rest

Matching is on a folded copy of the text with the same length: each character through NFKC
and casefold when that gives one character (so "ＢＡＤ", "Bad" and "bad" match "bad"; Chinese
is compared as written). A word that begins or ends with a Latin letter or digit matches only
at a word boundary there ("ass" is not found in "class"); CJK words match anywhere.

Streaming: the masker holds back the last (longest word - 1) characters, so a word split
across deltas is still caught before any of it is shown; one more when a word ends in a Latin
letter or digit, so the character after it (is it a whole word?) is known before any of it
is shown. What the stream shows, joined, is exactly mask(text). The stored draft keeps the
original text.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import ahocorasick
from sqlmodel import Session, col, select

from core.access.actors import Actor, require_actor
from core.platform import audit, constants
from core.platform.errors import ConflictError, InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import SensitiveWord
from core.platform.text import check_text
from core.platform.uploads import csv_records, decode_upload, on_line, text_lines


@dataclass(frozen=True)
class Hit:
    start: int
    end: int  # exclusive
    word: str  # as listed


def fold_char(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char).casefold()
    if len(folded) == 1:
        return folded
    lowered = char.casefold()
    return lowered if len(lowered) == 1 else char


def fold(text: str) -> str:
    """`text` folded character by character: same length, same positions."""
    return "".join(fold_char(char) for char in text)


def clean_word(word: object) -> str:
    """The word with its spaces folded to one, or InvalidInputError."""
    if isinstance(word, str):
        word = " ".join(word.split())
    return check_text(word, what="A sensitive word", max_chars=constants.SENSITIVE_WORD_MAX_CHARS, required=True)


def _is_latin_alnum(char: str) -> bool:
    return (char.isascii() and char.isalnum()) or (char.isalpha() and unicodedata.name(char, "").startswith("LATIN"))


class Matcher:
    """An Aho-Corasick automaton over the folded words; empty when the list is empty."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words: tuple[str, ...] = tuple(dict.fromkeys(w for w in words if w))
        self.max_length = max((len(fold(w)) for w in self.words), default=0)
        self.needs_lookahead = any(_is_latin_alnum(fold(w)[-1]) for w in self.words)  # see StreamMasker
        self._automaton = ahocorasick.Automaton()
        for word in self.words:
            folded = fold(word)
            edges = (_is_latin_alnum(folded[0]), _is_latin_alnum(folded[-1]))
            self._automaton.add_word(folded, (len(folded), word, edges))
        if self.words:
            self._automaton.make_automaton()

    def __bool__(self) -> bool:
        return bool(self.words)

    def scan(self, text: str, *, start: int = 0, folded: str | None = None) -> list[Hit]:
        """Every occurrence of a listed word in text[start:], in order (overlaps included)."""
        if not self.words or start >= len(text):
            return []
        folded = fold(text) if folded is None else folded
        hits = []
        for last, (length, word, (left_edge, right_edge)) in self._automaton.iter(folded, start):
            begin, end = last + 1 - length, last + 1
            if left_edge and begin > 0 and _is_latin_alnum(folded[begin - 1]):
                continue
            if right_edge and end < len(folded) and _is_latin_alnum(folded[end]):
                continue
            hits.append(Hit(begin, end, word))
        return sorted(hits, key=lambda h: (h.start, h.end))

    def found(self, text: str) -> tuple[str, ...]:
        """The listed words found in `text`, each once, in order of first appearance."""
        return tuple(dict.fromkeys(hit.word for hit in self.scan(text)))

    def mask(self, text: str) -> str:
        flags = [False] * len(text)
        for hit in self.scan(text):
            flags[hit.start:hit.end] = [True] * (hit.end - hit.start)
        return _masked(text, flags)

    def masker(self) -> StreamMasker:
        return StreamMasker(self)

    def mask_stream(self, deltas: Iterable[str]) -> Iterator[str]:
        """The deltas, masked; a listed word is never shown, even split across deltas."""
        masker = self.masker()
        for delta in deltas:
            safe = masker.feed(delta)
            if safe:
                yield safe
        rest = masker.flush()
        if rest:
            yield rest


class StreamMasker:
    """Masks a text that arrives in pieces (see the module docstring)."""

    def __init__(self, matcher: Matcher) -> None:
        self._matcher = matcher
        self._hold = max(matcher.max_length - 1 + matcher.needs_lookahead, 0)
        self.text = ""  # everything received, unmasked
        self._folded = ""
        self._flags: list[bool] = []
        self._emitted = 0

    def feed(self, delta: str) -> str:
        """Take a delta; return the text now safe to show (maybe empty)."""
        if not self._matcher:
            self.text += delta
            self._emitted = len(self.text)
            return delta
        self.text += delta
        self._folded += fold(delta)
        self._flags.extend([False] * len(delta))
        self._rescan()
        return self._emit(len(self.text) - self._hold)

    def flush(self) -> str:
        """The text held back so far (call once the stream has ended)."""
        return self._emit(len(self.text))

    def _rescan(self) -> None:
        pending = self._emitted
        self._flags[pending:] = [False] * (len(self._flags) - pending)
        for hit in self._matcher.scan(self.text, start=max(0, pending - self._hold), folded=self._folded):
            if hit.end > pending:
                self._flags[hit.start:hit.end] = [True] * (hit.end - hit.start)

    def _emit(self, upto: int) -> str:
        if upto <= self._emitted:
            return ""
        if not self._matcher:
            return ""
        out = _masked(self.text[self._emitted:upto], self._flags[self._emitted:upto])
        self._emitted = upto
        return out


def _masked(text: str, flags: list[bool]) -> str:
    return "".join(
        (constants.MASK_WIDE if unicodedata.east_asian_width(char) in "WF" else constants.MASK_NARROW)
        if flag and not char.isspace() else char
        for char, flag in zip(text, flags)
    )


# -- the list in the database ---------------------------------------------------------------

_cache_lock = threading.Lock()
_cache: dict[tuple[str, ...], Matcher] = {}


def active_matcher(*, session: Session) -> Matcher:
    """A matcher of the current list (the automaton is rebuilt only when the list changed)."""
    words = tuple(session.connection().execute(_WORDS).scalars())
    with _cache_lock:
        matcher = _cache.get(words)
        if matcher is None:
            if len(_cache) >= 8:
                _cache.clear()
            matcher = _cache[words] = Matcher(words)
    return matcher


_WORDS = select(SensitiveWord.word).order_by(col(SensitiveWord.id))


def list_words(*, session: Session) -> list[SensitiveWord]:
    return list(session.exec(select(SensitiveWord).order_by(col(SensitiveWord.word))))


def add_words(*, session: Session, words: Iterable[str], actor_id: Actor, source: str = "manual") -> int:
    """Add words not listed yet (compared folded); return how many were added."""
    require_actor(session, actor_id, "moderation")
    existing = set(session.exec(select(SensitiveWord.folded)))
    added = []
    for raw in words:
        word = clean_word(raw)
        folded = fold(word)
        if folded in existing:
            continue
        existing.add(folded)
        added.append(SensitiveWord(word=word, folded=folded))
    session.add_all(added)
    audit.record(session, actor_id=actor_id, action="moderation.add", target="sensitive-words",
                 count=len(added), source=source)
    session.commit()
    return len(added)


def add_word(*, session: Session, word: str, actor_id: Actor) -> SensitiveWord:
    word = clean_word(word)
    if session.exec(select(SensitiveWord).where(SensitiveWord.folded == fold(word))).first():
        raise ConflictError(Message(N_('{word!r} is listed already.'), word=word))
    add_words(session=session, words=[word], actor_id=actor_id)
    return session.exec(select(SensitiveWord).where(SensitiveWord.folded == fold(word))).one()


def delete_words(*, session: Session, word_ids: Iterable[int], actor_id: Actor) -> int:
    require_actor(session, actor_id, "moderation")
    removed = 0
    for word_id in word_ids:
        word = session.get(SensitiveWord, word_id)
        if word is None:
            raise NotFoundError("No such sensitive word.")
        session.delete(word)
        removed += 1
    audit.record(session, actor_id=actor_id, action="moderation.delete", target="sensitive-words", count=removed)
    session.commit()
    return removed


def import_words(*, session: Session, filename: str, content: bytes, actor_id: Actor) -> int:
    """Import a .txt file (one word per line; lines starting with # are comments) or a .csv
    file (a `word` column). Returns how many new words were added."""
    return add_words(session=session, words=parse_word_file(filename, content), actor_id=actor_id, source=filename)


def parse_word_file(filename: str, content: bytes) -> list[str]:
    """The file's words, or InvalidInputError naming the line of the first bad one."""
    decoded = decode_upload(content)
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        records = csv_records(decoded, columns=("word",),
                              header_hint="The CSV file needs a header row with a 'word' column.")
        entries = [(record.line, str(record.values["word"])) for record in records]
    elif lowered.endswith(".txt"):
        entries = [(line, text) for line, text in text_lines(decoded) if not text.strip().startswith("#")]
    else:
        raise InvalidInputError("Import a .txt file (one word per line) or a .csv file (with a 'word' column).")
    entries = [(line, word) for line, word in entries if word.strip()]
    if not entries:
        raise InvalidInputError("The file holds no words.")
    words = []
    for line, word in entries:
        with on_line(line):
            words.append(clean_word(word))
    return words
