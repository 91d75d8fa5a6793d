"""The parameter panel: presets and the individual sampling parameters."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.llm.types import PRESETS, GenerationParams
from ui.i18n import N_, _

PREFIX = "params."
CUSTOM = "custom"


SAMPLING_FIELDS = ("temperature", "top_p", "frequency_penalty", "presence_penalty")
# msgids: shown through _() (the keys are core.llm.types.PRESETS' names, stored as they are)
PRESET_LABELS = {"factual": N_("factual"), "balanced": N_("balanced"), "creative": N_("creative"),
                 CUSTOM: N_("custom")}



def _apply_preset() -> None:
    """A preset sets the sampling parameters; length, stop sequences and seed stay as they are."""
    name = st.session_state[PREFIX + "preset"]
    if name in PRESETS:
        for field in SAMPLING_FIELDS:
            st.session_state[PREFIX + field] = getattr(PRESETS[name], field)


def _load(params: GenerationParams) -> None:
    for field, value in params.to_dict().items():
        st.session_state[PREFIX + field] = value
    st.session_state[PREFIX + "stop"] = "\n".join(params.stop)
    st.session_state[PREFIX + "seed"] = params.seed


def load_session_params(session_key: str, saved: dict[str, Any]) -> None:
    """Show a session's saved parameters when the session is opened (once per session)."""
    if st.session_state.get(PREFIX + "loaded_for") != session_key:
        _load(GenerationParams.from_dict(saved))
        st.session_state[PREFIX + "preset"] = _matching_preset(GenerationParams.from_dict(saved))
        st.session_state[PREFIX + "loaded_for"] = session_key


def _matching_preset(params: GenerationParams) -> str:
    sampling = [getattr(params, field) for field in SAMPLING_FIELDS]
    return next(
        (name for name, preset in PRESETS.items() if [getattr(preset, f) for f in SAMPLING_FIELDS] == sampling),
        CUSTOM,
    )


def parameter_panel() -> GenerationParams:
    """Draw the panel and return the parameters it shows (not yet validated)."""
    if PREFIX + "temperature" not in st.session_state:
        _load(PRESETS["balanced"])
        st.session_state[PREFIX + "preset"] = "balanced"
    # labels made here, not in format_func (AppTest calls that outside the script run, where no language is known)
    labels = {name: _(PRESET_LABELS.get(name, name)) for name in [*PRESETS, CUSTOM]}
    st.selectbox(
        _("Preset"), list(labels), key=PREFIX + "preset", on_change=_apply_preset, format_func=labels.__getitem__,
        help=_("factual: low temperature; balanced; creative: high temperature"),
    )
    temperature = st.slider(_("Temperature"), 0.0, 2.0, step=0.05, key=PREFIX + "temperature")
    top_p = st.slider(_("Top p"), 0.0, 1.0, step=0.01, key=PREFIX + "top_p")
    max_tokens = st.number_input(_("Max tokens"), 1, 4096, step=16, key=PREFIX + "max_tokens")
    frequency_penalty = st.slider(_("Frequency penalty"), -2.0, 2.0, step=0.1, key=PREFIX + "frequency_penalty")
    presence_penalty = st.slider(_("Presence penalty"), -2.0, 2.0, step=0.1, key=PREFIX + "presence_penalty")
    seed = st.number_input(_("Seed (empty: random)"), min_value=0, step=1, value=None, key=PREFIX + "seed")
    stop = st.text_area(_("Stop sequences (one per line)"), key=PREFIX + "stop", height=68)
    params = GenerationParams(
        temperature=float(temperature), top_p=float(top_p), max_tokens=int(max_tokens),
        frequency_penalty=float(frequency_penalty), presence_penalty=float(presence_penalty),
        stop=tuple(line for line in stop.splitlines() if line), seed=None if seed is None else int(seed),
    )
    if _matching_preset(params) != st.session_state[PREFIX + "preset"] and st.session_state[PREFIX + "preset"] != CUSTOM:
        st.caption(_("Changed from the preset."))
    return params
