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
from ui import auth, resources
from ui.i18n import N_, _, error_text, ngettext, number
from ui.safe import md

COLUMNS = (N_("time (UTC)"), N_("user"), N_("action"), N_("target"), N_("detail"))  # msgids, shown translated


@st.cache_data(max_entries=16, show_spinner=False)
def trail(database: str, newest: int | None, chosen: tuple[str, ...], actor: int | None, start: date, end: date,
          _engine: Engine) -> tuple[int, pd.DataFrame, str]:
    """The events shown, as a table and as CSV, made again only when the filters change or the
    trail does (`newest`: its newest event's id; `database`: whose trail)."""
    with open_session(_engine) as db:
        rows = query_events(session=db, actions=chosen, actor_id=actor, since=start, until=end)
    frame = pd.DataFrame([
        {COLUMNS[0]: r.time, COLUMNS[1]: r.actor, COLUMNS[2]: r.action, COLUMNS[3]: r.target, COLUMNS[4]: str(r.detail)}
        for r in rows
    ])
    return len(rows), frame, to_csv(rows)


user = auth.require_area("audit")
engine = resources.engine()
st.title(_("Audit"))

with open_session(engine) as db:
    known_actions = actions(session=db)
    people = {u.id: u.username for u in list_users(session=db)}

today = utcnow().date()
left, middle, right = st.columns([3, 2, 2])
chosen_actions = left.multiselect(_("Actions (none: all)"), known_actions, key="audit.actions")
everyone = _("Everyone")
actor_id = middle.selectbox(
    _("User"), [None, *people], format_func=lambda i: everyone if i is None else people[i], key="audit.user"
)
since = right.date_input(_("From (UTC)"), value=today - timedelta(days=30), key="audit.since")
until = right.date_input(_("To (UTC)"), value=today, key="audit.until")

try:
    with open_session(engine) as db:
        newest = newest_event_id(session=db)
    shown, frame, csv_text = trail(str(engine.url), newest, tuple(chosen_actions), actor_id, since, until, engine)
except DraftgateError as err:
    st.error(md(error_text(err)))
    st.stop()

events = ngettext("{n} event", "{n} events", shown).format(n=number(shown))
if shown >= AUDIT_QUERY_LIMIT:
    events += _(" (the newest {limit}: narrow the filters to see older ones)").format(limit=number(AUDIT_QUERY_LIMIT))
st.caption(events)
if shown:
    st.dataframe(frame.rename(columns={column: _(column) for column in COLUMNS}), hide_index=True)
    st.download_button(
        _("Download as CSV"), csv_text, file_name=f"draftgate-audit-{since}-{until}.csv", mime="text/csv",
        key="audit.download",
    )
else:
    st.info(_("No event matches these filters."))
