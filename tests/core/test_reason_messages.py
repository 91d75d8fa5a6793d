"""Why a draft is in review, in the reader's language (issue 18): every part of a route's detail is
a Message, stored as JSON, that renders in Chinese with no English words but the metrics' names and
the user's own content, and in English exactly as the stored reason_detail."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import select

from core.gate.checks import CHECK_METRICS, run_checks
from core.gate.checks import check_values as values_of_checks
from core.gate.rules import REASON_LABELS, WEIGHTED, RouteDecision, decide_route
from core.platform import i18n
from core.platform.i18n import Message, PluralMessage
from core.platform.models import ReviewItem
from tests.utils.factories import make_finished_draft, make_project

# every check turned on, and sensitive enough that the texts below fail them
ALL_CHECKS_ON = {CHECK_METRICS["repetition"]: 0.01, CHECK_METRICS["longest_repeat"]: 1.0,
                 CHECK_METRICS["distinct1"]: 0.99, CHECK_METRICS["distinct2"]: 0.99, CHECK_METRICS["length"]: 1.01,
                 CHECK_METRICS["language"]: 1.0, CHECK_METRICS["empty"]: 1.0, CHECK_METRICS["echo"]: 0.01,
                 CHECK_METRICS["refusal"]: 1.0}
# (draft, instruction, references, project language)
CHECKED = (
    ("the cat sat on the mat and the cat sat on the mat again", "Write about 100 words in Chinese", [], None),
    ("春天来了，柳絮飞舞。春天来了，柳絮飞舞。春天来了，柳絮飞舞。", "写一段关于春天的短文", ["春天的北京。"], "zh"),
    ("这是一首很长很长的诗，写了又写，" * 4, "写诗", ["短诗。"], "zh"),
    ("As an AI language model, I like it.", "Write a poem", [], "en"),
    ("抱歉，我无法回答这个问题。", "写诗", ["春天的北京，柳絮在风里飘着，一片一片又一片，落在行人的肩上。"], "zh"),
    ("...", "Write", [], None),
)
SCORE_THRESHOLDS = {"bleu": None, "chrf": 30.0, "rouge1": None, "rouge2": None, "rougeL": 0.25}
METRIC_NAMES = re.compile(r"BLEU|chrF|ROUGE-\w+|distinct-\d")
USER_CONTENT = re.compile(r"“[^”]*”|bad")  # quoted from the instruction or the draft; the sensitive word


def decisions() -> list[RouteDecision]:
    found = [
        decide_route(text="a bad word", scores={"chrf": 50.0, "rougeL": 0.5}, thresholds=SCORE_THRESHOLDS,
                     sensitive_words=["bad", "bad"]),
        decide_route(text=" ", scores=None, thresholds=SCORE_THRESHOLDS),
        decide_route(text="x", scores={"chrf": None, "rougeL": 0.1}, thresholds=SCORE_THRESHOLDS),
        decide_route(text="x", scores={"chrf": 10.0, "rougeL": 0.5}, thresholds=SCORE_THRESHOLDS, rule=WEIGHTED,
                     weights={"chrf": 1.0, "rougeL": 3.0}, composite_threshold=0.9),
    ]
    for text, instruction, references, language in CHECKED:
        report = run_checks(text, instruction=instruction, references=references, language=language)
        found.append(decide_route(text=text, scores=None, thresholds=ALL_CHECKS_ON, checks=values_of_checks(report),
                                  report=report))
    return found


def stored(decision: RouteDecision) -> list[Message]:
    return [Message.from_json(part) for part in decision.stored_parts()]


def test_every_reason_kind_renders_in_chinese_with_no_english_but_metric_names_and_user_content():
    covered, chinese = set(), []
    for decision in decisions():
        covered.update(decision.reasons)
        for part in stored(decision):
            text = i18n.render(part, "zh_CN")
            chinese.append(text)
            assert not re.search(r"[A-Za-z]", USER_CONTENT.sub("", METRIC_NAMES.sub("", text))), text

    assert covered == set(REASON_LABELS)  # every reason a draft can be in review for
    shown = "\n".join(chinese)
    for wording in ("敏感词：bad", "草稿为空。", "没有可比较的词元", "综合分 ", "6 字片段", "4 词片段", "个字的文字出现了两次",
                    "个词的文字出现了两次", "不同的相邻字对太少", "不同的词太少", "太长：", "太短：", "参考文本的中位长度",
                    "指令要求的长度（“about 100 words”）", "应为中文，实为拉丁字母", "与指令", "套话式拒绝：",
                    "助手式空话：", "空内容：", "ROUGE-L 0.100 < 0.250"):
        assert wording in shown, wording


def test_the_stored_parts_render_in_english_exactly_as_the_stored_detail():
    for decision in decisions():
        assert "; ".join(str(part) for part in stored(decision)) == decision.detail
        assert stored(decision) == list(decision.parts)
    sensitive = decisions()[0]
    assert sensitive.detail == "Sensitive words: bad"


def test_an_item_in_review_keeps_its_parts_beside_the_english_detail(db, writer):
    project = make_project(db, "文案", references=("一只轻便的杯子，能让咖啡一直保持温热。",))
    draft = make_finished_draft(db, writer, project, "写一段台灯的介绍", instruction="写一段台灯的介绍")
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()

    parts = [Message.from_json(part) for part in item.reason_parts]
    assert "echo" in item.reasons and "; ".join(map(str, parts)) == item.reason_detail
    assert "echoes the instruction: 100% the same (more than 80%)" in item.reason_detail
    assert "复述指令 1.00 > 0.80——复述指令：与指令 100% 相同（超过 80%）" in [i18n.render(p, "zh_CN") for p in parts]


@pytest.mark.parametrize("data", [None, [], "text", {"params": {}}, {"msgid": 3}, {"msgid": "x", "params": []},
                                  {"msgid": "{n} word", "plural": "{n} words", "n": "3"},
                                  {"msgid": "x", "params": {"inner": {"params": {}}}}])
def test_what_is_not_a_stored_message_is_refused(data):
    with pytest.raises(ValueError):
        Message.from_json(data)


def test_a_message_in_a_message_renders_in_the_same_language_and_survives_json():
    count = PluralMessage("{count} word", "{count} words", 3, count="3")
    message = Message("repeats itself: a passage of {length} occurs twice (more than {limit})", length=count, limit="2")

    again = Message.from_json(json.loads(json.dumps(message.to_json())))
    assert str(again) == str(message) == "repeats itself: a passage of 3 words occurs twice (more than 2)"
    assert i18n.render(again, "zh_CN") == "自我重复：一段 3 个词的文字出现了两次（超过 2）"
    assert again == message and isinstance(again.params["length"], PluralMessage)
    assert str(Message.from_json(PluralMessage("{count} word", "{count} words", 1, count="1").to_json())) == "1 word"
    with pytest.raises(TypeError):
        Message("{when}", when=object()).to_json()
