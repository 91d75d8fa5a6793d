"""The Dashboard's agreement between reviewers: percent agreement, Cohen's kappa per pair of
reviewers (by name) and Krippendorff's alpha, each with its items and confidence interval, per
project and over time (core.usecases.review.agreement_report)."""

from __future__ import annotations

import streamlit as st

from core.platform.models import User
from core.review.agreement import CONFIDENCE, TRUSTED_ITEMS, Agreement, Estimate, too_few
from core.usecases import review
from ui.actions import run_use_case
from ui.charts import estimates
from ui.components import percent
from ui.i18n import _, number


def explanation() -> str:
    return _("**Same verdict** is the share of drafts reviewed twice on which both reviewers gave the same verdict. "
             "**Cohen's kappa** (each pair of reviewers) and **Krippendorff's alpha** (all reviewers) discount the "
             "agreement that chance alone would give: 1 is full agreement, 0 no better than chance, below 0 worse. "
             "Each figure shows how many drafts it rests on and its {confidence}% confidence interval (the range the "
             "true value is likely in); with fewer than {n} drafts, or a wide interval, it is too uncertain to trust "
             "a threshold to.").format(confidence=f"{CONFIDENCE * 100:.0f}", n=number(TRUSTED_ITEMS))


def figure(estimate: Estimate, *, share: bool = False) -> str:
    """"0.62 (0.41–0.80)", or a share "75% (60–86%)"; "–" when undefined."""
    shown = percent if share else (lambda v: "–" if v is None else f"{v:.2f}")
    if estimate.value is None:
        return "–"
    if estimate.low is None or estimate.high is None:
        return shown(estimate.value)
    return f"{shown(estimate.value)} ({shown(estimate.low)} – {shown(estimate.high)})"


def trust(estimate: Estimate) -> str:
    if estimate.value is None:
        return _(estimate.note) if estimate.note else "–"
    return _("too few to trust") if too_few(estimate) else _("enough drafts")


def _row(name_column: str, name: str, result: Agreement) -> dict:
    return {name_column: name, _("drafts reviewed twice"): result.items,
            _("same verdict"): figure(result.percent, share=True), _("Krippendorff's alpha"): figure(result.alpha),
            _("trust"): trust(result.alpha)}


def agreement_panel(user: User, project_id: int | None, days: int) -> None:
    st.subheader(_("Agreement between reviewers"))
    st.caption(explanation())
    done = run_use_case(review.agreement_report, user, project_id=project_id, days=days)
    if done is None:
        return
    report = done.value
    overall = report.overall
    if overall.items == 0:
        st.info(_("No second review was decided in this period: set a project's share of second reviews below."))
        return
    cards = st.columns(3)
    cards[0].metric(_("Items reviewed twice"), number(overall.items))
    cards[1].metric(_("Same verdict"), percent(overall.percent.value), help=figure(overall.percent, share=True))
    alpha = overall.alpha
    cards[2].metric(_("Krippendorff's alpha"), "–" if alpha.value is None else f"{alpha.value:.2f}",
                    help=_(alpha.note) if alpha.note else figure(alpha))
    if too_few(alpha):
        st.warning(_("These figures rest on {n} drafts: too few to trust. Raise the share of second reviews, or "
                     "choose a longer period.").format(n=number(overall.items)))
    if len(report.projects) > 1:
        project_column = _("project")
        st.dataframe([_row(project_column, name, result) for name, result in report.projects], hide_index=True)
    if report.pairs:
        st.markdown(_("**Reviewer pairs** (first reviewer · second reviewer, in either role)"))
        st.dataframe([{
            _("reviewers"): f"{pair.first} · {pair.second}", _("drafts reviewed twice"): pair.figures.kappa.items,
            _("same verdict"): figure(pair.figures.percent, share=True),
            _("Cohen's kappa"): figure(pair.figures.kappa), _("trust"): trust(pair.figures.kappa),
        } for pair in report.pairs], hide_index=True)
    same, alpha_name = _("same verdict"), _("Krippendorff's alpha")
    rows = [{"period": start, "statistic": name, "value": e.value, "low": e.low, "high": e.high, "items": e.items}
            for start, result in report.periods for name, e in ((same, result.percent), (alpha_name, result.alpha))
            if e.value is not None]
    title = _("Agreement per month") if report.by_month else _("Agreement per week")
    estimates(rows, "period", title=title, series=[same, alpha_name])
