"""The app's pages: one stable URL each (/<area>), shared by the router (app.py) and the
server's sign-in gate (ui.sign_in_routes), which must know which paths are pages.

    PAGES        (area, file, title, icon); the area is the page's url_path and its role check;
                 the title is a msgid (app.py shows it in the user's language)
    page_path    "/review" for "review"; PAGE_PATHS every page's path, and "/"
    no_legacy_pages   tell Streamlit, before any session, that pages come from st.navigation,
                 not the pages/ folder (else a fresh server's first visitor gets the folder's
                 listing, every file by name, and runs the page file without app.py)
"""

from __future__ import annotations

from core.platform.i18n import N_

PAGES = (
    ("write", "pages/write.py", N_("Write"), ":material/edit_note:"),
    ("review", "pages/review.py", N_("Review"), ":material/fact_check:"),
    ("thresholds", "pages/thresholds.py", N_("Thresholds"), ":material/tune:"),
    ("references", "pages/references.py", N_("References"), ":material/library_books:"),
    ("presets", "pages/presets.py", N_("Presets"), ":material/bookmarks:"),
    ("dashboard", "pages/dashboard.py", N_("Dashboard"), ":material/monitoring:"),
    ("admin", "pages/admin.py", N_("Admin"), ":material/admin_panel_settings:"),
    ("providers", "pages/providers.py", N_("Providers"), ":material/hub:"),
    ("moderation", "pages/moderation.py", N_("Sensitive words"), ":material/shield:"),
    ("audit", "pages/audit.py", N_("Audit"), ":material/policy:"),
    ("health", "pages/health.py", N_("Health"), ":material/monitor_heart:"),
    ("account", "pages/account.py", N_("Account"), ":material/person:"),
)


def page_path(area: str) -> str:
    return f"/{area}"


PAGE_PATHS = frozenset({"/", *(page_path(area) for area, *_ in PAGES)})


def no_legacy_pages() -> None:
    """What st.navigation itself does on its first call, done when the server starts (Streamlit
    1.67 decides it once per process, on the first session, from whether pages/ exists)."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
