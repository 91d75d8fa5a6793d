from core.routing import ACCEPTED, NEEDS_REVIEW, decide_route

THRESHOLDS = {"bleu": None, "chrf": 30.0, "rouge1": None, "rouge2": None, "rougeL": 0.25}


def test_scores_above_every_enabled_threshold_pass():
    decision = decide_route(text="x", scores={"bleu": 1.0, "chrf": 31.0, "rougeL": 0.3}, thresholds=THRESHOLDS)
    assert decision.route == ACCEPTED and decision.reasons == ()


def test_one_low_score_sends_to_review_and_names_metric():
    decision = decide_route(text="x", scores={"chrf": 50.0, "rougeL": 0.1}, thresholds=THRESHOLDS)
    assert decision.route == NEEDS_REVIEW and decision.reasons == ("low_score",)
    assert "ROUGE-L 0.100 < 0.250" in decision.detail


def test_disabled_metric_never_routes():
    decision = decide_route(text="x", scores={"bleu": 0.0, "chrf": 50.0, "rougeL": 0.5}, thresholds=THRESHOLDS)
    assert decision.route == ACCEPTED


def test_no_reference_empty_and_unscorable_drafts_go_to_review():
    assert decide_route(text="x", scores=None, thresholds=THRESHOLDS).reasons == ("no_reference",)
    assert decide_route(text="  \n", scores={}, thresholds=THRESHOLDS).reasons == ("empty",)
    unscorable = decide_route(text="!!!", scores={"chrf": None, "rougeL": None}, thresholds=THRESHOLDS)
    assert unscorable.reasons == ("unscorable",) and "no tokens" in unscorable.detail


def test_scores_are_shown_rounded_down_so_below_never_reads_as_equal():
    decision = decide_route(text="x", scores={"chrf": 50.0, "rougeL": 0.19996}, thresholds=THRESHOLDS)
    assert "ROUGE-L 0.199 < 0.250" in decision.detail
