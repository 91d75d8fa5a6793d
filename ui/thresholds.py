"""The Thresholds page's panels: the policy form, the evidence from reviewers' verdicts, and
the preview-then-apply step."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.gate.checks import (
    CHECK_LABELS,
    CHECK_MAX,
    CHECK_METRICS,
    FLAG_CHECKS,
    NO_REFERENCE,
    SUGGESTED,
    with_check_defaults,
)
from core.gate.evidence import (
    Label,
    LabeledDraft,
    candidates,
    metric_values,
    policy_stats,
    suggest_for_recall,
    suggest_for_review_load,
    threshold_curve,
    threshold_stats,
)
from core.gate.policies import PROJECT_LANGUAGES, PolicySpec
from core.gate.rules import ALL_BELOW, ANY_BELOW, RULES, WEIGHTED
from core.platform.constants import METRIC_LABELS, METRIC_MAX, METRICS
from core.platform.models import ThresholdPolicy, User
from core.usecases.gate import apply_policy, preview_queue_change, set_project_language
from ui.actions import run_use_case
from ui.components import percent
from ui.i18n import N_, _, ngettext, number

PENDING_KEY, FLASH_KEY = "thresholds.pending", "thresholds.flash"
LABEL_NAMES = {Label.APPROVED: N_("approved"), Label.EDITED: N_("approved after edit"), Label.REJECTED: N_("rejected"),
               None: N_("not reviewed")}
# core.gate.rules.RULES and core.gate.policies.PROJECT_LANGUAGES, as msgids (shown through _()).
RULE_NAMES = {ANY_BELOW: N_("any enabled metric below its threshold"),
              ALL_BELOW: N_("every enabled metric below its threshold"),
              WEIGHTED: N_("weighted composite below its threshold")}
LANGUAGE_NAMES = {"": N_("as the instruction says"), "en": N_("English"), "zh": N_("Chinese"), "ja": N_("Japanese"),
                  "ko": N_("Korean"), "fr": N_("French"), "de": N_("German"), "es": N_("Spanish")}


# CHECK_LABELS["empty"], the one check label core.gate.rules does not name a reason (ui.domain_labels lacks it).
EMPTY_CHECK = N_("empty")


def rule_name(rule: str | None) -> str:
    rule = rule or ANY_BELOW
    return _(RULE_NAMES[rule]) if rule in RULE_NAMES else RULES.get(rule, rule)


def language_name(code: str) -> str:
    return _(LANGUAGE_NAMES[code]) if code in LANGUAGE_NAMES else PROJECT_LANGUAGES.get(code, code)


def _key(project_id: int, metric: str, part: str) -> str:
    return f"thresholds.{project_id}.{metric}.{part}"


def _form_keys(project_id: int) -> list[str]:
    return [f"thresholds.{project_id}.rule", f"thresholds.{project_id}.composite",
            *(_key(project_id, metric, part) for metric in METRICS for part in ("on", "value", "weight")),
            *(_key(project_id, metric, part) for metric in CHECK_METRICS.values() for part in ("on", "value")),
            _key(project_id, NO_REFERENCE, "on")]


CHECK_HELP = {
    "repetition": N_("share of repeated word 4-grams (character 6-grams in Chinese, Japanese, Korean): flagged above"),
    "longest_repeat": N_("words (CJK: characters) in the longest passage that occurs twice: flagged above"),
    "distinct1": N_("distinct words over all words: flagged below"),
    "distinct2": N_("distinct word pairs over all pairs: flagged below"),
    "length": N_("a factor either way of the length the instruction asks for, or else of the references' median"),
    "language": N_("the language the instruction names, or the project's"),
    "empty": N_("no words at all (only punctuation or symbols)"),
    "echo": N_("similarity to the instruction: flagged above"),
    "refusal": N_("a stock refusal or assistant filler"),
}


def _keep_undrawn(keys: list[str]) -> None:
    """Streamlit forgets the value of a widget a run does not draw (the thresholds while the
    weighted rule shows weights, and back): set again here, the values stay as typed."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def policy_form(project_id: int, policy: ThresholdPolicy) -> PolicySpec:
    """The editor's candidate policy (not validated yet: core does that)."""
    _keep_undrawn(_form_keys(project_id))
    rule_key = f"thresholds.{project_id}.rule"
    st.session_state.setdefault(rule_key, policy.rule or ANY_BELOW)
    names = {rule: rule_name(rule) for rule in RULES}  # made in the run: AppTest formats outside it
    rule = st.radio(_("Flag a draft when"), list(RULES), format_func=names.get, horizontal=True, key=rule_key)
    weights = policy.weights or {}
    thresholds: dict[str, float | None] = {}
    chosen_weights: dict[str, float] = {}
    for column, metric in zip(st.columns(len(METRICS)), METRICS):
        current, top = policy.thresholds.get(metric), METRIC_MAX[metric]
        st.session_state.setdefault(_key(project_id, metric, "on"), current is not None)
        st.session_state.setdefault(_key(project_id, metric, "value"), float(current if current is not None else top / 4))
        st.session_state.setdefault(_key(project_id, metric, "weight"), float(weights.get(metric, 0.0)))
        with column:
            if rule == WEIGHTED:
                chosen_weights[metric] = st.number_input(_("{metric} weight").format(metric=METRIC_LABELS[metric]), min_value=0.0, max_value=10.0,
                                                         step=0.5, key=_key(project_id, metric, "weight"))
                thresholds[metric] = policy.thresholds.get(metric)
                continue
            enabled = st.checkbox(_("Route on {metric}").format(metric=METRIC_LABELS[metric]),
                                  key=_key(project_id, metric, "on"))
            value = st.number_input(_("{metric} threshold (0–{top})").format(metric=METRIC_LABELS[metric], top=number(top)),
                                    min_value=0.0, max_value=top,
                                    step=top / 100, key=_key(project_id, metric, "value"), disabled=not enabled)
            thresholds[metric] = float(value) if enabled else None
    thresholds.update(_check_form(project_id, policy))
    composite = None
    if rule == WEIGHTED:
        composite_key = f"thresholds.{project_id}.composite"
        st.session_state.setdefault(composite_key, float(policy.composite_threshold or 0.25))
        composite = st.number_input(_("Composite threshold (0–1: the weighted mean of the scores, each scaled to 0–1)"),
                                    min_value=0.0, max_value=1.0, step=0.01, key=composite_key)
    return PolicySpec(thresholds, rule, chosen_weights, composite)


def _check_form(project_id: int, policy: ThresholdPolicy) -> dict[str, float | None]:
    """The reference-free checks' part of the form (any rule: a failed check always flags)."""
    current = with_check_defaults(policy.thresholds)
    out: dict[str, float | None] = {}
    st.markdown(_("**Checks that need no reference** (a draft failing any of them goes to review, whatever the rule)"))
    names = list(CHECK_METRICS)
    valued = [name for name in names if name not in FLAG_CHECKS]
    for column, name in zip(st.columns(len(valued)), valued):
        metric = CHECK_METRICS[name]
        value = current.get(metric)
        st.session_state.setdefault(_key(project_id, metric, "on"), value is not None)
        st.session_state.setdefault(_key(project_id, metric, "value"), float(value if value is not None else SUGGESTED[name]))
        with column:
            enabled = st.checkbox(_("Check {check}").format(check=_(CHECK_LABELS[name])), key=_key(project_id, metric, "on"),
                                  help=_(CHECK_HELP[name]))
            top = CHECK_MAX[name] if name != "longest_repeat" else 1000.0
            step = 1.0 if name == "longest_repeat" else (0.5 if name == "length" else 0.01)
            chosen = st.number_input(_("{check} threshold").format(check=_(CHECK_LABELS[name])), min_value=1.0 if name == "length" else 0.0,
                                     max_value=top, step=step, key=_key(project_id, metric, "value"),
                                     disabled=not enabled)
            out[metric] = float(chosen) if enabled else None
    flags = st.columns(len(FLAG_CHECKS) + 1)
    for column, name in zip(flags, FLAG_CHECKS):
        metric = CHECK_METRICS[name]
        st.session_state.setdefault(_key(project_id, metric, "on"), current.get(metric) is not None)
        on = column.checkbox(_("Check {check}").format(check=_(CHECK_LABELS[name])), key=_key(project_id, metric, "on"),
                             help=_(CHECK_HELP[name]))
        out[metric] = 1.0 if on else None
    st.session_state.setdefault(_key(project_id, NO_REFERENCE, "on"), current.get(NO_REFERENCE) is not None)
    review_bare = flags[-1].checkbox(
        _("Without references: always to review"), key=_key(project_id, NO_REFERENCE, "on"),
        help=_("Off: a draft of a project without references is routed by the checks alone."))
    out[NO_REFERENCE] = 1.0 if review_bare else None
    return out


def _use(project_id: int, metric: str, value: float) -> None:
    st.session_state[_key(project_id, metric, "on")] = True
    st.session_state[_key(project_id, metric, "value")] = float(value)


def evidence_panel(project_id: int, rows: list[LabeledDraft], spec: PolicySpec) -> None:
    labeled = sum(row.label is not None for row in rows)
    st.subheader(_("Evidence from the reviewers"))
    st.caption(ngettext("{n} recent scored draft, {labeled} with a reviewer's verdict. Only drafts sent to review "
                        "get a verdict, so recall and precision describe the drafts earlier policies flagged.",
                        "{n} recent scored drafts, {labeled} with a reviewer's verdict. Only drafts sent to review "
                        "get a verdict, so recall and precision describe the drafts earlier policies flagged.",
                        len(rows)).format(n=number(len(rows)), labeled=number(labeled)))
    top = st.columns(2)
    metric = top[0].selectbox(_("Metric"), list(METRICS), format_func=METRIC_LABELS.get, index=1, key="thresholds.evidence_metric")
    edited_bad = top[1].checkbox(_("Count approvals after an edit as rejections"), key="thresholds.edited_bad")
    values, labels = metric_values(rows, metric)
    if not values:
        st.info(_("No {metric} scores yet.").format(metric=METRIC_LABELS[metric]))
        return
    threshold = spec.thresholds.get(metric) if spec.rule != WEIGHTED else None
    verdicts = {label: _(name) for label, name in LABEL_NAMES.items()}
    frame = pd.DataFrame({"score": values, "verdict": [verdicts[label] for label in labels]})
    histogram = alt.Chart(frame).mark_bar(opacity=0.8).encode(
        x=alt.X("score:Q", bin=alt.Bin(maxbins=25, extent=[0, METRIC_MAX[metric]]), title=METRIC_LABELS[metric]),
        y=alt.Y("count()", title=_("drafts"), stack=True),
        color=alt.Color("verdict:N", title=_("verdict"), scale=alt.Scale(domain=list(verdicts.values()),
                                                                          range=["#21c354", "#9bd8a8", "#ff4b4b", "#c0c4cc"])),
    )
    curve = pd.DataFrame([
        {"threshold": s.threshold, "figure": name, "share": value}
        for s in threshold_curve(values, labels, candidates(metric), edited_is_bad=edited_bad)
        for name, value in ((_("sent to review"), s.review_share), (_("recall on rejected"), s.recall),
                            (_("precision of flagged"), s.precision)) if value is not None
    ])
    lines = alt.Chart(curve).mark_line().encode(
        x=alt.X("threshold:Q", title=_("{metric} threshold").format(metric=METRIC_LABELS[metric])),
        y=alt.Y("share:Q", axis=alt.Axis(format="%"), title=None), color=alt.Color("figure:N", title=None),
    )
    charts = st.columns(2)
    layers_h, layers_c = [histogram], [lines]
    if threshold is not None:
        rule = alt.Chart(pd.DataFrame({"t": [threshold]})).mark_rule(color="black", strokeDash=[4, 3]).encode(x="t:Q")
        layers_h.append(rule)
        layers_c.append(rule)
    charts[0].altair_chart(alt.layer(*layers_h).properties(height=220, title=_("Scores by verdict")), width="stretch")
    charts[1].altair_chart(alt.layer(*layers_c).properties(height=220, title=_("What each threshold would do")), width="stretch")
    if threshold is not None:
        stats = threshold_stats(values, labels, threshold, edited_is_bad=edited_bad)
        st.markdown(_("At **{threshold}**: sent to review **{share}** ({flagged} of {drafts}), recall on rejected "
                      "**{recall}** ({bad_flagged} of {bad}), precision of flagged **{precision}**.").format(
            threshold=number(threshold), share=percent(stats.review_share), flagged=number(stats.flagged),
            drafts=number(stats.drafts), recall=percent(stats.recall), bad_flagged=number(stats.bad_flagged),
            bad=number(stats.bad), precision=percent(stats.precision)))
    _suggestions(project_id, metric, values, labels, edited_bad)
    whole = policy_stats(rows, spec, edited_is_bad=edited_bad) if _complete(spec) else None
    if whole is not None:
        st.caption(_("The whole candidate policy ({rule}): sends {share} to review, recall {recall}, precision "
                     "{precision}.").format(rule=rule_name(spec.rule), share=percent(whole.review_share),
                                            recall=percent(whole.recall), precision=percent(whole.precision)))


def _complete(spec: PolicySpec) -> bool:
    return spec.rule != WEIGHTED or (any(w > 0 for w in spec.weights.values()) and spec.composite_threshold is not None)


def _suggestions(project_id: int, metric: str, values: list[float], labels: list, edited_bad: bool) -> None:
    load_col, recall_col = st.columns(2)
    load = load_col.slider(_("Target review load"), 0, 100, 20, format="%d%%", key="thresholds.target_load")
    suggested = suggest_for_review_load(values, load / 100, metric)
    if suggested is not None:
        load_col.button(_("Use {value} (at most {load}% to review)").format(value=number(suggested), load=load), key="thresholds.use_load",
                        on_click=_use, args=(project_id, metric, suggested))
    target = recall_col.slider(_("Target recall on rejected"), 0, 100, 80, format="%d%%", key="thresholds.target_recall")
    suggested = suggest_for_recall(values, labels, target / 100, metric, edited_is_bad=edited_bad)
    if suggested is None:
        recall_col.caption(_("No rejected draft with this metric yet (or none this threshold could catch)."))
    else:
        recall_col.button(_("Use {value} (catches at least {target}% of rejections)").format(
            value=number(suggested), target=target), key="thresholds.use_recall",
                          on_click=_use, args=(project_id, metric, suggested))


def apply_panel(user: User, project_id: int, policy: ThresholdPolicy, spec: PolicySpec) -> None:
    note = st.text_input(_("Note for this change (optional)"), key="thresholds.note")
    pending = st.session_state.get(PENDING_KEY)
    fresh = pending is not None and pending["project_id"] == project_id and pending["spec"] == spec
    if st.button(_("Preview the change to the queue"), type="primary", key="thresholds.preview"):
        previewed = run_use_case(preview_queue_change, user, project_id=project_id, spec=spec)
        if previewed is None:
            return
        change = previewed.value
        pending = {"project_id": project_id, "spec": spec, "base": change.base_version, "leaving": len(change.leaving),
                   "joining": len(change.joining), "held": change.claimed_untouched}
        st.session_state[PENDING_KEY], fresh = pending, True
    if pending is not None and not fresh:
        st.caption(_("The form changed since the last preview: preview again before applying."))
    if not fresh:
        return
    leaving, joining, held = pending["leaving"], pending["joining"], pending["held"]
    parts = {
        "version": number(pending["base"] + 1),
        "leaving": ngettext("{n} open draft would leave the queue (it passes now)",
                            "{n} open drafts would leave the queue (they pass now)", leaving).format(n=number(leaving)),
        "joining": ngettext("{n} recent accepted draft would join it", "{n} recent accepted drafts would join it",
                            joining).format(n=number(joining)),
        "held": ngettext("{n} draft reviewers hold now stays as it is", "{n} drafts reviewers hold now stay as they are",
                         held).format(n=number(held)),
    }
    st.info((_("Applying this as version {version}: {leaving}, {joining}; {held}.") if held
             else _("Applying this as version {version}: {leaving}, {joining}.")).format(**parts))
    confirm, cancel = st.columns(2)
    if confirm.button(_("Apply version {version}").format(version=number(pending["base"] + 1)), type="primary", key="thresholds.apply"):
        done = run_use_case(apply_policy, user, project_id=project_id, spec=spec, note=note,
                            expected_version=pending["base"])
        if done is None:
            return
        applied = done.value
        st.session_state.pop(PENDING_KEY, None)
        st.session_state[FLASH_KEY] = ngettext(
            "Version {version} applied: {n} draft left the queue, {joined} joined it.",
            "Version {version} applied: {n} drafts left the queue, {joined} joined it.", applied.left,
        ).format(version=number(applied.policy.version), n=number(applied.left), joined=number(applied.joined))
        st.rerun()
    if cancel.button(_("Cancel"), key="thresholds.cancel"):
        st.session_state.pop(PENDING_KEY, None)
        st.rerun()


def language_panel(user: User, project_id: int, language: str) -> None:
    """The language the checks expect of the project's drafts."""
    key = f"thresholds.{project_id}.language"
    choices = list(PROJECT_LANGUAGES) if language in PROJECT_LANGUAGES else [*PROJECT_LANGUAGES, language]
    st.session_state.setdefault(key, language)
    left, right = st.columns([3, 1])
    names = {code: language_name(code) for code in choices}  # made in the run: AppTest formats outside it
    chosen = left.selectbox(_("Language of this project's drafts (the language check)"), choices, key=key,
                            format_func=names.get)
    if chosen != language and right.button(_("Save the language"), key="thresholds.save_language"):
        if run_use_case(set_project_language, user, project_id=project_id, language=chosen) is None:
            return
        st.session_state[FLASH_KEY] = _("The project's drafts are now checked for {language}; re-score to check "
                                        "earlier drafts again.").format(language=names[chosen])
        st.rerun()
