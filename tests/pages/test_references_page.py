from core.projects import list_references
from tests.utils.factories import make_project


def test_editor_adds_imports_and_deletes_references(make_app, app_db, users):
    project = make_project(app_db, "Essays")
    at = make_app("pages/references.py", users["editor"])
    assert not at.exception
    at.text_area[0].set_value("春天的北京很美。")
    at.button(key="FormSubmitter:references.add-Add reference").click().run()
    assert [r.text for r in list_references(session=app_db, project_id=project.id)] == ["春天的北京很美。"]

    at.file_uploader[0].set_value(("refs.jsonl", '{"text": "one"}\n{"text": "二"}\n'.encode(), "application/json")).run()
    at.button(key="references.import").click().run()
    assert [s.value for s in at.success] == ["Imported 2 references from refs.jsonl."]
    assert at.subheader[0].value == "3 references"

    first = list_references(session=app_db, project_id=project.id)[0]
    at.button(key=f"references.delete.{first.id}").click().run()
    assert len(list_references(session=app_db, project_id=project.id)) == 2


def test_a_bad_import_names_the_row_and_imports_nothing(make_app, app_db, users):
    project = make_project(app_db, "Essays")
    at = make_app("pages/references.py", users["editor"])
    at.file_uploader[0].set_value(("refs.csv", b"text\nfine\n\"\"\n", "text/csv")).run()
    at.button(key="references.import").click().run()
    assert not at.exception
    assert "row 3" in at.error[0].value
    assert list_references(session=app_db, project_id=project.id) == []


def test_editor_creates_a_project(make_app, users):
    at = make_app("pages/references.py", users["editor"])
    assert "Create a first project above." in [i.value for i in at.info]
    at.text_input[0].input("新项目")
    at.button(key="FormSubmitter:references.new_project-Create project").click().run()
    assert at.selectbox(key="references.project").value is not None
