"""Assignments and bulk decisions through the API: editors and admins only, each item done or
skipped with why, a project's key limited to its project, errors in OpenAI's envelope."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from core.platform.models import AuditEvent, ReviewItem
from tests.utils.factories import make_finished_draft, make_project, make_user


def call(live, method, path, key, **kwargs) -> httpx.Response:
    return httpx.request(method, live.url(path), headers={"Authorization": f"Bearer {key}"}, timeout=60, **kwargs)


def assert_error(answer: httpx.Response, status: int, code: str | None = None) -> dict:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert "Traceback" not in answer.text
    if code is not None:
        assert error["code"] == code
    return error


@pytest.fixture
def queue(db, writer):
    project = make_project(db, "Support", references=("Your order has shipped and will arrive on Monday.",))
    drafts = [make_finished_draft(db, writer, project, f"Unrelated words about weather {n}.") for n in range(3)]
    return project, [db.exec(select(ReviewItem).where(ReviewItem.draft_id == d.id)).one() for d in drafts]


def test_an_editor_assigns_and_unassigns_items_and_reads_each_reviewers_load(start_api, db, editor, reviewer, queue):
    _, items = queue
    live = start_api()
    key = live.key_for(editor)
    ids = [item.id for item in items]

    assigned = call(live, "POST", "/review/assign", key, json={"item_ids": ids[:2] + [999_999], "reviewer_id": reviewer.id})

    assert assigned.status_code == 200, assigned.text
    body = assigned.json()
    assert body["object"] == "review.bulk_result" and body["done"] == ids[:2]
    assert body["skipped"] == [{"id": 999_999, "reason": "No such review item."}]
    load = {r["username"]: r for r in call(live, "GET", "/review/load", key).json()["data"]}
    assert load["reviewer"]["assigned"] == 2 and load["reviewer"]["reviewer_id"] == reviewer.id
    mine = call(live, "GET", "/review/items", live.key_for(reviewer)).json()["data"]
    assert [i["id"] for i in mine][:2] == ids[:2]  # assigned to them: first in their queue

    unassigned = call(live, "POST", "/review/assign", key, json={"item_ids": [ids[0]], "reviewer_id": None}).json()
    assert unassigned["done"] == [ids[0]]
    load = {r["username"]: r for r in call(live, "GET", "/review/load", key).json()["data"]}
    assert load["reviewer"]["assigned"] == 1
    db.expire_all()
    assert [e.action for e in db.exec(select(AuditEvent).where(AuditEvent.action.like("review.%assign")))
            ] == ["review.assign", "review.assign", "review.unassign"]


def test_an_editor_decides_a_selection_at_once_and_changed_items_are_skipped(start_api, db, editor, queue):
    _, items = queue
    live = start_api()
    key = live.key_for(editor)
    seen = [{"id": item.id, "expected_version": item.version} for item in items]
    seen[2]["expected_version"] -= 1  # not as the item is now

    no_reason = call(live, "POST", "/review/bulk-decision", key, json={"items": seen, "verdict": "rejected"})
    assert_error(no_reason, 400)
    decided = call(live, "POST", "/review/bulk-decision", key,
                   json={"items": seen, "verdict": "rejected", "reason": "Off topic"})

    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["done"] == [items[0].id, items[1].id] and [s["id"] for s in body["skipped"]] == [items[2].id]
    assert body["skipped"][0]["reason"]
    db.expire_all()
    assert [db.get(ReviewItem, item.id).state for item in items] == ["rejected", "rejected", "open"]
    again = call(live, "POST", "/review/bulk-decision", key,
                 json={"items": seen[:1], "verdict": "approved"}).json()
    assert again["done"] == [] and [s["id"] for s in again["skipped"]] == [items[0].id]  # decided already


def test_only_editors_and_admins_assign_or_decide_in_bulk(start_api, db, writer, reviewer, queue):
    _, items = queue
    live = start_api()
    one = [{"id": items[0].id, "expected_version": items[0].version}]
    for user in (writer, reviewer):
        key = live.key_for(user)
        assert_error(call(live, "POST", "/review/assign", key, json={"item_ids": [items[0].id], "reviewer_id": reviewer.id}),
                     403, "permission_denied")
        assert_error(call(live, "POST", "/review/bulk-decision", key, json={"items": one, "verdict": "approved"}),
                     403, "permission_denied")
        assert_error(call(live, "GET", "/review/load", key), 403, "permission_denied")
    admin = live.key_for(make_user(db, "root", "admin"))
    assert call(live, "POST", "/review/bulk-decision", admin, json={"items": one, "verdict": "approved"}
                ).json()["done"] == [items[0].id]
    db.expire_all()
    assert db.get(ReviewItem, items[0].id).state == "approved"


@pytest.mark.parametrize("path, body, param", [
    ("/review/assign", {"item_ids": [], "reviewer_id": 1}, "item_ids"),
    ("/review/assign", {"item_ids": list(range(1, 102)), "reviewer_id": 1}, "item_ids"),
    ("/review/assign", {"item_ids": [1]}, "reviewer_id"),
    ("/review/bulk-decision", {"items": [{"id": 1, "expected_version": 1}], "verdict": "maybe"}, "verdict"),
    ("/review/bulk-decision", {"items": [{"id": 1}], "verdict": "approved"}, "items[0].expected_version"),
    ("/review/bulk-decision", {"items": [], "verdict": "approved", "extra": 1}, None),
])
def test_bad_requests_name_the_parameter(start_api, editor, path, body, param):
    live = start_api()
    error = assert_error(call(live, "POST", path, live.key_for(editor), json=body), 400)
    if param is not None:
        assert error["param"] == param


def test_assigning_to_someone_who_cannot_review_is_refused(start_api, db, editor, writer, queue):
    _, items = queue
    live = start_api()
    key = live.key_for(editor)
    assert_error(call(live, "POST", "/review/assign", key, json={"item_ids": [items[0].id], "reviewer_id": writer.id}), 400)
    assert_error(call(live, "POST", "/review/assign", key, json={"item_ids": [items[0].id], "reviewer_id": 999_999}), 404)


def test_a_project_key_acts_on_its_projects_items_only(start_api, db, editor, reviewer, queue):
    _, items = queue
    billing = make_project(db, "Billing")
    live = start_api()
    key = live.key_for(editor, project_id=billing.id)
    seen = [{"id": items[0].id, "expected_version": items[0].version}]
    decided = call(live, "POST", "/review/bulk-decision", key, json={"items": seen, "verdict": "approved"}).json()
    assert decided == {"object": "review.bulk_result", "done": [],
                       "skipped": [{"id": items[0].id, "reason": "No such review item."}]}
    assigned = call(live, "POST", "/review/assign", key, json={"item_ids": [items[0].id], "reviewer_id": reviewer.id})
    assert assigned.json()["done"] == []
    db.expire_all()
    item = db.get(ReviewItem, items[0].id)
    assert (item.state, item.assigned_to_id) == ("open", None)


def test_a_skipped_items_reason_follows_accept_language(start_api, editor, queue):
    live = start_api()
    answer = httpx.post(live.url("/review/assign"), timeout=60, json={"item_ids": [999_999], "reviewer_id": None},
                        headers={"Authorization": f"Bearer {live.key_for(editor)}", "Accept-Language": "zh-CN"})
    [skipped] = answer.json()["skipped"]
    assert skipped["id"] == 999_999 and "No such" not in skipped["reason"]


def test_the_endpoints_are_in_the_openapi_document(start_api):
    paths = start_api().get("/openapi.json").json()["paths"]
    assert {"post"} <= set(paths["/review/assign"]) and {"post"} <= set(paths["/review/bulk-decision"])
    assert "get" in paths["/review/load"]
    assert paths["/review/bulk-decision"]["post"]["summary"].startswith("Approve or reject several items")
