import pytest

from core.gate.rules import decide_route
from core.platform.states import Route

THRESHOLDS = {"bleu": None, "chrf": 30.0, "rouge1": None, "rouge2": None, "rougeL": 0.25}


def test_scores_above_every_enabled_threshold_pass():
    decision = decide_route(text="x", scores={"bleu": 1.0, "chrf": 31.0, "rougeL": 0.3}, thresholds=THRESHOLDS)
    assert decision.route == Route.ACCEPTED and decision.reasons == ()


def test_one_low_score_sends_to_review_and_names_metric():
    decision = decide_route(text="x", scores={"chrf": 50.0, "rougeL": 0.1}, thresholds=THRESHOLDS)
    assert decision.route == Route.NEEDS_REVIEW and decision.reasons == ("low_score",)
    assert "ROUGE-L 0.100 < 0.250" in decision.detail


def test_disabled_metric_never_routes():
    decision = decide_route(text="x", scores={"bleu": 0.0, "chrf": 50.0, "rougeL": 0.5}, thresholds=THRESHOLDS)
    assert decision.route == Route.ACCEPTED


def test_no_reference_empty_and_unscorable_drafts_go_to_review():
    assert decide_route(text="x", scores=None, thresholds=THRESHOLDS).reasons == ("no_reference",)
    assert decide_route(text="  \n", scores={}, thresholds=THRESHOLDS).reasons == ("empty",)
    unscorable = decide_route(text="!!!", scores={"chrf": None, "rougeL": None}, thresholds=THRESHOLDS)
    assert unscorable.reasons == ("unscorable",) and "no tokens" in unscorable.detail


def test_scores_are_shown_rounded_down_so_below_never_reads_as_equal():
    decision = decide_route(text="x", scores={"chrf": 50.0, "rougeL": 0.19996}, thresholds=THRESHOLDS)
    assert "ROUGE-L 0.199 < 0.250" in decision.detail


# -- rules that combine metrics, and sensitive words ----------------------------------------

from core.gate.rules import composite_score  # noqa: E402

BOTH = {"bleu": None, "chrf": 30.0, "rouge1": None, "rouge2": None, "rougeL": 0.25}


def test_all_below_flags_only_when_every_enabled_metric_is_low():
    one_low = decide_route(text="x", scores={"chrf": 10.0, "rougeL": 0.5}, thresholds=BOTH, rule="all_below")
    assert one_low.route == Route.ACCEPTED
    both_low = decide_route(text="x", scores={"chrf": 10.0, "rougeL": 0.1}, thresholds=BOTH, rule="all_below")
    assert both_low.route == Route.NEEDS_REVIEW and both_low.reasons == ("low_score",)
    assert "chrF 10.0 < 30.0" in both_low.detail and "ROUGE-L 0.100 < 0.250" in both_low.detail


def test_any_below_is_the_default_rule():
    decision = decide_route(text="x", scores={"chrf": 10.0, "rougeL": 0.5}, thresholds=BOTH, rule="any_below")
    assert decision == decide_route(text="x", scores={"chrf": 10.0, "rougeL": 0.5}, thresholds=BOTH)
    assert decision.route == Route.NEEDS_REVIEW


def test_weighted_composite_scales_each_metric_to_its_maximum():
    # chrF 40/100 = 0.4 (weight 1), ROUGE-L 0.1 (weight 3): (0.4 + 0.3) / 4 = 0.175
    scores = {"chrf": 40.0, "rougeL": 0.1}
    assert composite_score(scores, {"chrf": 1, "rougeL": 3}) == pytest.approx(0.175)
    low = decide_route(text="x", scores=scores, thresholds={}, rule="weighted",
                       weights={"chrf": 1, "rougeL": 3}, composite_threshold=0.2)
    assert low.route == Route.NEEDS_REVIEW and "composite 0.175 < 0.200 (chrF×1, ROUGE-L×3)" in low.detail
    ok = decide_route(text="x", scores=scores, thresholds={}, rule="weighted",
                      weights={"chrf": 1, "rougeL": 3}, composite_threshold=0.17)
    assert ok.route == Route.ACCEPTED


def test_weighted_rule_with_a_missing_score_is_unscorable_and_thresholds_are_ignored():
    decision = decide_route(text="x", scores={"chrf": 90.0, "rougeL": None}, thresholds=BOTH, rule="weighted",
                            weights={"chrf": 1, "rougeL": 1}, composite_threshold=0.1)
    assert decision.reasons == ("unscorable",)
    assert decide_route(text="x", scores={"chrf": 1.0, "rougeL": 0.0}, thresholds=BOTH, rule="weighted",
                        weights={"bleu": 1}, composite_threshold=None).route == Route.ACCEPTED
    assert composite_score({"chrf": 50.0}, {}) is None


def test_sensitive_words_always_send_to_review_and_are_named():
    decision = decide_route(text="x", scores={"chrf": 90.0, "rougeL": 0.9}, thresholds=BOTH,
                            sensitive_words=("坏词", "bad", "坏词"))
    assert decision.route == Route.NEEDS_REVIEW and decision.reasons == ("sensitive_words",)
    assert decision.detail == "Sensitive words: 坏词, bad"
    both = decide_route(text="x", scores={"chrf": 1.0, "rougeL": 0.9}, thresholds=BOTH, sensitive_words=("bad",))
    assert both.reasons == ("low_score", "sensitive_words")
    empty = decide_route(text=" ", scores=None, thresholds=BOTH, sensitive_words=())
    assert empty.reasons == ("empty",)
