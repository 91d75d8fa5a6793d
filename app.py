"""Draftgate: the router. The IP allowlist, who is signed in (the cookie, ui.auth), then st.navigation.

Every page has a stable URL (/write, /review, ...: ui.page_map). Signed out, every page is there
but hidden, and each shows the sign-in prompt (back to that page after signing in). Signed in, the
sidebar lists the pages of the role; the others stay reachable by URL and show a refusal naming the
role they need (never Streamlit's "Page not found").
"""

import streamlit as st

from core.access.roles import may
from core.platform.errors import DraftgateError
from ui import auth, maintenance, resources
from ui.i18n import _, error_text, role_name
from ui.page_map import PAGES
from ui.safe import md

st.set_page_config(page_title="Draftgate", page_icon="✍️", layout="wide")
try:
    resources.runtime()  # on the first run: the settings checked, the database migrated, the first admin made
except DraftgateError as err:  # DRAFTGATE_* settings that are not acceptable: say which, start nothing
    st.title(_("Draftgate cannot start"))
    st.error(md(error_text(err)))
    st.stop()
auth.network_gate()  # a refused address sees only the refusal page
maintenance.retention_once()  # DRAFTGATE_RETENTION_DAYS, at most once a day per process

user = auth.current_user()
role = user.role if user is not None else None
pages = {
    area: st.Page(path, title=_(title), icon=icon, url_path=area,
                  visibility="visible" if role and may(role, area) else "hidden")
    for area, path, title, icon in PAGES
}
first = next((pages[area] for area, *_ in PAGES if role and may(role, area)), None)


def home() -> None:
    """The app's root URL: the first page of the role, or the sign-in prompt."""
    if first is None:
        st.title("Draftgate")
        st.caption(_("Writing with language models, under a quality gate."))
        auth.sign_in_prompt()
    else:
        st.switch_page(first, query_params=st.query_params.to_dict())  # /?session=ID keeps its session


navigation = st.navigation(
    [st.Page(home, title="Draftgate", icon=":material/home:", url_path="home", default=True, visibility="hidden"),
     *pages.values()],
    position="sidebar" if user is not None else "hidden",
)
if user is not None:
    with st.sidebar:
        st.caption(_("Signed in as **{user}** ({role})").format(user=md(user.username), role=role_name(user.role)))
        if st.button(_("Sign out"), key="auth.sign_out"):
            auth.sign_out()
            st.rerun()
navigation.run()
