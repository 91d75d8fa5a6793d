"""`python -m core api-key ...`: keys for the HTTP API (the key is printed once, at creation).

    api-key create --user USERNAME --name NAME [--qps N] [--concurrency N] [--project NAME]
                   [--expires-days N] [--allow CIDR,...]        one JSON object with `id` and `key`
    api-key list [--user USERNAME]                              one line per key (never the key)
    api-key revoke ID
"""

from __future__ import annotations

import argparse
import json

from sqlmodel import select

from core.access.actors import SYSTEM
from core.access.api_keys import create_api_key, list_api_keys, project_id_named, revoke_api_key
from core.access.users import normalize_username
from core.cli import _
from core.platform.config import get_settings
from core.platform.db import create_schema, make_engine, open_session, saved_id
from core.platform.errors import NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import User


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("api-key", help="create, list or revoke keys of the HTTP API")
    commands = parser.add_subparsers(dest="api_key_command", required=True)

    create = commands.add_parser("create", help="create a key (printed once, as JSON)")
    create.add_argument("--user", required=True, help="the user the key acts as (with their role)")
    create.add_argument("--name", required=True, help="what the key is for, e.g. 'CMS'")
    create.add_argument("--qps", type=float, help="requests per second (default DRAFTGATE_API_QPS_LIMIT)")
    create.add_argument("--concurrency", type=int, help="generations at once (default DRAFTGATE_API_CONCURRENCY_LIMIT)")
    create.add_argument("--project", help="the only project the key may use (default: any)")
    create.add_argument("--expires-days", type=int, help="the key stops working after this many days (default: never)")
    create.add_argument("--allow", default="", help="CIDR ranges the key may be used from, besides DRAFTGATE_IP_ALLOWLIST")
    create.set_defaults(handler=_create)

    listing = commands.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--user", help="only this user's keys")
    listing.set_defaults(handler=_list)

    revoke = commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=_revoke)


def _create(args: argparse.Namespace) -> int:
    with open_session(_engine()) as session:
        user = _user_named(session, args.user)
        project_id = project_id_named(session=session, name=args.project) if args.project is not None else None
        created = create_api_key(
            session=session, user_id=saved_id(user), name=args.name, actor_id=SYSTEM, project_id=project_id,
            expires_days=args.expires_days, qps_limit=args.qps, concurrency_limit=args.concurrency,
            ip_allowlist=args.allow,
        )
    print(json.dumps({"id": created.id, "key": created.key, **_shown(created.view.to_dict())}, ensure_ascii=False))
    return 0


def _list(args: argparse.Namespace) -> int:
    with open_session(_engine()) as session:
        user_id = _user_named(session, args.user).id if args.user else None
        views = list_api_keys(session=session, actor_id=SYSTEM, user_id=user_id)
    if not views:
        print(_("no API keys"))
    for view in views:
        limits = _("{qps} req/s").format(qps=f"{view.qps_limit:g}") if view.qps_limit is not None else _("default rate")
        last_used = view.last_used_at.strftime("%Y-%m-%d %H:%M") if view.last_used_at else _("never used")
        project = view.project or _("any project")
        print(f"{view.id}\t{view.prefix}...\t{view.state()}\t{view.username}\t{view.name}\t{project}\t{limits}\t{last_used}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    with open_session(_engine()) as session:
        view = revoke_api_key(session=session, key_id=args.id, actor_id=SYSTEM)
    print(_("revoked API key {id} ({prefix}..., {name} of {user})").format(
        id=view.id, prefix=view.prefix, name=repr(view.name), user=view.username))
    return 0


def _user_named(session, username: str) -> User:
    user = session.exec(select(User).where(User.username == normalize_username(username))).first()
    if user is None:
        raise NotFoundError(Message(N_('There is no user named {username!r}.'), username=username))
    return user


def _shown(view: dict) -> dict:
    shown = dict(view)
    shown.pop("id", None)
    return shown


def _engine():
    engine = make_engine(get_settings().resolved_database_url)
    create_schema(engine)
    return engine
