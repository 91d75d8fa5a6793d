"""`python -m core worker`: an RQ worker for Draftgate's jobs (needs DRAFTGATE_REDIS_URL).

    worker [--burst] [--simple] [--name NAME] [--queue NAME]

It applies pending migrations first (like the app), then works the "draftgate" queue; the
same as `rq worker --url "$DRAFTGATE_REDIS_URL" draftgate` run from the project directory.
By default each job runs in a forked work horse (a crashing job cannot take the worker down);
--simple runs jobs in the worker process itself, which keeps the embedded model and database
connections warm between jobs. --burst stops once the queue is empty (tests, batch runs).
"""

from __future__ import annotations

import argparse

from core.cli import runtime
from core.platform.errors import InvalidInputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="run an RQ worker for Draftgate's jobs (DRAFTGATE_REDIS_URL)")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--simple", action="store_true", help="run jobs in this process (no fork per job)")
    parser.add_argument("--name", help="the worker's name (default: RQ's, unique per process)")
    parser.add_argument("--queue", default=None, help="the RQ queue to work (default: draftgate)")
    parser.set_defaults(handler=_worker)


def _worker(args: argparse.Namespace) -> int:
    from rq import SimpleWorker, Worker

    from core.jobs.rq import QUEUE_NAME, queue_connection, register_job_kinds

    with runtime() as made:  # closed before working: a forked work horse must not share its connections
        settings = made.settings
        if not settings.redis_url:
            raise InvalidInputError("Set DRAFTGATE_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run a worker.")
        made.engine  # noqa: B018 - migrates the database
    register_job_kinds()
    worker_class = SimpleWorker if args.simple else Worker
    connection = queue_connection(settings.redis_url, socket_timeout=None)
    worker = worker_class([args.queue or QUEUE_NAME], connection=connection, name=args.name)
    worker.work(burst=args.burst, with_scheduler=False)
    return 0
