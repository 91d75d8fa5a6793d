"""Admin: users and roles, each user's data (export, delete), the model provider, security settings."""

import pandas as pd
import streamlit as st

from core.access.privacy import export_json, summary
from core.access.users import list_users
from core.platform.db import open_session
from core.platform.states import Role
from core.usecases import accounts, providers
from ui import auth, resources
from ui.actions import run_use_case
from ui.forms import accepted, field, show_notice
from ui.i18n import _, ngettext, role_name, when
from ui.safe import md

EXPORT_KEY = "admin.export"
ROLES = [role.value for role in Role]

user = auth.require_area("admin")
engine = resources.engine()
settings = resources.settings()
st.title(_("Admin"))


def _failures(limit: int) -> str:
    if not limit:
        return _("no limit of failures")
    return ngettext("{n} failure", "{n} failures", limit).format(n=limit)


def _minutes(n: int) -> str:
    return ngettext("{n} minute", "{n} minutes", n).format(n=n)


with open_session(engine) as db:
    users = list_users(session=db)
role_names = {role: role_name(role) for role in ROLES}  # made here: format_func may run outside the script
names = {u.id: u.username for u in users}

users_tab, data_tab, provider_tab, security_tab = st.tabs([_("Users"), _("Data"), _("Model provider"), _("Security")])
with users_tab:
    st.dataframe(
        pd.DataFrame([{_("user"): u.username, _("role"): role_name(u.role), _("disabled"): u.disabled,
                       _("created"): when(u.created_at, length="short")} for u in users]),
        hide_index=True,
    )
    with st.form("admin.new_user"):
        st.markdown(_("**New user**"))
        username = st.text_input(_("User name"), max_chars=64, key=field("admin.new_user", "username"))
        password = st.text_input(_("Password (at least 8 characters, not a common one)"), type="password", max_chars=1024,
                                 key=field("admin.new_user", "password"))
        role = st.selectbox(_("Role"), ROLES, format_func=role_names.__getitem__,
                            key=field("admin.new_user", "role"))
        if st.form_submit_button(_("Create user")) and run_use_case(
            accounts.create_user, user.id, username=username, password=password, role=role
        ):
            accepted("admin.new_user")

    st.markdown(_("**Manage a user**"))
    target_id = st.selectbox(_("User"), list(names), format_func=names.get, key="admin.target")
    target = next(u for u in users if u.id == target_id)
    st.caption((_("{user}: {role}, disabled") if target.disabled else _("{user}: {role}, enabled")).format(
        user=md(target.username), role=role_name(target.role)))
    role_col, state_col = st.columns(2)
    new_role = role_col.selectbox(_("New role"), ROLES, index=ROLES.index(target.role), format_func=role_names.__getitem__,
                                  key="admin.new_role")
    if role_col.button(_("Change role"), key="admin.change_role") and run_use_case(
        accounts.set_role, user.id, username=target.username, role=new_role
    ):
        st.rerun()
    toggle = _("Enable {user}") if target.disabled else _("Disable {user}")
    if state_col.button(toggle.format(user=md(target.username)), key="admin.toggle") and run_use_case(
        accounts.set_disabled, user.id, username=target.username, disabled=not target.disabled
    ):
        st.rerun()
    with st.form("admin.reset_password"):
        new_password = st.text_input(
            _("New password for {user} (empty: generate one)").format(user=md(target.username)), type="password", max_chars=1024,
            key=field("admin.reset_password", str(target.id)),
        )
        if st.form_submit_button(_("Reset password")):
            done = run_use_case(accounts.reset_password, user.id, username=target.username, new_password=new_password)
            if done:
                notice = (_("New password for {user} (shown once): `{password}`") if done.value
                          else _("The password of {user} is changed."))
                accepted("admin.reset_password", notice.format(user=md(target.username), password=done.value))
    show_notice("admin.reset_password")

with data_tab:
    st.markdown(_("Export a user's data as one JSON file, or delete the user with all their data."))
    data_user_id = st.selectbox(_("User"), list(names), format_func=names.get, key="admin.data_user")
    if st.button(_("Prepare export"), key="admin.prepare_export"):
        done = run_use_case(accounts.export_user, user.id, username=names[data_user_id])
        if done:
            st.session_state[EXPORT_KEY] = (data_user_id, export_json(done.value))
    prepared = st.session_state.get(EXPORT_KEY)
    if prepared and prepared[0] == data_user_id:
        st.download_button(
            _("Download the data of {user} (JSON)").format(user=md(names[data_user_id])), prepared[1],
            file_name=f"draftgate-{names[data_user_id]}.json", mime="application/json", key="admin.download",
        )
    with st.form("admin.delete_user"):
        st.markdown(_("**Delete {user} and all their data** (cannot be undone)").format(user=md(names[data_user_id])))
        confirm_name = st.text_input(_("Type the user name to confirm"), max_chars=64)
        if st.form_submit_button(_("Delete user and data")):
            if confirm_name.strip() != names[data_user_id]:
                st.error(_("Type the user name exactly to confirm."))
            else:
                done = run_use_case(accounts.delete_user, user.id, username=names[data_user_id])
                if done:
                    report = done.value
                    st.session_state.pop(EXPORT_KEY, None)
                    st.success(_("Deleted {user}: {summary}.").format(user=md(confirm_name.strip()),
                                                                      summary=summary(report)))
                    for warning in report.warnings:
                        st.warning(md(warning))

with provider_tab:
    if settings.uses_embedded_model:
        st.info(_("No provider is configured: drafts come from the embedded local model (Gemma 3 270M, llama.cpp on 127.0.0.1)."))
    else:
        key = settings.llm_api_key.get_secret_value()
        shown_key = md("…" + key[-4:]) if len(key) > 8 else (_("set") if key else _("none"))
        st.markdown(_("- Base URL: {url}\n- Model: {model}\n- API style: {style}\n- API key: {key}").format(
            url=md(settings.llm_base_url), model=md(settings.llm_model), style=md(settings.llm_api_style), key=shown_key))
    st.caption(_("Set DRAFTGATE_LLM_BASE_URL, DRAFTGATE_LLM_API_KEY, DRAFTGATE_LLM_MODEL and DRAFTGATE_LLM_API_STYLE to use a provider."))
    listed = run_use_case(providers.list_providers)
    registered = listed.value if listed else []
    if registered:
        st.markdown(_("**Registered providers** (keys encrypted at rest, shown masked)"))
        st.dataframe(
            pd.DataFrame([{_("name"): p.name, _("model"): p.model, _("base URL"): p.base_url, _("style"): p.api_style,
                           _("key"): p.key_mask or _("none")} for p in registered]),
            hide_index=True,
        )
    st.caption(_("Add providers, change their keys or remove them on the Providers page (or with `python -m core provider`)."))

with security_tab:
    networks = settings.ip_networks
    idle = settings.session_idle_minutes
    days = settings.retention_days
    st.markdown("\n".join([
        _("- IP allowlist: {networks}").format(
            networks=", ".join(f"`{n}`" for n in networks) if networks else _("none (every address may connect)")),
        _("- Idle sign-out after {minutes}").format(minutes=_minutes(idle)) if idle else _("- No idle sign-out"),
        _("- Sign-in throttling: {per_user} per user name, {per_address} per address, within {minutes}").format(
            per_user=_failures(settings.login_max_failures),
            per_address=_failures(settings.login_max_failures_per_address),
            minutes=_minutes(settings.login_window_minutes)),
        ngettext("- Retention: drafts older than {n} day are deleted", "- Retention: drafts older than {n} days are deleted",
                 days).format(n=days) if days else _("- Retention: drafts are kept"),
    ]))
    st.caption(_("These come from DRAFTGATE_IP_ALLOWLIST, DRAFTGATE_SESSION_IDLE_MINUTES, DRAFTGATE_LOGIN_* and DRAFTGATE_RETENTION_DAYS."))
    st.markdown(_("**Master key rotation**: re-encrypts every stored API key under a new master key."))
    if settings.master_key.get_secret_value().strip():
        st.caption(_("The master key comes from DRAFTGATE_MASTER_KEY: rotate it with `python -m core rotate-master-key`."))
    else:
        confirm = st.checkbox(_("Yes, replace the master key file now"), key="admin.rotate_confirm")
        if st.button(_("Rotate the master key"), key="admin.rotate", disabled=not confirm):
            done = run_use_case(accounts.rotate_master_key, user.id)
            if done:
                keys = done.value.secrets
                st.success(ngettext("Re-encrypted {n} stored key; the new master key is in {file}.",
                                    "Re-encrypted {n} stored keys; the new master key is in {file}.", keys).format(
                    n=keys, file=md(done.value.key_file)))
