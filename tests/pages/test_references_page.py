import pytest
from sqlmodel import select

from core.platform.constants import REFERENCE_MAX_CHARS
from core.platform.models import ReviewItem
from core.writing.projects import add_reference, list_references
from tests.pages.conftest import texts
from tests.utils.factories import make_finished_draft, make_project
from tests.utils.jobs import wait_for_job


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
    assert "3 references" in [h.value for h in at.subheader]

    first = list_references(session=app_db, project_id=project.id)[0]
    at.button(key=f"references.delete.{first.id}").click().run()
    assert len(list_references(session=app_db, project_id=project.id)) == 2


def test_a_bad_import_names_the_row_and_imports_nothing(make_app, app_db, users):
    project = make_project(app_db, "Essays")
    at = make_app("pages/references.py", users["editor"])
    at.file_uploader[0].set_value(("refs.csv", b"text\nfine\n\"\"\n", "text/csv")).run()
    at.button(key="references.import").click().run()
    assert not at.exception
    assert at.error[0].value == "On line 3: The reference text is empty."
    assert list_references(session=app_db, project_id=project.id) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"text\nfine\n" + b"x" * 140_000 + b"\n",
         f"On line 3: The reference text is too long: 140,000 characters (at most {REFERENCE_MAX_CHARS:,})."),
        (b'text\n"unterminated quote,\nfoo',
         'On line 2: a quoted cell is never closed (a " is missing), so it would take in the rest of the file.'),
    ],
    ids=["a cell over 128 KB", "an unterminated quote"],
)
def test_a_malformed_csv_upload_shows_its_line_and_imports_nothing(make_app, app_db, users, content, message):
    project = make_project(app_db, "Essays")
    at = make_app("pages/references.py", users["editor"])
    at.file_uploader[0].set_value(("refs.csv", content, "text/csv")).run()
    at.button(key="references.import").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [message]
    assert not at.success
    assert list_references(session=app_db, project_id=project.id) == []


def test_editor_creates_a_project(make_app, users):
    at = make_app("pages/references.py", users["editor"])
    assert "Create a first project above." in [i.value for i in at.info]
    at.text_input[0].input("新项目")
    at.button(key="FormSubmitter:references.new_project-Create project").click().run()
    assert at.selectbox(key="references.project").value is not None


def test_editor_re_scores_the_drafts_after_adding_a_reference(make_app, app_db, app_engine, users):
    from core.gate.rescoring import latest_rescore

    project = make_project(app_db, "Essays", references=("The quick brown fox.",))
    draft = make_finished_draft(app_db, users["writer"], project, "春天的北京很美。")
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    assert item.state == "open"
    add_reference(session=app_db, project_id=project.id, text="春天的北京很美。", actor_id=users["editor"].id)
    at = make_app("pages/references.py", users["editor"])
    stale = "1 draft was scored against other references than the project's current ones"
    assert any(stale in i.value for i in at.info)
    at.button(key="references.rescore").click().run()
    assert not at.exception and not at.error

    wait_for_job(app_engine, latest_rescore(session=app_db, project_id=project.id).id)
    at.run()
    assert not any(stale in i.value for i in at.info)
    assert [s.value for s in at.success][-1].endswith(
        "1 of 1 draft re-scored against 2 references: 1 left the review queue, 0 joined it.")
    app_db.refresh(item)
    assert item.state == "accepted"


def test_re_scoring_a_project_without_references_says_why(make_app, app_db, users):
    make_project(app_db, "Empty")
    at = make_app("pages/references.py", users["editor"])
    at.button(key="references.rescore").click().run()
    assert [e.value for e in at.error] == ["Project 'Empty' has no references yet: add some, then re-score."]


def test_a_running_re_scoring_shows_progress_and_can_be_cancelled(make_app, app_db, app_engine, users):
    from core.gate.rescoring import RESCORE
    from core.jobs.runner import create_job

    project = make_project(app_db, "Essays", references=("The quick brown fox.",))
    job_id = create_job(app_engine, kind=RESCORE, payload={"project_id": project.id}, owner_id=users["admin"].id)
    at = make_app("pages/references.py", users["editor"])  # another editor than the one who started it
    assert [bar.proto.text for bar in at.get("progress")] == ["Re-scoring: 0 of ? drafts"]
    at.button(key="references.rescore.cancel").click().run()
    assert not at.exception
    assert "Re-scoring was cancelled" in texts(at)
    assert wait_for_job(app_engine, job_id).status == "cancelled"


def test_one_imported_reference_is_counted_in_the_singular(make_app, app_db, users):
    make_project(app_db, "Essays")
    at = make_app("pages/references.py", users["editor"])
    at.file_uploader[0].set_value(("one.csv", "text\n春天的北京很美。\n".encode(), "text/csv")).run()
    at.button(key="references.import").click().run()
    assert [s.value for s in at.success] == ["Imported 1 reference from one.csv."]
    assert "1 reference" in [h.value for h in at.subheader]
