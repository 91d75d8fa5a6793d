"""bench/quality.py, run small: the embedded model writes, the gate's checks judge (marked embedded)."""

import pytest

from bench import quality
from core.gate.checks import CHECK_METRICS


def test_judging_a_loop_and_a_clean_chinese_draft():
    loop = quality.judge("en", quality.ENGLISH[0], " ".join(["The keeper lit the lamp."] * 20), "length")
    assert loop.reasons[0] == "repetition" and loop.details[0].startswith("repetition ")
    clean = quality.judge("zh", quality.CHINESE[0], "傍晚，守塔人沿着螺旋楼梯走上塔顶，点亮了灯。", "stop")
    assert clean.reasons == ()
    english_in_zh = quality.judge("zh", quality.CHINESE[0], "The keeper climbed the stairs and lit the lamp.", "stop")
    assert "language" in english_in_zh.reasons
    text = quality.summary([loop, clean, english_in_zh])
    assert "en: 1 drafts, 1 flagged" in text and "zh: 2 drafts, 1 flagged" in text


@pytest.mark.embedded
def test_the_bench_runs_on_the_embedded_model():
    outcomes = quality.run(n=1, max_tokens=24, seed=1)
    assert [o.language for o in outcomes] == ["en", "zh"]
    assert all(o.text for o in outcomes) and all(set(o.reasons) <= set(CHECK_METRICS) for o in outcomes)
