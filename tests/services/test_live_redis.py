"""Live text through the real Redis: the broadcaster's contract again, and what only Redis has
(watchers and writers in other processes, Redis going away and coming back, a trimmed log).

Processes are spawned (multiprocessing "spawn": nothing shared but Redis). A TCP relay on
loopback in front of the real Redis stands for the network: it can be cut (connections refused),
frozen (connections accepted, nothing answered) and restored.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from core.jobs.live import LiveTextUnavailableError, LiveView, RedisBroadcaster, stored_text
from core.llm.ratelimit import redis_client
from tests.core.llm.helpers import closed_port
from tests.core.test_live import (  # noqa: F401 - the contract, run here on Redis
    FULL,
    PIECES,
    RETAIN_S,
    follow_all,
    generating_draft,
    test_a_finished_draft_needs_a_final_status_and_bad_characters_are_stored_safely,
    test_a_publish_after_the_end_starts_the_text_anew,
    test_a_waiting_read_returns_as_soon_as_text_arrives,
    test_a_watcher_attaching_after_the_end_gets_the_final_state,
    test_a_watcher_that_attaches_detaches_and_reattaches_ends_with_the_full_text,
    test_a_watcher_waiting_before_the_writer_starts_gets_the_text_from_its_beginning,
    test_a_writer_that_leaves_without_an_end_ends_its_live_text_with_the_stored_status,
    test_each_rerun_gets_only_what_followed,
    test_live_text_dropped_after_its_end_falls_back_to_the_database,
    test_many_watchers_each_see_the_text_grow_and_end_whole,
    test_nothing_live_falls_back_to_the_stored_text,
    test_stop_from_another_thread_reaches_the_writer_within_a_second,
    test_stop_requested_before_the_writer_starts_is_kept_for_it,
    wait_until,
    write,
)
from tests.services.conftest import gather

SPAWN = multiprocessing.get_context("spawn")


def make_broadcaster(url: str, prefix: str, **options) -> RedisBroadcaster:
    options.setdefault("retain_s", RETAIN_S)
    return RedisBroadcaster(redis_client(url), prefix=prefix, **options)


@pytest.fixture
def broadcaster(redis_url, redis_prefix) -> Iterator[RedisBroadcaster]:
    live = make_broadcaster(redis_url, redis_prefix)
    yield live
    live.close()


@pytest.fixture
def raw_redis(redis_url):
    client = redis_client(redis_url)
    yield client
    client.close()


# -- other processes --------------------------------------------------------------------------------


def _watch_in_child(url: str, prefix: str, draft_id: int, watchers: int, ready, results) -> None:
    live = make_broadcaster(url, prefix)
    found: list = []
    threads = [threading.Thread(target=lambda: found.append(follow_all(live, draft_id))) for _ in range(watchers)]
    for thread in threads:
        thread.start()
    ready.set()
    for thread in threads:
        thread.join(60)
    live.close()
    results.put([(view.text, view.status, view.done, view.live, shown) for view, shown in found])


def test_watchers_in_other_processes_follow_a_draft_to_its_end(redis_url, redis_prefix, broadcaster):
    results = SPAWN.Queue()
    ready = [SPAWN.Event() for _ in range(2)]
    children = [SPAWN.Process(target=_watch_in_child, args=(redis_url, redis_prefix, 21, 8, event, results))
                for event in ready]
    for child in children:
        child.start()
    assert all(event.wait(60) for event in ready)  # watchers waiting before the writer starts
    write(broadcaster, 21, gap_s=0.005).join()
    gathered = gather(children, results, timeout=120)
    assert [child.exitcode for child in children] == [0, 0]
    views = [view for batch in gathered for view in batch]
    assert len(views) == 16
    assert all(view == (FULL, "completed", True, True, FULL) for view in views)


def _write_until_stopped(url: str, prefix: str, draft_id: int, results) -> None:
    live = make_broadcaster(url, prefix, retain_s=60)  # kept until the test has read the end
    with live.writing(draft_id) as stop:
        pieces = 0
        while not stop.is_set() and pieces < 3000:
            live.publish(draft_id, f"piece{pieces} ")
            pieces += 1
            stop.wait(0.01)
        stopped_at = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine
        live.publish(draft_id, done=True, status="stopped" if stop.is_set() else "completed")
    live.close()
    results.put((stopped_at, pieces))


def test_stop_from_another_process_reaches_the_writer_within_a_second(redis_url, redis_prefix, broadcaster):
    results = SPAWN.Queue()
    writer = SPAWN.Process(target=_write_until_stopped, args=(redis_url, redis_prefix, 22, results))
    writer.start()
    started = wait_until(lambda: (view := broadcaster.read(22)).live and view, timeout_s=60)
    assert not started.done
    requested = time.monotonic()
    broadcaster.request_stop(22)
    [(stopped_at, pieces)] = gather([writer], results)
    assert writer.exitcode == 0
    assert stopped_at - requested < 1.0
    final = wait_until(lambda: (view := broadcaster.read(22, after=started, wait_s=0.5)).done and view)
    assert final.status == "stopped"
    assert final.text == "".join(f"piece{i} " for i in range(pieces))


# -- Redis unreachable, going away, losing its data --------------------------------------------------


def test_redis_down_the_writer_never_fails_and_watchers_read_the_database(db, engine, caplog):
    draft_id = generating_draft(db, "the stored partial text")
    live = RedisBroadcaster(redis_client(f"redis://127.0.0.1:{closed_port()}/0"), prefix="draftgate-test:down:")
    caplog.set_level(logging.WARNING, logger="core.jobs.live")
    with live.writing(draft_id) as stop:
        for piece in PIECES:
            live.publish(draft_id, piece)
        live.publish(draft_id, done=True, status="completed")
        assert not stop.is_set()
    assert not live.flush(timeout_s=0.5)
    view = live.read(draft_id, fallback=stored_text(engine))
    assert (view.live, view.text, view.status) == (False, "the stored partial text", "generating")
    again = live.read(draft_id, after=view, wait_s=0.2, fallback=stored_text(engine))
    assert (again.live, again.new) == (False, "")
    with pytest.raises(LiveTextUnavailableError, match="try again"):
        live.request_stop(draft_id)
    assert any("Redis is unreachable" in record.getMessage() for record in caplog.records)
    live.close()


class Relay:
    """A TCP relay on loopback in front of Redis that can be cut, frozen and restored."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.target = (parts.hostname, parts.port or 6379)
        self.database = parts.path or "/0"
        self.port = closed_port()
        self.frozen = False
        self._connections: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}{self.database}"

    def restore(self) -> None:
        self.frozen = False
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Close every connection and refuse new ones."""
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (a bare close would not)
        except OSError:
            pass
        self._listener.close()
        for connection in self._connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()
        self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._connections += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.frozen:
                    time.sleep(0.01)
                sink.sendall(data)
        except OSError:
            pass


@pytest.fixture
def relay(redis_url) -> Iterator[Relay]:
    relay = Relay(redis_url)
    yield relay
    relay.frozen = False
    relay.cut()


def test_redis_going_away_mid_draft_and_coming_back_loses_no_text(relay, redis_prefix, broadcaster):
    writer = make_broadcaster(relay.url, redis_prefix, retry_s=0.2)
    writer.publish(23, "before. ")
    assert writer.flush()
    seen = broadcaster.read(23)
    relay.cut()
    writer.publish(23, "while Redis was away. ")  # no exception, no wait
    assert not writer.flush(timeout_s=0.5)
    assert broadcaster.read(23, after=seen).text == "before. "
    relay.restore()
    writer.publish(23, "after.")
    writer.publish(23, done=True, status="completed")
    assert writer.flush(timeout_s=15)
    final = wait_until(lambda: (view := broadcaster.read(23, after=seen, wait_s=0.5)).done and view)
    assert final.text == "before. while Redis was away. after." and final.status == "completed"
    writer.close()


def test_a_frozen_redis_never_holds_the_writer_up(relay, redis_prefix, broadcaster):
    writer = make_broadcaster(relay.url, redis_prefix)
    writer.publish(24, "a")
    assert writer.flush()
    relay.frozen = True  # connected, and nothing answers (a stuck server, a dead network path)
    started = time.monotonic()
    for piece in PIECES * 10:
        writer.publish(24, piece)
    assert time.monotonic() - started < 1.0  # an answer is waited for by the flusher, never by publish
    relay.frozen = False
    writer.publish(24, done=True, status="completed")
    assert writer.flush(timeout_s=20)
    assert broadcaster.read(24).text == "a" + FULL * 10
    writer.close()


def test_redis_losing_the_text_mid_draft_is_mended_by_sending_it_whole(redis_prefix, broadcaster, raw_redis):
    broadcaster.publish(25, "first half, ")
    assert broadcaster.flush()
    seen = broadcaster.read(25)
    raw_redis.delete(*raw_redis.keys(f"{redis_prefix}{{25}}:*"))  # a restart: Redis keeps nothing on disk
    broadcaster.publish(25, "second half.")
    broadcaster.publish(25, done=True, status="completed")
    assert broadcaster.flush()
    assert broadcaster.read(25).text == "first half, second half."
    following = broadcaster.read(25, after=seen)
    assert (following.text, following.new, following.done) == ("first half, second half.", "second half.", True)


def test_a_watcher_behind_the_trimmed_log_reads_the_whole_text(redis_prefix, broadcaster, raw_redis):
    for piece in PIECES[:10]:
        broadcaster.publish(26, piece)
        assert broadcaster.flush()
    behind = broadcaster.read(26)
    for piece in PIECES[10:]:
        broadcaster.publish(26, piece)
        assert broadcaster.flush()  # one log entry per piece
    raw_redis.xtrim(f"{redis_prefix}{{26}}:log", maxlen=1, approximate=False)
    caught_up = broadcaster.read(26, after=behind)
    assert caught_up.text == FULL and caught_up.new == "".join(PIECES[10:])


def test_live_keys_expire_after_the_end_and_never_outlive_an_idle_draft(redis_prefix, raw_redis, redis_url):
    live = make_broadcaster(redis_url, redis_prefix, retain_s=30, idle_s=600)
    live.publish(27, "x")
    live.request_stop(27)
    assert live.flush()
    keys = sorted(raw_redis.keys(f"{redis_prefix}{{27}}:*"))
    assert [key.decode().rsplit(":", 1)[1] for key in keys] == ["log", "state", "stop", "text"]
    assert all(30_000 < raw_redis.pttl(key) <= 600_000 for key in keys)
    live.publish(27, done=True, status="stopped")
    assert live.flush()
    assert all(0 < raw_redis.pttl(key) <= 30_000 for key in keys)
    live.close()


def test_a_forged_cursor_gets_the_text_so_far_and_never_passes_for_redis_down(broadcaster, caplog):
    broadcaster.publish(28, "the text so far")
    assert broadcaster.flush()
    caplog.set_level(logging.WARNING, logger="core.jobs.live")
    for cursor in ("Rnot-an-id", "R1-2-3", "L1:1", "R" + "9" * 30 + "-0", ""):
        forged = LiveView(28, "something else", status="generating", live=True, cursor=cursor)
        view = broadcaster.read(28, after=forged, wait_s=0.1)
        assert (view.live, view.text, view.replaces) == (True, "the text so far", True), cursor
    assert not any("unreachable" in record.getMessage() for record in caplog.records)
