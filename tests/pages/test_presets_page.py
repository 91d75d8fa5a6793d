import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.platform.models import Preset
from core.writing.presets import add_preset
from tests.pages.conftest import texts
from tests.utils.factories import make_project


@pytest.mark.parametrize("role, allowed", [("writer", False), ("reviewer", False), ("editor", True), ("admin", True)])
def test_only_editors_and_admins_manage_presets(make_app, users, role, allowed):
    at = make_app("pages/presets.py", users[role])
    assert not at.exception
    assert any("does not give access" in e.value for e in at.error) != allowed


def test_add_try_edit_and_delete_a_preset(make_app, app_db, users):
    make_project(app_db, "Shop")
    at = make_app("pages/presets.py", users["editor"])
    assert "This project has no preset yet." in texts(at)
    at.text_input[0].input("退货政策是什么？")
    at.text_area[0].input("七天无理由退货。")
    at.button(key="FormSubmitter:presets.add-Add preset").click().run()
    assert not at.exception and at.subheader[0].value == "Presets (1)"
    preset = app_db.exec(select(Preset)).one()

    at.text_input(key="presets.probe").input("退货 政策是什么").run()
    assert f"Preset #{preset.id} answers it (exact)." in [s.value for s in at.success]
    at.text_input(key="presets.probe").input("换货政策").run()
    assert "No preset matches: the model would write the draft." in texts(at)

    form = f"FormSubmitter:presets.edit.{preset.id}-Save"
    at.text_area[1].input("三十天退货。")
    at.button(key=form).click().run()
    app_db.refresh(preset)
    assert not at.exception and preset.answer == "三十天退货。"

    at.button(key=f"presets.delete.{preset.id}").click().run()
    assert app_db.exec(select(Preset)).all() == [] and at.subheader[0].value == "Presets (0)"


def test_a_duplicate_is_refused_with_a_message(make_app, app_db, users):
    project = make_project(app_db, "Shop")
    add_preset(session=app_db, project_id=project.id, instruction="Hi", answer="Hello.", actor_id=SYSTEM)
    at = make_app("pages/presets.py", users["editor"])
    at.text_input[0].input("hi!")
    at.text_area[0].input("Yo.")
    at.button(key="FormSubmitter:presets.add-Add preset").click().run()
    assert [e.value for e in at.error] == ["This project has a preset for that instruction already."]
    assert (at.text_input[0].value, at.text_area[0].value) == ("hi!", "Yo.")  # the refused input stays


def test_a_refused_preset_keeps_what_was_typed_and_an_added_one_clears_the_form(make_app, app_db, users):
    make_project(app_db, "Shop")
    at = make_app("pages/presets.py", users["editor"])
    at.text_input[0].input("What is the return policy?")
    at.text_area[0].input("Thirty days.")
    at.number_input[0].set_value(20.0)
    at.button(key="FormSubmitter:presets.add-Add preset").click().run()
    assert at.error and app_db.exec(select(Preset)).all() == []
    assert (at.text_input[0].value, at.text_area[0].value, at.number_input[0].value) == (
        "What is the return policy?", "Thirty days.", 20.0)

    at.number_input[0].set_value(80.0)
    at.button(key="FormSubmitter:presets.add-Add preset").click().run()
    assert not at.error and len(app_db.exec(select(Preset)).all()) == 1
    assert (at.text_input[0].value, at.text_area[0].value, at.number_input[0].value) == ("", "", 0.0)


def test_import_from_csv(make_app, app_db, users):
    make_project(app_db, "Shop")
    at = make_app("pages/presets.py", users["editor"])
    at.file_uploader[0].set_value(("p.csv", b"instruction,answer\nQ1,A1\nQ2,A2\n", "text/csv")).run()
    at.button(key="presets.import").click().run()
    assert not at.exception and "Imported: 2 new, 0 updated." in [s.value for s in at.success]
    assert at.subheader[0].value == "Presets (2)"
    assert "used 0×" in " ".join(e.label for e in at.expander)
    at.file_uploader[0].set_value(("p.csv", b"instruction,answer\nQ3,\n", "text/csv")).run()
    at.button(key="presets.import").click().run()
    assert [e.value for e in at.error] == ["On line 2: A preset needs an instruction and an answer."]
