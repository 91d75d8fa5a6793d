"""`python -m core ARGV` run in the test's own process (core.cli.main), for tests that are about
what a command does rather than about its process (those start one: a real subprocess)."""

from __future__ import annotations

import subprocess

from core.cli import main


def run_main(capsys, *argv: str) -> subprocess.CompletedProcess:
    """The command's exit code, stdout and stderr, as subprocess.run would give them (argparse's
    refusals exit with 2)."""
    capsys.readouterr()  # only this command's output
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["python", "-m", "core", *argv], code, out, err)
