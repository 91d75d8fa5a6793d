"""Small pieces of page shared by several pages."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from core.constants import METRIC_LABELS, METRICS
from core.models import Draft, ReviewItem, Score
from core.routing import REASON_LABELS, format_score

STATUS_LABELS = {
    "generating": "⏳ being written",
    "completed": "",
    "failed": "⚠️ failed",
    "interrupted": "⚠️ interrupted",
}


def score_line(scores: Mapping[str, Score]) -> str:
    if not scores:
        return "no scores"
    parts = [f"{METRIC_LABELS[m]} {format_score(m, scores[m].value)}" for m in METRICS if m in scores]
    return " · ".join(parts)


def route_line(draft: Draft, review: ReviewItem | None) -> str:
    if draft.status != "completed":
        return f"{STATUS_LABELS[draft.status]}: {draft.error}" if draft.error else STATUS_LABELS[draft.status]
    if review is None:
        return "✅ accepted" if draft.route == "accepted" else ""
    reasons = ", ".join(REASON_LABELS.get(r, r) for r in review.reasons)
    if review.state == "approved":
        return f"✅ approved by a reviewer{' (edited)' if review.edited_text else ''}"
    if review.state == "rejected":
        return f"❌ rejected by a reviewer: {review.decision_reason}"
    return f"🔎 in review ({reasons}): {review.reason_detail}"


def meta_line(draft: Draft) -> str:
    parts = [f"model {draft.model or '?'}"]
    if draft.finish_reason == "length":
        parts.append("cut off at the max tokens limit")
    elif draft.finish_reason:
        parts.append(f"finish: {draft.finish_reason}")
    if draft.latency_ms:
        parts.append(f"{draft.latency_ms / 1000:.1f} s")
    if draft.completion_tokens:
        parts.append(f"{draft.completion_tokens} tokens")
    temperature = draft.params.get("temperature")
    if temperature is not None:
        parts.append(f"temperature {temperature:g}")
    return " · ".join(parts)


def show_draft(draft: Draft, scores: Mapping[str, Score], review: ReviewItem | None) -> None:
    """A draft's text (as text, never as HTML) with its route, scores and metadata."""
    if review is not None and review.edited_text:
        st.text(review.edited_text)
        with st.expander("Original draft"):
            st.text(draft.text)
    elif draft.text:
        st.text(draft.text)
    else:
        st.caption("(no text)")
    route = route_line(draft, review)
    if route:
        st.markdown(route) if draft.status == "completed" else st.warning(route)
    if draft.status == "completed":
        st.caption(f"{score_line(scores)}  \n{meta_line(draft)}")
