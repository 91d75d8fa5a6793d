"""Regenerations of one turn at once, from several processes: every draft gets its own variant number."""

from __future__ import annotations

import multiprocessing

from sqlmodel import select

from core.platform.db import create_schema, make_engine, open_session
from core.platform.models import Draft, Turn
from core.writing.sessions import create_session
from tests.services.conftest import gather
from tests.utils.factories import make_project, make_user

SPAWN = multiprocessing.get_context("spawn")
PROCESSES, EACH = 4, 5


def _regenerate(barrier, results, url: str, user_id: int, turn_id: int) -> None:
    from core.llm.types import GenerationParams
    from core.platform.models import User
    from core.writing.turns import prepare_regeneration
    from tests.utils.mock_llm import PROVIDER

    engine = make_engine(url)
    with open_session(engine) as db:
        writer = db.get(User, user_id)
    barrier.wait()
    variants = []
    for _ in range(EACH):
        with open_session(engine) as db:
            prepared = prepare_regeneration(session=db, user=writer, turn_id=turn_id, params=GenerationParams(),
                                            provider=PROVIDER)
            variants.append(db.get(Draft, prepared.draft_id).variant)
    engine.dispose()
    results.put(variants)


def _race(url: str) -> list[int]:
    engine = make_engine(url)
    create_schema(engine)
    with open_session(engine) as db:
        writer = make_user(db, "writer", "writer")
        writing_session = create_session(session=db, owner=writer, project_id=make_project(db).id)
        turn = Turn(session_id=writing_session.id, index=0, instruction="Write about a fox")
        db.add(turn)
        db.flush()
        db.add(Draft(turn_id=turn.id, variant=0, status="completed", text="A fox."))
        db.commit()
        writer_id, turn_id = writer.id, turn.id
    barrier, results = SPAWN.Barrier(PROCESSES), SPAWN.Queue()
    processes = [SPAWN.Process(target=_regenerate, args=(barrier, results, url, writer_id, turn_id))
                 for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    gather(processes, results)
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    with open_session(engine) as db:
        variants = sorted(d.variant for d in db.exec(select(Draft).where(Draft.turn_id == turn_id)))
    engine.dispose()
    return variants


def test_on_sqlite(data_dir):
    assert _race(f"sqlite:///{data_dir / 'race.db'}") == list(range(PROCESSES * EACH + 1))


def test_on_postgresql(engine, pg_url):  # `engine` empties the module's database first
    assert _race(pg_url) == list(range(PROCESSES * EACH + 1))
