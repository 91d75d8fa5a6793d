"""`python -m core ...`: the command line for headless work.

Each subcommand lives in its own module with `register(subparsers)`, which adds its parser and
sets `handler` (a function taking the parsed arguments and returning an exit code). A command
that needs the database, a provider or jobs makes this process's runtime with `runtime()` and
calls the use cases (core.usecases) as the system (core.access.actors.SYSTEM): no sign-in, no role.
A DraftgateError ends the command with a one-line message on stderr and exit code 1.
Human-readable lines speak the language of DRAFTGATE_LANGUAGE or the POSIX locale (`_`, `ngettext`
here); JSON output and error codes never change with it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pydantic import ValidationError

from core.platform import i18n
from core.platform.config import SettingsError, problems
from core.platform.errors import DraftgateError

if TYPE_CHECKING:
    from core.runtime import Runtime

SUBCOMMAND_MODULES = (
    "core.cli.score", "core.cli.generate", "core.cli.accounts", "core.cli.provider", "core.cli.security",
    "core.cli.migrate", "core.cli.worker", "core.cli.health", "core.cli.api_keys", "core.cli.serve_api", "core.cli.summaries",
)


def _(message: str) -> str:
    return i18n.translations(i18n.environment_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(i18n.environment_language()).ngettext(singular, plural, n)


@contextmanager
def runtime(*, migrate: bool = True) -> Iterator[Runtime]:
    """This command's runtime (the database migrated first unless `migrate=False`), closed at its end."""
    from core.runtime import Runtime  # the database and providers: only for commands that use them

    made = Runtime(migrate=migrate)
    try:
        yield made
    finally:
        made.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Draftgate command line")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    i18n.compile_catalogs()
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SettingsError as err:  # a DRAFTGATE_* setting is not acceptable: one line per problem
        _print_errors(err.problems)
        return 1
    except ValidationError as err:  # Settings built directly
        _print_errors(problems(err))
        return 1
    except DraftgateError as err:
        _print_errors([err.user_message(i18n.translations(i18n.environment_language()))])
        return 1
    except KeyboardInterrupt:
        print(_("error: interrupted"), file=sys.stderr)
        return 130


def _print_errors(messages: list[str]) -> None:
    for message in messages:
        print(_("error: {message}").format(message=message), file=sys.stderr)
