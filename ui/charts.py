"""Altair charts for the dashboard: one small function per kind, each drawing into the page."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st


def bars(rows: list[dict], x: str, y: str, color: str | None = None, *, title: str, x_type: str = "O",
         normalize: bool = False, grouped: bool = False, height: int = 220) -> None:
    if not rows:
        st.caption(f"{title}: nothing in this period.")
        return
    encoding = {
        "x": alt.X(f"{x}:{x_type}", title=None),
        "y": alt.Y(f"{y}:Q", title=None, stack="normalize" if normalize else None if grouped else True,
                   axis=alt.Axis(format="%") if normalize else alt.Axis()),
        "tooltip": [c for c in rows[0]],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None)
        if grouped:
            encoding["xOffset"] = alt.XOffset(f"{color}:N")
    chart = alt.Chart(pd.DataFrame(rows)).mark_bar().encode(**encoding)
    st.altair_chart(chart.properties(title=title, height=height), width="stretch")


def lines(rows: list[dict], x: str, ys: list[str], *, title: str, color: str | None = None, percent: bool = False,
          height: int = 220) -> None:
    if not rows:
        st.caption(f"{title}: nothing in this period.")
        return
    frame = pd.DataFrame(rows)
    if color is None:
        frame = frame.melt(id_vars=[x], value_vars=ys, var_name="series", value_name="value")
        color, y = "series", "value"
    else:
        y = ys[0]
    chart = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X(f"{x}:O", title=None),
        y=alt.Y(f"{y}:Q", title=None, axis=alt.Axis(format="%") if percent else alt.Axis()),
        color=alt.Color(f"{color}:N", title=None),
        tooltip=list(frame.columns),
    )
    st.altair_chart(chart.properties(title=title, height=height), width="stretch")
