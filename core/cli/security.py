"""Security and privacy from the command line (run as the system: no sign-in, no role).

    rotate-master-key [--new-key-stdin] [--finish]     re-encrypt every stored secret
    retention [--days N]                               delete drafts older than N days
    export-user USERNAME [--output FILE]               a user's data as one JSON file
    delete-user USERNAME --yes                         delete a user and all their data
    set-role USERNAME ROLE | disable-user USERNAME | enable-user USERNAME
    reset-password USERNAME [--password-stdin]         a generated password is printed once
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.access.actors import SYSTEM
from core.access.privacy import export_json, summary
from core.access.users import check_username
from core.cli import _, ngettext, runtime
from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message
from core.platform.states import Role
from core.usecases import accounts


def register(subparsers: argparse._SubParsersAction) -> None:
    rotate = subparsers.add_parser("rotate-master-key", help="re-encrypt every stored API key under a new master key")
    rotate.add_argument("--new-key-stdin", action="store_true",
                        help="read the new key (base64 of 32 bytes) from standard input instead of generating one")
    rotate.add_argument("--finish", action="store_true", help="settle a rotation that was interrupted by a crash")
    rotate.set_defaults(handler=_rotate)

    retention = subparsers.add_parser("retention", help="delete drafts older than N days (DRAFTGATE_RETENTION_DAYS)")
    retention.add_argument("--days", type=_days, help="overrides DRAFTGATE_RETENTION_DAYS")
    retention.set_defaults(handler=_retention)

    export = subparsers.add_parser("export-user", help="write all of a user's data as one JSON document")
    export.add_argument("username", type=_username)
    export.add_argument("--output", type=Path, help="a file to write (default: standard output)")
    export.set_defaults(handler=_export)

    remove = subparsers.add_parser("delete-user", help="delete a user and all their data (cannot be undone)")
    remove.add_argument("username", type=_username)
    remove.add_argument("--yes", action="store_true", help="confirm the deletion")
    remove.set_defaults(handler=_delete)

    role = subparsers.add_parser("set-role", help="change a user's role")
    role.add_argument("username", type=_username)
    role.add_argument("role", choices=[role.value for role in Role])
    role.set_defaults(handler=_set_role)

    for name, disabled in (("disable-user", True), ("enable-user", False)):
        toggle = subparsers.add_parser(name, help=f"{name.split('-')[0]} a user's account")
        toggle.add_argument("username", type=_username)
        toggle.set_defaults(handler=_toggle, disabled=disabled)

    reset = subparsers.add_parser("reset-password", help="set a new password (a generated one is printed once)")
    reset.add_argument("username", type=_username)
    reset.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
    reset.set_defaults(handler=_reset)


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--days takes a whole number of days, not {text!r}") from None
    if days < 1:
        raise argparse.ArgumentTypeError("--days must be at least 1")
    return days


def _username(text: str) -> str:
    try:
        return check_username(text)
    except InvalidInputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _rotate(args: argparse.Namespace) -> int:
    with runtime() as made:
        if args.finish:
            print(accounts.finish_master_key_rotation(made))
            return 0
        new_key = sys.stdin.readline().strip() if args.new_key_stdin else None
        if args.new_key_stdin and not new_key:
            raise InvalidInputError("No key on standard input.")
        report = accounts.rotate_master_key(made, SYSTEM, new_key=new_key)
    print(ngettext("re-encrypted {n} stored secret under the new master key",
                   "re-encrypted {n} stored secrets under the new master key", report.secrets).format(n=report.secrets))
    if report.key_file is not None:
        print(_("the new key is in {file}; keep a copy somewhere safe, apart from database backups").format(
            file=report.key_file))
    else:
        print(_("DRAFTGATE_MASTER_KEY is set: replace it with this new key, then restart the app"))
        print(f"DRAFTGATE_MASTER_KEY={report.new_key}")
    return 0


def _retention(args: argparse.Namespace) -> int:
    with runtime() as made:
        report = accounts.apply_retention(made, SYSTEM, days=args.days)
        days = args.days or made.settings.retention_days
    print(_("retention {days} days: deleted {summary}").format(days=days, summary=summary(report)))
    for warning in report.warnings:
        print(_("warning: {warning}").format(warning=warning), file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    with runtime() as made:
        document = accounts.export_user(made, SYSTEM, username=args.username)
    text = export_json(document)
    if args.output is None:
        print(text)
        return 0
    try:
        args.output.write_text(text + "\n", encoding="utf-8")
    except OSError as err:
        raise InvalidInputError(Message(N_('Cannot write {output}: {strerror}.'), output=args.output, strerror=err.strerror)) from err
    print(_("wrote the data of {user} to {file}").format(user=repr(args.username), file=args.output))
    return 0


def _delete(args: argparse.Namespace) -> int:
    if not args.yes:
        raise InvalidInputError(Message(N_('This deletes {username!r} and all their data for good: add --yes to confirm.'), username=args.username))
    with runtime() as made:
        report = accounts.delete_user(made, SYSTEM, username=args.username)
    print(_("deleted user {user}: {summary}").format(user=repr(args.username), summary=summary(report)))
    for warning in report.warnings:
        print(_("warning: {warning}").format(warning=warning), file=sys.stderr)
    return 0


def _set_role(args: argparse.Namespace) -> int:
    with runtime() as made:
        accounts.set_role(made, SYSTEM, username=args.username, role=args.role)
    print(_("{user} is now {role}").format(user=repr(args.username), role=args.role))
    return 0


def _toggle(args: argparse.Namespace) -> int:
    with runtime() as made:
        accounts.set_disabled(made, SYSTEM, username=args.username, disabled=args.disabled)
    print((_("{user} is disabled") if args.disabled else _("{user} is enabled")).format(user=repr(args.username)))
    return 0


def _reset(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else ""
    if args.password_stdin and not password:
        raise InvalidInputError("No password on standard input.")
    with runtime() as made:
        generated = accounts.reset_password(made, SYSTEM, username=args.username, new_password=password)
    print((_("new password for {user}: {password}") if generated else _("password of {user} changed")).format(
        user=repr(args.username), password=generated))
    return 0
