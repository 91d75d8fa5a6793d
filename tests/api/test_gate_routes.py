"""Scoring, sessions, drafts, the review queue, thresholds and deletion through the API, with
the pages' role rules."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from core.platform.models import ApiKey, Turn, User, WritingSession
from tests.api.conftest import snapshot
from tests.utils.factories import PASSWORD, make_finished_draft, make_project, make_user

REFERENCE = "Your order has shipped and will arrive on Monday."


def call(live, method, path, key, **kwargs) -> httpx.Response:
    return httpx.request(method, live.url(path), headers={"Authorization": f"Bearer {key}"}, timeout=60, **kwargs)


@pytest.fixture
def project(db):
    return make_project(db, "Support", references=(REFERENCE,))


@pytest.fixture
def flagged(db, writer, project):
    draft = make_finished_draft(db, writer, project, "Completely unrelated words about weather in spring.")
    assert draft.route == "needs_review"
    return draft


def test_score_against_given_references_or_the_projects(start_api, writer, project):
    live = start_api()
    key = live.key_for(writer)
    given = call(live, "POST", "/score", key, json={"candidate": REFERENCE, "references": [REFERENCE]}).json()
    assert given["scores"]["chrf"] == pytest.approx(100.0) and "chrF2" in given["signatures"]["chrf"]
    of_project = call(live, "POST", "/score", key, json={"candidate": "Your order has shipped.", "project": "Support"})
    assert 0 < of_project.json()["scores"]["chrf"] < 100
    empty = call(live, "POST", "/score", key, json={"candidate": "  ", "references": ["x"]})
    assert empty.status_code == 400


def test_a_session_is_opened_and_read_with_its_turns(start_api, writer, db, project, flagged):
    live = start_api()
    key = live.key_for(writer)
    opened = call(live, "POST", "/sessions", key, json={"project": project.id, "title": "Replies"})
    assert opened.status_code == 201 and opened.json()["title"] == "Replies" and opened.json()["turns"] == []
    session = db.get(WritingSession, db.get(Turn, flagged.turn_id).session_id)
    read = call(live, "GET", f"/sessions/{session.public_id}", key).json()
    [turn] = read["turns"]
    assert turn["drafts"][0]["draftgate"]["route"] == "needs_review"
    assert turn["drafts"][0]["draftgate"]["review_state"] == "open"
    other = live.key_for(make_user(db, "wendy", "writer"))
    assert call(live, "GET", f"/sessions/{session.public_id}", other).status_code == 404
    assert call(live, "GET", f"/drafts/{flagged.id}", other).status_code == 404
    assert call(live, "GET", f"/drafts/{flagged.id}", key).json()["text"] == flagged.text


def test_review_list_claim_and_decide_for_reviewers_only(start_api, writer, reviewer, db, flagged):
    live = start_api()
    assert call(live, "GET", "/review/items", live.key_for(writer)).status_code == 403
    key = live.key_for(reviewer)
    [item] = call(live, "GET", "/review/items", key).json()["data"]
    assert item["draft_id"] == flagged.id and item["state"] == "open"

    claimed = call(live, "POST", f"/review/items/{item['id']}/claim", key)
    assert claimed.status_code == 200, claimed.text
    claimed = claimed.json()
    assert claimed["state"] == "claimed"
    rita = live.key_for(make_user(db, "rita", "reviewer"))
    assert call(live, "POST", f"/review/items/{item['id']}/claim", rita).status_code == 409
    stale = call(live, "POST", f"/review/items/{item['id']}/decision", key,
                 json={"verdict": "approved", "expected_version": claimed["version"] - 1})
    assert stale.status_code == 409
    decided = call(live, "POST", f"/review/items/{item['id']}/decision", key,
                   json={"verdict": "rejected", "reason": "off topic", "expected_version": claimed["version"]})
    assert decided.status_code == 200 and decided.json()["state"] == "rejected"
    assert call(live, "POST", "/review/claim-next", key, json={}).json() is None


def test_thresholds_are_read_by_editors(start_api, writer, editor, project):
    live = start_api()
    refused = call(live, "GET", f"/projects/{project.id}/thresholds", live.key_for(writer))
    assert refused.status_code == 403, refused.text
    body = call(live, "GET", f"/projects/{project.id}/thresholds", live.key_for(editor)).json()
    assert body["current"]["version"] == 0 and "chrf" in body["current"]["thresholds"]
    assert call(live, "GET", "/projects/999/thresholds", live.key_for(editor)).status_code == 404


def test_deleting_oneself_needs_the_password_and_leaves_no_trace(start_api, engine, db, writer, flagged):
    live = start_api()
    key = live.key_for(writer)
    text = flagged.text
    export = call(live, "GET", "/me/export", key).json()
    assert text in str(export)
    wrong = call(live, "DELETE", "/me", key, json={"password": "not it"})
    assert wrong.status_code == 401

    deleted = call(live, "DELETE", "/me", key, json={"password": PASSWORD})

    assert deleted.status_code == 200 and deleted.json()["counts"]["drafts"] == 1
    assert call(live, "GET", "/me/export", key).status_code == 401  # the key went with its user
    db.expire_all()
    assert db.exec(select(User).where(User.username == "writer")).first() is None
    assert db.exec(select(ApiKey)).all() == []
    assert text not in str(snapshot(engine))


def test_admins_export_and_delete_users(start_api, db, writer, flagged):
    live = start_api()
    admin = live.key_for(make_user(db, "root", "admin"))
    assert call(live, "GET", "/users/writer/export", live.key_for(writer)).status_code == 403
    assert flagged.text in str(call(live, "GET", "/users/writer/export", admin).json())
    assert call(live, "DELETE", "/users/writer", admin).json()["counts"]["drafts"] == 1
    assert call(live, "GET", "/users/writer/export", admin).status_code == 404


def test_a_blind_second_reviewer_never_reads_the_first_verdict(start_api, writer, reviewer, db, project, flagged):
    from core.usecases import review

    live = start_api()
    editor = make_user(db, "edith", "editor")
    first = live.key_for(reviewer)
    [item] = call(live, "GET", "/review/items", first).json()["data"]
    core = live.runtime.core
    review.set_second_review_share(core, editor, project_id=project.id, share=1.0)  # every decided item goes
    claimed = call(live, "POST", f"/review/items/{item['id']}/claim", first).json()
    decided = call(live, "POST", f"/review/items/{item['id']}/decision", first,
                   json={"verdict": "rejected", "reason": "离题 off topic", "expected_version": claimed["version"]})
    assert decided.status_code == 200
    assert call(live, "GET", f"/drafts/{flagged.id}", first).json()["draftgate"]["review_state"] == "rejected"

    remy = make_user(db, "remy", "reviewer")
    second = live.key_for(remy)
    session_id = db.get(WritingSession, db.get(Turn, flagged.turn_id).session_id).public_id
    editors_key = live.key_for(editor)

    def seen(key) -> list[str]:
        """Every place the API shows this draft to `key`: the draft, and (when open to it) its session."""
        bodies = [call(live, "GET", f"/drafts/{flagged.id}", key).text]
        session = call(live, "GET", f"/sessions/{session_id}", key)
        if session.status_code == 200:
            bodies.append(session.text)
        return bodies

    for key in (second, editors_key):  # may take the second review: blind already
        for body in seen(key):
            assert "rejected" not in body and "off topic" not in body and '"in_review"' in body
    taken = review.take_second_review(core, remy)
    assert taken is not None and taken.item_id == item["id"]
    for body in seen(second):
        assert "rejected" not in body and "离题" not in body and '"in_review"' in body
    review.decide_second_review(core, remy, second_id=taken.id, verdict="approved", expected_version=taken.version)
    for body in seen(second):  # never, even after the second decision
        assert "rejected" not in body and '"in_review"' in body
    assert call(live, "GET", f"/sessions/{session_id}", live.key_for(writer)).json()["turns"][0]["drafts"][0][
        "draftgate"]["review_state"] == "rejected"  # the writer reads the verdict


def test_an_admin_who_could_read_the_verdict_in_the_audit_trail_is_never_a_second_reviewer(
        start_api, reviewer, db, project, flagged):
    from core.platform.errors import PermissionDeniedError
    from core.usecases import review

    live = start_api()
    core = live.runtime.core
    review.set_second_review_share(core, make_user(db, "edith", "editor"), project_id=project.id, share=1.0)
    key = live.key_for(reviewer)
    [item] = call(live, "GET", "/review/items", key).json()["data"]
    claimed = call(live, "POST", f"/review/items/{item['id']}/claim", key).json()
    call(live, "POST", f"/review/items/{item['id']}/decision", key,
         json={"verdict": "rejected", "reason": "off topic", "expected_version": claimed["version"]})
    admin = make_user(db, "root", "admin")
    with pytest.raises(PermissionDeniedError):
        review.take_second_review(core, admin)
    assert call(live, "GET", f"/drafts/{flagged.id}", live.key_for(admin)).json()["draftgate"][
        "review_state"] == "rejected"  # the verdict is no secret to someone who may never review it blind
def test_a_decision_over_the_api_carries_the_rubric_marks(start_api, reviewer, db, project, flagged):
    from core.access.actors import SYSTEM
    from core.platform.models import RubricMark
    from core.review.rubric import set_rubric

    set_rubric(session=db, project_id=project.id, names=["Accuracy", "语气"], actor_id=SYSTEM)
    live = start_api()
    key = live.key_for(reviewer)
    [item] = call(live, "GET", "/review/items", key).json()["data"]
    claimed = call(live, "POST", f"/review/items/{item['id']}/claim", key).json()
    unknown = call(live, "POST", f"/review/items/{item['id']}/decision", key,
                   json={"verdict": "approved", "expected_version": claimed["version"], "rubric": {"Style": True}})
    assert unknown.status_code == 400 and "not on the project's rubric" in unknown.text
    decided = call(live, "POST", f"/review/items/{item['id']}/decision", key,
                   json={"verdict": "approved", "expected_version": claimed["version"], "rubric": {"语气": False}})
    assert decided.status_code == 200, decided.text
    db.expire_all()
    assert {m.name: m.passed for m in db.exec(select(RubricMark))} == {"语气": False}


def test_a_project_keys_reviewer_cannot_claim_release_or_decide_another_projects_items(start_api, reviewer, db,
                                                                                         flagged):
    other = make_project(db, "Billing")
    live = start_api()
    [item] = call(live, "GET", "/review/items", live.key_for(reviewer)).json()["data"]
    key = live.key_for(reviewer, project_id=other.id)  # may use Billing only; the item is Support's
    assert call(live, "GET", "/review/items", key).json()["data"] == []
    assert call(live, "POST", f"/review/items/{item['id']}/claim", key).status_code == 404
    assert call(live, "POST", f"/review/items/{item['id']}/release", key).status_code == 404
    decided = call(live, "POST", f"/review/items/{item['id']}/decision", key,
                   json={"verdict": "approved", "expected_version": item["version"]})
    assert decided.status_code == 404
    [still] = call(live, "GET", "/review/items", live.key_for(reviewer)).json()["data"]
    assert still["state"] == "open" and still["version"] == item["version"]
