"""The parameter panel: presets and the individual sampling parameters."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.llm.types import PRESETS, GenerationParams

PREFIX = "params."
CUSTOM = "custom"


SAMPLING_FIELDS = ("temperature", "top_p", "frequency_penalty", "presence_penalty")


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
    st.selectbox(
        "Preset", [*PRESETS, CUSTOM], key=PREFIX + "preset", on_change=_apply_preset,
        help="factual: low temperature; balanced; creative: high temperature",
    )
    temperature = st.slider("Temperature", 0.0, 2.0, step=0.05, key=PREFIX + "temperature")
    top_p = st.slider("Top p", 0.0, 1.0, step=0.01, key=PREFIX + "top_p")
    max_tokens = st.number_input("Max tokens", 1, 4096, step=16, key=PREFIX + "max_tokens")
    frequency_penalty = st.slider("Frequency penalty", -2.0, 2.0, step=0.1, key=PREFIX + "frequency_penalty")
    presence_penalty = st.slider("Presence penalty", -2.0, 2.0, step=0.1, key=PREFIX + "presence_penalty")
    seed = st.number_input("Seed (empty: random)", min_value=0, step=1, value=None, key=PREFIX + "seed")
    stop = st.text_area("Stop sequences (one per line)", key=PREFIX + "stop", height=68)
    params = GenerationParams(
        temperature=float(temperature), top_p=float(top_p), max_tokens=int(max_tokens),
        frequency_penalty=float(frequency_penalty), presence_penalty=float(presence_penalty),
        stop=tuple(line for line in stop.splitlines() if line), seed=None if seed is None else int(seed),
    )
    if _matching_preset(params) != st.session_state[PREFIX + "preset"] and st.session_state[PREFIX + "preset"] != CUSTOM:
        st.caption("Changed from the preset.")
    return params
