"""The Write and Review pages tell why a draft is in review in the reader's language (issue 18): the
stored parts rendered in Chinese for a Chinese reader, the stored English for an English one, and
rows kept before the parts were (or with parts this version cannot read) show their stored text."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.platform.models import ReviewItem, Turn, User, WritingSession
from tests.pages.conftest import texts
from tests.pages.test_i18n_pages import english_left, rendered
from tests.utils.factories import make_finished_draft, make_project

ECHO_IN_CHINESE = "复述指令 1.00 > 0.80——复述指令：与指令 100% 相同（超过 80%）"


@pytest.fixture
def echoed(app_db, users):
    """A draft that repeats its instruction, in review for its low scores and the echo."""
    project = make_project(app_db, name="文案", references=("一只轻便的杯子，能让咖啡一直保持温热。",))
    draft = make_finished_draft(app_db, users["writer"], project, "写一段台灯的介绍", instruction="写一段台灯的介绍")
    writing_session = app_db.get(WritingSession, app_db.get(Turn, draft.turn_id).session_id)
    writing_session.title = "台灯"
    app_db.commit()
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    assert item.reasons == ["low_score", "echo"] and item.reason_parts
    return item, {"session": writing_session.public_id}


def in_review_line(at) -> str:
    lines = [line for line in texts(at).splitlines() if line.startswith("🔎")]
    assert len(lines) == 1
    return lines[0]


def test_the_write_page_says_why_in_chinese_and_in_english(echoed, users):
    item, query = echoed

    chinese = in_review_line(rendered("pages/write.py", users["writer"], "zh-CN", query))
    assert ECHO_IN_CHINESE in chinese and "；" in chinese and english_left([chinese]) == []

    english = in_review_line(rendered("pages/write.py", users["writer"], "en-US", query))
    assert english.endswith(f"): {item.reason_detail}")
    assert "echo of the instruction 1.00 > 0.80 — echoes the instruction: 100% the same (more than 80%)" in english


def test_the_review_page_says_why_in_the_language_the_reviewer_chose(echoed, users, app_db):
    item, _ = echoed
    reviewer = app_db.get(User, users["reviewer"].id)
    reviewer.language = "zh_CN"  # the Account page's setting wins over the browser's English
    app_db.commit()

    at = rendered("pages/review.py", reviewer, "en-US")
    at.button(key=f"review.open.{item.id}").click().run()
    assert not at.exception
    reasons = [line for line in texts(at).splitlines() if line.startswith("原因：")]
    assert len(reasons) == 1 and ECHO_IN_CHINESE in reasons[0] and english_left(reasons) == []


@pytest.mark.parametrize("parts", [[], [{"unreadable": True}]], ids=["kept before the parts", "unreadable parts"])
def test_a_row_without_readable_parts_shows_its_stored_text(parts, echoed, users, app_db):
    item, query = echoed
    item = app_db.get(ReviewItem, item.id)
    item.reason_parts, item.reason_detail = parts, "chrF 0.0 < 25.0; echo of the instruction 0.83 > 0.80"
    app_db.commit()

    assert in_review_line(rendered("pages/write.py", users["writer"], "zh-CN", query)).endswith(
        "：chrF 0.0 < 25.0; echo of the instruction 0.83 > 0.80")
    at = rendered("pages/review.py", users["reviewer"], "zh-CN")
    at.button(key=f"review.open.{item.id}").click().run()
    assert not at.exception and any(line.startswith("原因：") and line.endswith(
        "chrF 0.0 < 25.0; echo of the instruction 0.83 > 0.80") for line in texts(at).splitlines())


def test_why_a_draft_failed_is_shown_in_the_readers_language_and_old_rows_keep_their_text(app_db, users):
    from core.llm.retry import broken_stream_message
    from core.platform.models import Draft
    from core.platform.states import DraftStatus
    from core.writing.turns import mark_unfinished

    project = make_project(app_db, name="文案", references=("一只杯子。",))
    failed = make_finished_draft(app_db, users["writer"], project, "一只", instruction="写杯子")
    old = make_finished_draft(app_db, users["writer"], project, "两只", instruction="再写")
    for draft in (failed, old):
        draft.status = DraftStatus.GENERATING
        app_db.add(draft)
    app_db.commit()
    engine = app_db.get_bind()
    mark_unfinished(engine, failed.id, DraftStatus.FAILED, broken_stream_message("the connection dropped", "一只"))
    mark_unfinished(engine, old.id, DraftStatus.FAILED, "The provider went away.")  # stored as text alone
    app_db.expire_all()
    assert app_db.get(Draft, failed.id).error == "The stream broke after 2 characters: the connection dropped"
    assert app_db.get(Draft, old.id).error_message is None
    def page_of(draft, locale):
        session_id = app_db.get(Turn, draft.turn_id).session_id
        return texts(rendered("pages/write.py", users["writer"], locale,
                              {"session": app_db.get(WritingSession, session_id).public_id}))

    assert "：流式输出在 2 个字符后中断：the connection dropped" in page_of(failed, "zh-CN")
    assert "failed: The stream broke after 2 characters: the connection dropped" in page_of(failed, "en-US")
    assert "：The provider went away." in page_of(old, "zh-CN")  # an old row shows what it stored
