"""The OpenAPI document and the interactive docs, served from this machine only."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest


class References(HTMLParser):
    """Every URL an HTML page makes the browser load or follow (src, href, data-*-url)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self._in_script = tag == "script" and "src" not in attributes
        for name, value in attrs:
            if value and (name in ("src", "href", "action") or name.endswith("-url")):
                self.urls.append(value)

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        self._in_script = False


def test_the_openapi_document_names_its_prefix_and_documents_every_error(start_api):
    live = start_api()

    document = httpx.get(live.url("/openapi.json")).json()

    assert document["servers"] == [{"url": "/api/v1"}]
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["ApiKey"]["description"]}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "default" in operation["responses"], (method, path)
            assert "422" not in operation["responses"], "validation errors are 400s, not FastAPI's 422"
    assert {"401", "403", "429"} <= set(document["paths"]["/projects"]["get"]["responses"])


def test_the_docs_page_and_everything_it_loads_come_from_this_server(start_api):
    live = start_api()
    page_url = live.url("/docs")

    page = httpx.get(page_url)
    references = References()
    references.feed(page.text)

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert references.inline_scripts == 0  # a strict Content-Security-Policy allows the page
    assert len(references.urls) == 5  # styles, icon, the document, Swagger UI, its starter
    origin = urlsplit(page_url).netloc
    for reference in references.urls:
        url = urljoin(page_url, reference)
        assert urlsplit(url).netloc == origin, f"{reference} is not on this server"
        asset = httpx.get(url)
        assert asset.status_code == 200, url
        if url.endswith(".css"):
            outside = [u for u in re.findall(r"url\(([^)]*)\)", asset.text) if not u.strip("'\" ").startswith("data:")]
            assert outside == [], f"the styles load {outside[:3]}"
    starter = httpx.get(live.url("/docs/assets/docs.js")).text
    assert "validatorUrl: null" in starter  # else Swagger UI loads a badge from swagger.io


@pytest.mark.parametrize("name", ["../app.py", "%2e%2e%2fapp.py", "redoc.standalone.js", "nothing.js"])
def test_only_the_docs_assets_are_served(start_api, name):
    live = start_api()

    response = httpx.get(live.url(f"/docs/assets/{name}"))

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
