"""Interactive docs served from this machine: Swagger UI's files from an installed package.

FastAPI's own /docs page loads Swagger UI from a CDN; here the page, its script, its styles and
its icon all come from this server (Swagger UI 5 as shipped in the `fastapi-offline` package,
whose files only are used), and the page has no inline script, so a strict
Content-Security-Policy (server.py) allows it:

    GET docs                       the page
    GET docs/assets/{name}         swagger-ui-bundle.js, swagger-ui.css, favicon.png, docs.js
"""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.errors import ApiError
from core.platform.i18n import N_, Message

SWAGGER_UI = Path(str(files("fastapi_offline"))) / "static"
OWN_STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": SWAGGER_UI / "swagger-ui-bundle.js",
    "swagger-ui.css": SWAGGER_UI / "swagger-ui.css",
    "favicon.png": SWAGGER_UI / "favicon.png",
    "docs.js": OWN_STATIC / "docs.js",
}
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
CACHE = "public, max-age=86400"

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/docs.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs_page(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    app = request.app
    return HTMLResponse(PAGE.format(title=html.escape(f"{app.title} - docs"), assets=html.escape(f"{root}/docs/assets"),
                                    openapi=html.escape(f"{root}{app.openapi_url}")))


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise ApiError(404, Message(N_("There is no docs asset {name!r}."), name=name))
    return FileResponse(path, media_type=ASSET_TYPES[path.suffix], headers={"Cache-Control": CACHE})
