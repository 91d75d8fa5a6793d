"""Cache hit latency: a repeated reproducible request answered without calling the provider.

    python -m bench.cache [--lookups 2000]

For each store (the database, a SQLite file here; Redis at 127.0.0.1:6379 when it answers):
one request fills the cache, then `lookups` identical calls of LLMClient.generate are timed.
Printed: median and 99th percentile per hit (target under 1 ms), the misses meanwhile (each
would have called the provider: 0 expected), and the hit latency as a ratio to an uncached
call to the zero-latency mock provider.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.mock_server import running_mock
from core.llm import GenerationParams, LLMClient, ProviderConfig
from core.llm.cache import DatabaseStore, RedisStore, ResponseCache
from core.platform.db import create_schema, make_engine

PARAMS = GenerationParams(temperature=0, max_tokens=32)
PROMPT = "Summarise the plot of a long novel in one line. " * 20


def stores(directory: Path):
    engine = make_engine(f"sqlite:///{directory / 'bench.db'}")
    create_schema(engine)
    yield "database (SQLite)", DatabaseStore(engine), lambda: engine.dispose()
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
        client.ping()
    except Exception as err:  # a benchmark skips what it cannot reach, and says so
        print(f"  (Redis skipped: {err})")
        return
    prefix = f"draftgate-bench:{uuid.uuid4().hex}:"
    yield "Redis", RedisStore(client, prefix=prefix), lambda: [client.delete(k) for k in client.scan_iter(prefix + "*")]


def measure(base_url: str, store, lookups: int) -> tuple[list[float], float, int]:
    provider = ProviderConfig(name="bench", base_url=base_url, model="bench", api_style="completions")
    cache = ResponseCache(store, ttl_s=600)
    with LLMClient(provider, cache=cache) as client:
        uncached_calls = []
        for _ in range(50):  # the first calls open the connection: keep the median
            started = time.perf_counter()
            client.generate(PROMPT, PARAMS, cache="off")
            uncached_calls.append(time.perf_counter() - started)
        uncached = statistics.median(uncached_calls)
        client.generate(PROMPT, PARAMS)  # fills the cache
        misses_before = cache.misses
        hits = []
        for _ in range(lookups):
            started = time.perf_counter()
            result = client.generate(PROMPT, PARAMS)
            hits.append(time.perf_counter() - started)
            if not result.cached:
                raise SystemExit("a lookup missed the cache")
        return hits, uncached, cache.misses - misses_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, running_mock() as base_url:
        print(f"cache hits of LLMClient.generate, {args.lookups} lookups per store:")
        for name, store, cleanup in stores(Path(directory)):
            try:
                hits, uncached, misses = measure(base_url, store, args.lookups)
            finally:
                cleanup()
            hits.sort()
            median, p99 = statistics.median(hits), hits[int(len(hits) * 0.99) - 1]
            print(f"  {name:18s} median {median * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms "
                  f"(target < 1 ms); misses (provider calls) meanwhile: {misses}; "
                  f"hit / uncached call = {median / uncached:.2f}")


if __name__ == "__main__":
    main()
