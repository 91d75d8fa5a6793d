import pytest

from core.access.actors import SYSTEM
from core.platform.errors import ConflictError, InvalidInputError
from core.writing.projects import (
    add_reference,
    create_project,
    delete_reference,
    import_references,
    list_references,
    update_reference,
)

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


@pytest.fixture
def project(db):
    return create_project(session=db, name="Essays", actor_id=SYSTEM)


def test_references_are_added_edited_and_deleted_with_language(db, project):
    reference = add_reference(session=db, project_id=project.id, text="  春天的北京很美。 ", actor_id=SYSTEM)
    assert reference.text == "春天的北京很美。" and reference.language == "zh"
    update_reference(session=db, reference_id=reference.id, text="Spring in Beijing.", actor_id=SYSTEM)
    assert [r.text for r in list_references(session=db, project_id=project.id)] == ["Spring in Beijing."]
    delete_reference(session=db, reference_id=reference.id, actor_id=SYSTEM)
    assert list_references(session=db, project_id=project.id) == []


def test_duplicate_project_name_is_refused(db, project):
    with pytest.raises(ConflictError):
        create_project(session=db, name="Essays", actor_id=SYSTEM)


def test_csv_and_jsonl_import(db, project):
    csv_bytes = "text,source\n\"First, with a comma\",x\n第二条参考\n".encode()
    jsonl_bytes = '{"text": "third"}\n\n{"text": "第四"}\n'.encode()
    import_references(session=db, project_id=project.id, filename="refs.csv", content=csv_bytes, actor_id=SYSTEM)
    import_references(session=db, project_id=project.id, filename="refs.jsonl", content=jsonl_bytes, actor_id=SYSTEM)
    texts = [r.text for r in list_references(session=db, project_id=project.id)]
    assert texts == ["First, with a comma", "第二条参考", "third", "第四"]


@pytest.mark.parametrize(
    "filename, content, message",
    [
        ("refs.jsonl", b'{"text": "ok"}\n{"text": ""}\n', "line 2"),
        ("refs.jsonl", b'{"text": "ok"}\nnot json\n', "Line 2 is not valid JSON"),
        ("refs.jsonl", b'["a list"]\n', "Line 1 is not a JSON object"),
        ("refs.csv", b"text\nok\n\n\"\"\n", "On line 4: The reference text is empty"),
        ("refs.csv", b"body\nok\n", "'text' column"),
        ("refs.txt", b"text\nok\n", ".csv"),
        ("refs.csv", b"text\n\xff\xfe\n", "UTF-8"),
    ],
)
def test_a_bad_row_names_itself_and_nothing_is_imported(db, project, filename, content, message):
    with pytest.raises(InvalidInputError, match=message):
        import_references(session=db, project_id=project.id, filename=filename, content=content, actor_id=SYSTEM)
    assert list_references(session=db, project_id=project.id) == []
