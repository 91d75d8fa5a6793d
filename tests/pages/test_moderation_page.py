import pytest
from sqlmodel import select

from core.platform.models import SensitiveWord
from tests.pages.conftest import texts


@pytest.mark.parametrize("role, allowed", [("writer", False), ("reviewer", False), ("editor", False), ("admin", True)])
def test_only_admins_manage_sensitive_words(make_app, users, role, allowed):
    at = make_app("pages/moderation.py", users[role])
    assert not at.exception
    assert any("does not give access" in e.value for e in at.error) != allowed


def test_add_check_and_remove_words(make_app, app_db, users):
    at = make_app("pages/moderation.py", users["admin"])
    assert "The list is empty: no draft is flagged or masked for its words." in texts(at)
    at.text_area[0].input("坏词\nbad\n\nBAD")
    at.button(key="FormSubmitter:moderation.add-Add").click().run()
    assert not at.exception and "Added 2 new words." in [s.value for s in at.success]
    assert at.subheader[0].value == "Listed words (2)"

    at.text_area(key="moderation.check").input("这是坏词, a bad idea, badly done").run()
    assert "Found: 坏词, bad" in [w.value for w in at.warning]
    assert "这是＊＊, a *** idea, badly done" in [t.value for t in at.text]
    assert any("rgba(255, 43, 43" in m.value for m in at.markdown)

    ids = [w.id for w in app_db.exec(select(SensitiveWord)) if w.word == "bad"]
    at.multiselect(key="moderation.remove").set_value(ids).run()
    at.button(key="moderation.delete").click().run()
    assert not at.exception and [w.word for w in app_db.exec(select(SensitiveWord))] == ["坏词"]


def test_a_too_long_word_is_refused_with_a_message(make_app, users):
    at = make_app("pages/moderation.py", users["admin"])
    at.text_area[0].input("x" * 101)
    at.button(key="FormSubmitter:moderation.add-Add").click().run()
    assert [e.value for e in at.error] == ["A sensitive word is too long: 101 characters (at most 100)."]


def test_import_a_word_file(make_app, app_db, users):
    at = make_app("pages/moderation.py", users["admin"])
    at.file_uploader[0].set_value(("words.txt", "# list\n坏词\nbad\n".encode(), "text/plain")).run()
    at.button(key="moderation.import").click().run()
    assert not at.exception and "Imported 2 new words." in [s.value for s in at.success]
    assert at.subheader[0].value == "Listed words (2)"
