"""`python -m core migrate`: bring the database to the code's schema (the app does it on start).

    migrate                     apply the pending migrations to DRAFTGATE_DATABASE_URL (or the SQLite file)
    migrate --status            show the database's revision and what is pending (exit 1 if any)
    migrate --revision "MSG"    write the next migration from the models' changes (developers)
"""

from __future__ import annotations

import argparse

from core.cli import runtime
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
        print(f"wrote {path}: read it, then run `python -m core migrate`")
        return 0
    with runtime(migrate=False) as made:  # this command migrates, or only looks
        engine = made.engine
        target = engine.url.render_as_string(hide_password=True)
        if args.status:
            state = migrations.status(engine)
            print(f"database: {target}")
            print(f"revision: {state.current or '(none)'}{' (created before migrations)' if state.legacy else ''}")
            print(f"head:     {state.head}")
            print(f"pending:  {', '.join(state.pending) or '(none)'}")
            return 0 if state.up_to_date else 1
        report = migrations.upgrade(engine)
    if report.adopted:
        print(f"adopted a database made before migrations: stamped at {migrations.BASELINE}")
    if report.applied:
        print(f"applied {', '.join(report.applied)} to {target}: now at {report.after}")
    else:
        print(f"{target} is up to date (at {report.after})")
    return 0
