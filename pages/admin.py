"""Admin: users and roles, the model provider in use, the audit trail."""

import pandas as pd
import streamlit as st

from core.audit import recent_events
from core.constants import ROLES
from core.db import open_session
from core.errors import DraftgateError
from core.users import create_user, list_users, set_role
from ui import auth, resources

user = auth.require_area("admin")
engine = resources.engine()
st.title("Admin")


def run(action, **kwargs):
    try:
        with open_session(engine) as db:
            action(session=db, **kwargs)
    except DraftgateError as err:
        st.error(str(err))
        return False
    return True


users_tab, provider_tab, audit_tab = st.tabs(["Users", "Model provider", "Audit log"])
with users_tab:
    with open_session(engine) as db:
        users = list_users(session=db)
    st.dataframe(
        pd.DataFrame([{"user": u.username, "role": u.role, "disabled": u.disabled, "created": u.created_at} for u in users]),
        hide_index=True,
    )
    with st.form("admin.new_user", clear_on_submit=True):
        st.markdown("**New user**")
        username = st.text_input("User name")
        password = st.text_input("Password (at least 8 characters)", type="password")
        role = st.selectbox("Role", ROLES)
        if st.form_submit_button("Create user") and run(
            create_user, username=username, password=password, role=role, actor_id=user.id
        ):
            st.rerun()
    with st.form("admin.role"):
        st.markdown("**Change a role**")
        target = st.selectbox("User", [u.id for u in users], format_func={u.id: u.username for u in users}.get)
        new_role = st.selectbox("New role", ROLES, key="admin.new_role")
        if st.form_submit_button("Change role") and run(set_role, user_id=target, role=new_role, actor_id=user.id):
            st.rerun()

with provider_tab:
    current = resources.settings()
    if current.uses_embedded_model:
        st.info("No provider is configured: drafts come from the embedded local model (Gemma 3 270M, llama.cpp on 127.0.0.1).")
    else:
        key = current.llm_api_key.get_secret_value()
        st.markdown(
            f"- Base URL: `{current.llm_base_url}`\n- Model: `{current.llm_model}`\n- API style: `{current.llm_api_style}`\n"
            f"- API key: `{'…' + key[-4:] if len(key) > 8 else ('set' if key else 'none')}`"
        )
    st.caption("Set DRAFTGATE_LLM_BASE_URL, DRAFTGATE_LLM_API_KEY, DRAFTGATE_LLM_MODEL and DRAFTGATE_LLM_API_STYLE to use a provider.")

with audit_tab:
    with open_session(engine) as db:
        events = recent_events(session=db)
        names = {u.id: u.username for u in list_users(session=db)}
    st.dataframe(
        pd.DataFrame([
            {"time": e.created_at, "who": names.get(e.actor_id, "—"), "action": e.action, "target": e.target, "detail": str(e.detail)}
            for e in events
        ]),
        hide_index=True,
    )
