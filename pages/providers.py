"""Providers (admins): model providers with encrypted API keys; add from a profile, edit, test, remove."""

import json

import pandas as pd
import streamlit as st

from core.llm.registry import PROFILES, list_providers, parse_params
from core.llm.types import API_STYLES, ProviderConfig
from core.platform.db import open_session
from core.platform.errors import DraftgateError
from core.usecases import providers as use
from ui import auth, resources
from ui.actions import run_use_case
from ui.forms import accepted, field
from ui.i18n import _, error_text
from ui.safe import md

user = auth.require_area("providers")
engine, settings = resources.engine(), resources.settings()
st.title(_("Providers"))
st.caption(_("Keys are encrypted at rest (AES-256-GCM) and only ever shown masked. Plain HTTP is refused except to this machine."))


with open_session(engine) as db:
    providers = list_providers(session=db, settings=settings)
if providers:
    st.dataframe(pd.DataFrame([
        {_("name"): p.name, _("base URL"): p.base_url, _("style"): p.api_style, _("model"): p.model,
         _("key"): p.key_mask or "—", _("QPS limit"): p.qps_limit or "—",
         _("default parameters"): json.dumps(p.default_params)} for p in providers
    ]), hide_index=True)
else:
    st.info(_("No provider registered: drafts come from the configured provider or the embedded model."))

st.subheader(_("Add a provider"))
profile_name = st.selectbox(_("Start from a profile"), ["", *PROFILES], key="providers.profile",
                            format_func=lambda n, blank=_("Blank"): PROFILES[n].label if n else blank)
profile = PROFILES.get(profile_name)
if profile and profile.note:
    st.caption(profile.note)
fields = f"providers.add.{profile_name or 'blank'}"  # another profile: its own fields, filled in from it
with st.form("providers.add"):
    name = st.text_input(_("Name"), value=profile.name if profile else "", key=field(fields, "name"))
    base_url = st.text_input(_("Base URL (with /v1)"), value=profile.base_url if profile else "", key=field(fields, "base_url"))
    style = profile.api_style if profile else ProviderConfig.api_style  # "chat", as everywhere else
    api_style = st.selectbox(_("API style"), API_STYLES, index=API_STYLES.index(style), key=field(fields, "api_style"))
    model = st.text_input(_("Model"), placeholder=", ".join(profile.model_hints) if profile else "", key=field(fields, "model"))
    api_key = st.text_input(_("API key"), type="password", key=field(fields, "api_key"))
    qps = st.number_input(_("Requests per second (0: no limit)"), min_value=0.0, value=0.0, step=1.0, key=field(fields, "qps"))
    params_text = st.text_input(_("Default parameters (JSON)"), value="{}", key=field(fields, "params"))
    if st.form_submit_button(_("Add provider"), type="primary"):
        try:
            params = parse_params(params_text, what="The default parameters field")
        except DraftgateError as err:
            st.error(md(error_text(err)))
        else:
            if run_use_case(use.add_provider, user.id, name=name, base_url=base_url, model=model,
                            api_style=api_style, api_key=api_key, qps_limit=qps, default_params=params):
                accepted(fields)

if providers:
    st.subheader(_("Edit, test or remove"))
    chosen = st.selectbox(_("Provider"), [p.name for p in providers], key="providers.chosen")
    current = next(p for p in providers if p.name == chosen)
    with st.form("providers.edit"):
        base_url = st.text_input(_("Base URL"), value=current.base_url)
        model = st.text_input(_("Model"), value=current.model)
        new_key = st.text_input(_("New API key (now {key}; empty keeps it)").format(
            key=md(current.key_mask) if current.key_mask else _("none")), type="password")
        qps = st.number_input(_("Requests per second"), min_value=0.0, value=float(current.qps_limit), step=1.0)
        if st.form_submit_button(_("Save changes")) and run_use_case(
            use.update_provider, user.id, chosen, base_url=base_url, model=model, api_key=new_key or None,
            qps_limit=qps,
        ):
            st.rerun()
    test_col, remove_col = st.columns(2)
    if test_col.button(_("Send a tiny request"), key="providers.test") and (
        checked := run_use_case(use.check_provider, user.id, chosen)
    ):
        (st.success if checked.value.ok else st.error)(md(checked.value.message))
    sure = remove_col.checkbox(_("Yes, remove {name}").format(name=md(chosen)), key=f"providers.remove_confirm.{chosen}",
                               help=_("Sessions that use it go back to the default provider."))
    if remove_col.button(_("Remove"), key="providers.remove", disabled=not sure) and sure and run_use_case(
        use.remove_provider, user.id, chosen
    ):
        st.rerun()
