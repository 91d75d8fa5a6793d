"""Small pieces of page shared by several pages."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence

import streamlit as st

from core.gate.checks import check_line
from core.gate.policies import PRESET_PROVIDER
from core.gate.rules import REASON_LABELS, format_score
from core.llm.types import FINISH_REASONS
from core.platform.constants import METRIC_LABELS
from core.platform.db import open_session
from core.platform.models import Comment, Draft, ReviewItem, Score
from core.platform.states import DraftStatus, ReviewState, Route
from core.review.items import left_reason
from core.scoring.checks import CHECK_LABELS
from core.writing.moderation import Matcher
from core.writing.projects import list_projects
from core.writing.sessions import shown_title
from ui import resources
from ui.i18n import N_, Message, _, ngettext, number, render, translator, when
from ui.i18n import percent as share_text
from ui.safe import md

# msgids: shown through _() (STATUS_LABELS[status] is the English text)
STATUS_LABELS = {
    DraftStatus.GENERATING: N_("⏳ being written"),
    DraftStatus.COMPLETED: "",
    DraftStatus.FAILED: N_("⚠️ failed"),
    DraftStatus.INTERRUPTED: N_("⚠️ interrupted"),
    DraftStatus.STOPPED: N_("⏹️ stopped"),
}
MATCHED_STYLE = "background-color: rgba(33, 195, 84, 0.18); border-radius: 2px;"
SENSITIVE_STYLE = "background-color: rgba(255, 43, 43, 0.35); font-weight: 600; border-radius: 2px;"
LINE_BREAK = re.compile(r"\r\n|\r|\n")


LANGUAGE_LABELS = {"zh": N_("Chinese"), "ja": N_("Japanese"), "ko": N_("Korean"), "latin": N_("Latin script"),
                   "other": N_("other script"), "none": N_("no letters")}
# where a reference, preset answer or sensitive word came from (their `source`)
SOURCE_LABELS = {"manual": N_("typed in"), "import": N_("imported"), "promoted": N_("from a draft"),
                 "draft": N_("from a draft"), "demo": N_("demo")}


def source_label(source: str) -> str:
    return _(SOURCE_LABELS.get(source, source))


def status_label(status: str) -> str:
    label = STATUS_LABELS.get(status, status)  # type: ignore[call-overload]
    return _(label) if label else ""


def score_line(scores: Mapping[str, Score], language: str = "") -> str:
    """The scores, then the draft's detected language (core.scoring.detect_language)."""
    if not scores:
        return _("no scores")
    parts = [f"{METRIC_LABELS[m]} {format_score(m, scores[m].value)}" for m in METRIC_LABELS if m in scores]
    if language:
        parts.append(_("language: {language}").format(language=_(LANGUAGE_LABELS.get(language, language))))
    return " · ".join(parts)


def checks_line(scores: Mapping[str, Score]) -> str:
    """The reference-free checks stored with the scores, in one line ("" when there are none)."""
    return md(check_line({metric: score.value for metric, score in scores.items()}, _))


def signatures_text(scores: Iterable[Score]) -> str:
    """One line per score: its metric and signature (tokenizer, settings, library version)."""
    return "\n".join(f"{METRIC_LABELS.get(s.metric, s.metric)}: {s.signature}" for s in scores)


def reasons_text(reasons: Iterable[str]) -> str:
    return _(", ").join(reason_label(r) for r in reasons)


def reason_label(reason: str) -> str:
    """Why a draft is in review, in the reader's language (a check's reason names the check)."""
    if reason in CHECK_LABELS and reason != "empty":
        return _("check: {label}").format(label=_(CHECK_LABELS[reason]))
    return _(REASON_LABELS.get(reason, reason))


def reason_detail(item: ReviewItem) -> str:
    """Why the item is in review, in the reader's language; the stored English for rows kept
    before the reasons' parts were (or for parts this version cannot read)."""
    try:
        parts = [Message.from_json(part) for part in item.reason_parts or ()]
    except (TypeError, ValueError):
        parts = []
    return _("; ").join(render(part) for part in parts) if parts else item.reason_detail


def draft_error(draft: Draft) -> str:
    """Why the draft failed or stopped, in the reader's language: its stored message, else its text
    (a fixed reason is a msgid; rows kept before messages were stored show their English)."""
    if draft.error_message:
        try:
            return render(Message.from_json(draft.error_message))
        except (TypeError, ValueError):
            pass
    return _(draft.error)


def route_line(draft: Draft, review: ReviewItem | None) -> str:
    if draft.status != DraftStatus.COMPLETED:
        label = status_label(draft.status)
        return _("{status}: {reason}").format(status=label, reason=md(draft_error(draft))) if draft.error else label
    if review is None:
        return _("✅ accepted") if draft.route == Route.ACCEPTED else ""
    if review.state == ReviewState.APPROVED:
        return _("✅ approved by a reviewer (edited)") if review.edited_text else _("✅ approved by a reviewer")
    if review.state == ReviewState.REJECTED:
        return _("❌ rejected by a reviewer: {reason}").format(reason=md(review.decision_reason))
    if review.state == ReviewState.ACCEPTED:
        return "✅ " + (md(render(left_reason(review.decision_reason))) if review.decision_reason
                       else _("accepted by a new policy"))
    return _("🔎 in review ({reasons}): {detail}").format(reasons=reasons_text(review.reasons),
                                                         detail=md(reason_detail(review)))


def meta_line(draft: Draft) -> str:
    if draft.provider == PRESET_PROVIDER:
        return _("📌 preset answer ({name}): given as the editors wrote it, no model was called").format(
            name=md(draft.model))
    parts = [_("model {model}").format(model=md(draft.model) if draft.model else "?")]
    if draft.cache_hit:
        parts.append(_("⚡ from the response cache"))
    if draft.finish_reason in FINISH_REASONS:
        parts.append(_(FINISH_REASONS[draft.finish_reason]))
    elif draft.finish_reason:
        parts.append(_("finish: {reason}").format(reason=md(draft.finish_reason)))  # the provider's own word
    if draft.latency_ms:
        parts.append(_("{seconds} s").format(seconds=number(draft.latency_ms / 1000, digits=1)))
    if draft.completion_tokens:
        tokens = draft.completion_tokens
        parts.append(ngettext("{n} token", "{n} tokens", tokens).format(n=number(tokens)))
    temperature = draft.params.get("temperature")
    if temperature is not None:
        parts.append(_("temperature {value}").format(value=number(temperature)))
    return " · ".join(parts)


def show_draft(
    draft: Draft,
    scores: Mapping[str, Score],
    review: ReviewItem | None,
    *,
    comments: Sequence[tuple[Comment, str]] = (),
    matcher: Matcher | None = None,
    unscored: str | Message | None = None,
) -> None:
    """A draft's text (as text, never as Markdown or HTML) with its route, scores, metadata and reviewers' comments.

    With a `matcher` (core.writing.moderation.active_matcher) sensitive words are masked, unless a
    reviewer approved the draft. `unscored` (core.gate.rescoring.unscored): "" while the draft is
    being scored, else why its scoring stopped."""
    if review is not None and review.edited_text:
        st.text(review.edited_text)
        with st.expander(_("Original draft")):
            st.text(draft.text)
    elif draft.text:
        approved = review is not None and review.state == ReviewState.APPROVED
        st.text(draft.text if matcher is None or approved else matcher.mask(draft.text))
    else:
        st.caption(_("(no text)"))
    route = route_line(draft, review)
    if unscored == "":
        st.caption(_("⏳ being scored…"))
    elif unscored:
        st.warning(_("Not scored yet. {why}").format(why=md(render(unscored))))
    elif route:
        st.markdown(route) if draft.status == DraftStatus.COMPLETED else st.warning(route)
    if draft.status == DraftStatus.COMPLETED:
        checks = checks_line(scores) if unscored is None else ""
        line = meta_line(draft) if unscored is not None else f"{score_line(scores, draft.language)}  \n{meta_line(draft)}"
        if checks:
            line += "  \n" + _("checks: {checks}").format(checks=checks)
        st.caption(line, help=signatures_text(scores.values()) or None)
    for comment, author in comments:
        st.caption(f"💬 {md(author)} · {when(comment.created_at, length='short')}")
        st.text(comment.body)


def marked_html(pieces: Iterable[tuple[str, bool, bool]]) -> str:
    """(text, matched, sensitive) pieces as escaped HTML: matched spans green, sensitive words red."""
    out = []
    for text, matched, sensitive in pieces:
        escaped = LINE_BREAK.sub("<br>", html.escape(text))  # no blank line may end the HTML block
        style = SENSITIVE_STYLE if sensitive else MATCHED_STYLE if matched else ""
        out.append(f'<span style="{style}">{escaped}</span>' if style else escaped)
    return '<div style="white-space: pre-wrap; line-height: 1.6;">' + "".join(out) + "</div>"


def show_marked(pieces: Iterable[tuple[str, bool, bool]]) -> None:
    st.markdown(marked_html(pieces), unsafe_allow_html=True)


def percent(value: float | None) -> str:
    return "–" if value is None else share_text(value)


def choose_project(key: str, *, none_yet: str = N_("No project yet: create one on the References page.")) -> int:
    """A project picker; with no project at all, says `none_yet` and stops the page."""
    with open_session(resources.engine()) as db:
        projects = {p.id: p.name for p in list_projects(session=db)}
    if not projects:
        st.info(_(none_yet))
        st.stop()
    return st.selectbox(_("Project"), list(projects), format_func=projects.get, key=key)


def session_title(writing_session) -> str:
    """The session's title, or an untitled one's name in this language (its start as the locale writes it)."""
    return shown_title(writing_session, translator(), lambda moment: when(moment, length="short"))
