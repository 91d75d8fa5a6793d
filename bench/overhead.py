"""Per-request overhead of Draftgate's client against raw httpx.Client and the official openai SDK.

    python -m bench.overhead [--requests 3000]

All three send the same completions request, one after another over one kept-alive connection,
to a zero-latency mock server in another process; rounds alternate between the clients so
that a noisy machine hurts them alike. Printed: median time per request of each, and the
ratios to raw httpx (target: Draftgate at most 1.10x).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import httpx

from bench.mock_server import running_mock
from core.llm import GenerationParams, LLMClient, ProviderConfig

PROMPT = "Write one sentence about the sea."
PARAMS = GenerationParams(temperature=0.7, top_p=0.95, max_tokens=32)
ROUNDS = 30


def draftgate_sender(base_url: str) -> tuple[Callable[[], str], Callable[[], None]]:
    client = LLMClient(ProviderConfig(name="bench", base_url=base_url, model="bench", api_style="completions",
                                      api_key="sk-bench"))
    return (lambda: client.generate(PROMPT, PARAMS).text), client.close


def httpx_sender(base_url: str) -> tuple[Callable[[], str], Callable[[], None]]:
    client = httpx.Client(limits=httpx.Limits(max_connections=64, max_keepalive_connections=64), trust_env=False)
    body = {"model": "bench", "prompt": PROMPT, **{k: v for k, v in PARAMS.to_dict().items() if k not in ("stop", "seed")}}
    headers = {"Authorization": "Bearer sk-bench"}

    def send() -> str:
        response = client.post(f"{base_url}/completions", json=body, headers=headers)
        response.raise_for_status()
        return response.json()["choices"][0]["text"]

    return send, client.close


def openai_sender(base_url: str) -> tuple[Callable[[], str], Callable[[], None]] | None:
    try:
        from openai import OpenAI
    except ImportError:
        return None
    client = OpenAI(api_key="sk-bench", base_url=base_url, max_retries=0)

    def send() -> str:
        return client.completions.create(model="bench", prompt=PROMPT, temperature=0.7, top_p=0.95,
                                         max_tokens=32, frequency_penalty=0.0, presence_penalty=0.0).choices[0].text

    return send, client.close


def time_round(send: Callable[[], str], count: int) -> tuple[float, float]:
    """Wall-clock and this process's CPU time per request."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(count):
        send()
    return (time.perf_counter() - started) / count, (time.process_time() - cpu_started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per client (default 3000)")
    args = parser.parse_args()
    per_round = max(1, args.requests // ROUNDS)
    with running_mock() as base_url:
        senders = {"raw httpx": httpx_sender(base_url), "draftgate": draftgate_sender(base_url)}
        sdk = openai_sender(base_url)
        if sdk is not None:
            senders["openai SDK"] = sdk
        for send, _ in senders.values():  # warm up: connections, imports, caches
            for _ in range(50):
                send()
        walls: dict[str, list[float]] = {name: [] for name in senders}
        cpus: dict[str, list[float]] = {name: [] for name in senders}
        for _ in range(ROUNDS):
            for name, (send, _) in senders.items():
                wall, cpu = time_round(send, per_round)
                walls[name].append(wall)
                cpus[name].append(cpu)
        for _, close in senders.values():
            close()
    wall = {name: statistics.median(values) for name, values in walls.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    print(f"per request, {per_round * ROUNDS} requests each to a zero-latency mock "
          f"(median of {ROUNDS} alternating rounds):")
    print(f"  {'client':11s} {'wall':>9s} {'ratio':>6s}   {'client CPU':>10s} {'ratio':>6s}")
    for name in senders:
        print(f"  {name:11s} {wall[name] * 1e6:7.1f}us {wall[name] / wall['raw httpx']:5.2f}x"
              f"   {cpu[name] * 1e6:8.1f}us {cpu[name] / cpu['raw httpx']:5.2f}x")
    print(f"draftgate / raw httpx = {wall['draftgate'] / wall['raw httpx']:.3f} wall clock (target <= 1.10)")
    if "openai SDK" in wall:
        print(f"draftgate / openai SDK = {wall['draftgate'] / wall['openai SDK']:.3f} wall clock")


if __name__ == "__main__":
    main()
