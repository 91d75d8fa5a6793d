"""bench/embedded_quality.py, run small: the embedded model writes, the gate's checks judge (marked embedded)."""

import pytest

from bench import embedded_quality as quality
from core.gate.checks import CHECK_METRICS


def test_judging_a_loop_and_a_clean_chinese_draft():
    loop = quality.judge("en", quality.ENGLISH[0], " ".join(["The keeper lit the lamp."] * 20), "length", "before")
    assert loop.reasons[0] == "repetition" and loop.details[0].startswith("repetition ")
    clean = quality.judge("zh", quality.CHINESE[0], "傍晚，守塔人沿着螺旋楼梯走上塔顶，点亮了灯。", "stop")
    assert clean.reasons == ()
    english_in_zh = quality.judge("zh", quality.CHINESE[0], "The keeper climbed the stairs and lit the lamp.", "stop")
    assert "language" in english_in_zh.reasons
    text = quality.summary([loop, clean, english_in_zh])
    assert "en before: 1 drafts, flagged 100% (1), repetitive 100% (1), wrong language 0% (0)" in text
    assert "zh after : 2 drafts, flagged 50% (1), repetitive 0% (0), wrong language 50% (1)" in text


def test_the_legacy_prompt_is_the_one_before_the_tuning():
    assert quality.legacy_prompt("Write A") == "Instruction: Write A\nText: "
    assert quality.legacy_prompt("写一段") == "指令：写一段\n回答："


@pytest.mark.embedded
def test_the_bench_runs_on_the_embedded_model():
    outcomes = quality.run(n=1, max_tokens=16, seed=1)
    assert [(o.setup, o.language) for o in outcomes] == [("before", "en"), ("after", "en"), ("before", "zh"),
                                                         ("after", "zh")]
    assert all(o.text for o in outcomes) and all(set(o.reasons) <= set(CHECK_METRICS) for o in outcomes)
