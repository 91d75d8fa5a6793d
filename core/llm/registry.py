"""The providers an admin registered: add, edit, check, remove, list; keys encrypted at rest;
and the one way a provider's name becomes a provider (resolve_provider):

    ""            the default: DRAFTGATE_LLM_* when DRAFTGATE_LLM_BASE_URL is set, else the embedded model
    "configured"  DRAFTGATE_LLM_* (what a ProviderConfig made from the settings is named)
    "embedded"    the embedded model (started in this process on first use)
    any other     a registered provider, with its decrypted key

A writing session stores "" or a registered name; a job's payload stores the name of the
provider it was started with (ProviderConfig.name), so a worker resolves it the same way.

Keys are stored AES-256-GCM encrypted (core.access.secrets) and leave this module in two ways only:
inside the ProviderConfig a client is built from (`get_provider`), and masked (`ProviderView`).
Every change is validated like a new provider (plain http:// only to loopback) and audited
without the key.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from sqlmodel import Session, col, select

from core.access.actors import Actor, require_actor
from core.access.secrets import decrypt, encrypt, mask, master_key
from core.llm.client import LLMClient
from core.llm.providers import build_provider, provider_from_settings
from core.llm.retry import NO_RETRIES
from core.llm.types import ChatMessage, GenerationParams, ProviderConfig, is_api_style
from core.platform import constants
from core.platform.audit import record
from core.platform.errors import ConflictError, DraftgateError, InvalidInputError, NotFoundError, SecretError
from core.platform.i18n import N_, Message
from core.platform.models import Provider, utcnow
from core.platform.text import check_text, read_json

if TYPE_CHECKING:
    from core.platform.config import Settings

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_PROVIDER = ""
CONFIGURED = "configured"  # core.llm.providers.provider_from_settings names its provider so
EMBEDDED = "embedded"  # and core.llm.local.EmbeddedServer its own
COMMAND_LINE = "cli"  # `python -m core generate --base-url ...`
RESERVED_NAMES = frozenset({EMBEDDED, CONFIGURED, COMMAND_LINE})


@dataclass(frozen=True)
class ProviderProfile:
    name: str
    label: str
    base_url: str
    api_style: str
    model_hints: tuple[str, ...]
    needs_key: bool = True
    note: str = ""


PROFILES: dict[str, ProviderProfile] = {
    profile.name: profile
    for profile in (
        ProviderProfile("openai", "OpenAI", "https://api.openai.com/v1", "chat",
                        ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4o")),
        ProviderProfile("deepseek", "DeepSeek", "https://api.deepseek.com/v1", "chat",
                        ("deepseek-chat", "deepseek-reasoner")),
        ProviderProfile("qwen", "Qwen (DashScope compatible mode)",
                        "https://dashscope.aliyuncs.com/compatible-mode/v1", "chat",
                        ("qwen-plus", "qwen-turbo", "qwen-max"),
                        note="Outside mainland China use https://dashscope-intl.aliyuncs.com/compatible-mode/v1."),
        ProviderProfile("moonshot", "Moonshot (Kimi)", "https://api.moonshot.cn/v1", "chat",
                        ("moonshot-v1-8k", "moonshot-v1-32k", "moonshot-v1-128k"),
                        note="Outside mainland China use https://api.moonshot.ai/v1."),
        ProviderProfile("vllm", "vLLM server", "http://127.0.0.1:8000/v1", "chat",
                        ("the name given to --served-model-name",), needs_key=False,
                        note="A key is needed only when vLLM runs with --api-key."),
        ProviderProfile("ollama", "Ollama", "http://127.0.0.1:11434/v1", "chat",
                        ("llama3.2", "qwen2.5"), needs_key=False),
        ProviderProfile("llamacpp", "llama.cpp server", "http://127.0.0.1:8080/v1", "chat",
                        ("the loaded model's alias",), needs_key=False,
                        note="Use the completions style for a base (not instruction-tuned) model."),
    )
}


@dataclass(frozen=True)
class ProviderView:
    """A provider as a page may show it: the key only masked."""

    name: str
    base_url: str
    api_style: str
    model: str
    default_params: dict[str, Any]
    qps_limit: float
    tpm_limit: int
    key_mask: str  # "" without a key
    has_key: bool


@dataclass(frozen=True)
class ProviderCheck:
    ok: bool
    message: str
    latency_ms: int = 0


def add_provider(
    *,
    session: Session,
    settings: Settings,
    name: str,
    base_url: str,
    model: str,
    api_style: str = "chat",
    api_key: str = "",
    default_params: dict[str, Any] | None = None,
    qps_limit: float = 0.0,
    tpm_limit: int = 0,
    actor_id: Actor,
) -> ProviderView:
    require_actor(session, actor_id, "providers")
    name = _check_name(name)
    base_url, model = _check_url(base_url), _check_model(model)
    if _find(session, name) is not None:
        raise ConflictError(Message(N_('A provider named {name!r} exists already.'), name=name))
    config = build_provider(name=name, base_url=base_url, model=model, api_style=api_style,
                            api_key=api_key, qps_limit=qps_limit, tpm_limit=tpm_limit)
    row = Provider(name=name, base_url=config.base_url, model=config.model,
                   default_params=_check_params(default_params or {}))
    _store(row, config, settings)
    session.add(row)
    record(session, actor_id=actor_id, action="provider.add", target=name, **_audit_detail(row))
    session.commit()
    return _view(row, settings)


def update_provider(
    *,
    session: Session,
    settings: Settings,
    name: str,
    new_name: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    api_style: str | None = None,
    api_key: str | None = None,
    default_params: dict[str, Any] | None = None,
    qps_limit: float | None = None,
    tpm_limit: int | None = None,
    actor_id: Actor,
) -> ProviderView:
    """Change what is given; `api_key=None` keeps the key, `api_key=""` removes it."""
    require_actor(session, actor_id, "providers")
    row = _get(session, name)
    key = _key(row, settings) if api_key is None else api_key  # decrypted first: a bad master key says so
    target = _check_name(new_name) if new_name is not None else row.name
    base_url = _check_url(base_url) if base_url is not None else None
    model = _check_model(model) if model is not None else None
    if target != row.name and _find(session, target) is not None:
        raise ConflictError(Message(N_('A provider named {target!r} exists already.'), target=target))
    config = build_provider(
        name=target,
        base_url=base_url if base_url is not None else row.base_url,
        model=model if model is not None else row.model,
        api_style=api_style if api_style is not None else row.api_style,
        api_key=key,
        qps_limit=qps_limit if qps_limit is not None else row.qps_limit,
        tpm_limit=tpm_limit if tpm_limit is not None else row.tpm_limit,
    )
    if default_params is not None:
        row.default_params = _check_params(default_params)
    _store(row, config, settings)
    row.updated_at = utcnow()
    session.add(row)
    record(session, actor_id=actor_id, action="provider.edit", target=name,
           key_changed=api_key is not None, **_audit_detail(row))
    session.commit()
    return _view(row, settings)


def remove_provider(*, session: Session, name: str, actor_id: Actor) -> None:
    require_actor(session, actor_id, "providers")
    row = _get(session, name)
    session.delete(row)
    record(session, actor_id=actor_id, action="provider.remove", target=name)
    session.commit()


def list_providers(*, session: Session, settings: Settings) -> list[ProviderView]:
    rows = session.exec(select(Provider).order_by(col(Provider.name)))
    return [_view(row, settings) for row in rows]


def get_provider(*, session: Session, settings: Settings, name: str) -> ProviderConfig:
    """The provider with its decrypted key, to build a client with."""
    return _config(_get(session, name), settings)


def resolve_provider(
    name: str,
    *,
    settings: Settings,
    embedded: Callable[[], ProviderConfig],
    registered: Callable[[str], ProviderConfig],
) -> ProviderConfig:
    """The provider a name stands for (see the module docstring). `embedded` gives the embedded
    model's provider (starting it if need be), `registered` a registered one by name (get_provider
    in a database session); each is called only when its provider is the one asked for."""
    if name == DEFAULT_PROVIDER:
        return provider_from_settings(settings) or embedded()
    if name == CONFIGURED:
        configured = provider_from_settings(settings)
        if configured is None:
            raise InvalidInputError("DRAFTGATE_LLM_BASE_URL is not set in this process, so the configured "
                                    "provider cannot be used here: give it the app's DRAFTGATE_LLM_* settings.")
        return configured
    if name == EMBEDDED:
        return embedded()
    return registered(name)


def default_params(*, session: Session, name: str) -> GenerationParams:
    return GenerationParams.from_dict(_get(session, name).default_params)


def parse_params(text: str | None, *, what: str) -> dict[str, Any]:
    """Default parameters as a person types them (a form field, --params): a JSON object, {} when
    empty, or InvalidInputError naming `what`; add_provider and update_provider check the values."""
    if text is None or not text.strip():
        return {}
    params = read_json(text, what=what)
    if not isinstance(params, dict):
        raise InvalidInputError(Message(N_('{what} must be a JSON object, e.g. {{"temperature": 0.3}}.'), what=what))
    return params


def check_provider(provider: ProviderConfig, *, http_client: httpx.Client | None = None) -> ProviderCheck:
    """Send a tiny request (a few tokens, no retries, no cache) and say how it went."""
    prompt: str | list[ChatMessage] = "Hello"
    if provider.api_style != "completions":
        prompt = [ChatMessage(role="user", content="Reply with OK.")]
    started = time.monotonic()
    try:
        with LLMClient(provider, http_client=http_client, retry=NO_RETRIES, read_timeout=30) as client:
            result = client.generate(prompt, GenerationParams(temperature=0, max_tokens=4), cache="off")
    except DraftgateError as err:
        return ProviderCheck(ok=False, message=str(err))
    latency_ms = round((time.monotonic() - started) * 1000)
    return ProviderCheck(ok=True, message=f"{provider.name} answered with model {result.model} "
                                          f"in {latency_ms} ms.", latency_ms=latency_ms)


# -- rows ------------------------------------------------------------------------------------


def _find(session: Session, name: str) -> Provider | None:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        return None  # no provider has such a name (and PostgreSQL would refuse a NUL in the query)
    return session.exec(select(Provider).where(Provider.name == name)).first()


def _get(session: Session, name: str) -> Provider:
    row = _find(session, name)
    if row is None:
        raise NotFoundError(Message(N_('There is no provider named {name!r}.'), name=name))
    return row


def _store(row: Provider, config: ProviderConfig, settings: Settings) -> None:
    row.name = config.name
    row.base_url = config.base_url
    row.model = config.model
    row.api_style = config.api_style
    row.qps_limit = config.qps_limit
    row.tpm_limit = config.tpm_limit
    row.encrypted_key = (
        encrypt(config.api_key, key=master_key(settings), purpose=_purpose(config.name)) if config.api_key else ""
    )


def _config(row: Provider, settings: Settings) -> ProviderConfig:
    if not is_api_style(row.api_style):  # only _store writes it, from a checked ProviderConfig
        raise InvalidInputError(f"Provider {row.name!r} has an unknown API style {row.api_style!r}.")
    return ProviderConfig(
        name=row.name, base_url=row.base_url, model=row.model, api_style=row.api_style,
        api_key=_key(row, settings), qps_limit=row.qps_limit, tpm_limit=row.tpm_limit,
    )


def _key(row: Provider, settings: Settings) -> str:
    if not row.encrypted_key:
        return ""
    try:
        return decrypt(row.encrypted_key, key=master_key(settings), purpose=_purpose(row.name))
    except SecretError as err:
        raise SecretError(Message(N_('The API key of provider {name!r} cannot be decrypted: {err}'), name=row.name, err=err)) from err


def _view(row: Provider, settings: Settings) -> ProviderView:
    try:
        key_mask = mask(_key(row, settings))
    except SecretError:
        key_mask = "(cannot be decrypted: enter the key again)"
    return ProviderView(
        name=row.name, base_url=row.base_url, api_style=row.api_style, model=row.model,
        default_params=dict(row.default_params), qps_limit=row.qps_limit, tpm_limit=row.tpm_limit,
        key_mask=key_mask, has_key=bool(row.encrypted_key),
    )


def _purpose(name: str) -> str:
    return f"provider-key:{name}"


def _check_name(name: str) -> str:
    name = check_text(name or "", what="The provider name", max_chars=constants.PROVIDER_NAME_MAX_CHARS,
                      single_line=True, strip=True)
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidInputError(
            "A provider name has 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit."
        )
    if name.lower() in RESERVED_NAMES:
        raise InvalidInputError(Message(N_('The provider name {name!r} is reserved.'), name=name))
    return name


def _check_url(base_url: str) -> str:
    return check_text(base_url, what="The base URL", max_chars=constants.PROVIDER_BASE_URL_MAX_CHARS,
                      single_line=True, strip=True)


def _check_model(model: str) -> str:
    return check_text(model, what="The model name", max_chars=constants.PROVIDER_MODEL_MAX_CHARS,
                      single_line=True, strip=True)


def _check_params(params: dict[str, Any]) -> dict[str, Any]:
    unknown = set(params) - set(GenerationParams.__dataclass_fields__)
    if unknown:
        raise InvalidInputError(Message(N_('Unknown default parameters: {value}.'), value=', '.join(sorted(unknown))))
    try:
        return GenerationParams.from_dict(params).validate().to_dict()
    except TypeError as err:
        raise InvalidInputError(Message(N_('The default parameters cannot be read: {err}'), err=err)) from err


def _audit_detail(row: Provider) -> dict[str, Any]:
    return {"base_url": row.base_url, "model": row.model, "api_style": row.api_style,
            "qps_limit": row.qps_limit, "tpm_limit": row.tpm_limit}
