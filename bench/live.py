"""Live text: 64 generations streamed from a mock provider, each watched by a simulated page.

    python -m bench.live [--streams 64] [--tokens 200] [--gap 0.01] [--rounds 3] [--poll 0]

Three ways, in alternating rounds, in one run:

    direct   the generation process consumes the 64 streams itself (the baseline)
    local    the same process publishes every token to a LocalBroadcaster, and 64 watcher
             threads there follow the drafts (the app on one machine)
    redis    the generation process publishes to a RedisBroadcaster; 64 watcher threads in a
             second process follow the drafts through Redis at 127.0.0.1:6379 (skipped when it
             does not answer)

Each watcher attaches before its draft starts and follows it with blocking reads (an SSE
stream, or a page's fragment waiting for text); with --poll S it reads without waiting every S
seconds instead, as a page's fragment rerun does. Printed: the delay from a token's arrival in
the generation process to a watcher seeing it (p50, p95, max; time.monotonic is one clock for
every process of a Linux machine), and the total time until every watcher has its whole draft
as a ratio to the direct consumption of the same streams (medians over the rounds; target at
most 1.05x). Every watcher's final text is checked against what was generated.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import threading
import time
import uuid
from dataclasses import dataclass

from bench.mock_server import running_mock

REDIS_URL = "redis://127.0.0.1:6379/15"
SPAWN = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class Setup:
    base_url: str
    streams: int
    tokens: int
    poll_s: float
    redis_url: str
    prefix: str

    def expected_text(self) -> str:
        return "".join(f" t{index}" for index in range(self.tokens))

    def token_ends(self) -> list[int]:
        ends, length = [], 0
        for index in range(self.tokens):
            length += len(f" t{index}")
            ends.append(length)
        return ends


# -- the generation process -------------------------------------------------------------------------


def generate(setup: Setup, commands, results) -> None:
    """Serve commands (mode, first draft id) until None: run the streams, put what was timed."""
    from core.jobs.live import LocalBroadcaster, RedisBroadcaster
    from core.llm import GenerationParams, LLMClient, ProviderConfig
    from core.llm.ratelimit import redis_client

    provider = ProviderConfig(name="bench", base_url=setup.base_url, model="bench", api_style="completions")
    client = LLMClient(provider)
    params = GenerationParams(max_tokens=setup.tokens)
    local = LocalBroadcaster()
    remote = RedisBroadcaster(redis_client(setup.redis_url), prefix=setup.prefix) if setup.redis_url else None
    run_streams(client, params, setup, None, 0)  # warm up: open the connections
    for mode, first_id in iter(commands.get, None):
        live = {"direct": None, "local": local, "redis": remote}[mode]
        watched = watch_all(local, setup, first_id) if mode == "local" else None
        started, arrivals, ended = run_streams(client, params, setup, live, first_id)
        if live is not None and not live.flush(timeout_s=30):
            raise SystemExit("the broadcaster did not take every token")
        results.put((mode, started, arrivals, ended, watched.result() if watched else None))
    client.close()


def run_streams(client, params, setup: Setup, live, first_id: int) -> tuple[float, list[list[float]], float]:
    """All streams at once; each token published to `live` (if any). Returns the start, each
    token's arrival time per stream, and when the last stream ended."""
    barrier = threading.Barrier(setup.streams + 1)
    arrivals: list[list[float]] = [[] for _ in range(setup.streams)]
    errors: list[BaseException] = []

    def consume(index: int) -> None:
        draft_id = first_id + index
        barrier.wait()
        try:
            stream = client.stream("Tell a long story.", params)
            for delta in stream:
                arrivals[index].append(time.monotonic())
                if live is not None:
                    live.publish(draft_id, delta)
            if live is not None:
                live.publish(draft_id, done=True, status="completed")
            if len(arrivals[index]) != setup.tokens:
                raise RuntimeError(f"stream {index} got {len(arrivals[index])} tokens")
        except BaseException as err:  # reported after the run
            errors.append(err)

    threads = [threading.Thread(target=consume, args=(index,)) for index in range(setup.streams)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} streams failed: {errors[0]!r}")
    return started, arrivals, time.monotonic()


# -- the watchers (the pages) ------------------------------------------------------------------------


class Watching:
    """Watcher threads, one per draft, started now; result() waits for them all."""

    def __init__(self, live, setup: Setup, first_id: int) -> None:
        self.setup = setup
        self.seen: list[list[float]] = [[] for _ in range(setup.streams)]
        self.done_at = [0.0] * setup.streams
        self.texts = [""] * setup.streams
        attached = threading.Barrier(setup.streams + 1)
        self.threads = [threading.Thread(target=self._watch, args=(live, first_id, index, attached))
                        for index in range(setup.streams)]
        for thread in self.threads:
            thread.start()
        attached.wait()

    def _watch(self, live, first_id: int, index: int, attached: threading.Barrier) -> None:
        ends = self.setup.token_ends()
        seen = self.seen[index]
        view = live.read(first_id + index)
        attached.wait()
        while not view.done:
            if self.setup.poll_s:
                time.sleep(self.setup.poll_s)
                view = live.read(first_id + index, after=view)
            else:
                view = live.read(first_id + index, after=view, wait_s=1.0)
            now = time.monotonic()
            while len(seen) < len(ends) and ends[len(seen)] <= len(view.text):
                seen.append(now)
        self.done_at[index] = time.monotonic()
        self.texts[index] = view.text

    def result(self) -> tuple[list[list[float]], list[float], bool]:
        for thread in self.threads:
            thread.join()
        whole = all(text == self.setup.expected_text() for text in self.texts)
        return self.seen, self.done_at, whole


def watch_all(live, setup: Setup, first_id: int) -> Watching:
    return Watching(live, setup, first_id)


def watch_remotely(setup: Setup, commands, results) -> None:
    """The second process: for each first draft id received, watch the drafts through Redis."""
    from core.jobs.live import RedisBroadcaster
    from core.llm.ratelimit import redis_client

    live = RedisBroadcaster(redis_client(setup.redis_url), prefix=setup.prefix)
    for first_id in iter(commands.get, None):
        watching = Watching(live, setup, first_id)
        results.put("attached")
        results.put(watching.result())


# -- the run -------------------------------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return True
    except redis.RedisError as err:
        print(f"  (Redis at {url} skipped: {err})")
        return False


def delays(arrivals: list[list[float]], seen: list[list[float]]) -> list[float]:
    return [watched - arrived for stream_arrivals, stream_seen in zip(arrivals, seen)
            for arrived, watched in zip(stream_arrivals, stream_seen)]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.01)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--poll", type=float, default=0.0, help="watchers read every POLL seconds without waiting")
    args = parser.parse_args()
    redis_url = REDIS_URL if redis_answers(REDIS_URL) else ""
    modes = ["direct", "local"] + (["redis"] if redis_url else [])
    with running_mock(tokens=args.tokens, token_gap=args.gap) as base_url:
        setup = Setup(base_url, args.streams, args.tokens, args.poll, redis_url, f"draftgate-bench:{uuid.uuid4().hex[:8]}:")
        to_generator, from_generator = SPAWN.Queue(), SPAWN.Queue()
        to_pages, from_pages = SPAWN.Queue(), SPAWN.Queue()
        generator = SPAWN.Process(target=generate, args=(setup, to_generator, from_generator))
        pages = SPAWN.Process(target=watch_remotely, args=(setup, to_pages, from_pages)) if redis_url else None
        for process in (generator, pages):
            if process is not None:
                process.start()
        totals: dict[str, list[float]] = {mode: [] for mode in modes}
        all_delays: dict[str, list[float]] = {mode: [] for mode in modes if mode != "direct"}
        try:
            for round_index in range(args.rounds):
                for mode in modes:
                    first_id = (round_index * len(modes) + modes.index(mode) + 1) * 10_000
                    if mode == "redis":
                        to_pages.put(first_id)
                        assert from_pages.get(timeout=120) == "attached"
                    to_generator.put((mode, first_id))
                    _, started, arrivals, ended, watched = from_generator.get(timeout=300)
                    if mode == "redis":
                        watched = from_pages.get(timeout=300)
                    if watched is None:
                        totals[mode].append(ended - started)
                        continue
                    seen, done_at, whole = watched
                    if not whole:
                        raise SystemExit(f"{mode}: a watcher ended without the whole text")
                    totals[mode].append(max(max(done_at), ended) - started)
                    all_delays[mode] += delays(arrivals, seen)
        finally:
            to_generator.put(None)
            if pages is not None:
                to_pages.put(None)
            for process in (generator, pages):
                if process is not None:
                    process.join(60)
    report(args, totals, all_delays)


def report(args: argparse.Namespace, totals: dict[str, list[float]], all_delays: dict[str, list[float]]) -> None:
    ideal = args.tokens * args.gap
    watching = f"reading every {args.poll * 1000:g} ms" if args.poll else "blocking reads"
    print(f"{args.streams} generations of {args.tokens} tokens, {args.gap * 1000:g} ms per token "
          f"(ideal {ideal:.2f} s), {args.streams} watchers ({watching}), {args.rounds} rounds")
    direct = statistics.median(totals["direct"])
    print(f"  direct: {', '.join(f'{value:.3f} s' for value in totals['direct'])} (median {direct:.3f} s)")
    for mode, values in all_delays.items():
        total = statistics.median(totals[mode])
        where = "one process" if mode == "local" else "two processes through Redis"
        print(f"{mode} ({where}): delay p50 {percentile(values, 0.5) * 1000:.1f} ms, "
              f"p95 {percentile(values, 0.95) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms; "
              f"total {', '.join(f'{value:.3f} s' for value in totals[mode])}: "
              f"{total / direct:.3f}x direct (median; target <= 1.05)")


if __name__ == "__main__":
    main()
