"""`demo` (seed sample data) and `create-user`."""

from __future__ import annotations

import argparse
import getpass

from core.access.actors import SYSTEM
from core.cli import _, ngettext, runtime
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
        print(_("created user {user} (role {role}) with password {password}").format(
            user=repr(name), role=name, password=repr(args.password)))
    for name in report.users_kept:
        print(_("kept existing user {user} (its password is unchanged)").format(user=repr(name)))
    for name in report.projects_created:
        print(_("created project {project} with references and a demo session").format(project=repr(name)))
    if not report.projects_created:
        print(_("sample projects exist already"))
    for name in report.rubrics_set:
        print(_("gave project {project} a sample rubric (Thresholds page)").format(project=repr(name)))
    if report.presets_created:
        n = report.presets_created
        print(ngettext("added {n} sample preset answer (Presets page)",
                       "added {n} sample preset answers (Presets page)", n).format(n=n))
    if report.sensitive_words_created:
        n = report.sensitive_words_created
        print(ngettext("added {n} sample sensitive word (Sensitive words page)",
                       "added {n} sample sensitive words (Sensitive words page)", n).format(n=n))
    return 0


def _create_user(args: argparse.Namespace) -> int:
    password = args.password or getpass.getpass("Password: ")
    with runtime() as made:
        user = accounts.create_user(made, SYSTEM, username=args.username, password=password, role=args.role)
    print(_("created user {user} with role {role}").format(user=repr(user.username), role=user.role))
    return 0
