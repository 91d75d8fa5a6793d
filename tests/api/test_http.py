"""The API over real HTTP (uvicorn on loopback, a real database): every error in OpenAI's
envelope, the transport and allowlist rules, roles, idempotency and the generation cap.

Routes that exercise what the real endpoints will need (a crash, a core error, an idempotent
POST, a generation) are added to the app under test by `add_test_routes`."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field

from api.access import authenticated, generation_slot, request_origin, require_area, runtime_of
from api.errors import INTERNAL_MESSAGE
from api.idempotency import IdempotencyKey, run_idempotent
from core.access.actors import SYSTEM
from core.access.allowlist import parse_allowlist
from core.access.client_address import UNKNOWN
from core.platform import i18n
from core.platform.errors import ConflictError, DatabaseBusyError, NotFoundError
from tests.api.conftest import snapshot
from tests.utils.jobs import wait_until

SECRET_IN_ERROR = "dg_" + "S" * 43


class Message(BaseModel):
    role: str
    content: str = Field(max_length=10)


class EchoBody(BaseModel):
    messages: list[Message]
    n: int = Field(default=1, ge=1, le=32)


def add_test_routes(app: FastAPI, calls: list | None = None, release: threading.Event | None = None) -> None:
    router = APIRouter()

    @router.get("/test/crash")
    def crash(_caller=Depends(authenticated)):
        raise RuntimeError(f"internal detail with {SECRET_IN_ERROR}")

    @router.get("/test/missing")
    def missing(_caller=Depends(authenticated)):
        raise NotFoundError("There is no draft 7.")

    @router.get("/test/taken")
    def taken(_caller=Depends(authenticated)):
        raise ConflictError("Someone else claimed this item first.")

    @router.get("/test/busy")
    def busy(_caller=Depends(authenticated)):
        raise DatabaseBusyError()

    @router.get("/test/review")
    def review_only(caller=Depends(require_area("review"))):
        return {"user": caller.username}

    @router.post("/test/echo")
    def echo(body: EchoBody, idempotency_key: IdempotencyKey = None, caller=Depends(authenticated),
             runtime=Depends(runtime_of)):
        def answer():
            if calls is not None:
                calls.append(body.messages[0].content)
            if release is not None:
                release.wait(10)
            return 201, {"count": len(calls or ()), "echo": body.model_dump(mode="json")}

        return run_idempotent(runtime.idempotency, api_key_id=caller.key_id, key=idempotency_key, method="POST",
                              path="/test/echo", payload=body.model_dump(mode="json"), answer=answer)

    @router.post("/test/generate")
    async def generate(_lease=Depends(generation_slot)):
        if release is not None:
            await asyncio.to_thread(release.wait, 10)
        return {"done": True}

    app.include_router(router)


@pytest.fixture
def key(writer, db):
    from core.access.api_keys import create_api_key

    return create_api_key(session=db, user_id=writer.id, name="test", actor_id=SYSTEM).key


def assert_envelope(response: httpx.Response, status: int, code: str, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code and body["error"]["param"] == param
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body["error"]


# -- errors ---------------------------------------------------------------------------------


def test_unknown_paths_and_methods_answer_in_the_envelope(start_api, key):
    live = start_api()

    assert_envelope(live.get("/nothing-here", key), 404, "not_found")
    assert_envelope(httpx.delete(live.url("/models"), headers={"Authorization": f"Bearer {key}"}), 405,
                    "method_not_allowed")


@pytest.mark.parametrize("query, param", [("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"),
                                          ("after=-1", "after"), ("after=99999999999999999999", "after")])
def test_a_bad_parameter_is_a_400_naming_it(start_api, key, query, param):
    live = start_api()

    error = assert_envelope(live.get(f"/projects?{query}", key), 400, "invalid_parameter", param)
    assert param in error["message"]


@pytest.mark.parametrize("body, param, code", [
    ({"messages": [{"role": "user", "content": "far too long for ten"}]}, "messages[0].content", "invalid_parameter"),
    ({"messages": [{"role": "user"}]}, "messages[0].content", "missing_required_parameter"),
    ({"messages": [], "n": 33}, "n", "invalid_parameter"),
    ({}, "messages", "missing_required_parameter"),
])
def test_a_bad_body_field_is_a_400_naming_it(start_api, key, body, param, code):
    live = start_api(app_hook=add_test_routes)

    response = httpx.post(live.url("/test/echo"), json=body, headers={"Authorization": f"Bearer {key}"})

    assert_envelope(response, 400, code, param)


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b'{"messages": [', b"[" * 10_000])
def test_a_body_that_is_not_json_is_a_400(start_api, key, raw):
    live = start_api(app_hook=add_test_routes)

    response = httpx.post(live.url("/test/echo"), content=raw, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})

    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def test_a_crash_is_a_plain_500_without_a_traceback_and_is_logged(start_api, key, caplog):
    live = start_api(app_hook=add_test_routes)

    with caplog.at_level("ERROR", logger="api"):
        response = live.get("/test/crash", key)

    error = assert_envelope(response, 500, "server_error")
    assert error["message"] == INTERNAL_MESSAGE and SECRET_IN_ERROR not in response.text
    assert "RuntimeError" not in response.text and response.headers["x-ratelimit-limit-requests"] == "100"
    assert any("unhandled error" in record.getMessage() and record.exc_info for record in caplog.records)


@pytest.mark.parametrize("path, status, code", [("/test/missing", 404, "not_found"), ("/test/taken", 409, "conflict"),
                                                ("/test/busy", 503, "service_unavailable")])
def test_core_errors_keep_their_message_and_get_their_status(start_api, key, path, status, code):
    live = start_api(app_hook=add_test_routes)

    response = live.get(path, key)

    error = assert_envelope(response, status, code)
    assert error["message"] in ("There is no draft 7.", "Someone else claimed this item first.",
                                "The database is busy; try again in a moment.")
    if status == 503:
        assert response.headers["Retry-After"] == "1"


def test_every_answer_of_a_keyed_route_carries_the_rate_headers_errors_included(start_api, key):
    """(An unknown path is answered 404 before any key is read: it costs nothing and counts for nothing.)"""
    live = start_api(api_qps_limit=50, app_hook=add_test_routes)

    for response in (live.get("/models", key), live.get("/projects?limit=0", key), live.get("/test/missing", key)):
        assert response.headers["x-ratelimit-limit-requests"] == "50"
        assert int(response.headers["x-ratelimit-remaining-requests"]) < 50
        assert response.headers["x-ratelimit-reset-requests"].endswith(("ms", "s"))


# -- who may call ---------------------------------------------------------------------------


def test_a_missing_or_wrong_key_is_a_401_with_a_bearer_challenge(start_api, key):
    live = start_api()

    altered = key[:-1] + ("y" if key.endswith("x") else "x")  # one character off (never the key itself)
    for headers in ({}, {"Authorization": "Basic YTpi"}, {"Authorization": "Bearer dg_nope"},
                    {"Authorization": f"Bearer {altered}"}):
        response = live.get("/models", headers=headers)
        assert_envelope(response, 401, "invalid_api_key")
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_role_without_the_area_is_a_403(start_api, db, writer, reviewer):
    live = start_api(app_hook=add_test_routes)

    assert live.get("/test/review", live.key_for(reviewer)).json() == {"user": "reviewer"}
    error = assert_envelope(live.get("/test/review", live.key_for(writer)), 403, "permission_denied")
    assert "reviewer" in error["message"]


def test_plain_http_through_a_proxy_is_refused_unless_it_says_https(start_api, key):
    live = start_api(trusted_proxies="127.0.0.1/32")
    remote = {"X-Forwarded-For": "203.0.113.5"}

    assert_envelope(live.get("/models", key, headers={**remote, "X-Forwarded-Proto": "http"}), 403, "https_required")
    assert_envelope(live.get("/models", key, headers=remote), 403, "https_required")
    assert live.get("/models", key, headers={**remote, "X-Forwarded-Proto": "https"}).status_code == 200


def test_forwarded_headers_from_an_untrusted_peer_change_nothing(start_api, key):
    live = start_api(ip_allowlist="127.0.0.1/32")  # no trusted proxies: the peer (loopback) is the client

    forged = {"X-Forwarded-For": "10.9.9.9", "X-Forwarded-Proto": "http"}
    assert live.get("/models", key, headers=forged).status_code == 200


def test_the_global_and_the_keys_allowlists_refuse_other_addresses(start_api, db, writer):
    live = start_api(trusted_proxies="127.0.0.1/32", ip_allowlist="198.51.100.0/24, 192.0.2.0/24")
    anywhere = live.key_for(writer)
    narrow = live.key_for(writer, ip_allowlist="192.0.2.0/28")

    def via(address: str, key: str) -> httpx.Response:
        return live.get("/models", key, headers={"X-Forwarded-For": address, "X-Forwarded-Proto": "https"})

    assert via("198.51.100.7", anywhere).status_code == 200
    assert_envelope(via("203.0.113.5", anywhere), 403, "ip_not_allowed")
    assert via("192.0.2.3", narrow).status_code == 200
    error = assert_envelope(via("198.51.100.7", narrow), 403, "ip_not_allowed")
    assert "key" in error["message"]


def test_a_refused_request_writes_nothing(start_api, engine, db, writer):
    live = start_api(trusted_proxies="127.0.0.1/32", ip_allowlist="198.51.100.0/24")
    key = live.key_for(writer, ip_allowlist="198.51.100.0/28")
    before = snapshot(engine)

    refused = [
        live.get("/models", key, headers={"X-Forwarded-For": "198.51.100.7"}),  # plain HTTP
        live.get("/models", key, headers={"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"}),
        live.get("/models", key, headers={"X-Forwarded-For": "198.51.100.99", "X-Forwarded-Proto": "https"}),
        live.get("/models", "dg_" + "Z" * 43, headers={"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}),
    ]

    assert [r.status_code for r in refused] == [403, 403, 403, 401]
    assert snapshot(engine) == before


TRUSTED = parse_allowlist("127.0.0.1/32")
LOOPBACK_ONLY = parse_allowlist("127.0.0.1/32, ::1/128")


@pytest.mark.parametrize("peer, scheme, xff, proto, trusted, uvicorn_trusted, expected", [
    ("127.0.0.1", "http", [], [], (), None, ("127.0.0.1", True)),
    ("::1", "http", [], [], (), None, ("::1", True)),
    ("203.0.113.5", "http", [], [], (), None, ("203.0.113.5", False)),
    ("203.0.113.5", "https", [], [], (), None, ("203.0.113.5", True)),
    ("203.0.113.5", "http", [], ["https"], (), None, ("203.0.113.5", False)),  # not a proxy of ours
    ("127.0.0.1", "http", ["203.0.113.5"], ["https"], TRUSTED, None, ("203.0.113.5", True)),
    ("127.0.0.1", "http", ["203.0.113.5"], ["https, http"], TRUSTED, None, ("203.0.113.5", False)),
    ("127.0.0.1", "http", ["127.0.0.1, 203.0.113.5"], [], TRUSTED, None, ("203.0.113.5", False)),
    (None, "http", [], [], (), None, ("127.0.0.1", True)),  # a unix socket: this machine
    # behind Streamlit's uvicorn, which already replaced peer and scheme from the headers
    ("203.0.113.5", "https", ["203.0.113.5"], ["https"], LOOPBACK_ONLY, LOOPBACK_ONLY, ("203.0.113.5", True)),
    ("203.0.113.5", "https", ["203.0.113.5"], ["https"], (), LOOPBACK_ONLY, (UNKNOWN, False)),
    ("127.0.0.1", "http", [], [], (), LOOPBACK_ONLY, ("127.0.0.1", True)),
])
def test_where_a_request_comes_from_and_whether_it_is_secure(peer, scheme, xff, proto, trusted, uvicorn_trusted, expected):
    origin = request_origin(peer, scheme, xff, proto, trusted, uvicorn_trusted)

    assert (origin.address, origin.secure) == expected


# -- idempotency over HTTP --------------------------------------------------------------------


def _post(live, key: str, body: dict, idempotency_key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return httpx.post(live.url("/test/echo"), json=body, headers=headers, timeout=30)


def test_a_replay_gets_the_first_answer_and_runs_nothing(start_api, key):
    calls: list[str] = []
    live = start_api(app_hook=lambda app: add_test_routes(app, calls))
    body = {"messages": [{"role": "user", "content": "hello"}]}
    token = str(uuid.uuid4())

    first = _post(live, key, body, token)
    again = _post(live, key, {"messages": [{"content": "hello", "role": "user"}], "n": 1}, token)  # same JSON

    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true" and calls == ["hello"]
    assert _post(live, key, body, None).json()["count"] == 2  # without a key: every time


def test_the_same_key_with_another_body_is_a_422(start_api, key):
    live = start_api(app_hook=lambda app: add_test_routes(app, []))
    token = str(uuid.uuid4())
    _post(live, key, {"messages": [{"role": "user", "content": "hello"}]}, token)

    response = _post(live, key, {"messages": [{"role": "user", "content": "bye"}]}, token)

    assert_envelope(response, 422, "idempotency_key_reused", "Idempotency-Key")


def test_a_replay_while_the_first_runs_is_a_409(start_api, key):
    release = threading.Event()
    calls: list[str] = []
    live = start_api(app_hook=lambda app: add_test_routes(app, calls, release))
    body = {"messages": [{"role": "user", "content": "slow"}]}
    token = str(uuid.uuid4())

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_post, live, key, body, token)
        wait_until(lambda: calls)
        during = _post(live, key, body, token)
        release.set()
        assert first.result().status_code == 201

    assert_envelope(during, 409, "idempotency_request_in_progress", "Idempotency-Key")
    assert _post(live, key, body, token).headers["Idempotent-Replayed"] == "true" and calls == ["slow"]


def test_idempotency_keys_of_two_api_keys_never_meet(start_api, db, writer, reviewer):
    calls: list[str] = []
    live = start_api(app_hook=lambda app: add_test_routes(app, calls))
    body = {"messages": [{"role": "user", "content": "hi"}]}

    for key in (live.key_for(writer), live.key_for(reviewer)):
        assert "Idempotent-Replayed" not in _post(live, key, body, "same-token").headers
    assert calls == ["hi", "hi"]


@pytest.mark.parametrize("token", ["", "x" * 256, "with space", "ünïcode"])
def test_a_malformed_idempotency_key_is_a_400(start_api, key, token):
    live = start_api(app_hook=lambda app: add_test_routes(app, []))
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": token.encode()}  # raw UTF-8 bytes

    response = httpx.post(live.url("/test/echo"), json={"messages": []}, headers=headers)

    assert_envelope(response, 400, "invalid_idempotency_key", "Idempotency-Key")


# -- generations at once ----------------------------------------------------------------------


def test_a_key_over_its_concurrency_gets_a_429_and_its_slot_back_afterwards(start_api, db, writer):
    release = threading.Event()
    live = start_api(app_hook=lambda app: add_test_routes(app, None, release))
    key = live.key_for(writer, concurrency_limit=2)
    headers = {"Authorization": f"Bearer {key}"}

    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(httpx.post, live.url("/test/generate"), headers=headers, timeout=30) for _ in range(2)]
        wait_until(lambda: live.runtime.concurrency._store.held(f"api-key:{_hash(key)}") == 2)
        over = httpx.post(live.url("/test/generate"), headers=headers)
        release.set()
        assert [f.result().status_code for f in running] == [200, 200]

    error = assert_envelope(over, 429, "concurrency_limit_exceeded")
    assert "2 generations" in error["message"] and over.headers["Retry-After"] == "1"
    assert httpx.post(live.url("/test/generate"), headers=headers).status_code == 200


def _hash(key: str) -> str:
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()[:24]


def test_an_unknown_query_parameter_is_a_400_naming_it(start_api, key):
    live = start_api()

    error = assert_envelope(live.get("/projects?limt=5", key), 400, "unknown_parameter", "limt")
    assert "after, limit" in error["message"]
    assert live.get("/projects?limit=5&after=0", key).status_code == 200


def test_error_message_follows_accept_language_and_the_code_does_not(start_api):
    live = start_api()

    chinese = assert_envelope(live.get("/models", headers={"Accept-Language": "zh-CN,zh;q=0.9"}), 401, "invalid_api_key")
    english = assert_envelope(live.get("/models"), 401, "invalid_api_key")
    assert english["message"] == "Missing API key: send it as Authorization: Bearer dg_..."
    assert chinese["message"] == "缺少 API 密钥：请以 Authorization: Bearer dg_... 的形式发送。"
    assert chinese["type"] == english["type"]
    unknown = assert_envelope(live.get("/nowhere", headers={"Accept-Language": "zh"}), 404, "not_found")
    assert unknown["message"] == "未知路径：GET /api/v1/nowhere。"


CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("header, chinese", [
    ("zh-CN", True), ("zh", True), ("zh-TW,en;q=0.5", True), ("fr-FR, zh;q=0.5", True), ("en-US,zh;q=0.9", False),
    ("en;q=0.4, zh-CN;q=0.8", True), ("zh;q=0, en", False), ("de", False), ("", False),
])
def test_every_kind_of_error_speaks_the_accept_language_with_q_values_and_keeps_its_code(start_api, key, header, chinese):
    live = start_api(app_hook=add_test_routes)
    asked = {"Accept-Language": header} if header else {}
    answers = {
        "crash": (live.get("/test/crash", key, headers=asked), 500, "server_error"),
        "busy": (live.get("/test/busy", key, headers=asked), 503, "service_unavailable"),
        "no key": (live.get("/models", headers=asked), 401, "invalid_api_key"),
        "not found": (live.get("/sessions/nothing", key, headers=asked), 404, "not_found"),
        "bad id": (live.get("/tasks/nothing", key, headers=asked), 404, "not_found"),
        "bad parameter": (live.get("/projects?limit=0", key, headers=asked), 400, "invalid_parameter", "limit"),
        "unknown parameter": (live.get("/projects?limt=5", key, headers=asked), 400, "unknown_parameter", "limt"),
        "unknown path": (live.get("/nowhere", headers=asked), 404, "not_found"),
        "bad idempotency key": (httpx.post(live.url("/test/echo"), json={"messages": []}, headers={
            **asked, "Authorization": f"Bearer {key}", "Idempotency-Key": "x" * 300}), 400, "invalid_idempotency_key", "Idempotency-Key"),
    }

    for what, (response, status, code, *param) in answers.items():
        message = assert_envelope(response, status, code, *param)["message"]
        assert bool(CJK.search(message)) == chinese, (what, message)
    crashed = answers["crash"][0].json()["error"]["message"]
    assert crashed == (i18n.translations("zh_CN").gettext(INTERNAL_MESSAGE) if chinese else INTERNAL_MESSAGE)
    assert SECRET_IN_ERROR not in answers["crash"][0].text
