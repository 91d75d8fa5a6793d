"""A batch of 320 requests at concurrency 32 against a mock with 200 ms latency.

    python -m bench.batch [--requests 320] [--concurrency 32] [--latency 0.2]

Ideal: requests / concurrency waves of `latency` each (2.0 s by default). Printed: the
measured time as a ratio to the ideal (target at most 1.05x).
"""

from __future__ import annotations

import argparse
import time

from bench.mock_server import running_mock
from core.llm import GenerationParams, LLMClient, ProviderConfig
from core.llm.batch import BatchRequest, run_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=320)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    ideal = -(-args.requests // args.concurrency) * args.latency
    requests = [BatchRequest(f"Variant {i}: one sentence about the sea.", GenerationParams(max_tokens=32))
                for i in range(args.requests)]
    with running_mock(latency=args.latency) as base_url:
        provider = ProviderConfig(name="bench", base_url=base_url, model="bench", api_style="completions")
        with LLMClient(provider) as client:
            run_batch(client, requests[: args.concurrency], concurrency=args.concurrency)  # open the pool
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                outcomes = run_batch(client, requests, concurrency=args.concurrency)
                runs.append(time.perf_counter() - started)
                failed = [o for o in outcomes if not o.ok]
                if failed:
                    raise SystemExit(f"{len(failed)} requests failed: {failed[0].error}")
    best, median = min(runs), sorted(runs)[1]
    print(f"{args.requests} requests, concurrency {args.concurrency}, {args.latency * 1000:.0f} ms latency: "
          f"ideal {ideal:.2f} s")
    print(f"  runs: {', '.join(f'{run:.3f} s' for run in runs)}")
    print(f"batch / ideal = {median / ideal:.3f} (median of 3; best {best / ideal:.3f}; target <= 1.05)")


if __name__ == "__main__":
    main()
