"""Health (admins): the database, Redis, the providers and the embedded model, with latencies."""

import pandas as pd
import streamlit as st

from core.llm.local import running_embedded_server
from core.llm.providers import provider_from_settings
from core.platform.errors import DraftgateError
from core.platform.health import run_checks, verdict_message
from ui import auth, resources
from ui.i18n import N_, _, error_text, render
from ui.safe import md

ICONS = {"ok": "🟢", "warning": "🟠", "down": "🔴", "off": "⚪"}
SERVICE_NAMES = {"Database": N_("Database"), "Redis": "Redis", "Provider": N_("Provider"),
                 "Embedded model": N_("Embedded model"), "Registered providers": N_("Registered providers")}
STATUS_NAMES = {"ok": N_("ok"), "warning": N_("warning"), "down": N_("down"), "off": N_("off")}
VERDICT_STYLES = {"ok": st.success, "unchecked": st.info, "attention": st.warning}


def service_name(name: str) -> str:
    if name not in SERVICE_NAMES and name.startswith("Provider "):  # a registered provider, by its name
        return _("Provider {name}").format(name=name.removeprefix("Provider "))
    return _(SERVICE_NAMES.get(name, name))


auth.require_area("health")
st.title(_("Health"))
settings = resources.settings()
st.caption(_("Each check runs when the page loads. “off” means not configured or not running here, which is fine."))

try:
    provider = provider_from_settings(settings)
except DraftgateError as err:  # DRAFTGATE_LLM_BASE_URL without a model
    provider = None
    st.error(md(error_text(err)))
if settings.uses_embedded_model and running_embedded_server() is None and st.toggle(
    _("Start the embedded model and probe it"), key="health.embedded",
    help=_("The embedded model starts on the first generation; this starts it now (a few seconds, once)."),
):
    try:
        resources.provider()  # starts the process's embedded server once
    except DraftgateError as err:
        st.error(md(error_text(err)))

checks = run_checks(settings=settings, engine=resources.engine(), provider=provider, embedded=running_embedded_server())
st.dataframe(
    pd.DataFrame([
        {"": ICONS[c.status], _("service"): service_name(c.name), _("status"): _(STATUS_NAMES.get(c.status, c.status)),
         _("latency (ms)"): c.latency_ms, _("detail"): render(c.message)}
        for c in checks
    ]),
    hide_index=True,
)
level, sentence = verdict_message(checks, service_name)
VERDICT_STYLES[level](render(sentence))
if st.button(_("Check again"), key="health.refresh"):
    st.rerun()
