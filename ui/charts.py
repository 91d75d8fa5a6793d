"""Altair charts for the dashboard: one small function per kind, each drawing into the page.

How they are sized, so that nothing is squeezed, cut or drawn over its neighbour:
- the width fits the column and the height is the plot's own; axes, title and legend come on
  top of it (`FIT_WIDTH`). Streamlit's default ("fit") takes them out of the height instead,
  which long labels shrink to nothing;
- categories with long names (reasons, "provider · model") are bars across, one row each
  (`ROW` high), their names in full up to `LABEL_LIMIT` of the width;
- days are written MM-DD and never turned, fewer of them where they would overlap;
- legends sit below the plot, one entry a line, where their labels have the whole width.

Titles come translated from the page; the data's column names (tooltips) and the series of
`lines` are shown in the reader's language through FIELD_NAMES.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ui.i18n import N_, _

FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
# A label is cut at this share of the chart's width (Vega's containerSize), the bars keep the rest.
LABEL_LIMIT = alt.ExprRef("max(80, containerSize()[0] * 0.4)")
LEGEND_LABEL_LIMIT = alt.ExprRef("max(80, containerSize()[0] - 40)")
ROW = 28  # pixels per bar across (per group of bars, when grouped)
# The dashboard's column names, as the tooltips and legends show them (others are shown as they are).
FIELD_NAMES = {
    "day": N_("day"), "project": N_("project"), "drafts": N_("drafts"), "route": N_("route"), "reason": N_("reason"),
    "verdict": N_("verdict"), "items": N_("items"), "median_minutes": N_("median minutes"),
    "p90_minutes": N_("90th percentile minutes"), "approval_rate": N_("approval rate"), "approved": N_("approved"),
    "rejected": N_("rejected"), "metric": N_("metric"), "mean": N_("mean"), "scaled_mean": N_("mean, scaled to 0–1"),
    "provider · model": N_("provider · model"),
    "kind": N_("kind"), "tokens": N_("tokens"), "figure": N_("figure"), "ms": N_("ms"), "series": N_("series"),
    "value": N_("value"), "period": N_("from"), "statistic": N_("figure"), "low": N_("interval from"),
    "high": N_("interval to"),
}


def field_name(field: str) -> str:
    return _(FIELD_NAMES[field]) if field in FIELD_NAMES else field


def _tooltip(fields: list[str]) -> list[alt.Tooltip]:
    return [alt.Tooltip(field, title=field_name(field)) for field in fields]


def bars(rows: list[dict], x: str, y: str, color: str | None = None, *, title: str, x_type: str = "O",
         normalize: bool = False, grouped: bool = False, height: int = 220) -> None:
    """Bars per day (`x` a day, x_type "O"), or across per category (x_type "N")."""
    if not rows:
        st.caption(_("{title}: nothing in this period.").format(title=title))
        return
    if x_type == "N":
        _bars_across(rows, x, y, color, title=title, grouped=grouped)
        return
    encoding = {
        "x": alt.X(f"{x}:O", title=None, axis=_day_axis()),
        "y": alt.Y(f"{y}:Q", title=None, stack="normalize" if normalize else None if grouped else True,
                   axis=alt.Axis(format="%") if normalize else _count_axis()),
        "tooltip": _tooltip(list(rows[0])),
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", legend=_legend())
        if grouped:
            encoding["xOffset"] = alt.XOffset(f"{color}:N")
    chart = alt.Chart(pd.DataFrame(rows)).mark_bar().encode(**encoding)
    _draw(chart.properties(height=height), title)


def _bars_across(rows: list[dict], category: str, value: str, color: str | None, *, title: str,
                 grouped: bool) -> None:
    encoding = {
        "y": alt.Y(f"{category}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=LABEL_LIMIT)),
        "x": alt.X(f"{value}:Q", title=None, stack=None if grouped else True, axis=_count_axis()),
        "tooltip": _tooltip(list(rows[0])),
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", legend=_legend())
        if grouped:
            encoding["yOffset"] = alt.YOffset(f"{color}:N")
    chart = alt.Chart(pd.DataFrame(rows)).mark_bar().encode(**encoding)
    _draw(chart.properties(height=alt.Step(ROW)), title)


def lines(rows: list[dict], x: str, ys: list[str], *, title: str, color: str | None = None, percent: bool = False,
          height: int = 220) -> None:
    if not rows:
        st.caption(_("{title}: nothing in this period.").format(title=title))
        return
    frame = pd.DataFrame(rows)
    if color is None:
        frame = frame.melt(id_vars=[x], value_vars=ys, var_name="series", value_name="value")
        frame["series"] = frame["series"].map(field_name)
        color, y = "series", "value"
    else:
        y = ys[0]
    chart = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X(f"{x}:O", title=None, axis=_day_axis()),
        y=alt.Y(f"{y}:Q", title=None, axis=alt.Axis(format="%") if percent else alt.Axis()),
        color=alt.Color(f"{color}:N", legend=_legend()),
        tooltip=_tooltip(list(frame.columns)),
    )
    _draw(chart.properties(height=height), title)


def estimates(rows: list[dict], x: str, *, title: str, series: list[str], height: int = 220) -> None:
    """Figures with their confidence intervals over time: rows of `x`, "statistic" (one of
    `series`), "value", "low", "high" and "items"; a line per statistic, a bar for each interval."""
    if not rows:
        st.caption(_("{title}: nothing in this period.").format(title=title))
        return
    color = alt.Color("statistic:N", legend=_legend(), scale=alt.Scale(domain=series))
    line = alt.Chart().mark_line(point=True).encode(y=alt.Y("value:Q", title=None))
    interval = alt.Chart().mark_rule(opacity=0.5).encode(y=alt.Y("low:Q", title=None), y2="high:Q")
    chart = alt.layer(line, interval, data=pd.DataFrame(rows)).encode(
        x=alt.X(f"{x}:O", title=None, axis=_day_axis()), color=color, tooltip=_tooltip(list(rows[0])))
    _draw(chart.properties(height=height), title)


def _draw(chart: alt.Chart | alt.LayerChart, title: str) -> None:
    titled = chart.properties(title=alt.TitleParams(title, anchor="start"), autosize=FIT_WIDTH)
    st.altair_chart(titled, width="stretch")


def _day_axis() -> alt.Axis:
    """Days ("2024-05-17") as "05-17", level, and only as many as fit."""
    return alt.Axis(labelAngle=0, labelExpr="slice(datum.value, 5)", labelOverlap="greedy")


def _count_axis() -> alt.Axis:
    """Whole numbers, short ("12k")."""
    return alt.Axis(format="~s", tickMinStep=1)


def _legend() -> alt.Legend:
    return alt.Legend(title=None, orient="bottom", columns=1, labelLimit=LEGEND_LABEL_LIMIT)
