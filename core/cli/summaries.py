"""`python -m core summaries --rebuild`: summarize every day of the dashboard again (core.review.daily).

The dashboard keeps its daily summaries up to date by itself (database triggers mark a changed
day); this is for a database whose summaries were lost or restored from elsewhere.
"""

from __future__ import annotations

import argparse

from core.cli import ngettext, runtime
from core.review.daily import rebuild


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("summaries", help="the dashboard's daily summaries")
    parser.add_argument("--rebuild", action="store_true", required=True,
                        help="summarize every day with drafts or decisions again")
    parser.set_defaults(handler=_summaries)


def _summaries(args: argparse.Namespace) -> int:
    with runtime() as made:
        days = rebuild(made.engine)
    print(ngettext("{n} day summarized again", "{n} days summarized again", days).format(n=days))
    return 0
