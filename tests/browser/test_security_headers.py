"""Every response of `streamlit run server.py` carries the security headers: the page, static
files, the health endpoint, a path nobody serves, and the WebSocket upgrade. (No browser needed;
that the policy breaks nothing is checked in Chromium by test_no_request_leaves.py.)"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser.conftest import ROOT

REQUIRED = ("default-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'", "object-src 'none'",
            "frame-ancestors 'self'")


def directives(policy: str) -> dict[str, list[str]]:
    return {name: rest for name, *rest in (part.split() for part in policy.split(";") if part.strip())}


def assert_secured(headers) -> None:
    policy = headers.get("content-security-policy", "")
    for required in REQUIRED:
        assert required in policy, policy
    assert "'unsafe-eval'" not in directives(policy)["script-src"]
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") == "same-origin"


def test_the_page_static_files_health_and_unknown_paths_carry_the_policy(server):
    page = httpx.get(f"{server}/no/such/page")  # Streamlit's page (a page URL, signed out, is sent to sign-in)
    assert page.status_code == 200
    assert_secured(page.headers)
    script = re.search(r'src="\./(static/js/index\.[\w-]+\.js)"', page.text).group(1)
    for path in ("", "review", "auth/sign-in", script, "favicon.png", "_stcore/health", "_stcore/host-config"):
        response = httpx.get(f"{server}/{path}")
        assert response.status_code in (200, 303, 404), path
        assert_secured(response.headers)


def test_the_served_inline_script_is_the_one_the_policy_allows(server):
    """The policy allows Streamlit's inline script by its hash: the hash of the script served."""
    page = httpx.get(f"{server}/no/such/page")
    bodies = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert bodies, "Streamlit's page has no inline script any more: drop the hash from server.py"
    allowed = directives(page.headers["content-security-policy"])["script-src"]
    for body in bodies:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed


def test_the_websocket_upgrade_carries_the_policy(server):
    parts = urlsplit(server)
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\nOrigin: {server}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(4096)
            if not chunk:
                break
            response += chunk
    head = response.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    assert head[0].startswith("HTTP/1.1 101"), head
    headers = httpx.Headers([tuple(line.split(": ", 1)) for line in head[1:]])
    assert_secured(headers)


@pytest.mark.parametrize("path", ["scripts/run.sh", "tests/browser/conftest.py", "README.md"])
def test_the_app_is_started_through_server_py(path):
    text = (ROOT / path).read_text()
    assert "server.py" in text and '"app.py"' not in text and "run app.py" not in text
