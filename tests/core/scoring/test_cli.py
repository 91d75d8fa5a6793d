"""`python -m core score` and `python -m core score-file`: in this process through core.cli.main
(fixture `run`), and as a user runs them (their own process: one JSON line on a real pipe, the
progress bar on a real terminal)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.gate.checks import CHECK_METRICS
from core.platform.constants import METRICS
from tests.utils.cli import run_main

ROOT = Path(__file__).resolve().parents[3]


def run_process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, encoding="utf-8",
        timeout=60,
    )


@pytest.fixture
def run(capsys):
    return lambda *args: run_main(capsys, *args)


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n",
                    encoding="utf-8")
    return path


def test_score_chinese_pair():
    result = run_process("score", "--candidate", "今天天气很好，我们去公园散步。", "--reference", "今天天气不错，我们去公园走走。")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1  # one JSON object, one line
    data = json.loads(result.stdout)
    assert set(data) == {*METRICS, "signatures", "language", "checks"}
    assert data["checks"]["repetition"] == 0.0 and data["checks"]["flagged"] == []
    assert all(data[m] > 0 for m in METRICS)
    assert data["bleu"] <= 100 and data["chrf"] <= 100 and data["rougeL"] <= 1
    assert data["language"] == "zh"
    assert "tok:zh" in data["signatures"]["bleu"]


def test_score_identical_texts_several_references(run):
    text = "The quick brown fox jumps over the lazy dog."
    result = run("score", "--candidate", text, "--reference", "Something else entirely.", "--reference", text)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["bleu"] == pytest.approx(100.0) and data["chrf"] == pytest.approx(100.0)
    assert data["rouge1"] == data["rouge2"] == data["rougeL"] == 1.0
    assert "nrefs:2" in data["signatures"]["chrf"]
    assert data["language"] == "latin"


def test_score_with_lsum_and_an_empty_candidate(run):
    result = run("score", "--candidate", "   ", "--reference", "参考。", "--lsum")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["rougeLsum"] is None and data["bleu"] is None  # null: nothing to compare
    assert data["language"] == "none"


def test_score_without_reference_is_a_usage_error(run):
    result = run("score", "--candidate", "text")
    assert result.returncode == 2
    assert "--reference" in result.stderr
    assert result.stdout == ""


def test_score_file_jsonl_with_bad_lines(run, tmp_path):
    drafts = write_jsonl(tmp_path / "drafts.jsonl", [
        {"id": "甲", "text": "我爱北京天安门"},
        "{not json",
        {"id": "b", "text": "The cat sat on the mat."},
        "",
        {"id": "orphan", "text": "no reference has this id"},
        {"text": "no id"},
        {"id": 7, "text": "数字编号"},
    ])
    references = write_jsonl(tmp_path / "refs.jsonl", [
        {"id": "甲", "text": "我爱北京"},
        {"id": "甲", "text": "天安门"},
        {"id": "b", "text": "The cat is on the mat."},
        "[1, 2]",
        {"id": "7", "text": "数字编号"},  # ids match as text: 7 and "7"
    ])
    result = run("score-file", "--drafts", str(drafts), "--references", str(references))
    assert result.returncode == 2
    errors = result.stderr.splitlines()
    assert f"{references}:4: not a JSON object" in errors
    assert any(line.startswith(f"{drafts}:2: not valid JSON") for line in errors)
    assert f"{drafts}:5: no reference with id 'orphan'" in errors
    assert f"{drafts}:6: no 'id' field (a string or an integer)" in errors
    assert "\r" not in result.stderr  # no progress bar: stderr is not a terminal
    assert '"id": "甲"' in result.stdout  # ensure_ascii=False
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["甲", "b", "orphan", 7]
    a, b, orphan, seven = rows
    assert "nrefs:2" in a["signatures"]["bleu"] and a["rouge1"] > 0 and a["error"] is None
    assert 0 < b["rougeL"] < 1 and b["language"] == "latin"
    assert all(orphan[m] is None for m in METRICS) and orphan["error"] == "no reference with id 'orphan'"
    assert seven["bleu"] == pytest.approx(100.0) and seven["rougeL"] == 1.0


def test_score_file_csv_everything_scored(run, tmp_path):
    drafts = write_jsonl(tmp_path / "d.jsonl", [{"key": 1, "body": "今天天气很好"}, {"key": 2, "body": "Hello there"}])
    references = write_jsonl(tmp_path / "r.jsonl", [{"key": 1, "body": "今天天气不错"}, {"key": 2, "body": "Hello"}])
    output = tmp_path / "out.csv"
    result = run("score-file", "--drafts", str(drafts), "--references", str(references), "--output", str(output),
                 "--id-field", "key", "--text-field", "body")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    with output.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["key", *METRICS, "language", "error", *(f"signature_{m}" for m in METRICS),
                             *(f"check_{name}" for name in CHECK_METRICS), "flagged"]
    assert [row["key"] for row in rows] == ["1", "2"]
    assert float(rows[0]["bleu"]) > 0 and rows[0]["language"] == "zh" and rows[0]["error"] == ""
    assert rows[0]["signature_bleu"].startswith("BLEU|nrefs:1|") and "tok:zh" in rows[0]["signature_bleu"]


def test_score_file_csv_cells_cannot_run_as_formulas(run, tmp_path):
    """Ids come from the input files: one like =HYPERLINK(...) must reach the CSV as text."""
    ids = ["=HYPERLINK(\"http://evil.example\")", "+1", "-2", "@SUM(A1)", "\t=1", "＝1"]
    drafts = write_jsonl(tmp_path / "d.jsonl", [{"id": key, "text": "今天天气很好"} for key in ids])
    references = write_jsonl(tmp_path / "r.jsonl", [{"id": key, "text": "今天天气不错"} for key in ids])
    output = tmp_path / "out.csv"
    result = run("score-file", "--drafts", str(drafts), "--references", str(references), "--output", str(output))
    assert result.returncode == 0, result.stderr
    with output.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert [row[0] for row in rows[1:]] == ["'" + key for key in ids]
    assert all(float(cell) >= 0 for row in rows[1:] for cell in row[1:6])  # the scores stay numbers


def test_score_file_csv_header_cannot_run_as_a_formula(run, tmp_path):
    drafts = write_jsonl(tmp_path / "d.jsonl", [{"=cmd": "a", "text": "Hello there"}])
    references = write_jsonl(tmp_path / "r.jsonl", [{"=cmd": "a", "text": "Hello"}])
    output = tmp_path / "out.csv"
    result = run("score-file", "--drafts", str(drafts), "--references", str(references), "--output", str(output),
                 "--id-field", "=cmd")
    assert result.returncode == 0, result.stderr
    with output.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[0] == "'=cmd"


def test_score_file_missing_input_is_one_line_error(run, tmp_path):
    references = write_jsonl(tmp_path / "r.jsonl", [{"id": 1, "text": "x"}])
    result = run("score-file", "--drafts", str(tmp_path / "missing.jsonl"), "--references", str(references))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("error: No such file")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a pseudo-terminal")
def test_score_file_progress_bar_only_on_a_terminal(tmp_path):
    import os
    import pty

    drafts = write_jsonl(tmp_path / "d.jsonl", [{"id": i, "text": f"draft {i}"} for i in range(3)])
    references = write_jsonl(tmp_path / "r.jsonl", [{"id": i, "text": f"reference {i}"} for i in range(3)])
    main, secondary = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "core", "score-file", "--drafts", str(drafts), "--references", str(references)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=secondary, timeout=60,
        )
        os.close(secondary)
        terminal = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # EIO: the writer side is closed and everything was read
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(main)
    assert process.returncode == 0
    assert b"3/3" in terminal and b"[" in terminal  # the bar, on the terminal (stderr)
    assert len(process.stdout.decode().splitlines()) == 3  # results on stdout, no bar there


# -- the reference-free checks ------------------------------------------------------------------

LOOP = " ".join(["The keeper climbed the stairs to light the lamp."] * 20)


def test_score_shows_the_checks_and_what_the_gates_defaults_flag(run):
    result = run("score", "--candidate", LOOP, "--reference", LOOP)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["chrf"] == pytest.approx(100.0)
    checks = data["checks"]
    assert checks["repetition"] > 0.9 and checks["signatures"]["repetition"].startswith("repetition|n:4|unit:word")
    assert checks["flagged"][0].startswith(f"repetition {checks['repetition']:.2f} > 0.30 — repeats itself")
    assert checks["language"] is None and checks["detected"] == "latin"  # nothing asked for: not checked


def test_score_checks_the_language_asked_for(run):
    english = run("score", "--candidate", "Spring has come to the park.", "--reference", "春天来了。", "--language", "zh")
    data = json.loads(english.stdout)
    assert data["checks"]["language"] == 1.0
    assert any("Chinese expected, Latin script found" in line for line in data["checks"]["flagged"])
    chinese = run("score", "--candidate", "春天来到了公园。", "--reference", "春天来了。", "--instruction", "写一句话")
    assert json.loads(chinese.stdout)["checks"]["flagged"] == []
    unknown = run("score", "--candidate", "x", "--reference", "y", "--language", "klingon")
    assert unknown.returncode != 0 and "Unknown language" in unknown.stderr and "Traceback" not in unknown.stderr


def test_score_file_checks_every_draft_even_without_a_reference(run, tmp_path):
    drafts = write_jsonl(tmp_path / "d.jsonl", [
        {"id": 1, "text": LOOP, "instruction": "Describe the keeper."},
        {"id": 2, "text": "Spring has come.", "instruction": "用中文写一句话"},
    ])
    references = write_jsonl(tmp_path / "r.jsonl", [{"id": 1, "text": LOOP}])
    result = run("score-file", "--drafts", str(drafts), "--references", str(references))
    assert result.returncode == 2  # draft 2 has no reference
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert set(first["checks"]) == set(CHECK_METRICS) and first["checks"]["repetition"] > 0.9
    assert first["flagged"][0].startswith("repetition")
    assert second["error"] == "no reference with id 2" and second["checks"]["language"] == 1.0
    assert any("Chinese expected" in line for line in second["flagged"])

    output = tmp_path / "out.csv"
    run("score-file", "--drafts", str(drafts), "--references", str(references), "--output", str(output))
    with output.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert float(rows[0]["check_repetition"]) > 0.9 and rows[0]["flagged"].startswith("repetition")


def test_problems_are_told_in_the_command_lines_language_and_the_json_stays_english(run, tmp_path, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_LANGUAGE", "zh_CN")
    drafts = write_jsonl(tmp_path / "drafts.jsonl", [{"id": "orphan", "text": "没有参考文本"}, "[1]", {"text": "x"}])
    references = write_jsonl(tmp_path / "refs.jsonl", [{"id": "b", "text": "参考"}])
    result = run("score-file", "--drafts", str(drafts), "--references", str(references))
    assert result.returncode == 2
    errors = result.stderr.splitlines()
    assert f"{drafts}:1: 没有 id 为 'orphan' 的参考文本" in errors
    assert f"{drafts}:2: 不是 JSON 对象" in errors
    assert f"{drafts}:3: 缺少 'id' 字段（应为字符串或整数）" in errors
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["error"] == "no reference with id 'orphan'"  # machine output: English
