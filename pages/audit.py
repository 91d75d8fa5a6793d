"""Audit: every sign-in, role change, key change, threshold change, review decision, export and
deletion; filtered by action, user and dates; exported as CSV."""

from datetime import date, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core.access.users import list_users
from core.platform.audit import actions, newest_event_id, query_events, to_csv
from core.platform.constants import AUDIT_QUERY_LIMIT
from core.platform.db import open_session
from core.platform.errors import DraftgateError
from core.platform.models import utcnow
from core.platform.wording import count
from ui import auth, resources
from ui.i18n import _, error_text, ngettext, when
from ui.safe import md


@st.cache_data(max_entries=16, show_spinner=False)
def trail(database: str, newest: int | None, chosen: tuple[str, ...], actor: int | None, start: date, end: date,
          _engine: Engine) -> tuple[int, pd.DataFrame, str]:
    """The events shown, as a table and as CSV, made again only when the filters change or the
    trail does (`newest`: its newest event's id; `database`: whose trail)."""
    with open_session(_engine) as db:
        rows = query_events(session=db, actions=chosen, actor_id=actor, since=start, until=end)
    frame = pd.DataFrame([
        {"time (UTC)": r.time, "user": r.actor, "action": r.action, "target": r.target, "detail": str(r.detail)}
        for r in rows
    ])
    return len(rows), frame, to_csv(rows)


user = auth.require_area("audit")
engine = resources.engine()
st.title("Audit")

with open_session(engine) as db:
    known_actions = actions(session=db)
    people = {u.id: u.username for u in list_users(session=db)}

today = utcnow().date()
left, middle, right = st.columns([3, 2, 2])
chosen_actions = left.multiselect("Actions (none: all)", known_actions, key="audit.actions")
actor_id = middle.selectbox(
    "User", [None, *people], format_func=lambda i: "Everyone" if i is None else people[i], key="audit.user"
)
since = right.date_input("From (UTC)", value=today - timedelta(days=30), key="audit.since")
until = right.date_input("To (UTC)", value=today, key="audit.until")

try:
    with open_session(engine) as db:
        newest = newest_event_id(session=db)
    shown, frame, csv_text = trail(str(engine.url), newest, tuple(chosen_actions), actor_id, since, until, engine)
except DraftgateError as err:
    st.error(md(error_text(err)))
    st.stop()

st.caption(
    count(shown, "event") + (f" (the newest {AUDIT_QUERY_LIMIT:,}: narrow the filters to see older ones)"
                           if shown >= AUDIT_QUERY_LIMIT else "")
)
if shown:
    st.dataframe(frame, hide_index=True)
    st.download_button(
        "Download as CSV", csv_text, file_name=f"draftgate-audit-{since}-{until}.csv", mime="text/csv",
        key="audit.download",
    )
else:
    st.info("No event matches these filters.")
