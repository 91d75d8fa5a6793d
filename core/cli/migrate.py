"""`python -m core migrate`: bring the database to the code's schema (the app does it on start).

    migrate                     apply the pending migrations to DRAFTGATE_DATABASE_URL (or the SQLite file)
    migrate --status            show the database's revision and what is pending (exit 1 if any)
    migrate --revision "MSG"    write the next migration from the models' changes (developers)
"""

from __future__ import annotations

import argparse

from core.cli import _, runtime
from core.platform import migrations


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("migrate", help="apply pending database migrations")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--status", action="store_true", help="show the revision and pending migrations; change nothing")
    mode.add_argument("--revision", metavar="MESSAGE", help="write a new migration from the models' changes")
    parser.set_defaults(handler=_migrate)


def _migrate(args: argparse.Namespace) -> int:
    if args.revision is not None:
        path = migrations.new_revision(args.revision)
        print(_("wrote {path}: read it, then run `python -m core migrate`").format(path=path))
        return 0
    with runtime(migrate=False) as made:  # this command migrates, or only looks
        engine = made.engine
        target = engine.url.render_as_string(hide_password=True)
        if args.status:
            state = migrations.status(engine)
            none = _("(none)")
            current = state.current or none
            print(_("database: {target}").format(target=target))
            print((_("revision: {revision} (created before migrations)") if state.legacy
                   else _("revision: {revision}")).format(revision=current))
            print(_("head:     {head}").format(head=state.head))
            print(_("pending:  {pending}").format(pending=", ".join(state.pending) or none))
            return 0 if state.up_to_date else 1
        report = migrations.upgrade(engine)
    if report.adopted:
        print(_("adopted a database made before migrations: stamped at {baseline}").format(baseline=migrations.BASELINE))
    if report.applied:
        print(_("applied {revisions} to {target}: now at {head}").format(
            revisions=", ".join(report.applied), target=target, head=report.after))
    else:
        print(_("{target} is up to date (at {head})").format(target=target, head=report.after))
    return 0
