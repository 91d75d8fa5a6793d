"""The page's language: `_` and `ngettext` in the language of the person looking at it.

    _("Sign in")                       the current language's translation (English: as it is)
    ngettext("{n} draft", "{n} drafts", n).format(n=n)
    language()                         the signed-in user's setting, else the browser's
                                       (st.context.locale), else English
    error_text(err)                    a core error's message in this language
    role_name("editor")                a role as this language names it
    when(moment) / clock(moment)       a date-time / a time of day as this language writes it (Babel)
    number(value, digits=1) / percent(share)   a number / a share (0.25: 25%) likewise

ui.auth records the signed-in user's own setting each run (remember_user_language); pages call
require_area first, so everything they show afterwards speaks the user's language.

session_state keys (owned here): "i18n.user_language" (the signed-in user's setting, "" for none).
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core.platform import i18n
from core.platform.errors import DraftgateError
from core.platform.i18n import N_, Message

USER_LANGUAGE_KEY = "i18n.user_language"

__all__ = ["N_", "Message", "_", "clock", "error_text", "language", "ngettext", "number", "percent",
           "remember_user_language", "role_name", "translator", "when"]


def remember_user_language(setting: str | None) -> None:
    st.session_state[USER_LANGUAGE_KEY] = setting or ""


def browser_locale() -> str | None:
    try:
        found = st.context.locale
    except Exception:  # noqa: BLE001 (outside a script run there is no browser to ask)
        return None
    return found if isinstance(found, str) and found else None


def language() -> str:
    return i18n.negotiate([st.session_state.get(USER_LANGUAGE_KEY) or None, browser_locale()])


def translator() -> i18n.Translator:
    return i18n.translations(language())


def _(message: str) -> str:
    return translator().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(language()).ngettext(singular, plural, n)


def render(message: str | Message) -> str:
    return i18n.render(message, language())


def error_text(err: DraftgateError) -> str:
    return err.user_message(i18n.translations(language()))


ROLE_NAMES = {"writer": N_("writer"), "reviewer": N_("reviewer"), "editor": N_("editor"), "admin": N_("admin")}


def role_name(role: str) -> str:
    return _(ROLE_NAMES.get(role, role))


def when(moment: datetime, *, length: str = "medium") -> str:
    return i18n.format_datetime(moment, language(), length=length)


def clock(moment: datetime) -> str:
    return i18n.format_time(moment, language())


def number(value: float, *, digits: int | None = None) -> str:
    return i18n.format_number(value, language(), digits=digits)


def percent(value: float) -> str:
    return i18n.format_percent(value, language())
