"""The docs page in Chromium: Swagger UI renders every operation under a strict
Content-Security-Policy (scripts from this server only, as server.py sends), and every request the
page makes goes to this server."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from starlette.datastructures import MutableHeaders

from tests.browser.conftest import browser_page  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

STRICT_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                 "img-src 'self' data:; connect-src 'self'; object-src 'none'")
RECORD_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


class StrictPolicy:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def with_policy(message):
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Content-Security-Policy"] = STRICT_POLICY
            await send(message)

        await self.app(scope, receive, with_policy)


def test_swagger_ui_renders_from_this_server_under_a_strict_policy(start_api, browser_page, tmp_path):  # noqa: F811
    live = start_api(app_hook=lambda app: app.add_middleware(StrictPolicy))
    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    page.goto(live.url("/docs"))

    for path in ("/health", "/models", "/projects"):
        expect(page.locator(".opblock-summary-path", has_text=path).first).to_be_visible(timeout=20_000)
    page.screenshot(path=str(tmp_path / "docs.png"))
    assert page.evaluate("window.__csp") == []
    origin = live.base_url.removesuffix("/api/v1")
    assert requested and all(url.startswith(origin + "/") or url.startswith("data:") for url in requested), requested
