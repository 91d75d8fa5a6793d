"""Housekeeping the app does by itself: retention (DRAFTGATE_RETENTION_DAYS), at most once a day per process."""

from __future__ import annotations

import logging

import streamlit as st

from core.platform.db import open_session
from core.platform.errors import DraftgateError
from core.access.privacy import DeletionReport, apply_retention, summary
from ui import resources

log = logging.getLogger("draftgate")


@st.cache_resource(show_spinner=False, ttl=24 * 3600)
def retention_once() -> DeletionReport | None:
    """Apply the retention setting; None when it is off. Cached: runs again a day later at most."""
    settings = resources.settings()
    if settings.retention_days is None:
        return None
    try:
        with open_session(resources.engine()) as session:
            report = apply_retention(session=session, days=settings.retention_days, settings=settings)
    except DraftgateError as err:
        log.warning("retention (%s days) failed: %s", settings.retention_days, err)
        return None
    log.info("retention (%s days): deleted %s", settings.retention_days, summary(report))
    return report
