"""Forms that keep what the user typed until it is accepted.

`st.form(clear_on_submit=True)` empties a form on every submit, a refused one too, so one typo
cost the user everything they typed. These forms keep their fields; once the input is taken,
`accepted(form)` starts the page again with the fields empty. Their keys carry the form's
generation, so after a success they are new widgets with their defaults, in the browser too.

    with st.form("presets.add"):
        st.text_input("Instruction", key=field("presets.add", "instruction"))
        if st.form_submit_button("Add") and run_action(...):
            accepted("presets.add", "Preset added.")   # reruns
    show_notice("presets.add")                          # "Preset added.", once

session_state keys (owned here): "<form>.generation" and "<form>.notice".
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st


def field(form: str, name: str) -> str:
    """The key of a field of `form` in its current generation."""
    return f"{form}.{st.session_state.get(_generation_key(form), 0)}.{name}"


def accepted(form: str, notice: str = "") -> NoReturn:
    """The form's input was taken: rerun the page with the form's fields empty, and `notice` to show."""
    key = _generation_key(form)
    st.session_state[key] = st.session_state.get(key, 0) + 1
    if notice:
        st.session_state[_notice_key(form)] = notice
    st.rerun()


def show_notice(form: str) -> None:
    """The notice of the form's last accepted input, once."""
    notice = st.session_state.pop(_notice_key(form), None)
    if notice:
        st.success(notice)


def _generation_key(form: str) -> str:
    return f"{form}.generation"


def _notice_key(form: str) -> str:
    return f"{form}.notice"
