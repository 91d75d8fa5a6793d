"""`python -m core health`: the database, Redis, the configured and the registered providers and
the embedded model, one line each, then one line over them all (core.platform.health.verdict).

    health [--start-embedded] [--json]

Exit code 0 when every service is ok or off (not configured), 1 when any is down or needs
attention. The embedded model runs inside each app process, so by default this command only
checks that it is installed; --start-embedded starts one here (a few seconds) and probes it.
"""

from __future__ import annotations

import argparse
import json

from core.cli import runtime
from core.llm.providers import provider_from_settings
from core.platform import health, i18n


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("health", help="check the database, Redis, the providers and the embedded model")
    parser.add_argument("--start-embedded", action="store_true", help="start the embedded model here and probe it")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(handler=_health)


def _health(args: argparse.Namespace) -> int:
    server = None
    with runtime(migrate=False) as made:  # checks the database as it is
        settings = made.settings
        try:
            if args.start_embedded and settings.uses_embedded_model:
                from core.llm.local import start_embedded_server

                server = start_embedded_server(context_tokens=settings.embedded_context_tokens,
                                               threads=settings.embedded_threads)
            checks = health.run_checks(settings=settings, engine=made.engine,
                                       provider=provider_from_settings(settings), embedded=server)
        finally:
            if server is not None:
                server.close()
    if args.json:
        print(json.dumps([check.as_json() for check in checks], indent=2))
    else:
        language = i18n.environment_language()
        width = max(15, *(len(check.name) for check in checks))
        for check in checks:
            latency = f"{check.latency_ms:8.1f} ms" if check.latency_ms is not None else " " * 11
            print(f"{check.status:<8} {check.name:<{width}} {latency}  {i18n.render(check.message, language)}")
        print(i18n.render(health.verdict_message(checks)[1], language))
    return 0 if all(check.status in ("ok", "off") for check in checks) else 1
