"""Admin: users and roles, each user's data (export, delete), the model provider, security settings."""

import pandas as pd
import streamlit as st

from core.access.privacy import export_json, summary
from core.access.users import list_users
from core.platform.db import open_session
from core.platform.states import Role
from core.platform.wording import count
from core.usecases import accounts, providers
from ui import auth, resources
from ui.actions import run_use_case
from ui.forms import accepted, field, show_notice
from ui.safe import md

EXPORT_KEY = "admin.export"
ROLES = [role.value for role in Role]

user = auth.require_area("admin")
engine = resources.engine()
settings = resources.settings()
st.title("Admin")


def _failures(limit: int) -> str:
    return count(limit, "failure") if limit else "no limit of failures"


with open_session(engine) as db:
    users = list_users(session=db)
names = {u.id: u.username for u in users}

users_tab, data_tab, provider_tab, security_tab = st.tabs(["Users", "Data", "Model provider", "Security"])
with users_tab:
    st.dataframe(
        pd.DataFrame([{"user": u.username, "role": u.role, "disabled": u.disabled, "created": u.created_at} for u in users]),
        hide_index=True,
    )
    with st.form("admin.new_user"):
        st.markdown("**New user**")
        username = st.text_input("User name", max_chars=64, key=field("admin.new_user", "username"))
        password = st.text_input("Password (at least 8 characters, not a common one)", type="password", max_chars=1024,
                                 key=field("admin.new_user", "password"))
        role = st.selectbox("Role", ROLES, key=field("admin.new_user", "role"))
        if st.form_submit_button("Create user") and run_use_case(
            accounts.create_user, user.id, username=username, password=password, role=role
        ):
            accepted("admin.new_user")

    st.markdown("**Manage a user**")
    target_id = st.selectbox("User", list(names), format_func=names.get, key="admin.target")
    target = next(u for u in users if u.id == target_id)
    st.caption(f"{md(target.username)}: {target.role}, {'disabled' if target.disabled else 'enabled'}")
    role_col, state_col = st.columns(2)
    new_role = role_col.selectbox("New role", ROLES, index=ROLES.index(target.role), key="admin.new_role")
    if role_col.button("Change role", key="admin.change_role") and run_use_case(
        accounts.set_role, user.id, username=target.username, role=new_role
    ):
        st.rerun()
    toggle = "Enable" if target.disabled else "Disable"
    if state_col.button(f"{toggle} {md(target.username)}", key="admin.toggle") and run_use_case(
        accounts.set_disabled, user.id, username=target.username, disabled=not target.disabled
    ):
        st.rerun()
    with st.form("admin.reset_password"):
        new_password = st.text_input(
            f"New password for {md(target.username)} (empty: generate one)", type="password", max_chars=1024,
            key=field("admin.reset_password", str(target.id)),
        )
        if st.form_submit_button("Reset password"):
            done = run_use_case(accounts.reset_password, user.id, username=target.username, new_password=new_password)
            if done:
                accepted("admin.reset_password", f"New password for {md(target.username)} (shown once): `{done.value}`"
                         if done.value else f"The password of {md(target.username)} is changed.")
    show_notice("admin.reset_password")

with data_tab:
    st.markdown("Export a user's data as one JSON file, or delete the user with all their data.")
    data_user_id = st.selectbox("User", list(names), format_func=names.get, key="admin.data_user")
    if st.button("Prepare export", key="admin.prepare_export"):
        done = run_use_case(accounts.export_user, user.id, username=names[data_user_id])
        if done:
            st.session_state[EXPORT_KEY] = (data_user_id, export_json(done.value))
    prepared = st.session_state.get(EXPORT_KEY)
    if prepared and prepared[0] == data_user_id:
        st.download_button(
            f"Download the data of {md(names[data_user_id])} (JSON)", prepared[1],
            file_name=f"draftgate-{names[data_user_id]}.json", mime="application/json", key="admin.download",
        )
    with st.form("admin.delete_user"):
        st.markdown(f"**Delete {md(names[data_user_id])} and all their data** (cannot be undone)")
        confirm_name = st.text_input("Type the user name to confirm", max_chars=64)
        if st.form_submit_button("Delete user and data"):
            if confirm_name.strip() != names[data_user_id]:
                st.error("Type the user name exactly to confirm.")
            else:
                done = run_use_case(accounts.delete_user, user.id, username=names[data_user_id])
                if done:
                    report = done.value
                    st.session_state.pop(EXPORT_KEY, None)
                    st.success(f"Deleted {md(confirm_name.strip())}: {summary(report)}.")
                    for warning in report.warnings:
                        st.warning(md(warning))

with provider_tab:
    if settings.uses_embedded_model:
        st.info("No provider is configured: drafts come from the embedded local model (Gemma 3 270M, llama.cpp on 127.0.0.1).")
    else:
        key = settings.llm_api_key.get_secret_value()
        st.markdown(
            f"- Base URL: {md(settings.llm_base_url)}\n- Model: {md(settings.llm_model)}\n- API style: {md(settings.llm_api_style)}\n"
            f"- API key: {md('…' + key[-4:]) if len(key) > 8 else ('set' if key else 'none')}"
        )
    st.caption("Set DRAFTGATE_LLM_BASE_URL, DRAFTGATE_LLM_API_KEY, DRAFTGATE_LLM_MODEL and DRAFTGATE_LLM_API_STYLE to use a provider.")
    listed = run_use_case(providers.list_providers)
    registered = listed.value if listed else []
    if registered:
        st.markdown("**Registered providers** (keys encrypted at rest, shown masked)")
        st.dataframe(
            pd.DataFrame([{"name": p.name, "model": p.model, "base URL": p.base_url, "style": p.api_style,
                           "key": p.key_mask or "none"} for p in registered]),
            hide_index=True,
        )
    st.caption("Add providers, change their keys or remove them on the Providers page (or with `python -m core provider`).")

with security_tab:
    networks = settings.ip_networks
    idle = settings.session_idle_minutes
    st.markdown("\n".join([
        "- IP allowlist: " + (", ".join(f"`{n}`" for n in networks) if networks else "none (every address may connect)"),
        f"- Idle sign-out after {count(idle, 'minute')}" if idle else "- No idle sign-out",
        f"- Sign-in throttling: {_failures(settings.login_max_failures)} per user name, "
        f"{_failures(settings.login_max_failures_per_address)} per address, within "
        f"{count(settings.login_window_minutes, 'minute')}",
        f"- Retention: drafts older than {count(settings.retention_days, 'day')} are deleted" if settings.retention_days
        else "- Retention: drafts are kept",
    ]))
    st.caption("These come from DRAFTGATE_IP_ALLOWLIST, DRAFTGATE_SESSION_IDLE_MINUTES, DRAFTGATE_LOGIN_* and DRAFTGATE_RETENTION_DAYS.")
    st.markdown("**Master key rotation**: re-encrypts every stored API key under a new master key.")
    if settings.master_key.get_secret_value().strip():
        st.caption("The master key comes from DRAFTGATE_MASTER_KEY: rotate it with `python -m core rotate-master-key`.")
    else:
        confirm = st.checkbox("Yes, replace the master key file now", key="admin.rotate_confirm")
        if st.button("Rotate the master key", key="admin.rotate", disabled=not confirm):
            done = run_use_case(accounts.rotate_master_key, user.id)
            if done:
                st.success(f"Re-encrypted {count(done.value.secrets, 'stored key')}; the new master key is in "
                           f"{md(done.value.key_file)}.")
