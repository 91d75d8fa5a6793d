"""Live text of drafts being written (core.jobs.live), in one process.

The tests taking the `broadcaster` fixture are the contract of every broadcaster: they run here
on LocalBroadcaster and again on RedisBroadcaster in tests/services/test_live_redis.py, which
overrides the fixture (and `engine`: the fallback is read from PostgreSQL there).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest
from sqlmodel import Session

from core.jobs.live import (
    ENDED,
    LiveView,
    LocalBroadcaster,
    forget_shared_broadcasters,
    shared_broadcaster,
    stored_text,
)
from core.platform.config import get_settings
from core.platform.models import Draft
from tests.utils.factories import make_finished_draft, make_project, make_user
from tests.utils.jobs import wait_until

PIECES = [f"word{i} 春天{i} " for i in range(120)]
FULL = "".join(PIECES)
RETAIN_S = 0.3


@pytest.fixture
def broadcaster() -> Iterator[LocalBroadcaster]:
    live = LocalBroadcaster(retain_s=RETAIN_S)
    yield live
    live.close()


def write(live, draft_id: int, pieces=PIECES, *, gap_s: float = 0.001, status: str = "completed",
          started: threading.Event | None = None) -> threading.Thread:
    """A writer thread: publishes the pieces at a steady pace, ends with `status`, flushes."""

    def run() -> None:
        with live.writing(draft_id):
            for index, piece in enumerate(pieces):
                live.publish(draft_id, piece)
                if index == 0 and started is not None:
                    started.set()
                time.sleep(gap_s)
            live.publish(draft_id, done=True, status=status)
        live.flush()  # joined: every process can see it all

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def follow_all(live, draft_id: int, **kwargs) -> tuple[LiveView, str]:
    """The last view of follow(), and the text an SSE client would show from the `new` parts."""
    shown = ""
    view = None
    for view in live.follow(draft_id, wait_s=0.5, give_up_s=10, **kwargs):
        shown = view.new if view.replaces else shown + view.new
    return view, shown


def generating_draft(session: Session, text: str = "stored so far") -> int:
    owner = make_user(session, f"w{random.randrange(10**9)}", "writer")
    draft = make_finished_draft(session, owner, make_project(session, f"p{random.randrange(10**9)}"), text, routed=False)
    draft.status = "generating"
    session.add(draft)
    session.commit()
    return draft.id


# -- the contract ---------------------------------------------------------------------------------


def test_a_watcher_that_attaches_detaches_and_reattaches_ends_with_the_full_text(broadcaster):
    chooser = random.Random(13)
    writer = write(broadcaster, 1)
    view = broadcaster.read(1)
    reruns = 0
    while not view.done:
        time.sleep(chooser.uniform(0, 0.02))  # detached: the page is between two reruns
        if chooser.random() < 0.3:
            view = broadcaster.read(1)  # a new tab or a reload: attach from nothing
        else:
            view = broadcaster.read(1, after=view, wait_s=chooser.choice([0, 0.05]))  # a rerun
        reruns += 1
    writer.join()
    assert view.text == FULL
    assert view.status == "completed" and view.live
    assert reruns > 3


def test_each_rerun_gets_only_what_followed(broadcaster):
    broadcaster.publish(2, "Hello")
    assert broadcaster.flush()
    first = broadcaster.read(2)
    assert (first.text, first.new, first.status, first.done, first.live) == ("Hello", "Hello", "generating", False, True)
    broadcaster.publish(2, ", world")
    assert broadcaster.flush()
    second = broadcaster.read(2, after=first)
    assert (second.text, second.new, second.replaces) == ("Hello, world", ", world", False)
    again = broadcaster.read(2, after=second)
    assert (again.text, again.new) == ("Hello, world", "")  # nothing new: nothing repeated
    broadcaster.publish(2, "!")
    broadcaster.publish(2, done=True, status="completed")
    assert broadcaster.flush()
    last = broadcaster.read(2, after=again)
    assert (last.text, last.new, last.done, last.status) == ("Hello, world!", "!", True, "completed")


def test_many_watchers_each_see_the_text_grow_and_end_whole(broadcaster):
    results: list[tuple[LiveView, str, bool]] = []

    def watch() -> None:
        grows = True
        previous = ""
        shown = ""
        for view in broadcaster.follow(3, wait_s=0.5, give_up_s=10):
            grows = grows and view.text.startswith(previous) and not view.replaces
            previous = view.text
            shown += view.new
        results.append((view, shown, grows))

    watchers = [threading.Thread(target=watch) for _ in range(24)]
    for thread in watchers:
        thread.start()
    write(broadcaster, 3).join()
    for thread in watchers:
        thread.join(30)
    assert len(results) == 24
    for view, shown, grows in results:
        assert view.text == FULL and shown == FULL and grows
        assert view.done and view.status == "completed"


def test_a_waiting_read_returns_as_soon_as_text_arrives(broadcaster):
    broadcaster.publish(4, "a")
    assert broadcaster.flush()
    view = broadcaster.read(4)
    got: list[LiveView] = []
    waiter = threading.Thread(target=lambda: got.append(broadcaster.read(4, after=view, wait_s=2.0)))
    waiter.start()
    time.sleep(0.05)
    broadcaster.publish(4, "b")
    waiter.join(5)
    assert got[0].text == "ab" and got[0].new == "b"


def test_a_watcher_waiting_before_the_writer_starts_gets_the_text_from_its_beginning(broadcaster):
    empty = broadcaster.read(5)
    assert (empty.live, empty.text, empty.done) == (False, "", False)
    view, shown = None, ""
    result: list[tuple[LiveView, str]] = []
    watcher = threading.Thread(target=lambda: result.append(follow_all(broadcaster, 5)))
    watcher.start()
    time.sleep(0.1)
    write(broadcaster, 5).join()
    watcher.join(30)
    view, shown = result[0]
    assert view.text == FULL and shown == FULL and view.done


def test_a_watcher_attaching_after_the_end_gets_the_final_state(broadcaster):
    write(broadcaster, 6, PIECES[:5], status="stopped").join()
    view = broadcaster.read(6)
    assert (view.text, view.status, view.done, view.live) == ("".join(PIECES[:5]), "stopped", True, True)
    assert broadcaster.read(6, after=view, wait_s=1.0).new == ""  # a done view does not wait


def test_nothing_live_falls_back_to_the_stored_text(broadcaster, db, engine):
    draft_id = generating_draft(db, "saved half a second ago")
    view = broadcaster.read(draft_id, fallback=stored_text(engine))
    assert (view.live, view.text, view.status, view.done) == (False, "saved half a second ago", "generating", False)
    assert broadcaster.read(draft_id + 1000, fallback=stored_text(engine)) == LiveView(draft_id + 1000)
    broadcaster.publish(draft_id, "saved half a second ago, and more")  # the writer begins (or comes back)
    assert broadcaster.flush()
    live = broadcaster.read(draft_id, after=view, fallback=stored_text(engine))
    assert live.live and live.new == ", and more" and not live.replaces


def test_live_text_dropped_after_its_end_falls_back_to_the_database(broadcaster, db, engine):
    draft_id = generating_draft(db)
    write(broadcaster, draft_id, PIECES[:3]).join()
    live = broadcaster.read(draft_id, fallback=stored_text(engine))
    assert live.live and live.done
    draft = db.get(Draft, draft_id)
    draft.text, draft.status = "".join(PIECES[:3]), "completed"
    db.add(draft)
    db.commit()
    dropped = wait_until(lambda: (v := broadcaster.read(draft_id, fallback=stored_text(engine))) and not v.live and v)
    assert (dropped.text, dropped.status, dropped.done) == ("".join(PIECES[:3]), "completed", True)


def test_a_writer_that_leaves_without_an_end_ends_its_live_text_with_the_stored_status(broadcaster, db, engine):
    draft_id = generating_draft(db)
    with pytest.raises(RuntimeError), broadcaster.writing(draft_id):
        broadcaster.publish(draft_id, "half an answer")
        raise RuntimeError("the provider broke")
    draft = db.get(Draft, draft_id)
    draft.status = "failed"
    db.add(draft)
    db.commit()
    view = wait_until(lambda: (v := broadcaster.read(draft_id, fallback=stored_text(engine))).done and v)
    assert (view.text, view.status, view.live) == ("half an answer", "failed", True)
    assert wait_until(lambda: (v := broadcaster.read(draft_id)).done and v).status == ENDED  # no hook: "not said"


def test_a_publish_after_the_end_starts_the_text_anew(broadcaster):
    write(broadcaster, 7, ["first attempt"], status="failed").join()
    old = broadcaster.read(7)
    broadcaster.publish(7, "second")
    view = wait_until(lambda: (v := broadcaster.read(7)).text == "second" and v)
    assert not view.done and view.status == "generating"
    assert broadcaster.read(7, after=old).new == ""  # a done view stays as it was


def test_stop_from_another_thread_reaches_the_writer_within_a_second(broadcaster):
    stopped_at: list[float] = []
    started = threading.Event()

    def writer() -> None:
        with broadcaster.writing(8) as stop:
            while not stop.is_set():
                broadcaster.publish(8, "x")
                started.set()
                stop.wait(0.01)
            stopped_at.append(time.monotonic())
            broadcaster.publish(8, done=True, status="stopped")

    thread = threading.Thread(target=writer)
    thread.start()
    assert started.wait(5)
    requested = time.monotonic()
    broadcaster.request_stop(8)
    thread.join(5)
    assert stopped_at and stopped_at[0] - requested < 1.0
    assert wait_until(lambda: (v := broadcaster.read(8)).done and v).status == "stopped"


def test_stop_requested_before_the_writer_starts_is_kept_for_it(broadcaster):
    broadcaster.request_stop(9)
    with broadcaster.writing(9) as stop:
        assert stop.wait(2.0)
    with broadcaster.writing(10) as other:
        assert not other.wait(0.3)  # a Stop is for its own draft only


def test_a_finished_draft_needs_a_final_status_and_bad_characters_are_stored_safely(broadcaster):
    with pytest.raises(ValueError):
        broadcaster.publish(11, "x", done=True)
    broadcaster.publish(11, "nul\x00 and a lone \ud800 surrogate")
    view = wait_until(lambda: broadcaster.read(11).live and broadcaster.read(11))
    assert view.text == "nul\ufffd and a lone \ufffd surrogate"


# -- the in-process broadcaster only ---------------------------------------------------------------


def test_memory_stays_bounded_finished_and_abandoned_drafts_are_dropped():
    now = [0.0]
    live = LocalBroadcaster(retain_s=10, idle_s=100, clock=lambda: now[0])
    for draft_id in range(500):
        live.publish(draft_id, "text " * 20)
        if draft_id % 2:
            live.publish(draft_id, done=True, status="completed")
        live.request_stop(draft_id + 10_000)  # Stop of drafts never written
    assert len(live) == 1000
    now[0] = 11.0
    assert len(live) == 750  # the finished ones went after retain_s
    assert live.read(1).live is False and live.read(0).live is True
    now[0] = 101.0
    assert len(live) == 0  # the abandoned ones (a writer that died) after idle_s


def test_a_watcher_cannot_make_the_broadcaster_hold_anything():
    live = LocalBroadcaster()
    for draft_id in range(1000):
        live.read(draft_id)
    live.read(5000, wait_s=0.05)
    assert len(live) == 0


def test_the_settings_choose_the_broadcaster_and_one_is_shared_per_process(monkeypatch):
    from core.jobs.live import RedisBroadcaster

    forget_shared_broadcasters()
    monkeypatch.delenv("DRAFTGATE_REDIS_URL", raising=False)
    local = shared_broadcaster()
    assert isinstance(local, LocalBroadcaster) and shared_broadcaster(get_settings()) is local
    monkeypatch.setenv("DRAFTGATE_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing is sent until used
    assert isinstance(shared_broadcaster(), RedisBroadcaster)
    forget_shared_broadcasters()
    monkeypatch.delenv("DRAFTGATE_REDIS_URL")
    assert shared_broadcaster() is not local
    forget_shared_broadcasters()
