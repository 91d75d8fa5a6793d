"""Draftgate: the router. The IP allowlist, sign-in (with the idle timeout), then the pages this role may use."""

import streamlit as st

from core.access.roles import may
from core.platform.errors import DraftgateError
from ui import auth, maintenance, resources
from ui.safe import md

st.set_page_config(page_title="Draftgate", page_icon="✍️", layout="wide")
try:
    resources.runtime()  # on the first run: the settings checked, the database migrated, the first admin made
except DraftgateError as err:  # DRAFTGATE_* settings that are not acceptable: say which, start nothing
    st.title("Draftgate cannot start")
    st.error(md(err))
    st.stop()
auth.network_gate()  # a refused address sees only the refusal page
maintenance.retention_once()  # DRAFTGATE_RETENTION_DAYS, at most once a day per process

PAGES = (
    ("write", "pages/write.py", "Write", ":material/edit_note:"),
    ("review", "pages/review.py", "Review", ":material/fact_check:"),
    ("thresholds", "pages/thresholds.py", "Thresholds", ":material/tune:"),
    ("references", "pages/references.py", "References", ":material/library_books:"),
    ("presets", "pages/presets.py", "Presets", ":material/bookmarks:"),
    ("dashboard", "pages/dashboard.py", "Dashboard", ":material/monitoring:"),
    ("admin", "pages/admin.py", "Admin", ":material/admin_panel_settings:"),
    ("providers", "pages/providers.py", "Providers", ":material/hub:"),
    ("moderation", "pages/moderation.py", "Sensitive words", ":material/shield:"),
    ("audit", "pages/audit.py", "Audit", ":material/policy:"),
    ("health", "pages/health.py", "Health", ":material/monitor_heart:"),
    ("account", "pages/account.py", "Account", ":material/person:"),
)

user = auth.current_user()
if user is None:
    navigation = st.navigation([st.Page(auth.login_form, title="Sign in", icon=":material/login:")])
else:
    navigation = st.navigation(
        [st.Page(path, title=title, icon=icon) for area, path, title, icon in PAGES if may(user.role, area)]
    )
    with st.sidebar:
        st.caption(f"Signed in as **{md(user.username)}** ({user.role})")
        if st.button("Sign out", key="auth.sign_out"):
            auth.sign_out()
            st.rerun()
navigation.run()
