"""Audit: admins filter the trail by action, user and dates, and download it as CSV."""

import csv
import io
from datetime import timedelta

import core.platform.audit
from core.access.users import authenticate
from core.platform.audit import record
from core.platform.models import utcnow


def test_admin_filters_the_trail_and_downloads_csv(make_app, app_db, users, monkeypatch):
    offered = []  # the CSV text the download button carries, as the page made it
    original = core.platform.audit.to_csv
    monkeypatch.setattr(core.platform.audit, "to_csv", lambda rows: offered.append(original(rows)) or offered[-1])
    authenticate(session=app_db, username="reviewer", password="correct-horse", address="10.0.0.4")
    record(app_db, actor_id=users["editor"].id, action="policy.save", target="project:1")
    app_db.commit()
    at = make_app("pages/audit.py", users["admin"])
    assert not at.exception and at.title[0].value == "Audit"
    assert {"auth.sign_in", "policy.save"} <= set(at.multiselect(key="audit.actions").options)

    at.multiselect(key="audit.actions").select("auth.sign_in").run()
    frame = at.dataframe[0].value
    assert list(frame["action"]) == ["auth.sign_in"] and list(frame["user"]) == ["reviewer"]
    assert at.get("download_button")[0].label == "Download as CSV"
    rows = list(csv.DictReader(io.StringIO(offered[-1])))
    assert [(r["actor"], r["action"]) for r in rows] == [("reviewer", "auth.sign_in")]
    assert '"address": "10.0.0.4"' in rows[0]["detail"]

    at.multiselect(key="audit.actions").unselect("auth.sign_in").run()
    at.selectbox(key="audit.user").set_value(users["editor"].id).run()
    assert list(at.dataframe[0].value["action"]) == ["policy.save"]


def test_dates_narrow_the_trail_and_a_reversed_range_is_explained(make_app, users):
    at = make_app("pages/audit.py", users["admin"])
    today = utcnow().date()
    at.date_input(key="audit.since").set_value(today + timedelta(days=1)).run()
    assert [e.value for e in at.error] == ["The start date is after the end date."]
    at.date_input(key="audit.until").set_value(today + timedelta(days=2)).run()
    assert [i.value for i in at.info] == ["No event matches these filters."]
