"""`python -m core` security and privacy commands: they work, and bad input gets a clear message."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.access.users import authenticate, create_user
from core.cli import main
from core.platform.config import Settings
from core.platform.db import create_schema, make_engine, open_session
from core.platform.models import Draft, User, utcnow
from tests.utils.factories import make_finished_draft, make_project


@pytest.fixture
def cli_db(data_dir):
    """The database the command line uses (the settings' default file)."""
    engine = make_engine(Settings().resolved_database_url)
    create_schema(engine)
    with open_session(engine) as session:
        create_user(session=session, username="admin", password="from-the-env", role="admin", actor_id=SYSTEM)
        yield session
    engine.dispose()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse refuses bad arguments with exit code 2
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_export_and_delete_a_user(capsys, cli_db, tmp_path):
    ana = create_user(session=cli_db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    make_finished_draft(cli_db, ana, make_project(cli_db), "Ana's words")
    target = tmp_path / "ana.json"
    code, out, _ = run(capsys, "export-user", "ana", "--output", str(target))
    assert code == 0 and "wrote the data of 'ana'" in out
    assert json.loads(target.read_text())["sessions"][0]["turns"][0]["drafts"][0]["text"] == "Ana's words"
    code, out, _ = run(capsys, "export-user", "ana")
    assert code == 0 and json.loads(out)["user"]["username"] == "ana"

    code, _, err = run(capsys, "delete-user", "ana")
    assert code == 1 and "add --yes to confirm" in err
    code, out, _ = run(capsys, "delete-user", "ana", "--yes")
    assert code == 0 and "deleted user 'ana': 1 session, 1 turn, 1 draft" in out
    cli_db.expire_all()
    assert cli_db.exec(select(User).where(User.username == "ana")).first() is None


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["export-user", "nobody"], 1, "There is no user named 'nobody'."),
        (["export-user", "bad name!"], 2, "A user name has 2-64 letters"),
        (["export-user", "ana", "--output", "/nonexistent-dir/x.json"], 1, "Cannot write /nonexistent-dir/x.json"),
        (["delete-user", "admin", "--yes"], 1, "This is the last admin"),
        (["retention"], 1, "Retention is off: set DRAFTGATE_RETENTION_DAYS or pass --days N."),
        (["retention", "--days", "0"], 2, "--days must be at least 1"),
        (["retention", "--days", "ten"], 2, "--days takes a whole number of days, not 'ten'"),
        (["set-role", "ana", "boss"], 2, "invalid choice: 'boss'"),
        (["set-role", "admin", "writer"], 1, "This is the last admin"),
        (["rotate-master-key", "--finish"], 0, "no master.key.new"),
    ],
)
def test_bad_input_gets_a_clear_message(capsys, cli_db, argv, code, message):
    create_user(session=cli_db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    got, out, err = run(capsys, *argv)
    assert got == code
    assert message in out + err


def test_retention_from_the_setting_or_the_argument(capsys, cli_db, monkeypatch):
    ana = create_user(session=cli_db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    draft = make_finished_draft(cli_db, ana, make_project(cli_db), "Old words")
    draft.created_at = utcnow() - timedelta(days=50)
    cli_db.add(draft)
    cli_db.commit()
    monkeypatch.setenv("DRAFTGATE_RETENTION_DAYS", "60")
    assert run(capsys, "retention")[1] == "retention 60 days: deleted nothing\n"
    code, out, _ = run(capsys, "retention", "--days", "30")
    assert code == 0 and out == "retention 30 days: deleted 1 draft, 1 review item\n"  # its turn is recent: kept
    cli_db.expire_all()
    assert cli_db.exec(select(Draft)).all() == []


def test_user_administration(capsys, cli_db, monkeypatch):
    create_user(session=cli_db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    assert run(capsys, "set-role", "ana", "editor")[1] == "'ana' is now editor\n"
    assert run(capsys, "disable-user", "ana")[1] == "'ana' is disabled\n"
    assert run(capsys, "enable-user", "ana")[1] == "'ana' is enabled\n"
    code, out, _ = run(capsys, "reset-password", "ana")
    generated = out.strip().rsplit(": ", 1)[1]
    cli_db.expire_all()
    assert code == 0 and authenticate(session=cli_db, username="ana", password=generated).role == "editor"
    monkeypatch.setattr("sys.stdin", io.StringIO("password1\n"))
    code, _, err = run(capsys, "reset-password", "ana", "--password-stdin")
    assert code == 1 and "most common" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long new phrase\n"))
    assert run(capsys, "reset-password", "ana", "--password-stdin")[1] == "password of 'ana' changed\n"


def test_rotation_from_the_command_line_reports_and_checks_its_input(capsys, cli_db, monkeypatch):
    code, out, _ = run(capsys, "rotate-master-key")
    assert code == 0 and "re-encrypted 0 stored secrets under the new master key" in out and "master.key" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    code, _, err = run(capsys, "rotate-master-key", "--new-key-stdin")
    assert code == 1 and "No key on standard input." in err
    monkeypatch.setenv("DRAFTGATE_MASTER_KEY", "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    code, out, _ = run(capsys, "rotate-master-key")
    assert code == 0 and "DRAFTGATE_MASTER_KEY=" in out and "restart the app" in out


def test_a_bad_setting_is_one_clear_line_per_problem(capsys, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_IP_ALLOWLIST", "10.0.0.1/8")
    monkeypatch.setenv("DRAFTGATE_RETENTION_DAYS", "soon")
    code, out, err = run(capsys, "retention")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("error: DRAFTGATE_IP_ALLOWLIST: '10.0.0.1/8' is not an IP address or CIDR range")
    assert lines[1].startswith("error: DRAFTGATE_RETENTION_DAYS: Input should be a valid integer")


def test_human_lines_and_errors_speak_draftgate_language_json_does_not(capsys, cli_db, monkeypatch):
    create_user(session=cli_db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    monkeypatch.setenv("DRAFTGATE_LANGUAGE", "zh_CN")
    assert run(capsys, "set-role", "ana", "editor")[1] == "'ana' 现在的角色是 editor\n"
    code, _, err = run(capsys, "delete-user", "nobody", "--yes")
    assert code == 1 and err == "错误：没有名为 'nobody' 的用户。\n"
    code, out, _ = run(capsys, "export-user", "ana")
    assert code == 0 and json.loads(out)["user"]["username"] == "ana"  # machine output unchanged
