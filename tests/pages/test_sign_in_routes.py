"""The sign-in routes and the gate (ui.sign_in_routes), over HTTP: the cookie and its flags, CSRF
(Origin/Referer and the token tied to the pre-session cookie), `next` kept on this origin, the
throttle, the allowlist and the password rules as before, sign-out, and signed-out page URLs."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from core.platform.models import AuditEvent, SignInSession
from core.usecases import accounts
from tests.pages.conftest import signed_in_token
from tests.utils.factories import PASSWORD
from ui import resources
from ui.auth import SESSION_COOKIE
from ui.sign_in_routes import CSRF_COOKIE, SignInGate, safe_next, sign_in_routes

ORIGIN = "http://testserver"


def make_client(*, base_url: str = ORIGIN, peer: str = "127.0.0.1") -> TestClient:
    """The routes and the gate in front of a stand-in for Streamlit (which answers "app")."""
    app = Starlette(
        routes=[*sign_in_routes(resources.runtime), Route("/{path:path}", lambda request: PlainTextResponse("app"))],
        middleware=[Middleware(SignInGate, runtime=resources.runtime)],
    )
    return TestClient(app, base_url=base_url, client=(peer, 50000), follow_redirects=False)


@pytest.fixture
def client(users):
    return make_client()


def open_form(client: TestClient, next_path: str = "/review") -> str:
    """GET the form (the pre-session cookie is kept by the client); its CSRF token."""
    response = client.get("/auth/sign-in", params={"next": next_path})
    assert response.status_code == 200
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', response.text).group(1)


def post(client: TestClient, csrf: str, *, username="reviewer", password=PASSWORD, next_path="/review",
         headers: dict | None = None):
    return client.post("/auth/sign-in", data={"username": username, "password": password, "csrf": csrf,
                                              "next": next_path},
                       headers={"Origin": ORIGIN} if headers is None else headers)


def set_cookie(response, name: str) -> str:
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


def test_the_form_sets_a_pre_session_cookie_and_carries_next(client):
    response = client.get("/auth/sign-in", params={"next": "/write?session=ab12"})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert '<input type="hidden" name="next" value="/write?session=ab12">' in response.text
    assert 'id="username"' in response.text and 'type="password"' in response.text and "<script" not in response.text
    cookie = set_cookie(response, CSRF_COOKIE).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/auth" in cookie


def test_signing_in_sets_an_opaque_http_only_cookie_and_goes_to_next(client, users, app_db):
    response = post(client, open_form(client))
    assert response.status_code == 303 and response.headers["location"] == "/review"
    cookie = set_cookie(response, SESSION_COOKIE)
    token = re.match(rf"{SESSION_COOKIE}=([\w-]+);", cookie).group(1)
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags and "secure" not in flags
    assert "max-age" not in flags and "expires" not in flags  # the server decides when it ends
    assert token not in response.headers["location"]
    found = accounts.look_up_sign_in(resources.runtime(), token=token)
    assert found.signed_in and found.user.id == users["reviewer"].id
    assert found.sign_in.address == "127.0.0.1" and found.sign_in.user_agent == "testclient"
    assert [e.action for e in app_db.exec(select(AuditEvent).where(AuditEvent.action.startswith("auth.")))] == ["auth.sign_in"]
    # signed in now: the gate lets the page through, and the form sends the browser on
    assert client.get("/review").text == "app"
    assert client.get("/auth/sign-in", params={"next": "/account"}).headers["location"] == "/account"


@pytest.mark.parametrize("headers", [
    {},  # neither Origin nor Referer
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/page"},
])
def test_a_post_from_another_site_is_refused(client, app_db, headers):
    response = post(client, open_form(client), headers=headers)
    assert response.status_code == 403 and "did not come from this site" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "").split(";")[0]
    assert app_db.exec(select(SignInSession)).all() == []


def test_a_referer_of_this_site_is_enough_without_origin(client):
    response = post(client, open_form(client), headers={"Referer": f"{ORIGIN}/auth/sign-in?next=/review"})
    assert response.status_code == 303


def test_the_csrf_token_must_match_this_browsers_pre_session_cookie(client, app_db):
    csrf = open_form(client)
    assert post(client, "0" * 64).status_code == 403
    assert post(client, "").status_code == 403
    other = make_client()
    assert post(other, csrf).status_code == 403  # a token seen elsewhere, without its cookie
    other.cookies.set(CSRF_COOKIE, "chosen-by-the-attacker", path="/auth")
    assert post(other, csrf).status_code == 403
    assert app_db.exec(select(SignInSession)).all() == []
    assert post(client, csrf).status_code == 303


@pytest.mark.parametrize("asked", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "review",
                                   "/auth/sign-out", "/re\nview", "", None, "/" + "a" * 3000])
def test_next_never_leaves_this_origin(asked):
    assert safe_next(asked) == "/"


@pytest.mark.parametrize("asked", ["/", "/review", "/write?session=ab12", "/thresholds?x=1&y=%2F"])
def test_next_keeps_paths_of_this_origin(asked):
    assert safe_next(asked) == asked


def test_an_offsite_next_in_the_form_lands_on_the_first_page_of_the_role(client):
    response = post(client, open_form(client), next_path="//evil.example/")
    assert response.status_code == 303 and response.headers["location"] == "/review"
    client.cookies.clear()
    response = post(client, open_form(client), username="editor", next_path="/")
    assert response.headers["location"] == "/write"


def test_wrong_password_and_empty_form_get_the_form_again_with_a_message(client, app_db):
    csrf = open_form(client)
    response = post(client, csrf, password="wrong-password")
    assert response.status_code == 401 and "Wrong user name or password." in response.text
    assert 'value="reviewer"' in response.text  # the name stays typed
    empty = post(client, csrf, username=" ", password="")
    assert empty.status_code == 400 and "Enter your user name and password." in empty.text
    assert [e.action for e in app_db.exec(select(AuditEvent).where(AuditEvent.action.startswith("auth.")))] == ["auth.failed"]  # the empty one is not counted
    assert app_db.exec(select(SignInSession)).all() == []


def test_names_are_escaped_in_the_form(client):
    response = post(client, open_form(client), username='"><b>x', password="nope-nope")
    assert '"><b>x' not in response.text and "&quot;&gt;&lt;b&gt;x" in response.text


def test_repeated_failures_wait_with_a_message_and_retry_after(monkeypatch, users):
    monkeypatch.setenv("DRAFTGATE_LOGIN_MAX_FAILURES", "2")
    resources.reset()
    try:
        client = make_client()
        csrf = open_form(client)
        for _ in range(2):
            assert post(client, csrf, password="wrong-password").status_code == 401
        response = post(client, csrf)  # even the right password waits now
        assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
        assert "Too many failed sign-ins for this user name: try again in 15 minutes." in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    finally:
        resources.reset()


def test_an_address_outside_the_allowlist_is_refused(monkeypatch, users):
    monkeypatch.setenv("DRAFTGATE_IP_ALLOWLIST", "10.0.0.0/8")
    resources.reset()
    try:
        outside = make_client(peer="203.0.113.5")
        response = outside.get("/auth/sign-in")
        assert response.status_code == 403 and "Access refused" in response.text and "(203.0.113.5)" in response.text
        assert 'name="password"' not in response.text
        assert outside.post("/auth/sign-in", data={"username": "reviewer", "password": PASSWORD},
                            headers={"Origin": ORIGIN}).status_code == 403
        inside = make_client(peer="10.1.2.3")
        assert post(inside, open_form(inside)).status_code == 303
    finally:
        resources.reset()


def test_the_cookie_is_secure_over_https_or_behind_a_trusted_proxy(monkeypatch, users):
    https = make_client(base_url="https://testserver")
    response = https.post("/auth/sign-in", data={"username": "reviewer", "password": PASSWORD,
                                                 "csrf": open_form(https)}, headers={"Origin": "https://testserver"})
    assert "secure" in set_cookie(response, SESSION_COOKIE).lower()

    monkeypatch.setenv("DRAFTGATE_TRUSTED_PROXIES", "10.9.9.0/24")
    resources.reset()
    try:
        for peer, secure in (("10.9.9.9", True), ("10.1.1.1", False)):  # X-Forwarded-Proto only from the proxy
            client = make_client(peer=peer)
            response = post(client, open_form(client), headers={"Origin": ORIGIN, "X-Forwarded-Proto": "https"})
            assert ("secure" in set_cookie(response, SESSION_COOKIE).lower()) == secure, peer
    finally:
        resources.reset()


def test_signing_out_revokes_and_clears_the_cookie(client, users, app_db):
    csrf = open_form(client)
    post(client, csrf)
    token = client.cookies.get(SESSION_COOKIE)
    assert client.post("/auth/sign-out", data={"csrf": csrf}, headers={"Origin": "https://evil.example"}).status_code == 403
    assert accounts.look_up_sign_in(resources.runtime(), token=token).signed_in

    response = client.post("/auth/sign-out", data={"csrf": csrf}, headers={"Origin": ORIGIN})
    assert response.status_code == 303 and response.headers["location"] == "/auth/sign-in"
    assert set_cookie(response, SESSION_COOKIE).startswith(f'{SESSION_COOKIE}="";')
    assert not accounts.look_up_sign_in(resources.runtime(), token=token).signed_in
    assert [e.detail for e in app_db.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_out"))] == [
        {"reason": "sign_out"}]


@pytest.mark.parametrize("path", ["/", "/review", "/thresholds?session=3", "/admin/"])
def test_a_signed_out_page_url_is_sent_to_the_form_with_next(client, path):
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/sign-in?next=" + {
        "/": "%2F", "/review": "%2Freview", "/thresholds?session=3": "%2Fthresholds%3Fsession%3D3",
        "/admin/": "%2Fadmin%2F"}[path]


def test_the_gate_passes_what_is_not_a_page_and_a_revoked_cookie_is_sent_to_sign_in(client, users):
    for path in ("/_stcore/health", "/static/js/index.js", "/api/v1/models", "/no/such/page"):
        assert client.get(path).text == "app", path
    token = signed_in_token(users["writer"])
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/write").text == "app"
    accounts.end_sign_in(resources.runtime(), token=token)
    assert client.get("/write").status_code == 303
    form = client.get("/auth/sign-in")  # the stale cookie is cleared there
    assert set_cookie(form, SESSION_COOKIE).startswith(f'{SESSION_COOKIE}="";')


def test_the_form_and_its_refusals_follow_the_browsers_accept_language(client, users):
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
    response = client.get("/auth/sign-in", headers=chinese)
    assert '<html lang="zh-CN">' in response.text and ">用户名<" in response.text and ">登录<" in response.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', response.text).group(1)
    refused = post(client, csrf, password="wrong password", headers={"Origin": ORIGIN, **chinese})
    assert refused.status_code == 401 and "User name" not in refused.text and "用户名" in refused.text
    assert "用户名或密码错误。" in refused.text
    assert ">User name<" in client.get("/auth/sign-in", headers={"Accept-Language": "fr"}).text
