"""`python -m core ...`: the command line for headless work.

Each subcommand lives in its own module with `register(subparsers)`, which adds its parser and
sets `handler` (a function taking the parsed arguments and returning an exit code).
A DraftgateError ends the command with a one-line message on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from pydantic import ValidationError

from core.platform.errors import DraftgateError

SUBCOMMAND_MODULES = ("core.cli.score", "core.cli.generate", "core.cli.accounts", "core.cli.provider", "core.cli.security", "core.cli.migrate", "core.cli.worker", "core.cli.health", "core.cli.api_keys", "core.cli.serve_api")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Draftgate command line")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except DraftgateError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except ValidationError as err:  # a DRAFTGATE_* setting is not acceptable
        for problem in err.errors():
            name = "DRAFTGATE_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"error: {name}: {problem['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
