"""`python -m core provider ...`: the same validation and encryption, keys never printed."""

from __future__ import annotations

import io

import pytest

from core.cli import main

KEY = "sk-cli-test-SECRET-1122334455"


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out and KEY not in err
    return code, out, err


def test_add_list_test_remove(capsys, fake_provider):
    code, out, _ = run(capsys, "provider", "add", "--name", "local", "--base-url", fake_provider.base_url,
                       "--model", "tiny", "--api-style", "completions", "--api-key", KEY, "--qps", "4")
    assert code == 0 and "added provider 'local'" in out and "key sk-…4455" in out
    code, out, _ = run(capsys, "provider", "list")
    assert code == 0 and "local\tcompletions\ttiny" in out and "4 req/s" in out
    code, out, _ = run(capsys, "provider", "test", "local")
    assert code == 0 and out.startswith("ok: local answered")
    assert fake_provider.requests[-1]["headers"]["Authorization"] == f"Bearer {KEY}"
    code, out, _ = run(capsys, "provider", "remove", "local")
    assert code == 0 and "removed" in out
    assert "no providers registered" in run(capsys, "provider", "list")[1]


def test_the_key_can_come_from_standard_input(capsys, monkeypatch):
    code, out, _ = run(capsys, "provider", "add", "--name", "ds", "--profile", "deepseek", "--model",
                       "deepseek-chat", "--api-key", "-", stdin=KEY + "\n", monkeypatch=monkeypatch)
    assert code == 0 and "https://api.deepseek.com/v1 (chat)" in out and "sk-…4455" in out


def test_edit_changes_only_what_is_given(capsys):
    run(capsys, "provider", "add", "--name", "p", "--base-url", "https://x.example/v1", "--model", "m",
        "--api-key", KEY)
    code, out, _ = run(capsys, "provider", "edit", "p", "--model", "m2", "--tpm", "9000")
    assert code == 0 and "m2 at https://x.example/v1" in out and "sk-…4455" in out
    code, out, _ = run(capsys, "provider", "edit", "p", "--no-api-key")
    assert "key none" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--name", "x", "--base-url", "http://example.com/v1", "--model", "m"], "Plain http://"),
        (["--name", "x", "--model", "m"], "--base-url is required"),
        (["--name", "x", "--profile", "openai"], "--model is required (e.g. gpt-4o-mini)"),
        (["--name", "x", "--base-url", "https://x.example/v1", "--model", "m", "--params", "{"], "not valid JSON"),
    ],
)
def test_bad_input_is_refused_with_one_line(capsys, argv, message):
    code, _, err = run(capsys, "provider", "add", *argv)
    assert code == 1 and err.startswith("error: ") and message in err


def test_failing_test_exits_1(capsys):
    from tests.core.llm.helpers import closed_port

    run(capsys, "provider", "add", "--name", "down", "--base-url", f"http://127.0.0.1:{closed_port()}/v1",
        "--model", "m", "--api-key", KEY)
    code, out, _ = run(capsys, "provider", "test", "down")
    assert code == 1 and out.startswith("failed: Could not reach")


def test_unknown_provider(capsys):
    code, _, err = run(capsys, "provider", "remove", "ghost")
    assert code == 1 and "no provider named 'ghost'" in err


def test_profiles_are_listed(capsys):
    code, out, _ = run(capsys, "provider", "profiles")
    assert code == 0 and "qwen\tQwen (DashScope compatible mode)" in out and out.count("\n") == 7
