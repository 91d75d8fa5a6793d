"""`demo` (seed sample data) and `create-user`."""

from __future__ import annotations

import argparse
import getpass

from core.access.actors import SYSTEM
from core.cli import runtime
from core.cli.demo import DEMO_PASSWORD, seed_demo
from core.platform.states import Role
from core.usecases import accounts


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser("demo", help="create demo users (one per role) and two sample projects")
    demo.add_argument("--password", default=DEMO_PASSWORD, help=f"password of the demo users (default {DEMO_PASSWORD})")
    demo.set_defaults(handler=_demo)

    user = subparsers.add_parser("create-user", help="create a user")
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True, choices=[role.value for role in Role])
    user.add_argument("--password", help="asked for when not given")
    user.set_defaults(handler=_create_user)


def _demo(args: argparse.Namespace) -> int:
    with runtime() as made:
        report = seed_demo(made.engine, password=args.password)
    for name in report.users_created:
        print(f"created user {name!r} (role {name}) with password {args.password!r}")
    for name in report.users_kept:
        print(f"kept existing user {name!r} (its password is unchanged)")
    for name in report.projects_created:
        print(f"created project {name!r} with references and a demo session")
    if not report.projects_created:
        print("sample projects exist already")
    if report.presets_created:
        print(f"added {report.presets_created} sample preset answers (Presets page)")
    if report.sensitive_words_created:
        print(f"added {report.sensitive_words_created} sample sensitive words (Sensitive words page)")
    return 0


def _create_user(args: argparse.Namespace) -> int:
    password = args.password or getpass.getpass("Password: ")
    with runtime() as made:
        user = accounts.create_user(made, SYSTEM, username=args.username, password=password, role=args.role)
    print(f"created user {user.username!r} with role {user.role}")
    return 0
