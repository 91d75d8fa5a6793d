"""`python -m bench.embedded`: a writing session on the embedded model, turn by turn, through Draftgate
and against the raw llama.cpp server in the same run.

Two embedded servers start (llama.cpp + Gemma 3 270M, each fresh, so neither inherits the other's
prompt cache). The same instructions are asked turn by turn of both, in turn (the same load):

    draftgate  core.usecases.writing.start_turn in one session (SQLite in a temporary directory,
               the job runner's threads, the embedded provider: its request defaults, its slot
               affinity), watched through core.usecases.writing.watch as the Write page does
    raw        httpx streaming POST /v1/completions of the same prompt (the whole history in the
               app's continuation format) with the same sampling fields: llama.cpp's own prompt
               cache (cache_prompt is on by default), no slot chosen; one httpx client for the
               run (raw_client)

Each side goes first every other turn, and each side's turn starts once Draftgate's job has scored
the previous draft (its scoring would otherwise share the CPU with the raw side's next turn) and
neither server has used the CPU for 20 ms (a server goes on for 5-10 ms of CPU after its stream
has ended: the side asking right after it shared the cores with that). Each run starts two fresh
servers, and one may answer up to 10% faster than the other for the whole run: compare runs by
`--split`'s server's part, or pool the turns of several runs.

Printed per turn and side: the time to the first text (from start_turn / from the POST), tokens
per second after it (completion tokens over the time from the first text to the end), and the
ratios draftgate / raw (medians over the turns). Targets: turn 10's first token no slower than
turn 1's, and Draftgate within 5% of raw. With the same seed both write the same text, which
the bench checks (the prompts were the same). On Linux, also the CPU time to the first text of
the process's Python threads (Draftgate's work, or the raw side's client) and of that side's
server (llama.cpp's threads): on a busy machine, where wall clock moves by tens of percent from
turn to turn, what each side spent.

`--split` also prints where Draftgate's time to the first text went, per turn: until its request
left (start_turn, the job's hand-off and claim, the prompt), the server's part (from the request to
the first text in the job: compare raw's whole time) and the way to the watcher.

    python -m bench.embedded [--turns 10] [--max-tokens 48] [--seed 1] [--threads 0] [--split]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace

import httpx

INSTRUCTIONS = (
    "Write a short paragraph about a lighthouse keeper's evening.",
    "Describe the sea he watches at night.",
    "写一段他点亮灯塔的情景。",
    "Describe the storm that comes at midnight.",
    "Write the letter he sends to his sister.",
    "描写风暴过后的清晨。",
    "Describe a ship that passes in the fog.",
    "Write about the keeper's old cat.",
    "Describe the spiral stairs of the tower.",
    "End the story in two sentences.",
    "写一句话总结这个故事。",
    "Give the story a title.",
)


@dataclass(frozen=True)
class TurnTiming:
    first_s: float  # to the first text
    total_s: float  # to the end
    tokens: int  # completion tokens
    text: str
    python_cpu_s: float = 0.0  # to the first text: CPU time of the process's Python threads
    server_cpu_s: float = 0.0  # and of this side's llama.cpp server

    @property
    def tokens_per_s(self) -> float:
        after_first = self.total_s - self.first_s
        return (self.tokens - 1) / after_first if self.tokens > 1 and after_first > 0 else 0.0


SETTLE_QUIET_S = 0.02
SETTLE_LONGEST_S = 1.0


class CpuMeter:
    """CPU time of this process's threads (Linux: /proc/self/task/*/schedstat, in ns): each embedded
    server's own threads (llama.cpp's, which Python did not start) and all the others."""

    def __init__(self) -> None:
        self.available = os.path.isdir("/proc/self/task")
        self.servers: dict[str, set[str]] = {}

    def server_started(self, side: str, threads_before: set[str]) -> None:
        python = {str(thread.native_id) for thread in threading.enumerate()}
        self.servers[side] = _threads() - threads_before - python

    def read(self) -> dict[str, float]:
        """Seconds of CPU so far of each running thread."""
        spent: dict[str, float] = {}
        for thread in _threads():
            try:
                with open(f"/proc/self/task/{thread}/schedstat") as stat:
                    spent[thread] = int(stat.read().split()[0]) / 1e9
            except (OSError, ValueError, IndexError):
                pass  # ended meanwhile
        return spent

    def settle(self, *, quiet_s: float = SETTLE_QUIET_S, longest_s: float = SETTLE_LONGEST_S) -> None:
        """Until no server's thread used the CPU for `quiet_s` (a server goes on for a few ms after
        its stream ends: the side asking right after one would share the CPU with it), at most
        `longest_s`."""
        servers = set().union(*self.servers.values())
        deadline = time.monotonic() + longest_s
        before = self.read()
        while time.monotonic() < deadline:
            time.sleep(quiet_s)
            after = self.read()
            if all(after[thread] == before.get(thread) for thread in servers if thread in after):
                return
            before = after

    def spent(self, before: dict[str, float], after: dict[str, float], side: str) -> tuple[float, float]:
        """CPU seconds from `before` to `after` of the Python threads and of `side`'s server (a
        thread that ended in between is left out)."""
        python = server = 0.0
        for thread, seconds in after.items():
            if thread in self.servers[side]:
                server += seconds - before.get(thread, 0.0)
            elif not any(thread in threads for threads in self.servers.values()):
                python += seconds - before.get(thread, 0.0)
        return python, server


def _threads() -> set[str]:
    return set(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else set()


def _with_cpu(timing: TurnTiming, meter: CpuMeter, side: str, before: dict[str, float],
              at_first: dict[str, float] | None) -> TurnTiming:
    python, server = meter.spent(before, at_first or before, side)
    return replace(timing, python_cpu_s=python, server_cpu_s=server)


def raw_client() -> httpx.Client:
    """The raw side's client, made once: a new httpx client loads the CA certificates (~20 ms of
    CPU) before its first request, which Draftgate's pooled client does not do per turn. No
    connection is kept alive (llama.cpp closes one idle for 5 s, racing a reuse)."""
    return httpx.Client(timeout=900, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0))


def raw_turn(http: httpx.Client, base_url: str, prompt: str, body: dict, meter: CpuMeter) -> TurnTiming:
    cpu, cpu_at_first = meter.read(), None
    started = time.monotonic()
    first, text, tokens = None, "", 0
    with http.stream("POST", f"{base_url}/completions", json={**body, "prompt": prompt, "stream": True,
                                                               "stream_options": {"include_usage": True}}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                tokens = chunk["usage"].get("completion_tokens") or tokens
            for choice in chunk.get("choices") or ():
                if choice.get("text"):
                    if first is None:
                        first, cpu_at_first = time.monotonic() - started, meter.read()
                    text += choice["text"]
    total = time.monotonic() - started
    return _with_cpu(TurnTiming(first if first is not None else total, total, tokens, text), meter, "raw", cpu, cpu_at_first)


class Milestones:
    """When Draftgate's job sent its request and read its first text (--split), this process's
    Transport and CompletionStream watched (the raw side uses neither)."""

    def __init__(self) -> None:
        self.sent: float | None = None
        self.first_text: float | None = None

    def install(self) -> None:
        from core.llm.stream import CompletionStream
        from core.llm.transport import Transport

        send_once, next_delta = Transport._send_once, CompletionStream.__next__
        milestones = self

        def sending(transport, request, **kwargs):
            if milestones.sent is None:
                milestones.sent = time.monotonic()
            return send_once(transport, request, **kwargs)

        def reading(stream):
            delta = next_delta(stream)
            if milestones.first_text is None:
                milestones.first_text = time.monotonic()
            return delta

        Transport._send_once = sending  # type: ignore[method-assign]
        CompletionStream.__next__ = reading  # type: ignore[method-assign]

    def reset(self) -> None:
        self.sent = self.first_text = None


class DraftgateSession:
    """One writing session through the use cases, on the process's embedded server."""

    def __init__(self, data_dir: str) -> None:
        os.environ["DRAFTGATE_DATA_DIR"] = data_dir
        os.environ.pop("DRAFTGATE_REDIS_URL", None)
        os.environ.pop("DRAFTGATE_LLM_BASE_URL", None)
        from core.access.actors import SYSTEM
        from core.access.passwords import hash_password
        from core.platform.config import Settings
        from core.platform.db import open_session
        from core.platform.models import Draft, Job, User
        from core.runtime import Runtime
        from core.usecases import sessions, startup, writing
        from core.writing.projects import create_project

        self.writing, self.Draft, self.Job, self.open_session = writing, Draft, Job, open_session
        self.runtime = Runtime(Settings())
        with open_session(self.runtime.engine) as db:
            self.writer = User(username="writer", password_hash=hash_password("bench-password"), role="writer")
            db.add(self.writer)
            db.commit()
            db.refresh(self.writer)
            project = create_project(session=db, name="Bench", actor_id=SYSTEM)
        self.public_id = sessions.create_session(self.runtime, self.writer, project_id=project.id).public_id
        self.provider = self.runtime.provider()  # starts the embedded server of this process
        startup.start(self.runtime)  # what the app's process does before its first page

    def turn(self, instruction: str, params, meter: CpuMeter, milestones: Milestones | None = None) -> TurnTiming:
        writing = self.writing
        if milestones is not None:
            milestones.reset()
        cpu, cpu_at_first = meter.read(), None
        started = self.started = time.monotonic()
        turn = writing.start_turn(self.runtime, self.writer, writing.TurnRequest(
            public_id=self.public_id, instruction=instruction, params=params, cache="refresh"))
        [draft_id], self.job_id = turn.draft_ids, turn.job_id
        first = None
        view = writing.watch(self.runtime, self.writer, draft_id)
        while True:
            if view.text and first is None:
                first, cpu_at_first = time.monotonic() - started, meter.read()
            if view.done:
                break
            view = writing.watch(self.runtime, self.writer, draft_id, after=view, wait_s=1.0)
        total = time.monotonic() - started
        with self.open_session(self.runtime.engine) as db:
            draft = db.get(self.Draft, draft_id)
            text, tokens = draft.text, draft.completion_tokens
        return _with_cpu(TurnTiming(first if first is not None else total, total, tokens, text), meter, "draftgate",
                         cpu, cpu_at_first)

    def wait_for_job(self) -> None:
        """Until the last turn's job has scored the draft (after the text is done), so that no
        scoring shares the CPU with the next turn on either side."""
        from core.platform.states import JobStatus

        while True:
            with self.open_session(self.runtime.engine) as db:
                if db.get_one(self.Job, self.job_id).status not in (JobStatus.QUEUED, JobStatus.RUNNING):
                    return
            time.sleep(0.05)

    def close(self) -> None:
        self.runtime.close(wait=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedded", description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=10, help=f"at most {len(INSTRUCTIONS)}; default 10")
    parser.add_argument("--max-tokens", type=int, default=48, help="default 48")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="the model's CPU threads (default 0: all cores)")
    parser.add_argument("--split", action="store_true", help="where Draftgate's time to the first text went")
    args = parser.parse_args(argv)
    if not 2 <= args.turns <= len(INSTRUCTIONS):
        parser.error(f"--turns is between 2 and {len(INSTRUCTIONS)}")

    from core.llm.client import _sampling
    from core.llm.local import start_embedded_server
    from core.llm.types import GenerationParams
    from core.writing.prompts import Exchange, TurnKind, render_completion_prompt

    params = GenerationParams(max_tokens=args.max_tokens, seed=args.seed)
    meter, threads_before = CpuMeter(), _threads()
    with tempfile.TemporaryDirectory(prefix="draftgate-bench-embedded-") as data_dir, \
            start_embedded_server(threads=args.threads) as raw_server, raw_client() as http:
        meter.server_started("raw", threads_before)
        os.environ["DRAFTGATE_EMBEDDED_THREADS"] = str(args.threads)
        threads_before = _threads()
        ours = DraftgateSession(data_dir)
        meter.server_started("draftgate", threads_before)
        body = {"model": raw_server.provider.model, **_sampling(params, raw_server.provider.extra_body)}
        history: list[Exchange] = []
        rows: list[tuple[TurnTiming, TurnTiming]] = []
        milestones = Milestones() if args.split else None
        if milestones is not None:
            milestones.install()
        splits: list[tuple[float, float, float]] = []  # Draftgate's until sent, server's part / raw, to the watcher
        try:
            for index, instruction in enumerate(INSTRUCTIONS[:args.turns], start=1):
                prompt = render_completion_prompt(history, instruction, TurnKind.INSTRUCTION)
                # each side goes first every other turn, each once both servers are idle
                if index % 2:
                    meter.settle()
                    raw = raw_turn(http, raw_server.base_url, prompt, body, meter)
                    meter.settle()
                    mine = ours.turn(instruction, params, meter, milestones)
                    ours.wait_for_job()
                else:
                    meter.settle()
                    mine = ours.turn(instruction, params, meter, milestones)
                    ours.wait_for_job()
                    meter.settle()
                    raw = raw_turn(http, raw_server.base_url, prompt, body, meter)
                history.append(Exchange(instruction, raw.text))
                rows.append((mine, raw))
                same = "same text" if mine.text == raw.text else "TEXT DIFFERS"
                print(f"turn {index:>2}: first token draftgate {mine.first_s * 1000:7.0f} ms, raw "
                      f"{raw.first_s * 1000:7.0f} ms; tokens/s {mine.tokens_per_s:5.1f} / {raw.tokens_per_s:5.1f}; "
                      f"{raw.tokens} tokens; {same}; CPU to the first token: Python {mine.python_cpu_s * 1000:.0f} / "
                      f"{raw.python_cpu_s * 1000:.0f} ms, server {mine.server_cpu_s * 1000:.0f} / "
                      f"{raw.server_cpu_s * 1000:.0f} ms", flush=True)
                if milestones is not None and milestones.sent is not None and milestones.first_text is not None:
                    sent, first_text = milestones.sent - ours.started, milestones.first_text - ours.started
                    splits.append((sent, (first_text - sent) / raw.first_s, mine.first_s - first_text))
                    print(f"         draftgate: request sent at {sent * 1000:.1f} ms, first text in the job at "
                          f"{first_text * 1000:.0f} ms (the server's part {(first_text - sent) * 1000:.0f} ms, "
                          f"{splits[-1][1]:.3f}x raw's whole), at the watcher {splits[-1][2] * 1000:.1f} ms later")
        finally:
            ours.close()
    first_ratio = statistics.median(m.first_s / r.first_s for m, r in rows)
    rate_ratio = statistics.median(m.tokens_per_s / r.tokens_per_s for m, r in rows if r.tokens_per_s)
    (first_mine, first_raw), (last_mine, last_raw) = rows[0], rows[-1]
    print(f"first token, turn {len(rows)} / turn 1: draftgate {last_mine.first_s / first_mine.first_s:.2f}x "
          f"({first_mine.first_s * 1000:.0f} -> {last_mine.first_s * 1000:.0f} ms), raw "
          f"{last_raw.first_s / first_raw.first_s:.2f}x ({first_raw.first_s * 1000:.0f} -> "
          f"{last_raw.first_s * 1000:.0f} ms)")
    print(f"draftgate / raw, median over the turns: first token {first_ratio:.3f}x, tokens/s {rate_ratio:.3f}x; "
          f"load average {os.getloadavg()[0]:.1f}")
    if splits:
        print(f"draftgate, median over the turns: request sent at {statistics.median(s[0] for s in splits) * 1000:.1f} ms; "
              f"the server's part {statistics.median(s[1] for s in splits):.3f}x raw's whole time; "
              f"to the watcher {statistics.median(s[2] for s in splits) * 1000:.1f} ms")
    if meter.available:
        python = [sum(timing.python_cpu_s for timing in side) * 1000 for side in zip(*rows)]
        server = [sum(timing.server_cpu_s for timing in side) * 1000 for side in zip(*rows)]
        each = [statistics.median(timing.python_cpu_s for timing in side) * 1000 for side in zip(*rows)]
        print(f"CPU to the first token, summed over the turns, draftgate / raw: Python threads {python[0]:.0f} / "
              f"{python[1]:.0f} ms (a turn's median {each[0]:.1f} / {each[1]:.1f} ms), the side's server "
              f"{server[0]:.0f} / {server[1]:.0f} ms ({server[0] / server[1]:.3f}x)" if server[1] else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
