"""The interface's languages: gettext catalogs managed with Babel, one per language.

    locale/<lang>/LC_MESSAGES/draftgate.po   the catalogs (source: pybabel extract, see README)
    compile_catalogs()          .mo written where missing or older than its .po (at start, in tests)
    languages()                 ("en", "zh_CN", ...): every catalog in locale/, English first
    negotiate(["zh-CN", "en"])  the best language we have for a browser's or a header's wishes
    accept_language(header)     an Accept-Language header's tags, best first (the API's error.message)
    environment_language()      the command line's: DRAFTGATE_LANGUAGE, else LC_ALL / LC_MESSAGES / LANG
    translations("zh_CN")       .gettext / .ngettext of that language (English: the msgids themselves)
    N_("text {name}")           marks a msgid for extraction, translated later (errors, tables)
    Message(msgid, **params)    a msgid with its parameters: str() is English, .render(t) translated
                                (a parameter that is a Message is rendered in the same language)
    PluralMessage(one, many, n, **params)   the same, its wording following n (ngettext)
    message.to_json() / Message.from_json(data)   a Message as JSON, to store it and render it later
    format_datetime / format_time / format_number / format_percent   as the locale writes them (Babel)

English is the source language: a msgid is the English text, so a missing translation shows English.
Adding a language is adding its catalog (pybabel init -l <lang>), translating it, and nothing else.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "draftgate"
SOURCE_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"


class Translator(Protocol):
    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for "mark, translate later")
    return message


class Message:
    """A message id and its parameters, rendered in any language; str() is the English text.
    Parameters are JSON scalars or Messages (rendered in the language of the one holding them)."""

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid, self.params = msgid, params

    def template(self, t: Translator) -> str:
        return t.gettext(self.msgid)

    def render(self, t: Translator) -> str:
        return _fill(self.template(t), {key: value.render(t) if isinstance(value, Message) else value
                                        for key, value in self.params.items()})

    def to_json(self) -> dict[str, Any]:
        """{"msgid": ..., "params": {...}} (a PluralMessage adds "plural" and "n"); a Message
        parameter is such an object too. TypeError for a parameter JSON cannot hold."""
        return {"msgid": self.msgid, "params": _params_json(self.params)}

    @staticmethod
    def from_json(data: Any) -> Message:
        """The Message (or PluralMessage) of `to_json`; ValueError when `data` is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("msgid"), str) \
                or not isinstance(data.get("params", {}), dict):
            raise ValueError(f"Not a stored message: {data!r:.80}")
        msgid, plural, n = data["msgid"], data.get("plural"), data.get("n")
        params = {key: Message.from_json(value) if isinstance(value, dict) else value
                  for key, value in data.get("params", {}).items()}
        if plural is None:
            return Message(msgid, **params)
        if not isinstance(plural, str) or not isinstance(n, int) or isinstance(n, bool) or "n" in params:
            raise ValueError(f"Not a stored plural message: {data!r:.80}")
        return PluralMessage(msgid, plural, n, **params)

    def __str__(self) -> str:
        return self.render(gettext.NullTranslations())

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash(self.msgid)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.msgid!r}, {self.params!r})"


class PluralMessage(Message):
    """A message whose wording follows a count `n` (plural forms as the language has them)."""

    def __init__(self, singular: str, plural: str, n: int, /, **params: Any) -> None:
        super().__init__(singular, n=n, **params)
        self.plural, self.n = plural, n

    def template(self, t: Translator) -> str:
        return t.ngettext(self.msgid, self.plural, self.n)

    def to_json(self) -> dict[str, Any]:
        params = {key: value for key, value in self.params.items() if key != "n"}
        return {"msgid": self.msgid, "params": _params_json(params), "plural": self.plural, "n": self.n}


JSON_SCALARS = (str, int, float, bool, type(None))


def _params_json(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Message):
            out[key] = value.to_json()
        elif isinstance(value, JSON_SCALARS):
            out[key] = value
        else:
            raise TypeError(f"The parameter {key!r} of {type(value).__name__} cannot be stored as JSON.")
    return out


def _fill(template: str, params: Mapping[str, Any]) -> str:
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):  # a translation naming a parameter that is not there
        return template


def catalog_paths(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Write each catalog's .mo where it is missing or older than its .po; the .mo files written."""
    written = []
    for po_path in catalog_paths(locale_dir):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parents[1].name)
        partial = mo_path.with_name(f"{mo_path.name}.{os.getpid()}.partial")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(partial, mo_path)  # processes starting together never read a half-written catalog
        written.append(mo_path)
    if written:
        translations.cache_clear()
    return written


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    found = [path.parents[1].name for path in catalog_paths()]
    return (SOURCE_LANGUAGE, *sorted(lang for lang in found if lang != SOURCE_LANGUAGE))


def language_name(language: str) -> str:
    """The language's name in itself: "English", "中文 (中国)"."""
    return Locale.parse(language).get_display_name(language) or language


def negotiate(preferred: Iterable[str | None]) -> str:
    """The first of `preferred` (BCP 47 or POSIX tags, best first) that a catalog serves, else English.
    A wish matches a catalog of its language, best one of the same script ("zh-TW" reads zh_CN
    rather than English while no zh_Hant catalog exists)."""
    return _negotiated(tuple(wish.replace("-", "_") for wish in preferred if wish))


@lru_cache(maxsize=256)
def _negotiated(wishes: tuple[str, ...]) -> str:
    available = languages()
    for wish in wishes:
        if wish in available:
            return wish
        try:
            parsed = Locale.parse(wish)
        except (ValueError, UnknownLocaleError):
            continue
        same_language = [lang for lang in available if Locale.parse(lang).language == parsed.language]
        same_script = [lang for lang in same_language if Locale.parse(lang).script == parsed.script]
        if same_script or same_language:
            return (same_script or same_language)[0]
    return SOURCE_LANGUAGE


def environment_language(environ: Mapping[str, str] | None = None) -> str:
    """The command line's language: DRAFTGATE_LANGUAGE, else the POSIX locale (LC_ALL, LC_MESSAGES,
    LANG: "zh_CN.UTF-8"); "C" and "POSIX" are English."""
    env = os.environ if environ is None else environ
    wishes = []
    for name in ("DRAFTGATE_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").split(".")[0].split("@")[0]
        if value and value not in ("C", "POSIX"):
            wishes.append(value)
    return negotiate(wishes)


def accept_language(header: str | None) -> list[str]:
    """An Accept-Language header's tags, best first ("zh-CN,zh;q=0.9,en;q=0.8" -> zh-CN, zh, en)."""
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, weight = part.strip().partition(";q=")
        try:
            quality = float(weight) if weight else 1.0
        except ValueError:
            continue
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    return [tag for *_, tag in sorted(ranked)]


@lru_cache(maxsize=16)
def translations(language: str) -> gettext.NullTranslations:
    """The language's compiled catalog (compiled first if needed); English and unknown languages: none."""
    if language == SOURCE_LANGUAGE or language not in languages():
        return gettext.NullTranslations()
    mo_path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po_path = mo_path.with_suffix(".po")
    if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
        compile_catalogs()
    with mo_path.open("rb") as mo_file:
        return gettext.GNUTranslations(mo_file)


def render(message: str | Message, language: str) -> str:
    """A message (a Message, or text that may be a msgid) in `language`."""
    t = translations(language)
    return message.render(t) if isinstance(message, Message) else t.gettext(message)


# English keeps the ISO-like form the app always showed; other languages take CLDR's own formats.
DATETIME_PATTERNS = {SOURCE_LANGUAGE: {"short": "yyyy-MM-dd HH:mm", "medium": "yyyy-MM-dd HH:mm:ss"}}


def format_datetime(moment: datetime, language: str, *, length: str = "medium") -> str:
    pattern = DATETIME_PATTERNS.get(language, {}).get(length, length)
    return babel_dates.format_datetime(moment, format=pattern, locale=language)


def format_date(moment: datetime, language: str, *, length: str = "medium") -> str:
    return babel_dates.format_date(moment, format=length, locale=language)


def format_time(moment: datetime, language: str) -> str:
    """The time of day, hours and minutes."""
    return babel_dates.format_time(moment, format="HH:mm" if language == SOURCE_LANGUAGE else "short", locale=language)


def format_number(value: float, language: str, *, digits: int | None = None) -> str:
    """`value` as the locale writes it: with `digits` fraction digits, or as many as it has (at most 3)."""
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=language)


def format_percent(value: float, language: str) -> str:
    return babel_numbers.format_percent(value, locale=language)
