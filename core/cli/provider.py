"""`python -m core provider ...`: register LLM providers headlessly (keys encrypted, never printed).

    provider add --name N --base-url URL --model M [--api-style chat|completions|task]
                 [--api-key KEY | --api-key -] [--profile openai] [--qps Q] [--tpm T]
    provider edit NAME [--base-url ...] [--model ...] [--api-key KEY|-] [--no-api-key] ...
    provider list | provider test NAME | provider remove NAME | provider profiles

`--api-key -` reads the key from standard input (command-line arguments are visible to other
users of the machine); `add` also takes it from DRAFTGATE_PROVIDER_API_KEY when set.
"""

from __future__ import annotations

import argparse
import os
import sys

from core.access.actors import SYSTEM
from core.cli import _, runtime
from core.llm.registry import PROFILES, ProviderView, parse_params
from core.llm.types import API_STYLES
from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message
from core.usecases import providers

KEY_ENVIRONMENT_VARIABLE = "DRAFTGATE_PROVIDER_API_KEY"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("provider", help="add, list, test, edit or remove LLM providers")
    commands = parser.add_subparsers(dest="provider_command", required=True)

    add = commands.add_parser("add", help="register a provider")
    add.add_argument("--name", required=True)
    add.add_argument("--profile", choices=sorted(PROFILES), help="take base URL and API style from a profile")
    _provider_options(add)
    add.set_defaults(handler=_add)

    edit = commands.add_parser("edit", help="change a provider (what is not given is kept)")
    edit.add_argument("name")
    edit.add_argument("--new-name")
    _provider_options(edit)
    edit.add_argument("--no-api-key", action="store_true", help="remove the stored key")
    edit.set_defaults(handler=_edit)

    commands.add_parser("list", help="list providers (keys masked)").set_defaults(handler=_list)
    commands.add_parser("profiles", help="list the ready-made profiles").set_defaults(handler=_profiles)
    test = commands.add_parser("test", help="send a tiny request to a provider")
    test.add_argument("name")
    test.set_defaults(handler=_test)
    remove = commands.add_parser("remove", help="remove a provider")
    remove.add_argument("name")
    remove.set_defaults(handler=_remove)


def _provider_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    parser.add_argument("--api-style", choices=API_STYLES)
    parser.add_argument("--api-key", help=f"the key, or - to read it from standard input (or set {KEY_ENVIRONMENT_VARIABLE})")
    parser.add_argument("--qps", type=float, help="requests per second at most (0: no limit)")
    parser.add_argument("--tpm", type=int, help="estimated tokens per minute at most (0: no limit)")
    parser.add_argument("--params", help='default parameters as JSON, e.g. \'{"temperature": 0.3}\'')


def _add(args: argparse.Namespace) -> int:
    profile = PROFILES.get(args.profile) if args.profile else None
    base_url = args.base_url or (profile.base_url if profile else None)
    if not base_url:
        raise InvalidInputError("--base-url is required (or --profile).")
    if not args.model:
        hint = f" (e.g. {profile.model_hints[0]})" if profile else ""
        raise InvalidInputError(Message(N_('--model is required{hint}.'), hint=hint))
    with runtime() as made:
        view = providers.add_provider(
            made, SYSTEM, name=args.name, base_url=base_url, model=args.model,
            api_style=args.api_style or (profile.api_style if profile else "chat"),
            api_key=_api_key(args) or "", default_params=_params(args.params),
            qps_limit=args.qps or 0.0, tpm_limit=args.tpm or 0,
        )
    print(_("added provider {name}: {model} at {url} ({style}), key {key}").format(
        name=repr(view.name), model=view.model, url=view.base_url, style=view.api_style, key=_key_text(view)))
    return 0


def _edit(args: argparse.Namespace) -> int:
    if args.no_api_key and args.api_key:
        raise InvalidInputError("Give either --api-key or --no-api-key.")
    with runtime() as made:
        view = providers.update_provider(
            made, SYSTEM, args.name, new_name=args.new_name,
            base_url=args.base_url, model=args.model, api_style=args.api_style,
            api_key="" if args.no_api_key else _api_key(args, environment=False),
            default_params=_params(args.params) if args.params else None,
            qps_limit=args.qps, tpm_limit=args.tpm,
        )
    print(_("updated provider {name}: {model} at {url} ({style}), key {key}").format(
        name=repr(view.name), model=view.model, url=view.base_url, style=view.api_style, key=_key_text(view)))
    return 0


def _list(args: argparse.Namespace) -> int:
    with runtime() as made:
        views = providers.list_providers(made)
    if not views:
        print(_("no providers registered (the embedded model is used)"))
    for view in views:
        limits = f"{view.qps_limit:g} req/s" if view.qps_limit else "no rate limit"
        if view.tpm_limit:
            limits += f", {view.tpm_limit:,} tokens/min"
        print(f"{view.name}\t{view.api_style}\t{view.model}\t{view.base_url}\tkey {_key_text(view)}\t{limits}")
    return 0


def _profiles(args: argparse.Namespace) -> int:
    for profile in PROFILES.values():
        key = "key needed" if profile.needs_key else "no key needed"
        print(f"{profile.name}\t{profile.label}\t{profile.base_url}\t{profile.api_style}\t"
              f"models: {', '.join(profile.model_hints)}\t{key}")
    return 0


def _test(args: argparse.Namespace) -> int:
    with runtime() as made:
        check = providers.check_provider(made, SYSTEM, args.name)
    print((_("ok: {message}") if check.ok else _("failed: {message}")).format(message=check.message))
    return 0 if check.ok else 1


def _remove(args: argparse.Namespace) -> int:
    with runtime() as made:
        providers.remove_provider(made, SYSTEM, args.name)
    print(_("removed provider {name}").format(name=repr(args.name)))
    return 0


def _api_key(args: argparse.Namespace, *, environment: bool = True) -> str | None:
    if args.api_key == "-":
        return sys.stdin.readline().strip()
    if args.api_key is not None:
        return args.api_key
    return os.environ.get(KEY_ENVIRONMENT_VARIABLE) if environment else None


def _params(text: str | None) -> dict:
    return parse_params(text, what="--params")


def _key_text(view: ProviderView) -> str:
    return view.key_mask if view.has_key else "none"
