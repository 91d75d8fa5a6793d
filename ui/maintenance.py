"""Housekeeping the app does by itself: retention (DRAFTGATE_RETENTION_DAYS), at most once a day per process."""

from __future__ import annotations

import logging

import streamlit as st

from core.access.actors import SYSTEM
from core.access.privacy import DeletionReport, summary
from core.platform.errors import DraftgateError
from core.usecases import accounts
from ui import resources

log = logging.getLogger("draftgate")


@st.cache_resource(show_spinner=False, ttl=24 * 3600)
def retention_once() -> DeletionReport | None:
    """Apply the retention setting, as the system; None when it is off. Cached: runs again a day later at most."""
    runtime = resources.runtime()
    days = runtime.settings.retention_days
    if days is None:
        return None
    try:
        report = accounts.apply_retention(runtime, SYSTEM, days=days)
    except DraftgateError as err:
        # Log lines are for operators and stay English (log.log: not to be taken for st.warning's page text).
        log.log(logging.WARNING, "retention (%s days) failed: %s", days, err)
        return None
    log.log(logging.INFO, "retention (%s days): deleted %s", days, summary(report))
    return report
