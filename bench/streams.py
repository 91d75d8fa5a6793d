"""64 concurrent streams of 200 tokens at 5 ms per token, through Draftgate's client.

    python -m bench.streams [--streams 64] [--tokens 200] [--gap 0.005]

Ideal: every stream takes tokens x gap (1.0 s) and all run at once. Printed: the time until
the last stream ended as a ratio to the ideal (target at most 1.05x), and the time to first
token (median and worst) across the streams.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from bench.mock_server import running_mock
from core.llm import GenerationParams, LLMClient, ProviderConfig


def run_streams(client: LLMClient, count: int, tokens: int) -> tuple[float, list[float]]:
    barrier = threading.Barrier(count + 1)
    first_token: list[float] = [0.0] * count
    errors: list[BaseException] = []

    def consume(index: int) -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            stream = client.stream("Tell a long story.", GenerationParams(max_tokens=tokens))
            received = 0
            for _ in stream:
                if received == 0:
                    first_token[index] = time.perf_counter() - started
                received += 1
            if received != tokens:
                raise RuntimeError(f"stream {index} got {received} tokens")
        except BaseException as err:  # reported after the run
            errors.append(err)

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} streams failed: {errors[0]}")
    return elapsed, first_token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.005)
    args = parser.parse_args()
    ideal = args.tokens * args.gap
    with running_mock(tokens=args.tokens, token_gap=args.gap) as base_url:
        provider = ProviderConfig(name="bench", base_url=base_url, model="bench", api_style="completions")
        with LLMClient(provider) as client:
            run_streams(client, args.streams, args.tokens)  # warm up: open the connections
            runs = [run_streams(client, args.streams, args.tokens) for _ in range(3)]
    elapsed = sorted(run[0] for run in runs)
    first_tokens = [value for run in runs for value in run[1]]
    print(f"{args.streams} streams of {args.tokens} tokens, {args.gap * 1000:g} ms per token: ideal {ideal:.2f} s")
    print(f"  runs: {', '.join(f'{value:.3f} s' for value in elapsed)}")
    print(f"streams / ideal = {elapsed[1] / ideal:.3f} (median of 3; best {elapsed[0] / ideal:.3f}; target <= 1.05)")
    print(f"time to first token: median {statistics.median(first_tokens) * 1000:.1f} ms, "
          f"worst {max(first_tokens) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
