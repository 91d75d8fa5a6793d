"""core/ is the domain: it imports no web or UI framework, and not the web side of this
repository (pages, ui, api, app, server), so the pages, the HTTP API and the command line can
all call it, and a test of core needs no server.

Two checks: an AST scan of every module's imports (also `importlib.import_module("...")` and
`__import__("...")` with a literal name, anywhere in the module), and a fresh interpreter that
imports every core module and finds none of those frameworks loaded (a dependency that pulls one
in counts too)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"

# Third-party web servers, web frameworks and UI/charting toolkits.
FRAMEWORKS = frozenset({
    "streamlit", "starlette", "fastapi", "uvicorn", "gunicorn", "hypercorn", "altair", "flask", "django",
    "quart", "sanic", "tornado", "aiohttp", "bottle", "falcon", "litestar", "gradio", "dash", "panel",
    "bokeh", "nicegui", "plotly", "jinja2", "websockets", "sse_starlette",
})
# This repository's web side: it depends on core, never the reverse.
WEB_SIDE = frozenset({"pages", "ui", "api", "app", "server"})
# The one exception, named with its reason: the command that starts the HTTP API server
# (`python -m core serve-api`) imports the server and uvicorn inside the function that runs it,
# so importing core never loads them (the last test checks that).
ALLOWED = {("core/cli/serve_api.py", "api"), ("core/cli/serve_api.py", "uvicorn")}


def core_modules() -> list[Path]:
    return sorted(path for path in CORE.rglob("*.py") if "__pycache__" not in path.parts)


def imported_roots(source: str) -> set[str]:
    """The top-level names of every module this source imports (relative imports stay in core)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                roots.add(first.value.split(".")[0])
    return roots


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def forbidden(path: Path) -> list[str]:
    relative = path.relative_to(ROOT).as_posix()
    roots = imported_roots(path.read_text(encoding="utf-8"))
    return sorted(root for root in roots & (FRAMEWORKS | WEB_SIDE) if (relative, root) not in ALLOWED)


@pytest.mark.parametrize("source, expected", [
    ("import streamlit as st", {"streamlit"}),
    ("from fastapi.responses import JSONResponse", {"fastapi"}),
    ("def f():\n    import uvicorn\n", {"uvicorn"}),
    ("import importlib\nimportlib.import_module('starlette.routing')", {"importlib", "starlette"}),
    ("from importlib import import_module\nimport_module('altair')", {"importlib", "altair"}),
    ("__import__('flask')", {"flask"}),
    ("from ui.auth import current_user", {"ui"}),
    ("from . import models\nfrom core.platform import db", {"core"}),
])
def test_the_scan_finds_every_kind_of_import(source, expected):
    assert imported_roots(source) == expected


def test_the_scan_covers_every_package_of_core():
    packages = {path.relative_to(CORE).parts[0] for path in core_modules() if len(path.relative_to(CORE).parts) > 1}
    assert {"platform", "access", "llm", "scoring", "writing", "gate", "review", "jobs", "cli", "usecases"} <= packages


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_core_imports_no_web_framework(path):
    found = forbidden(path)
    assert not found, f"{path.relative_to(ROOT)} imports {found}: core must not depend on the web side"


def test_importing_all_of_core_loads_no_web_framework():
    names = [".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
             for path in core_modules() if "migrations" not in path.parts and path.name != "__main__.py"]
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(FRAMEWORKS | WEB_SIDE)!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"importing core loaded {result.stdout.strip()}"
