"""Providers: check what a user types in (base URL, model, key) and build a ProviderConfig."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from core.llm.types import API_STYLES, ProviderConfig, is_api_style
from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message

if TYPE_CHECKING:
    from core.platform.config import Settings


def validate_base_url(url: str) -> str:
    """Return the URL without a trailing slash, or raise InvalidInputError.

    https:// anywhere; plain http:// only to this machine (localhost, 127.0.0.0/8, ::1).
    """
    text = (url or "").strip()
    if not text:
        raise InvalidInputError("The base URL is empty.")
    if any(char.isspace() or not char.isprintable() for char in text):
        raise InvalidInputError("The base URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError when the port is not a number
    except ValueError as err:
        raise InvalidInputError(Message(N_('The base URL {text!r} is not a valid URL.'), text=text)) from err
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidInputError(
            "The base URL must start with https:// (or http:// for a server on this machine)."
        )
    if not parts.hostname:
        raise InvalidInputError("The base URL has no host name.")
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError(
            "The base URL must not contain a user name or password; use the API key field."
        )
    if parts.query or parts.fragment:
        raise InvalidInputError("The base URL must not contain a query (?) or fragment (#).")
    if scheme == "http" and not is_loopback_host(parts.hostname):
        raise InvalidInputError(
            "Plain http:// is only allowed for a server on this machine (localhost, 127.0.0.1, ::1); use https://."
        )
    return urlunsplit((scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_key(api_key: str) -> str:
    """Return the key, or raise if it could not travel in an HTTP header (the message never shows it)."""
    if any(not 33 <= ord(char) <= 126 for char in api_key):
        raise InvalidInputError("The API key contains spaces or characters that cannot be sent in a header.")
    return api_key


def build_provider(
    *,
    name: str,
    base_url: str,
    model: str,
    api_style: str = "chat",
    api_key: str = "",
    qps_limit: float = 0.0,
    tpm_limit: int = 0,
) -> ProviderConfig:
    if not is_api_style(api_style):
        raise InvalidInputError(Message(N_('The API style must be one of {value} (got {api_style!r}).'), value=', '.join(API_STYLES), api_style=api_style))
    if not model.strip():
        raise InvalidInputError("Name the model to use (for example gpt-4o-mini).")
    if isinstance(qps_limit, bool) or not isinstance(qps_limit, (int, float)) or not 0 <= qps_limit <= 10_000:
        raise InvalidInputError("The QPS limit is a number of requests per second from 0 (no limit) to 10,000.")
    if isinstance(tpm_limit, bool) or not isinstance(tpm_limit, int) or tpm_limit < 0:
        raise InvalidInputError("The tokens-per-minute limit is a whole number, 0 for no limit.")
    return ProviderConfig(
        name=name,
        base_url=validate_base_url(base_url),
        model=model.strip(),
        api_style=api_style,
        api_key=check_api_key(api_key.strip()),
        qps_limit=float(qps_limit),
        tpm_limit=tpm_limit,
    )


def provider_from_settings(settings: Settings) -> ProviderConfig | None:
    """The provider of DRAFTGATE_LLM_*, or None when no base URL is set (use the embedded model)."""
    if not settings.llm_base_url.strip():
        return None
    if not settings.llm_model.strip():
        raise InvalidInputError(
            "DRAFTGATE_LLM_MODEL is not set: name the model to use at DRAFTGATE_LLM_BASE_URL."
        )
    return build_provider(
        name="configured",
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_style=settings.llm_api_style,
        api_key=settings.llm_api_key.get_secret_value(),
        qps_limit=settings.llm_qps_limit,
        tpm_limit=settings.llm_tpm_limit,
    )
