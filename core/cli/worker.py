"""`python -m core worker`: RQ workers for Draftgate's jobs (needs DRAFTGATE_REDIS_URL).

    worker [--burst] [--simple] [--threads N] [--name NAME] [--queue NAME]

It applies pending migrations first (like the app), then works the "draftgate" queue; the
same as `rq worker --url "$DRAFTGATE_REDIS_URL" draftgate` run from the project directory.
By default each job runs in a forked work horse (a crashing job cannot take the worker down);
--simple runs jobs in the worker process itself, which keeps the embedded model and database
connections warm between jobs. --threads N runs N jobs at once in this one process, as N RQ
workers on N threads (NAME-1 ... NAME-N; in-process, as --simple) sharing its connections and
clients (core.jobs.rq_threads): generations mostly wait for their provider, so one process with
--threads 16-32 does the work of as many single-job processes. SIGTERM or Ctrl+C: running jobs
finish, no new one starts; a second one: exit at once (the drafts being written end interrupted).
--burst stops once the queue is empty (tests, batch runs).
"""

from __future__ import annotations

import argparse
import uuid

from core.cli import runtime
from core.platform.errors import InvalidInputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="run an RQ worker for Draftgate's jobs (DRAFTGATE_REDIS_URL)")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--simple", action="store_true", help="run jobs in this process (no fork per job)")
    parser.add_argument("--threads", type=_at_least_one, default=1, metavar="N",
                        help="run N jobs at once on N threads of this process (implies --simple)")
    parser.add_argument("--name", help="the worker's name (default: RQ's, unique per process); "
                                       "with --threads, each thread's is NAME-1 ... NAME-N")
    parser.add_argument("--queue", default=None, help="the RQ queue to work (default: draftgate)")
    parser.set_defaults(handler=_worker)


def _at_least_one(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _worker(args: argparse.Namespace) -> int:
    from rq import SimpleWorker, Worker

    from core.jobs.rq import QUEUE_NAME, queue_connection, register_job_kinds

    with runtime() as made:  # closed before working: a forked work horse must not share its connections
        settings = made.settings
        if not settings.redis_url:
            raise InvalidInputError("Set DRAFTGATE_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run a worker.")
        made.engine  # noqa: B018 - migrates the database
    register_job_kinds()
    queue_name = args.queue or QUEUE_NAME
    if args.threads > 1:
        from core.jobs.rq_threads import ThreadedWorkers

        workers = ThreadedWorkers(settings.redis_url, queue_name=queue_name, threads=args.threads,
                                  name=args.name or uuid.uuid4().hex)
        return workers.work(burst=args.burst)
    worker_class = SimpleWorker if args.simple else Worker
    connection = queue_connection(settings.redis_url, socket_timeout=None)
    worker = worker_class([queue_name], connection=connection, name=args.name)
    worker.work(burst=args.burst, with_scheduler=False)
    return 0
