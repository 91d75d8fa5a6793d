"""`python -m bench.embedded`: a writing session on the embedded model, turn by turn, through Draftgate
and against the raw llama.cpp server in the same run.

Two embedded servers start (llama.cpp + Gemma 3 270M, each fresh, so neither inherits the other's
prompt cache). The same instructions are asked turn by turn of both, in turn (the same load):

    draftgate  core.usecases.writing.start_turn in one session (SQLite in a temporary directory,
               the job runner's threads, the embedded provider: its request defaults, its slot
               affinity), watched through core.usecases.writing.watch as the Write page does
    raw        httpx streaming POST /v1/completions of the same prompt (the whole history in the
               app's continuation format) with the same sampling fields: llama.cpp's own prompt
               cache (cache_prompt is on by default), no slot chosen

Each side goes first every other turn, and each turn starts once Draftgate's job has scored the
previous draft (its scoring would otherwise share the CPU with the raw side's next turn).

Printed per turn and side: the time to the first text (from start_turn / from the POST), tokens
per second after it (completion tokens over the time from the first text to the end), and the
ratios draftgate / raw (medians over the turns). Targets: turn 10's first token no slower than
turn 1's, and Draftgate within 5% of raw. With the same seed both write the same text, which
the bench checks (the prompts were the same).

    python -m bench.embedded [--turns 10] [--max-tokens 48] [--seed 1] [--threads 0]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

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

    @property
    def tokens_per_s(self) -> float:
        after_first = self.total_s - self.first_s
        return (self.tokens - 1) / after_first if self.tokens > 1 and after_first > 0 else 0.0


def raw_turn(base_url: str, prompt: str, body: dict) -> TurnTiming:
    started = time.monotonic()
    first, text, tokens = None, "", 0
    with httpx.stream("POST", f"{base_url}/completions", json={**body, "prompt": prompt, "stream": True,
                                                                "stream_options": {"include_usage": True}},
                      timeout=900, trust_env=False) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                tokens = chunk["usage"].get("completion_tokens") or tokens
            for choice in chunk.get("choices") or ():
                if choice.get("text"):
                    first = first if first is not None else time.monotonic() - started
                    text += choice["text"]
    total = time.monotonic() - started
    return TurnTiming(first if first is not None else total, total, tokens, text)


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

    def turn(self, instruction: str, params) -> TurnTiming:
        writing = self.writing
        started = time.monotonic()
        turn = writing.start_turn(self.runtime, self.writer, writing.TurnRequest(
            public_id=self.public_id, instruction=instruction, params=params, cache="refresh"))
        [draft_id], self.job_id = turn.draft_ids, turn.job_id
        first = None
        view = writing.watch(self.runtime, self.writer, draft_id)
        while True:
            if view.text and first is None:
                first = time.monotonic() - started
            if view.done:
                break
            view = writing.watch(self.runtime, self.writer, draft_id, after=view, wait_s=1.0)
        total = time.monotonic() - started
        with self.open_session(self.runtime.engine) as db:
            draft = db.get(self.Draft, draft_id)
            text, tokens = draft.text, draft.completion_tokens
        return TurnTiming(first if first is not None else total, total, tokens, text)

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
    args = parser.parse_args(argv)
    if not 2 <= args.turns <= len(INSTRUCTIONS):
        parser.error(f"--turns is between 2 and {len(INSTRUCTIONS)}")

    from core.llm.client import _sampling
    from core.llm.local import start_embedded_server
    from core.llm.types import GenerationParams
    from core.writing.prompts import Exchange, TurnKind, render_completion_prompt

    params = GenerationParams(max_tokens=args.max_tokens, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="draftgate-bench-embedded-") as data_dir, \
            start_embedded_server(threads=args.threads) as raw_server:
        os.environ["DRAFTGATE_EMBEDDED_THREADS"] = str(args.threads)
        ours = DraftgateSession(data_dir)
        body = {"model": raw_server.provider.model, **_sampling(params, raw_server.provider.extra_body)}
        history: list[Exchange] = []
        rows: list[tuple[TurnTiming, TurnTiming]] = []
        try:
            for index, instruction in enumerate(INSTRUCTIONS[:args.turns], start=1):
                prompt = render_completion_prompt(history, instruction, TurnKind.INSTRUCTION)
                if index % 2:  # each side goes first every other turn
                    raw = raw_turn(raw_server.base_url, prompt, body)
                    mine = ours.turn(instruction, params)
                    ours.wait_for_job()
                else:
                    mine = ours.turn(instruction, params)
                    ours.wait_for_job()
                    raw = raw_turn(raw_server.base_url, prompt, body)
                history.append(Exchange(instruction, raw.text))
                rows.append((mine, raw))
                same = "same text" if mine.text == raw.text else "TEXT DIFFERS"
                print(f"turn {index:>2}: first token draftgate {mine.first_s * 1000:7.0f} ms, raw "
                      f"{raw.first_s * 1000:7.0f} ms; tokens/s {mine.tokens_per_s:5.1f} / {raw.tokens_per_s:5.1f}; "
                      f"{raw.tokens} tokens; {same}", flush=True)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
