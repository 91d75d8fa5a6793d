"""A form that fails validation keeps what the user typed; a form whose input was taken starts empty.

Clearing on submit happens in the browser (Streamlit's clear_on_submit), which AppTest does not
play: each page's forms are checked not to ask for it, and to start empty after a success.
tests/browser/test_forms_keep_input.py sees the same in Chromium.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.platform.models import Project, Provider, Reference, SensitiveWord, User
from tests.utils.factories import PASSWORD, make_project

PAGES = {
    "pages/presets.py": "editor", "pages/references.py": "editor", "pages/admin.py": "admin",
    "pages/providers.py": "admin", "pages/moderation.py": "admin", "pages/account.py": "writer",
    "pages/write.py": "writer",
}


def forms(at) -> dict[str, object]:
    found = {}

    def walk(node) -> None:
        if getattr(node, "type", None) == "form":
            found[node.proto.form.form_id] = node.proto.form
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def by_label(widgets, label_start):
    return next(w for w in widgets if w.label.startswith(label_start))


def submit(at, form, label):
    at.button(key=f"FormSubmitter:{form}-{label}").click().run()


@pytest.mark.parametrize("path", list(PAGES))
def test_no_form_empties_itself_on_submit(make_app, app_db, users, path):
    make_project(app_db, "Essays")
    at = make_app(path, users[PAGES[path]])
    assert not at.exception and forms(at)
    assert {form_id: form.clear_on_submit for form_id, form in forms(at).items()} == dict.fromkeys(forms(at), False)


def test_a_refused_project_or_reference_keeps_its_text(make_app, app_db, users):
    make_project(app_db, "Essays")
    at = make_app("pages/references.py", users["editor"])
    by_label(at.text_input, "Name").input("Essays")
    by_label(at.text_input, "Description").input("Spring essays")
    submit(at, "references.new_project", "Create project")
    assert [e.value for e in at.error] == ["A project named 'Essays' exists already."]
    assert (by_label(at.text_input, "Name").value, by_label(at.text_input, "Description").value) == (
        "Essays", "Spring essays")
    by_label(at.text_input, "Name").input("Essays 2")
    submit(at, "references.new_project", "Create project")
    assert not at.error and len(app_db.exec(select(Project)).all()) == 2
    assert (by_label(at.text_input, "Name").value, by_label(at.text_input, "Description").value) == ("", "")

    at.text_area[0].input("   ")
    submit(at, "references.add", "Add reference")
    assert at.error and at.text_area[0].value == "   "
    at.text_area[0].input("春天的北京很美。")
    submit(at, "references.add", "Add reference")
    assert not at.error and at.text_area[0].value == ""
    assert [r.text for r in app_db.exec(select(Reference))] == ["春天的北京很美。"]


def test_a_refused_user_keeps_the_name_role_and_password_typed(make_app, app_db, users):
    at = make_app("pages/admin.py", users["admin"])
    by_label(at.text_input, "User name").input("newbie")
    by_label(at.text_input, "Password (").input("short")
    at.selectbox(key="admin.new_user.0.role").set_value("editor")
    submit(at, "admin.new_user", "Create user")
    assert [e.value for e in at.error] == ["A password needs at least 8 characters."]
    assert by_label(at.text_input, "User name").value == "newbie"
    assert by_label(at.text_input, "Password (").value == "short"
    assert at.selectbox(key="admin.new_user.0.role").value == "editor"

    by_label(at.text_input, "Password (").input("a long enough phrase")
    submit(at, "admin.new_user", "Create user")
    assert not at.error
    assert app_db.exec(select(User).where(User.username == "newbie")).one().role == "editor"
    assert by_label(at.text_input, "User name").value == "" and by_label(at.text_input, "Password (").value == ""


def test_a_refused_password_reset_keeps_it_and_a_done_one_says_so_once(make_app, users):
    at = make_app("pages/admin.py", users["admin"])
    at.selectbox(key="admin.target").set_value(users["reviewer"].id).run()
    by_label(at.text_input, "New password for reviewer").input("qwerty123")
    submit(at, "admin.reset_password", "Reset password")
    assert "most common" in at.error[0].value and by_label(at.text_input, "New password for reviewer").value == "qwerty123"
    by_label(at.text_input, "New password for reviewer").input("a long enough phrase")
    submit(at, "admin.reset_password", "Reset password")
    assert [s.value for s in at.success] == ["The password of reviewer is changed."]
    assert by_label(at.text_input, "New password for reviewer").value == ""
    at.run()
    assert not at.success


def test_a_refused_provider_keeps_its_fields_and_a_new_one_defaults_to_chat(make_app, app_db, users):
    at = make_app("pages/providers.py", users["admin"])
    assert at.selectbox[1].value == "chat"  # a blank provider: the chat style, as everywhere else
    by_label(at.text_input, "Name").input("remote")
    by_label(at.text_input, "Base URL").input("http://example.com/v1")
    by_label(at.text_input, "Model").input("m-1")
    at.selectbox[1].set_value("completions")
    submit(at, "providers.add", "Add provider")
    assert at.error and app_db.exec(select(Provider)).all() == []
    assert [by_label(at.text_input, label).value for label in ("Name", "Base URL", "Model")] == [
        "remote", "http://example.com/v1", "m-1"]
    assert at.selectbox[1].value == "completions"

    by_label(at.text_input, "Base URL").input("http://127.0.0.1:9/v1")
    submit(at, "providers.add", "Add provider")
    assert not at.error
    assert app_db.exec(select(Provider)).one().api_style == "completions"
    assert [by_label(at.text_input, label).value for label in ("Name", "Base URL", "Model")] == ["", "", ""]
    assert at.selectbox[1].value == "chat"


def test_refused_words_stay_and_added_ones_are_counted(make_app, app_db, users):
    at = make_app("pages/moderation.py", users["admin"])
    at.text_area[0].input("fine\n" + "x" * 101)
    submit(at, "moderation.add", "Add")
    assert at.error and at.text_area[0].value == "fine\n" + "x" * 101
    at.text_area[0].input("fine")
    submit(at, "moderation.add", "Add")
    assert [s.value for s in at.success] == ["Added 1 new word."] and at.text_area[0].value == ""
    assert [w.word for w in app_db.exec(select(SensitiveWord))] == ["fine"]


def test_a_refused_password_change_keeps_the_fields(make_app, users):
    at = make_app("pages/account.py", users["writer"])
    for label, value in (("Current password", PASSWORD), ("New password (", "a new long phrase"),
                         ("New password again", "a new long phrase!")):
        by_label(at.text_input, label).input(value)
    submit(at, "account.password", "Change password")
    assert [e.value for e in at.error] == ["The two new passwords differ."]
    assert by_label(at.text_input, "New password again").value == "a new long phrase!"
    by_label(at.text_input, "New password again").input("a new long phrase")
    submit(at, "account.password", "Change password")
    assert "Your password is changed." in [s.value for s in at.success]
    assert all(by_label(at.text_input, label).value == "" for label in ("Current password", "New password"))
