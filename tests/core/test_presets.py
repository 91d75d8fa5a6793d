import pytest
from sqlmodel import select

from core.platform.errors import ConflictError, InvalidInputError, PermissionDeniedError
from core.platform.models import AuditEvent, Preset, ReviewItem
from core.review.claims import claim
from core.review.decisions import decide
from core.writing.presets import (
    add_preset,
    delete_preset,
    import_presets,
    list_presets,
    match,
    normalize_instruction,
    preset_from_review,
    update_preset,
)
from tests.utils.factories import make_finished_draft, make_project

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


@pytest.mark.parametrize("text, expected", [
    ("What is the return policy?", "what is the return policy"),
    ("  WHAT   is the RETURN policy!!! ", "what is the return policy"),
    ("ｗｈａｔ　ｉｓ the return-policy", "what is the return policy"),  # full-width letters and space
    ("退货政策是什么？", "退货政策是什么"),
    ("退货 政策 是什么 ？", "退货政策是什么"),  # spaces beside CJK characters do not count
    ("「退货政策」是什么。", "退货政策是什么"),
    ("GPT-4 模型 介绍", "gpt 4模型介绍"),
    ("？！。", ""),
])
def test_normalisation(text, expected):
    assert normalize_instruction(text) == expected


@pytest.fixture
def project(db):
    return make_project(db)


def test_exact_normalised_match_answers_and_others_do_not(db, editor, project):
    preset = add_preset(session=db, project_id=project.id, instruction="退货政策是什么？", answer="七天无理由退货。",
                        actor_id=editor.id)
    found = match(session=db, project_id=project.id, instruction="退货 政策是什么")
    assert found.preset_id == preset.id and found.answer == "七天无理由退货。" and found.exact
    assert match(session=db, project_id=project.id, instruction="换货政策是什么？") is None
    assert match(session=db, project_id=project.id + 1, instruction="退货政策是什么") is None
    assert match(session=db, project_id=project.id, instruction="？") is None


def test_fuzzy_match_only_from_the_presets_minimum_similarity(db, editor, project):
    add_preset(session=db, project_id=project.id, instruction="What is your return policy", answer="30 days.",
               actor_id=editor.id)
    assert match(session=db, project_id=project.id, instruction="What is you return policy") is None
    fuzzy = add_preset(session=db, project_id=project.id, instruction="How long does shipping take", answer="3 days.",
                       actor_id=editor.id, min_similarity=90)
    found = match(session=db, project_id=project.id, instruction="how long does shiping take?")
    assert found.preset_id == fuzzy.id and 90 <= found.similarity < 100 and not found.exact
    assert match(session=db, project_id=project.id, instruction="How long does the warranty last") is None


def test_disabled_presets_do_not_answer(db, editor, project):
    preset = add_preset(session=db, project_id=project.id, instruction="Hi", answer="Hello.", actor_id=editor.id)
    update_preset(session=db, preset_id=preset.id, actor_id=editor.id, enabled=False)
    assert match(session=db, project_id=project.id, instruction="hi") is None


def test_duplicates_bad_input_and_roles_are_refused(db, editor, writer, project):
    add_preset(session=db, project_id=project.id, instruction="Hi!", answer="Hello.", actor_id=editor.id)
    with pytest.raises(ConflictError):
        add_preset(session=db, project_id=project.id, instruction="hi", answer="Yo.", actor_id=editor.id)
    with pytest.raises(InvalidInputError, match="instruction and an answer"):
        add_preset(session=db, project_id=project.id, instruction="Q", answer="  ", actor_id=editor.id)
    with pytest.raises(InvalidInputError, match="between 50 and 100"):
        add_preset(session=db, project_id=project.id, instruction="Q", answer="A", actor_id=editor.id, min_similarity=20)
    with pytest.raises(PermissionDeniedError):
        add_preset(session=db, project_id=project.id, instruction="Q", answer="A", actor_id=writer.id)


def test_edit_and_delete_are_audited(db, editor, project):
    preset = add_preset(session=db, project_id=project.id, instruction="Q1", answer="A1", actor_id=editor.id)
    other = add_preset(session=db, project_id=project.id, instruction="Q2", answer="A2", actor_id=editor.id)
    with pytest.raises(ConflictError):
        update_preset(session=db, preset_id=other.id, actor_id=editor.id, instruction="q1")
    update_preset(session=db, preset_id=preset.id, actor_id=editor.id, answer="A1, better", min_similarity=95)
    assert match(session=db, project_id=project.id, instruction="Q1").answer == "A1, better"
    delete_preset(session=db, preset_id=other.id, actor_id=editor.id)
    assert [p.instruction for p in list_presets(session=db, project_id=project.id)] == ["Q1"]
    actions = [e.action for e in db.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["project.create", "preset.add", "preset.add", "preset.edit", "preset.delete"]


def test_csv_import_creates_and_updates_all_or_nothing(db, editor, project):
    add_preset(session=db, project_id=project.id, instruction="Q1", answer="old", actor_id=editor.id)
    content = "instruction,answer,min_similarity\nq1?,new,\n退货政策,七天。,92\n".encode()
    result = import_presets(session=db, project_id=project.id, filename="p.csv", content=content, actor_id=editor.id)
    assert (result.created, result.updated) == (1, 1)
    by_instruction = {p.instruction: p for p in list_presets(session=db, project_id=project.id)}
    assert by_instruction["q1?"].answer == "new" and by_instruction["退货政策"].min_similarity == 92
    bad = b"instruction,answer\nQ3,A3\nQ4,\n"
    with pytest.raises(InvalidInputError, match="line 3"):
        import_presets(session=db, project_id=project.id, filename="p.csv", content=bad, actor_id=editor.id)
    with pytest.raises(InvalidInputError, match="'instruction' and 'answer'"):
        import_presets(session=db, project_id=project.id, filename="p.csv", content=b"text\nx\n", actor_id=editor.id)
    with pytest.raises(InvalidInputError, match=".csv"):
        import_presets(session=db, project_id=project.id, filename="p.txt", content=b"x", actor_id=editor.id)
    assert len(list_presets(session=db, project_id=project.id)) == 2


def test_an_approved_draft_becomes_a_preset(db, editor, reviewer, writer):
    project = make_project(db, references=("alpha beta",))
    draft = make_finished_draft(db, writer, project, "gamma", instruction="Describe the mug")
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    with pytest.raises(InvalidInputError, match="approved"):
        preset_from_review(session=db, item_id=item.id, actor_id=editor.id)
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    decide(session=db, item_id=item.id, reviewer=reviewer, verdict="approved", edited_text="A light mug.",
           expected_version=claimed.version)
    with pytest.raises(PermissionDeniedError):
        preset_from_review(session=db, item_id=item.id, actor_id=reviewer.id)
    preset = preset_from_review(session=db, item_id=item.id, actor_id=editor.id)
    assert (preset.instruction, preset.answer, preset.source, preset.source_draft_id) == (
        "Describe the mug", "A light mug.", "draft", draft.id)
    assert db.exec(select(Preset)).one().id == preset.id
