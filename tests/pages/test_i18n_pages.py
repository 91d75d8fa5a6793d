"""Every covered page renders in Chinese and in English with no exception, and in Chinese shows no
English interface text (user names, IDs, technical names and user content aside)."""

from __future__ import annotations

import ast
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import ROOT, TIMEOUT, TOKEN_KEY, signed_in_token, texts
from tests.utils.factories import make_project

# (page, the role that may use it)
PAGES = (
    ("pages/account.py", "writer"), ("pages/admin.py", "admin"), ("pages/audit.py", "admin"),
    ("pages/health.py", "admin"), ("pages/moderation.py", "admin"), ("pages/presets.py", "editor"),
    ("pages/providers.py", "admin"), ("pages/references.py", "editor"), ("pages/write.py", "writer"),
    ("pages/thresholds.py", "editor"), ("pages/dashboard.py", "editor"), ("pages/review.py", "reviewer"),
    ("pages/review.py", "editor"),
)
# Not checked for English text yet: panels from files not covered (tests/pages/test_i18n_catalogs.NOT_COVERED).
PANELS_NOT_COVERED: dict[str, tuple[str, ...]] = {}
# Words that stay as they are in Chinese: names, protocols, formats, settings, metrics, user names.
KEPT = re.compile(
    r"Draftgate|DRAFTGATE_\w+|\b(?:API|URL|UTC|JSON|JSONL|CSV|HTTP|HTTPS|QPS|AES-256-GCM|IP|ID|UUID|token|"
    r"[Gg]emma[\w.-]*|llama\.cpp|SQLite|PostgreSQL|base64|[a-z][a-z+]*://[\x21-\x7e]*|Redis|Bearer|BLEU|chrF|ROUGE-\w+|distinct-\d|"
    r"instruction|answer|min_similarity|text|word|admin|writer|reviewer|editor|python -m core[\w -]*|v1|"
    r"AppTest|txt|csv|jsonl|ms|Alt)\b"
)
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
HTML_TAG = re.compile(r"<[^<>]+>")  # the markup of marked text (ui.components.show_marked), not text


def rendered(path: str, user, locale: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    at.context["locale"] = locale
    at.query_params.update(query or {})
    if user is not None:
        at.session_state[TOKEN_KEY] = signed_in_token(user)
    return at.run()


def interface_text(at: AppTest) -> list[str]:
    """Everything the page shows: text elements, widget labels, tabs, expanders, table headers."""
    shown = texts(at).splitlines()
    for kind in ("button", "text_input", "text_area", "selectbox", "multiselect", "checkbox", "toggle",
                 "number_input", "date_input", "radio", "tabs", "expander"):
        shown += [str(getattr(widget, "label", "")) for widget in getattr(at, kind)]
    for frame in at.dataframe:
        shown += [str(column) for column in frame.value.columns]
    return [without_tags for line in shown if (without_tags := HTML_TAG.sub("", line)).strip()]


def literals(path: str) -> list[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return [node.value.strip() for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip()]


def from_panels_not_covered(line: str, page: str) -> bool:
    """A panel's longer literal anywhere in the line, or a short one ("Score") as the whole line."""
    theirs = [text for panel in PANELS_NOT_COVERED.get(page, ()) for text in literals(panel)]
    return any(text in line if len(text) >= 6 else text == line.strip() for text in theirs)


def english_left(lines: list[str], page: str = "") -> list[str]:
    """The lines with English words left, but those of the panels not covered yet."""
    return [line for line in lines if ENGLISH_WORD.search(KEPT.sub("", line)) and not from_panels_not_covered(line, page)]


@pytest.fixture
def everyone(app_db, users):
    make_project(app_db, name="项目一")
    return users


@pytest.mark.parametrize(("path", "role"), PAGES)
def test_a_page_in_chinese_shows_no_english_interface_text(path, role, everyone):
    at = rendered(path, everyone[role], "zh-CN")

    assert not at.exception
    assert english_left(interface_text(at), path) == []


@pytest.mark.parametrize(("path", "role"), PAGES)
def test_a_page_in_english_shows_english(path, role, everyone):
    at = rendered(path, everyone[role], "en-US")

    assert not at.exception
    assert not any(re.search(r"[\u4e00-\u9fff]", line) for line in interface_text(at)
                   if "项目一" not in line and not from_panels_not_covered(line, path))


@pytest.mark.parametrize("variants", [1, 2])
def test_the_write_page_of_a_session_with_drafts_speaks_chinese(variants, everyone, app_db):
    from core.platform.models import Draft, Turn, WritingSession
    from tests.utils.factories import make_finished_draft

    project = make_project(app_db, name="散文", references=("春天的北京，柳絮在风里飘着。",))
    draft = make_finished_draft(app_db, everyone["writer"], project, "春天来了，柳絮飞舞。", "写一段关于春天的短文")
    writing_session = app_db.get(WritingSession, app_db.get(Turn, draft.turn_id).session_id)
    writing_session.title = "春天"
    if variants == 2:
        app_db.add(Draft(turn_id=draft.turn_id, variant=1, text="夏天到了。", status="stopped", model="test"))
    app_db.commit()
    query = {"session": writing_session.public_id}
    at = rendered("pages/write.py", everyone["writer"], "zh-CN", query)

    assert not at.exception
    assert "重新生成" in [b.label for b in at.button] and "参数" in [e.label for e in at.expander]
    assert english_left(ids_aside(interface_text(at), app_db)) == []
    assert ("2 个变体" in texts(at)) == (variants == 2)
    english = rendered("pages/write.py", everyone["writer"], "en-US", query)
    assert not english.exception and "Regenerate" in [b.label for b in english.button]


def test_signed_out_the_prompt_follows_the_browser(everyone):
    at = rendered("pages/account.py", None, "zh-CN")
    assert not at.exception and [w.value for w in at.warning] == ["请先登录。"]
    assert [w.value for w in rendered("pages/account.py", None, "fr-FR").warning] == ["Please sign in first."]


def test_the_language_chosen_on_the_account_page_wins_over_the_browser_and_is_kept(everyone, app_db):
    from core.platform.models import User

    writer = everyone["writer"]
    at = rendered("pages/account.py", writer, "zh-CN")
    assert at.title[0].value == "账户"
    at.selectbox(key="account.language").set_value("en").run()
    assert not at.exception and at.title[0].value == "Account"
    app_db.expire_all()
    assert app_db.get(User, writer.id).language == "en"
    assert rendered("pages/account.py", writer, "zh-CN").title[0].value == "Account"  # another browser too

    at.selectbox(key="account.language").select_index(0).run()  # back to the browser's
    app_db.expire_all()
    assert app_db.get(User, writer.id).language == ""
    assert rendered("pages/account.py", writer, "zh-CN").title[0].value == "账户"


def test_a_core_error_is_shown_in_the_users_language(everyone):
    at = rendered("pages/account.py", everyone["writer"], "zh-CN")
    form = "account.password"
    inputs = [t for t in at.text_input if t.key and t.key.startswith(form)]
    inputs[0].input("not-my-password")
    inputs[1].input("a new long phrase")
    inputs[2].input("a new long phrase")
    at.button(key=f"FormSubmitter:{form}-修改密码").click().run()
    assert [e.value for e in at.error] == ["当前密码不正确。"]


def test_a_refused_instruction_says_why_in_the_users_language(everyone, app_db):
    from core.writing.sessions import create_session

    project = make_project(app_db, name="散文")
    writing_session = create_session(session=app_db, owner=everyone["writer"], project_id=project.id)
    at = rendered("pages/write.py", everyone["writer"], "zh-CN", {"session": writing_session.public_id})
    at.text_area(key="params.stop").set_value("a\nb\nc\nd\ne").run()
    at.chat_input[0].set_value("写一段关于春天的短文").run()
    assert not at.exception and [e.value for e in at.error] == ["stop 最多包含 4 个非空字符串。"]


def chart_texts(at: AppTest) -> list[str]:
    """What the page's charts write: titles, axis titles, tooltip titles, and the series in their legends."""
    import json

    found = []
    for chart in at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        for part in [spec, *spec.get("layer", [])]:
            title = part.get("title")
            found.append(title.get("text") if isinstance(title, dict) else title)
            for channel in part.get("encoding", {}).values():
                for encoded in channel if isinstance(channel, list) else [channel]:
                    found.append(encoded.get("title") if isinstance(encoded, dict) else None)
                    if isinstance(encoded, dict):
                        found += [str(v) for v in encoded.get("scale", {}).get("domain", [])]
    return [text for text in found if isinstance(text, str) and text.strip()]


def test_the_dashboard_and_thresholds_charts_speak_chinese(everyone, app_db):
    from sqlmodel import select

    from core.platform.models import ReviewItem
    from core.review.claims import claim
    from core.review.decisions import decide
    from tests.utils.factories import make_finished_draft

    project = make_project(app_db, "杯子", references=("the cat sat on the mat",))
    make_finished_draft(app_db, everyone["writer"], project, "the cat sat on the mat")
    flagged = make_finished_draft(app_db, everyone["writer"], project, "dogs bark loudly")
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == flagged.id)).one()
    claimed = claim(session=app_db, item_id=item.id, reviewer=everyone["reviewer"])
    decide(session=app_db, item_id=item.id, reviewer=everyone["reviewer"], verdict="rejected", reason="off",
           expected_version=claimed.version)

    dashboard = rendered("pages/dashboard.py", everyone["editor"], "zh-CN")
    assert not dashboard.exception
    dashboard_texts = chart_texts(dashboard)
    assert "每日草稿数" in dashboard_texts and "草稿送审原因" in dashboard_texts
    assert english_left(dashboard_texts) == []
    assert english_left(interface_text(dashboard), "pages/dashboard.py") == []

    at = AppTest.from_file(str(ROOT / "pages/thresholds.py"), default_timeout=TIMEOUT)
    at.context["locale"] = "zh-CN"
    at.session_state[TOKEN_KEY] = signed_in_token(everyone["editor"])
    at.session_state["thresholds.project"] = project.id
    at.run()
    assert not at.exception
    thresholds_texts = chart_texts(at)
    assert "按判定划分的评分" in thresholds_texts and "已驳回" in thresholds_texts
    assert english_left(thresholds_texts) == []
    assert english_left(interface_text(at), "pages/thresholds.py") == []


@pytest.fixture
def in_review(app_db, users):
    """A Chinese draft in review, in a session with a Chinese title, on a project with a rubric."""
    from sqlmodel import select

    from core.access.actors import SYSTEM
    from core.platform.models import ReviewItem, WritingSession
    from core.review.rubric import set_rubric
    from tests.utils.factories import make_finished_draft

    project = make_project(app_db, name="项目一", references=("一只轻便的杯子，能让咖啡一直保持温热。",))
    set_rubric(session=app_db, project_id=project.id, names=["准确", "语气"], actor_id=SYSTEM)
    draft = make_finished_draft(app_db, users["writer"], project, "明亮的台灯。", instruction="写一段台灯的介绍")
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    for writing_session in app_db.exec(select(WritingSession)):
        writing_session.title = "台灯文案"
    app_db.commit()
    return item


def test_the_review_page_in_chinese_shows_the_editors_tools_a_draft_and_its_claim_in_chinese(users, in_review):
    editor = rendered("pages/review.py", users["editor"], "zh-CN")
    editor.checkbox(key=f"review.pick.{in_review.id}").check().run()  # the bulk tools and each reviewer's load
    assert not editor.exception and "已选：#1" in texts(editor) and editor.dataframe
    assert english_left(interface_text(editor)) == []

    at = rendered("pages/review.py", users["reviewer"], "zh-CN")
    assert not at.exception and at.subheader[0].value == "审核队列（1）"
    at.button(key=f"review.open.{in_review.id}").click().run()
    assert not at.exception and "评审清单" in texts(at)
    assert english_left(interface_text(at)) == []
    at.button(key="review.start").click().run()
    assert not at.exception and "你的领取将在" in texts(at)
    assert english_left(interface_text(at)) == []
    at.text_input(key=f"review.reason.{in_review.id}").input("离题")
    at.button(key="review.reject").click().run()
    assert not at.exception and f"草稿 #{in_review.id}：已驳回。" in texts(at)
    assert english_left(interface_text(at)) == []



def test_a_second_review_and_its_adjudication_in_chinese(app_db, users, in_review):
    from sqlmodel import select

    from core.platform.models import SecondReview
    from core.platform.states import ReviewState
    from core.review.claims import claim
    from core.review.decisions import decide
    from core.review.second import set_share

    set_share(session=app_db, actor=users["editor"], project_id=in_review.project_id, share=1.0)
    claimed = claim(session=app_db, item_id=in_review.id, reviewer=users["admin"])
    decide(session=app_db, item_id=in_review.id, reviewer=users["admin"], verdict=ReviewState.APPROVED,
           reason="可以", expected_version=claimed.version)

    at = rendered("pages/review.py", users["reviewer"], "zh-CN")
    at.button(key="review.second_take").click().run()
    second_id = app_db.exec(select(SecondReview.id)).one()
    assert not at.exception and f"复审 #{second_id}" in [s.value for s in at.subheader]
    assert english_left(interface_text(at)) == []
    at.text_input(key=f"review.second_reason.{second_id}").input("不是杯子")
    at.button(key="review.second_reject").click().run()
    assert not at.exception

    editor = rendered("pages/review.py", users["editor"], "zh-CN")
    assert not editor.exception and "分歧（1）" in [s.value for s in editor.subheader]
    assert "条目 #1：admin 已通过，reviewer 已驳回" in [e.label for e in editor.expander]
    assert english_left(interface_text(editor)) == []


def test_the_dashboards_agreement_between_reviewers_speaks_chinese(everyone, app_db):
    from tests.pages.test_dashboard_page import paired_reviews
    from tests.utils.factories import make_user

    project = make_project(app_db, "杯子", references=("the cat sat on the mat",))
    rita = make_user(app_db, "rita", "reviewer")
    paired_reviews(app_db, everyone["writer"], everyone["reviewer"], rita, project,
                   [("approved", "approved"), ("rejected", "approved"), ("rejected", "rejected")])

    dashboard = rendered("pages/dashboard.py", everyone["editor"], "zh-CN")

    assert not dashboard.exception
    texts = chart_texts(dashboard)
    assert "每周一致性" in texts and "结论相同" in texts and "克里彭多夫 α 系数" in texts
    assert english_left(texts) == []
    assert english_left(interface_text(dashboard), "pages/dashboard.py") == []
    [pairs] = [table.value for table in dashboard.dataframe]
    assert list(pairs.columns) == ["审核人", "经两次审核的草稿", "结论相同", "科恩 κ 系数", "可信度"]
    assert list(pairs["可信度"]) == ["太少，不可信"]


@pytest.fixture
def lived_in(app_db, users):
    """Data as a team leaves it: untitled sessions, drafts of every status (failed and stopped with
    their reasons), review items open, held by another reviewer, decided and gone from the queue by
    a new policy, comments, a second project without references."""
    from datetime import timedelta

    from sqlmodel import select

    from core.platform.models import Draft, ReviewItem, Turn, utcnow
    from core.review.claims import claim
    from core.review.comments import add_comment
    from core.review.decisions import decide
    from core.review.items import BY_POLICY
    from core.writing.turns import LEFT_MID_STREAM, STOPPED_BY_WRITER, UNEXPECTED_FAILURE
    from tests.utils.factories import make_finished_draft

    prose = make_project(app_db, name="散文", references=("春天的北京，柳絮在风里飘着。",))
    make_project(app_db, name="无参考项目")
    writer, reviewer, editor = users["writer"], users["reviewer"], users["editor"]
    passed = make_finished_draft(app_db, writer, prose, "春天的北京，柳絮在风里飘着。", "写春天")
    turn = app_db.get(Turn, passed.turn_id)
    for variant, (status, error) in enumerate([("failed", UNEXPECTED_FAILURE), ("stopped", STOPPED_BY_WRITER),
                                               ("interrupted", LEFT_MID_STREAM)], start=1):
        app_db.add(Draft(turn_id=turn.id, variant=variant, text="春天", status=status, error=error, model="test",
                         finish_reason="length" if status == "stopped" else ""))
    flagged = [make_finished_draft(app_db, writer, prose, text, "写一段短文")
               for text in ("秋天的落叶。", "冬天的雪。", "夏天的雨。", "夜晚的星星。")]
    items = [app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == d.id)).one() for d in flagged]
    held = claim(session=app_db, item_id=items[0].id, reviewer=editor)  # another reviewer holds it
    done = claim(session=app_db, item_id=items[1].id, reviewer=editor)
    decide(session=app_db, item_id=items[1].id, reviewer=editor, verdict="rejected", reason="离题",
           expected_version=done.version)
    left = app_db.get(ReviewItem, items[2].id)
    left.state, left.decision_reason, left.decided_at = "accepted", BY_POLICY.format(version=1), utcnow()
    app_db.add(left)
    add_comment(session=app_db, draft_id=flagged[3].id, author=reviewer, body="第二句可以更短。")
    app_db.commit()
    assert held.claim_expires_at > utcnow() + timedelta(minutes=1)
    return {"prose": prose, "session": turn.session_id, "held": items[0], "decided": items[1], "left": items[2],
            "open": items[3]}


def ids_aside(lines: list[str], app_db) -> list[str]:
    """The lines without the sessions' public IDs (random letters) and the drafts' model names."""
    from sqlmodel import select

    from core.platform.models import Draft, WritingSession

    for public_id in app_db.exec(select(WritingSession.public_id)):
        lines = [line.replace(public_id, "").replace(public_id[:6], "") for line in lines]
    models = {model for model in app_db.exec(select(Draft.model)) if model}
    return [re.sub("|".join(rf"\b{re.escape(model)}\b" for model in models), "", line) if models else line
            for line in lines]


@pytest.mark.parametrize(("path", "role"), PAGES)
def test_every_page_with_lived_in_data_in_chinese_shows_no_english_interface_text(path, role, users, lived_in, app_db):
    at = rendered(path, users[role], "zh-CN")

    assert not at.exception
    assert english_left(ids_aside(interface_text(at), app_db), path) == []


def test_the_write_page_of_a_session_with_failed_and_stopped_drafts_in_chinese(users, lived_in, app_db):
    from core.platform.models import WritingSession

    writing_session = app_db.get(WritingSession, lived_in["session"])
    at = rendered("pages/write.py", users["writer"], "zh-CN", {"session": writing_session.public_id})

    assert not at.exception
    shown = texts(at)
    assert "已由写作者停止。" in shown and "意外错误中止了这份草稿；已记录到日志。" in shown and "模型已写完" in shown
    assert "会话 **会话 " in shown  # an untitled session is named in Chinese, by when it began
    assert english_left(ids_aside(interface_text(at), app_db)) == []


@pytest.mark.parametrize("which", ["held", "decided", "left", "open"])
def test_an_opened_review_item_in_every_state_speaks_chinese(which, users, lived_in, app_db):
    at = rendered("pages/review.py", users["reviewer"], "zh-CN")
    item = lived_in[which]
    at.session_state["review.item_id"] = item.id
    at.run()

    assert not at.exception
    if which == "left":
        assert "已离开审核队列：因策略 v1 而通过。" in texts(at)
    if which == "held":
        assert "editor 正在审核这份草稿；你可以阅读。" in [i.value for i in at.info]
    assert english_left(ids_aside(interface_text(at), app_db)) == []


def test_bulk_decisions_say_why_each_skipped_draft_was_skipped_in_chinese(users, lived_in, app_db):
    from core.review.claims import claim

    admin = rendered("pages/review.py", users["admin"], "zh-CN")
    for which in ("held", "open"):
        admin.checkbox(key=f"review.pick.{lived_in[which].id}").check()
    admin.run()
    claim(session=app_db, item_id=lived_in["open"].id, reviewer=users["reviewer"])  # taken meanwhile
    admin.text_input(key="review.bulk_reason").input("离题")
    admin.button(key="review.bulk_reject").click().run()

    assert not admin.exception
    assert sorted(w.value for w in admin.warning) == sorted([
        f"已跳过 #{lived_in['held'].id}：editor 正在审核这份草稿。",
        f"已跳过 #{lived_in['open'].id}：reviewer 正在审核这份草稿。"])


def test_the_health_details_are_chinese_and_the_cli_json_stays_english(users, app_db):
    at = rendered("pages/health.py", users["admin"], "zh-CN")

    assert not at.exception
    details = list(at.dataframe[0].value["详情"])
    assert details and all(re.search(r"[\u4e00-\u9fff]", d) for d in details)
    assert english_left(details) == []
    from core.platform.health import check_redis

    assert check_redis("").as_json()["detail"].startswith("not configured")
