"""`python -m core generate`: in this process through core.cli.main (fixture `cli`), and once as a
user runs it (its own process: the embedded model's native logging must not reach stderr)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.llm.helpers import SECRET_KEY, closed_port
from tests.utils.cli import run_main

REPO = Path(__file__).resolve().parents[3]


def run_process(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DRAFTGATE_")}
    environment.update({"DRAFTGATE_DATA_DIR": str(tmp_path / "data"), "DRAFTGATE_LLM_BASE_URL": ""})
    return subprocess.run(
        [sys.executable, "-m", "core", "generate", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        env=environment,
        timeout=180,
    )


@pytest.fixture
def cli(monkeypatch, capsys):
    """cli(*args, env={...}): `generate ARGS` with these DRAFTGATE_* settings (no provider configured)."""

    def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        for name, value in {"DRAFTGATE_LLM_BASE_URL": "", **(env or {})}.items():
            monkeypatch.setenv(name, value)
        return run_main(capsys, "generate", *args)

    return run


def fake_provider_args(fake_provider, style: str) -> tuple[str, ...]:
    """Ask the local fake provider (fixture `fake_provider`) for "Say hello" as fake-model in this API style."""
    return (
        "--prompt", "Say hello", "--base-url", fake_provider.base_url, "--model", "fake-model", "--api-style", style,
    )


def assert_one_line_error(completed: subprocess.CompletedProcess, fragment: str) -> None:
    assert completed.returncode != 0
    assert completed.stdout == ""
    assert completed.stderr.startswith("error: ")
    assert completed.stderr.count("\n") == 1
    assert fragment in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.embedded
def test_embedded_generation_prints_one_json_object_and_no_log_noise(tmp_path):
    completed = run_process(
        "--prompt", "今天天气很好，我们", "--max-tokens", "6", "--seed", "3", tmp_path=tmp_path
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert completed.stdout.count("\n") == 1
    output = json.loads(completed.stdout)
    assert {"id", "text", "finish_reason", "usage", "model"} <= output.keys()
    assert output["model"] == "gemma-3-270m"
    assert output["usage"]["completion_tokens"] >= 1
    assert set(output["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert "\\u" not in completed.stdout  # Chinese is printed as it is


@pytest.mark.embedded
def test_embedded_refuses_the_chat_style(cli):
    assert_one_line_error(cli("--prompt", "hi", "--api-style", "chat"), "base model")


def test_bad_temperature_exits_with_a_one_line_error(cli):
    assert_one_line_error(
        cli("--prompt", "hi", "--temperature", "5"),
        "temperature must be between 0 and 2",
    )


def test_empty_prompt_exits_with_a_one_line_error(cli):
    assert_one_line_error(cli("--prompt", "  "), "The prompt is empty.")


def test_plain_http_to_another_machine_is_refused(cli):
    completed = cli(
        "--prompt", "hi", "--base-url", "http://example.com/v1", "--model", "m"
    )
    assert_one_line_error(completed, "use https://")


def test_base_url_needs_a_model(cli):
    assert_one_line_error(
        cli("--prompt", "hi", "--base-url", "https://api.example.com/v1"), "--model"
    )


@pytest.mark.parametrize("style", ["completions", "chat"])
def test_local_provider_in_both_styles(fake_provider, cli, style):
    completed = cli(
        *fake_provider_args(fake_provider, style),
        "--api-key", SECRET_KEY,
        "--temperature", "0.2",
        "--top-p", "0.8",
        "--max-tokens", "20",
        "--frequency-penalty", "0.1",
        "--presence-penalty", "0.3",
        "--seed", "7",
        "--stop", "END",
        "--stop", "\n\n",
    )
    assert completed.returncode == 0, completed.stderr
    output = json.loads(completed.stdout)
    assert output == {
        "id": "fake-1",
        "text": fake_provider.reply,
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
        "model": "fake-model",
    }
    (request,) = fake_provider.requests
    assert request["path"] == ("/v1/chat/completions" if style == "chat" else "/v1/completions")
    assert request["headers"]["Authorization"] == f"Bearer {SECRET_KEY}"
    sent = request["body"]
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.2, 0.8, 20)
    assert (sent["frequency_penalty"], sent["presence_penalty"], sent["seed"]) == (0.1, 0.3, 7)
    assert sent["stop"] == ["END", "\n\n"]
    if style == "chat":
        assert sent["messages"] == [{"role": "user", "content": "Say hello"}]
    else:
        assert sent["prompt"] == "Say hello"


@pytest.mark.parametrize("style", ["completions", "chat"])
def test_local_provider_streams_plain_text(fake_provider, cli, style):
    completed = cli(*fake_provider_args(fake_provider, style), "--stream")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == fake_provider.reply + "\n"
    assert fake_provider.requests[0]["body"]["stream"] is True


def test_settings_provider_is_used_when_no_base_url_is_given(fake_provider, cli):
    env = {
        "DRAFTGATE_LLM_BASE_URL": fake_provider.base_url,
        "DRAFTGATE_LLM_MODEL": "from-settings",
        "DRAFTGATE_LLM_API_STYLE": "completions",
    }
    completed = cli("--prompt", "Say hello", env=env)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["model"] == "from-settings"
    assert fake_provider.requests[0]["path"] == "/v1/completions"
    assert "Authorization" not in fake_provider.requests[0]["headers"]


def test_unreachable_provider_exits_with_a_one_line_error_without_the_key(cli):
    port = closed_port()
    completed = cli(
        "--prompt",
        "hi",
        "--base-url",
        f"http://127.0.0.1:{port}/v1",
        "--model",
        "m",
        "--api-key",
        SECRET_KEY,
    )
    assert_one_line_error(completed, "Could not reach the provider")
    assert SECRET_KEY not in completed.stderr


# -- a stream that fails: what had arrived is on stdout, one line on stderr, a non-zero exit -------

from tests.core.llm.faulty_server import stream  # noqa: E402


@pytest.mark.parametrize(
    ("act", "env", "printed", "message"),
    [
        (stream(["Hello ", "wor"], then="end", finish_reason=None), {},
         "Hello wor", "error: The provider's stream ended before the answer was finished: 9 characters had arrived."),
        (stream(["Hello ", "wor"], then="end", finish_reason=None, chunked=False), {},
         "Hello wor", "error: The provider's stream ended before the answer was finished: 9 characters had arrived."),
        (stream(["Hello "], then="close"), {},
         "Hello ", "error: The stream broke after 6 characters: Could not reach the provider at"),
        (stream(["Hello "], then="error"), {},
         "Hello ", "error: The stream broke after 6 characters: The provider reported an error mid-stream: "
                   "the model crashed"),
        (stream(["Hello "], then="stall"), {"DRAFTGATE_LLM_STREAM_IDLE_TIMEOUT_S": "0.5"},
         "Hello ", "error: The stream broke after 6 characters: The provider at {base_url} went silent for 0.5 s"),
        (stream(["word "] * 100, gap_s=0.05), {"DRAFTGATE_LLM_STREAM_DEADLINE_S": "1"},
         "word ", "error: The stream broke after"),
    ],
    ids=["incomplete-chunked", "incomplete-close-delimited", "dropped", "error-event", "idle", "deadline"],
)
def test_a_failed_stream_exits_non_zero_with_one_line_on_stderr(faulty, cli, act, env, printed, message):
    faulty.script(act)
    completed = cli("--prompt", "Say hello", "--base-url", faulty.base_url, "--model", "m", "--stream", env=env)
    assert completed.returncode == 1
    assert completed.stdout.startswith(printed) and completed.stdout.endswith("\n")
    assert completed.stderr.startswith(message.format(base_url=faulty.base_url))
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    if "DRAFTGATE_LLM_STREAM_DEADLINE_S" in env:
        assert completed.stderr.endswith("did not finish its answer within 1 s (stream deadline).\n")
        assert completed.stdout.count("word ") < 100
