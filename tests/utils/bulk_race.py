"""Bulk decisions racing from several processes over overlapping selections (SQLite or PostgreSQL).

Each process is an editor deciding its selection in bulk at the same moment as the others; the
same editor twice (two browser tabs) races too. race(url) returns what they reported and what the
database holds; tests/core/test_review_assignments.py checks that no item was decided twice.
"""

from __future__ import annotations

import multiprocessing
import sys
from dataclasses import dataclass

from sqlmodel import col, select

from core.platform.db import make_engine, open_session
from core.platform.models import AuditEvent, ReviewItem
from tests.utils.factories import make_finished_draft, make_project, make_user

SPAWN = multiprocessing.get_context("spawn")
ITEMS = 12
# (editor, the items it selects): overlapping selections, the first editor in two processes
SELECTIONS = (("ed", range(0, 8)), ("eve", range(4, 12)), ("ed", range(2, 10)))
REAL_MAIN = sys.modules["__main__"]  # spawn re-runs __main__: an AppTest page left there would run instead


@dataclass
class RaceResult:
    reported: list[tuple[list[int], dict[int, str]]]  # per process, in SELECTIONS' order: (decided, skipped)
    item_ids: list[int]
    decided_by: dict[int, int | None]  # item id -> the editor who decided it
    decision_events: dict[int, int]  # item id -> review.approved/rejected events recorded for it
    editors: dict[str, int]


def _decide_in_child(barrier, results, index: int, url: str, editor_id: int, seen: dict[int, int]) -> None:
    from core.platform.models import User
    from core.review.bulk import decide_many

    engine = make_engine(url)
    with open_session(engine) as db:
        editor = db.get(User, editor_id)
    barrier.wait()
    with open_session(engine) as db:
        outcome = decide_many(session=db, editor=editor, seen=seen, verdict="rejected", reason="离题 (off topic)")
    engine.dispose()
    results.put((index, outcome.done, outcome.skipped))


def race(url: str) -> RaceResult:
    """Make ITEMS open review items on the (migrated, empty) database at `url`, race SELECTIONS."""
    from tests.services.conftest import gather

    engine = make_engine(url)
    with open_session(engine) as db:
        writer = make_user(db, "wanda", "writer")
        editors = {name: make_user(db, name, "editor").id for name in ("ed", "eve")}
        project = make_project(db, "Blurbs", references=("A light mug that keeps coffee hot.",))
        drafts = [make_finished_draft(db, writer, project, f"Lamp number {n}.") for n in range(ITEMS)]
        items = [db.exec(select(ReviewItem).where(ReviewItem.draft_id == d.id)).one() for d in drafts]
        versions = {item.id: item.version for item in items}
        item_ids = [item.id for item in items]
    barrier, results = SPAWN.Barrier(len(SELECTIONS)), SPAWN.Queue()
    processes = [
        SPAWN.Process(target=_decide_in_child,
                      args=(barrier, results, index, url, editors[name],
                            {item_ids[i]: versions[item_ids[i]] for i in picked}))
        for index, (name, picked) in enumerate(SELECTIONS)
    ]
    main, sys.modules["__main__"] = sys.modules["__main__"], REAL_MAIN
    try:
        for process in processes:
            process.start()
        reported = [(done, skipped) for _, done, skipped in sorted(gather(processes, results))]
    finally:
        sys.modules["__main__"] = main
    assert [process.exitcode for process in processes] == [0] * len(processes)
    with open_session(engine) as db:
        decided_by = {item.id: item.decided_by_id
                      for item in db.exec(select(ReviewItem).where(col(ReviewItem.id).in_(item_ids)))}
        events = {item_id: 0 for item_id in item_ids}
        for target in db.exec(select(AuditEvent.target).where(col(AuditEvent.action).in_(
                ["review.approved", "review.rejected"]))):
            events[int(target.split(":")[1])] += 1
    engine.dispose()
    return RaceResult(reported, item_ids, decided_by, events, editors)
