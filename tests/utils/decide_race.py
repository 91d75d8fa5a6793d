"""Reviewers deciding one open item from several processes at the same moment (SQLite or PostgreSQL).

Each process is a reviewer who read the item at the same version and acts on it (decide_as_seen:
the claim is taken on the action). decide_race(url, reviewer_ids, item_id, version) returns each
process's outcome: "decided" or the ConflictError's message.
"""

from __future__ import annotations

from core.platform.db import make_engine, open_session
from tests.utils.bulk_race import REAL_MAIN, SPAWN


def _decide_in_child(barrier, results, url: str, reviewer_id: int, item_id: int, version: int) -> None:
    from core.platform.config import Settings
    from core.platform.errors import ConflictError
    from core.platform.models import User
    from core.runtime import Runtime
    from core.usecases import review

    engine = make_engine(url)
    runtime = Runtime(Settings(), engine=engine)
    with open_session(engine) as db:
        reviewer = db.get(User, reviewer_id)
    barrier.wait()
    try:
        review.decide_as_seen(runtime, reviewer, item_id=item_id, seen_version=version, verdict="rejected",
                              reason="离题 off topic")
        outcome = "decided"
    except ConflictError as err:
        outcome = str(err)
    runtime.close(wait=True)
    engine.dispose()
    results.put((reviewer_id, outcome))


def decide_race(url: str, reviewer_ids: list[int], item_id: int, version: int) -> dict[int, str]:
    import sys

    from tests.services.conftest import gather

    barrier, results = SPAWN.Barrier(len(reviewer_ids)), SPAWN.Queue()
    processes = [SPAWN.Process(target=_decide_in_child, args=(barrier, results, url, reviewer_id, item_id, version))
                 for reviewer_id in reviewer_ids]
    main, sys.modules["__main__"] = sys.modules["__main__"], REAL_MAIN
    try:
        for process in processes:
            process.start()
        outcomes = dict(gather(processes, results))
    finally:
        sys.modules["__main__"] = main
    assert [process.exitcode for process in processes] == [0] * len(processes)
    return outcomes
