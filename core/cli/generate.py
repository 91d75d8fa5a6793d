"""`python -m core generate`: one generation, printed as JSON (or streamed as text).

The provider is, in order: --base-url (with --model), the DRAFTGATE_LLM_* settings (--model,
--api-style and --api-key override theirs), or the embedded model (a base model: completions
style only), resolved by the runtime as the app resolves it (core.llm.registry.resolve_provider).
With --stream the text is printed as it arrives; a stream that fails (broken, cut short, idle,
past its deadline) leaves what had arrived on stdout and ends the command with its one-line
error (core.cli).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from core.cli import runtime
from core.llm import GenerationParams, LLMClient, ProviderConfig
from core.llm.client import check_prompt
from core.llm.providers import build_provider
from core.llm.registry import COMMAND_LINE, CONFIGURED, EMBEDDED
from core.llm.types import API_STYLES
from core.platform import constants
from core.platform.config import Settings
from core.platform.errors import InvalidInputError
from core.platform.text import check_text
from core.runtime import Runtime

_SAMPLING_FLAGS = ("temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty", "seed")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate text with the configured or the embedded model",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--prompt", required=True, help="the prompt text")
    provider = parser.add_argument_group(
        "provider (default: DRAFTGATE_LLM_* settings, else the embedded model)"
    )
    provider.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. https://api.openai.com/v1")
    provider.add_argument(
        "--api-key", help="API key (prefer DRAFTGATE_LLM_API_KEY: arguments are visible to others)"
    )
    provider.add_argument("--model", help="model name (required with --base-url)")
    provider.add_argument("--api-style", choices=API_STYLES)
    sampling = parser.add_argument_group("sampling (defaults: GenerationParams)")
    sampling.add_argument("--temperature", type=float)
    sampling.add_argument("--top-p", type=float)
    sampling.add_argument("--max-tokens", type=int)
    sampling.add_argument("--frequency-penalty", type=float)
    sampling.add_argument("--presence-penalty", type=float)
    sampling.add_argument("--seed", type=int)
    sampling.add_argument("--stop", action="append", default=[], help="a stop sequence (repeatable)")
    parser.add_argument("--stream", action="store_true", help="print the text as it arrives instead of JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    params = _params(args).validate()
    # a byte of the command line that is not UTF-8 arrives as a lone surrogate, which no request can carry
    check_text(args.prompt, what="The prompt", max_chars=constants.MAX_PROMPT_CHARS)
    check_prompt(args.prompt)
    with runtime(migrate=False) as made:  # one request, no cache: no database is opened
        provider = _provider(args, made)
        with _client(provider, made.settings) as client:
            if args.stream:
                _print_stream(client, args.prompt, params)
                return 0
            result = client.generate(args.prompt, params)
    output = {
        "id": result.id,
        "text": result.text,
        "finish_reason": result.finish_reason,
        "usage": dataclasses.asdict(result.usage),
        "model": result.model,
    }
    print(json.dumps(output, ensure_ascii=False))
    return 0


def _print_stream(client: LLMClient, prompt: str, params: GenerationParams) -> None:
    with client.stream(prompt, params) as stream:
        try:
            for delta in stream:
                sys.stdout.write(delta)
                sys.stdout.flush()
        finally:
            sys.stdout.write("\n")
            sys.stdout.flush()


def _params(args: argparse.Namespace) -> GenerationParams:
    given = {name: getattr(args, name) for name in _SAMPLING_FLAGS if getattr(args, name) is not None}
    return GenerationParams(stop=tuple(args.stop), **given)


def _client(provider: ProviderConfig, settings: Settings) -> LLMClient:
    """A plain client with the settings' timeouts: one request, no cache, no shared rate limit."""
    return LLMClient(
        provider,
        connect_timeout=settings.llm_connect_timeout_s,
        read_timeout=settings.llm_read_timeout_s,
        stream_idle_timeout=settings.llm_stream_idle_timeout_s,
        stream_deadline=settings.llm_stream_deadline_s,
    )


def _provider(args: argparse.Namespace, made: Runtime) -> ProviderConfig:
    if args.base_url:
        if not args.model:
            raise InvalidInputError("--model is required with --base-url.")
        return build_provider(
            name=COMMAND_LINE,
            base_url=args.base_url,
            model=args.model,
            api_style=args.api_style or "chat",
            api_key=args.api_key or "",
        )
    if made.settings.uses_embedded_model:
        return _embedded_provider(args, made)
    configured = made.provider(CONFIGURED)
    return build_provider(
        name=configured.name,
        base_url=configured.base_url,
        model=args.model or configured.model,
        api_style=args.api_style or configured.api_style,
        api_key=args.api_key or configured.api_key,
    )


def _embedded_provider(args: argparse.Namespace, made: Runtime) -> ProviderConfig:
    if args.model or args.api_key:
        raise InvalidInputError("--model and --api-key need --base-url (or DRAFTGATE_LLM_BASE_URL).")
    if args.api_style == "chat":
        raise InvalidInputError("The embedded model is a base model: it only takes --api-style completions.")
    return made.provider(EMBEDDED)  # starts it here (xllamacpp is imported only now)
