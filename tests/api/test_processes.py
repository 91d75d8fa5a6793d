"""The commands as people run them: `api-key create` and `list` and `serve-api` in their own
processes; keys in no log line; two serve-api replicas on Redis share one rate limit. (Revoking,
the refusals, and the users and keys the other tests need: the same commands run in this process.)"""

from __future__ import annotations

import json
import subprocess
from functools import partial

import httpx
import openai
import pytest

from tests.api.conftest import PYTHON, ROOT, serve_api_process, serve_api_processes
from tests.utils.cli import run_main


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "core", *args], cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli(capsys, data_dir):
    """`python -m core ARGS` in this process, on the test's database (DRAFTGATE_DATA_DIR)."""
    return lambda *args: run_main(capsys, *args)


@pytest.fixture
def cli_env(cli, data_dir) -> dict[str, str]:
    made = cli("create-user", "--username", "ana", "--role", "writer", "--password", "a long pass phrase")
    assert made.returncode == 0, made.stderr
    return {"DRAFTGATE_DATA_DIR": str(data_dir)}


def create_key(run, *options: str) -> dict:
    """`api-key create` for ana through `run` (`cli`, or a process: `functools.partial(run_cli, env)`)."""
    created = run("api-key", "create", "--user", "ana", "--name", "CMS", *options)
    assert created.returncode == 0, created.stderr
    [line] = created.stdout.splitlines()  # one JSON object, nothing else
    return json.loads(line)


def test_api_key_create_prints_one_json_object_and_list_never_shows_the_key(cli_env, cli):
    created = create_key(partial(run_cli, cli_env), "--qps", "5", "--expires-days", "30")

    assert set(created) >= {"id", "key", "prefix", "expires_at", "qps_limit"} and created["qps_limit"] == 5
    listed = run_cli(cli_env, "api-key", "list")
    assert listed.returncode == 0 and created["prefix"] in listed.stdout and created["key"] not in listed.stdout
    assert "active" in listed.stdout
    revoked = cli("api-key", "revoke", str(created["id"]))
    assert revoked.returncode == 0 and "revoked" in cli("api-key", "list").stdout


@pytest.mark.parametrize("options, message", [
    (("--user", "nobody", "--name", "x"), "no user named 'nobody'"),
    (("--user", "ana", "--name", "x", "--project", "Nope"), "no project named 'Nope'"),
    (("--user", "ana", "--name", "x", "--qps", "0"), "above 0"),
    (("--user", "ana", "--name", ""), "empty"),
])
def test_api_key_create_refuses_with_one_line(cli_env, cli, options, message):
    result = cli("api-key", "create", *options)

    assert result.returncode == 1 and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert result.stdout == ""


def test_revoking_a_key_that_does_not_exist_fails_clearly(cli_env, cli):
    result = cli("api-key", "revoke", "42")

    assert result.returncode == 1 and result.stderr.strip() == "error: There is no API key 42."


def test_serve_api_answers_the_sdk_and_no_key_reaches_its_log(cli_env, cli, tmp_path):
    key = create_key(cli)["key"]
    server = serve_api_process(cli_env, tmp_path / "serve.log")
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
        assert [m.id for m in client.models.list()] == ["embedded"]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=server.base_url, api_key=key[:-4] + "AAAA", max_retries=0).models.list()
        # a key where it does not belong: in the query string and the path
        httpx.get(f"{server.base_url}/models?api_key={key}", headers={"Authorization": f"Bearer {key}"})
        httpx.get(f"{server.base_url}/keys/{key}")
    finally:
        assert server.stop() == 0
    log = server.log()
    assert '"GET /api/v1/models HTTP/1.1" 200' in log and "api_key=dg_***" in log and "/keys/dg_***" in log
    assert key not in log and key[3:] not in log and key[:-4] + "AAAA" not in log
    assert "Traceback" not in log and "Logging error" not in log


def test_serve_api_refuses_half_a_tls_configuration(cli):
    result = cli("serve-api", "--ssl-certfile", "cert.pem")

    assert result.returncode == 1 and "--ssl-keyfile" in result.stderr


def _fire(base_urls: list[str], key: str, count: int) -> list[httpx.Response]:
    return [httpx.get(f"{base_urls[i % len(base_urls)]}/models", headers={"Authorization": f"Bearer {key}"},
                      timeout=30) for i in range(count)]


@pytest.mark.parametrize("shared", [True, False])
def test_two_replicas_on_redis_share_one_limit(cli_env, cli, tmp_path, redis_url, shared):
    """With Redis both replicas count one window; without it (the control) each counts its own."""
    env = {**cli_env, "DRAFTGATE_REDIS_URL": redis_url} if shared else cli_env
    key = create_key(cli, "--qps", "0.1")["key"]  # one request per 10 s
    servers = serve_api_processes(env, [tmp_path / f"replica-{i}.log" for i in range(2)])
    try:
        answers = _fire([server.base_url for server in servers], key, 10)
    finally:
        for server in servers:
            server.stop()

    admitted = [r for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code == 429]
    assert len(admitted) + len(refused) == 10
    assert len(admitted) == (1 if shared else 2)
    for response in refused:
        assert response.json()["error"]["code"] == "rate_limit_exceeded" and int(response.headers["Retry-After"]) >= 1
        assert response.headers["x-ratelimit-remaining-requests"] == "0"
