"""Health (admins): the database, Redis, the provider and the embedded model, with latencies."""

import pandas as pd
import streamlit as st

from core.errors import DraftgateError
from core.health import check_database, check_embedded, check_provider, check_redis
from core.llm.providers import provider_from_settings
from ui import auth, resources
from ui.safe import md

ICONS = {"ok": "🟢", "warning": "🟠", "down": "🔴", "off": "⚪"}

auth.require_area("health")
st.title("Health")
settings = resources.settings()
st.caption("Each check runs when the page loads. “off” means not configured or not running here, which is fine.")

try:
    provider = provider_from_settings(settings)
except DraftgateError as err:  # DRAFTGATE_LLM_BASE_URL without a model
    provider = None
    st.error(md(err))
embedded = None
if settings.uses_embedded_model and st.toggle(
    "Start the embedded model if needed and probe it", key="health.embedded",
    help="The embedded model starts on the first generation; this starts it now (a few seconds, once).",
):
    try:
        resources.provider()  # starts the process's embedded server once
        from core.llm.local import embedded_server_once

        embedded = embedded_server_once()
    except DraftgateError as err:
        st.error(md(err))

checks = [
    check_database(resources.engine()),
    check_redis(settings.redis_url),
    check_provider(provider),
    check_embedded(settings, embedded),
]
st.dataframe(
    pd.DataFrame([
        {"": ICONS[c.status], "service": c.name, "status": c.status,
         "latency (ms)": c.latency_ms, "detail": c.detail}
        for c in checks
    ]),
    hide_index=True,
)
if all(c.healthy for c in checks):
    st.success("Every service is ok.")
else:
    st.warning("Some services need attention: " + ", ".join(c.name for c in checks if not c.healthy) + ".")
if st.button("Check again", key="health.refresh"):
    st.rerun()
