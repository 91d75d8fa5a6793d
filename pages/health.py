"""Health (admins): the database, Redis, the providers and the embedded model, with latencies."""

import pandas as pd
import streamlit as st

from core.llm.local import running_embedded_server
from core.llm.providers import provider_from_settings
from core.platform.errors import DraftgateError
from core.platform.health import run_checks, verdict
from ui import auth, resources
from ui.i18n import _, error_text, ngettext, when
from ui.safe import md

ICONS = {"ok": "🟢", "warning": "🟠", "down": "🔴", "off": "⚪"}
VERDICT_STYLES = {"ok": st.success, "unchecked": st.info, "attention": st.warning}

auth.require_area("health")
st.title("Health")
settings = resources.settings()
st.caption("Each check runs when the page loads. “off” means not configured or not running here, which is fine.")

try:
    provider = provider_from_settings(settings)
except DraftgateError as err:  # DRAFTGATE_LLM_BASE_URL without a model
    provider = None
    st.error(md(error_text(err)))
if settings.uses_embedded_model and running_embedded_server() is None and st.toggle(
    "Start the embedded model and probe it", key="health.embedded",
    help="The embedded model starts on the first generation; this starts it now (a few seconds, once).",
):
    try:
        resources.provider()  # starts the process's embedded server once
    except DraftgateError as err:
        st.error(md(error_text(err)))

checks = run_checks(settings=settings, engine=resources.engine(), provider=provider, embedded=running_embedded_server())
st.dataframe(
    pd.DataFrame([
        {"": ICONS[c.status], "service": c.name, "status": c.status,
         "latency (ms)": c.latency_ms, "detail": c.detail}
        for c in checks
    ]),
    hide_index=True,
)
level, sentence = verdict(checks)
VERDICT_STYLES[level](sentence)
if st.button("Check again", key="health.refresh"):
    st.rerun()
