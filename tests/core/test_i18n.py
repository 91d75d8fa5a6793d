"""core.platform.i18n: catalogs compiled when stale, languages negotiated, plural forms, core errors
rendered in the user's language, dates and numbers per locale."""

from __future__ import annotations

import os
import shutil
from datetime import datetime

import pytest

from core.platform import i18n
from core.platform.errors import DatabaseBusyError, InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message, PluralMessage


def test_a_catalog_is_compiled_when_its_mo_is_missing_or_older_than_its_po(tmp_path):
    shutil.copytree(i18n.LOCALE_DIR, tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    locale_dir = tmp_path / "locale"
    po = locale_dir / "zh_CN" / "LC_MESSAGES" / "draftgate.po"
    mo = po.with_suffix(".mo")

    assert po.with_suffix(".mo") in i18n.compile_catalogs(locale_dir)
    assert i18n.compile_catalogs(locale_dir) == []  # up to date: nothing written
    stale = po.stat().st_mtime - 10
    os.utime(mo, (stale, stale))
    assert i18n.compile_catalogs(locale_dir) == [mo]


def test_languages_come_from_the_catalogs_english_first():
    assert i18n.languages()[0] == "en"
    assert "zh_CN" in i18n.languages()


@pytest.mark.parametrize(("wishes", "expected"), [
    (["zh-CN"], "zh_CN"), (["zh"], "zh_CN"), (["zh-Hans-CN"], "zh_CN"), (["zh_CN"], "zh_CN"),
    (["en-US"], "en"), (["fr-FR", "zh-CN"], "zh_CN"), (["fr-FR"], "en"), ([], "en"), ([None, ""], "en"),
    (["not a tag!"], "en"),
])
def test_the_best_language_we_have_is_chosen(wishes, expected):
    assert i18n.negotiate(wishes) == expected


def test_accept_language_is_read_by_quality_then_order():
    assert i18n.accept_language("en;q=0.5, zh-CN, zh;q=0.9, *;q=0.1, fr;q=0") == ["zh-CN", "zh", "en"]
    assert i18n.accept_language(None) == [] and i18n.accept_language("en;q=abc") == []


def test_the_command_line_follows_draftgate_language_then_the_posix_locale():
    assert i18n.environment_language({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert i18n.environment_language({"LANG": "zh_CN.UTF-8", "DRAFTGATE_LANGUAGE": "en"}) == "en"
    assert i18n.environment_language({"LC_ALL": "C", "LANG": "zh_TW.UTF-8"}) == "zh_CN"
    assert i18n.environment_language({"LC_ALL": "C"}) == "en"


def test_plural_forms_follow_each_language():
    en, zh = i18n.translations("en"), i18n.translations("zh_CN")
    assert [en.ngettext("{n} minute", "{n} minutes", n).format(n=n) for n in (1, 2)] == ["1 minute", "2 minutes"]
    assert [zh.ngettext("{n} minute", "{n} minutes", n).format(n=n) for n in (1, 2)] == ["1 分钟", "2 分钟"]
    many = PluralMessage("{n} event", "{n} events", 3)
    assert str(many) == "3 events" and many.render(zh) == "3 个事件"


def test_a_core_error_carries_its_message_id_and_parameters():
    err = InvalidInputError(Message(N_("There is no interface in the language {language}."), language="xx"))
    assert err.message_id == "There is no interface in the language {language}."
    assert err.params == {"language": "xx"}
    assert str(err) == "There is no interface in the language xx."
    assert err.user_message(i18n.translations("zh_CN")) == "没有 xx 语言的界面。"


def test_a_plain_error_message_is_translated_when_a_catalog_has_it_and_shown_as_is_otherwise():
    zh = i18n.translations("zh_CN")
    assert NotFoundError("No such project.").user_message(zh) == "没有这个项目。"
    assert NotFoundError("Something no catalog has.").user_message(zh) == "Something no catalog has."
    assert DatabaseBusyError().user_message(zh) == "数据库繁忙，请稍后再试。"
    assert str(DatabaseBusyError()) == "The database is busy; try again in a moment."


def test_a_translation_naming_a_missing_parameter_shows_its_text_rather_than_failing():
    class Broken:
        def gettext(self, message):
            return "{nothing}"

        def ngettext(self, singular, plural, n):
            return "{nothing}"

    assert Message("x {a}", a=1).render(Broken()) == "{nothing}"


def test_dates_and_numbers_are_written_as_the_locale_writes_them():
    moment = datetime(2026, 1, 2, 3, 4)
    assert i18n.format_datetime(moment, "en", length="short") == "2026-01-02 03:04"
    assert i18n.format_datetime(moment, "zh_CN", length="short") == "2026/1/2 03:04"
    assert i18n.format_number(12345.5, "en") == "12,345.5"
    assert i18n.format_number(12345.5, "zh_CN") == "12,345.5"
    assert i18n.language_name("zh_CN").startswith("中文")


def test_numbers_keep_the_digits_asked_for_and_times_of_day_follow_the_locale():
    moment = datetime(2026, 5, 17, 9, 5)
    assert i18n.format_number(1234.56, "en", digits=1) == "1,234.6"
    assert i18n.format_number(1234.56, "de", digits=1) == "1.234,6"  # a third language needs no code
    assert i18n.format_number(2.0, "zh_CN", digits=0) == "2" and i18n.format_number(0.35, "de") == "0,35"
    assert i18n.format_time(moment, "en") == "09:05" and i18n.format_time(moment, "zh_CN") == "09:05"


def test_a_message_inside_a_message_is_rendered_in_the_same_language():
    from core.review.items import BY_POLICY, left_reason

    reason = left_reason(BY_POLICY.format(version=3))
    outer = Message(N_("This draft left the queue: {reason}."), reason=reason)
    assert str(outer) == "This draft left the queue: accepted by policy v3."
    assert outer.render(i18n.translations("zh_CN")) == "这份草稿已离开审核队列：因策略 v3 而通过。"
    assert left_reason("a reason typed by someone") == "a reason typed by someone"


def test_a_provider_failure_with_its_note_reads_in_either_language():
    from core.llm.retry import Failure
    from core.platform.errors import LLMConnectionError

    failure = Failure(LLMConnectionError, Message(N_("Could not reach the provider at {url}: {reason}"),
                                                  url="https://llm.example/v1", reason="ConnectError"))
    err = failure.error(note=Message(N_("gave up after {n} tries"), n=3), partial_text="春天来了")
    assert str(err) == ("The stream broke after 4 characters: Could not reach the provider at https://llm.example/v1: "
                        "ConnectError (gave up after 3 tries)")
    assert err.user_message(i18n.translations("zh_CN")) == (
        "流式输出在 4 个字符后中断：无法连接位于 https://llm.example/v1 的服务商：ConnectError（尝试 3 次后放弃）")
