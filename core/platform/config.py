"""Settings: one object read from DRAFTGATE_* environment variables and a .env file, checked
when it is built (never at import time), so a mistake shows at start with the variable's name:

    field by field    the base URL (https://, or http:// to this machine), the API key (sendable
                      in a header), the API style, the database and Redis URLs, the master key
                      (base64 of 32 bytes), the allowlists (CIDR ranges), the numeric ranges
    across fields     a base URL needs a model; a model, an API key or an API style other than
                      completions need a base URL (the embedded model takes none of them); a
                      task-style deadline at least one poll interval; the longest retry delay
                      at least the first

    get_settings()    Settings, or SettingsError naming every variable that is wrong
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.platform import constants
from core.platform.errors import DraftgateError, InvalidInputError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "DRAFTGATE_"
DATABASE_BACKENDS = ("sqlite", "postgresql")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
MASTER_KEY_BYTES = 32


class SettingsError(DraftgateError):
    """DRAFTGATE_* settings that are not acceptable: `problems` has one sentence per problem,
    each naming its variable; the message has them all."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"The settings are not valid: {' '.join(problems)}")
        self.problems = problems


def variable(field: str) -> str:
    """The environment variable of a settings field: llm_model -> DRAFTGATE_LLM_MODEL."""
    return ENV_PREFIX + field.upper()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = ""  # empty: a SQLite file in data_dir

    llm_base_url: str = ""  # empty: the embedded local model
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = ""
    llm_api_style: Literal["completions", "chat", "task"] = "chat"  # core.llm.types.API_STYLES
    llm_connect_timeout_s: float = Field(default=constants.CONNECT_TIMEOUT_S, gt=0)
    llm_read_timeout_s: float = Field(default=constants.READ_TIMEOUT_S, gt=0)
    llm_stream_idle_timeout_s: float = Field(default=constants.STREAM_IDLE_TIMEOUT_S, gt=0)
    llm_stream_deadline_s: float = Field(default=constants.STREAM_DEADLINE_S, gt=0)
    llm_max_retries: int = Field(default=constants.MAX_RETRIES, ge=0, le=10)
    llm_retry_initial_delay_s: float = Field(default=constants.RETRY_INITIAL_DELAY_S, ge=0)
    llm_retry_max_delay_s: float = Field(default=constants.RETRY_MAX_DELAY_S, ge=0)
    llm_retry_after_ceiling_s: float = Field(default=constants.RETRY_AFTER_CEILING_S, ge=0)
    llm_qps_limit: float = Field(default=0.0, ge=0)  # requests per second to the provider; 0: none
    llm_tpm_limit: int = Field(default=0, ge=0)  # estimated tokens per minute; 0: none
    llm_task_poll_interval_s: float = Field(default=constants.TASK_POLL_INTERVAL_S, gt=0)
    llm_task_deadline_s: float = Field(default=constants.TASK_DEADLINE_S, gt=0)

    redis_url: str = ""  # empty: cache and rate limits live in this process (and the database)
    master_key: SecretStr = SecretStr("")  # base64 of 32 bytes; empty: a key file in data_dir
    cache_enabled: bool = True
    cache_ttl_s: int = Field(default=constants.CACHE_TTL_S, ge=1)
    user_rate_limit: int = Field(default=constants.USER_RATE_LIMIT, ge=0)  # 0: no limit
    user_rate_window_s: float = Field(default=constants.USER_RATE_WINDOW_S, gt=0)
    batch_concurrency: int = Field(
        default=constants.MAX_BATCH_CONCURRENCY, ge=1, le=constants.MAX_BATCH_CONCURRENCY
    )
    job_workers: int = Field(default=constants.JOB_WORKERS, ge=1, le=64)
    max_running_generations: int = Field(default=constants.MAX_RUNNING_GENERATIONS, ge=1, le=1000)

    embedded_context_tokens: int = Field(default=constants.EMBEDDED_CONTEXT_TOKENS, ge=512)
    embedded_threads: int = Field(default=0, ge=0)  # 0: all cores
    context_budget_tokens: int = Field(default=constants.CONTEXT_BUDGET_TOKENS, ge=64)

    admin_password: SecretStr = SecretStr("")  # empty: generated and printed on first start
    claim_lease_minutes: int = Field(default=constants.CLAIM_LEASE_MINUTES, ge=1)

    # security and privacy (core.access.allowlist, core.access.throttle, core.access.privacy)
    session_idle_minutes: int = Field(default=constants.SESSION_IDLE_MINUTES, ge=0)  # 0: never
    session_max_hours: float = Field(default=constants.SESSION_MAX_HOURS, gt=0, le=24 * 366)  # absolute lifetime
    ip_allowlist: str = ""  # comma-separated CIDR ranges (IPv4 or IPv6); empty: every address
    trusted_proxies: str = ""  # CIDR ranges whose X-Forwarded-For is believed; empty: none (core.access.client_address)
    login_max_failures: int = Field(default=constants.LOGIN_MAX_FAILURES, ge=0)  # 0: no limit
    login_max_failures_per_address: int = Field(default=constants.LOGIN_MAX_FAILURES_PER_ADDRESS, ge=0)
    login_window_minutes: int = Field(default=constants.LOGIN_WINDOW_MINUTES, ge=1)
    retention_days: int | None = Field(default=None, ge=1)  # empty: keep drafts for ever

    # the HTTP API (api/): per-key limits unless the key sets its own; 0: no limit
    api_qps_limit: float = Field(default=constants.API_QPS_LIMIT, ge=0)
    api_concurrency_limit: int = Field(default=constants.API_CONCURRENCY_LIMIT, ge=0)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("llm_base_url", "llm_model", "redis_url", "database_url")
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip()

    @field_validator("llm_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        from core.llm.providers import validate_base_url

        return _checked(validate_base_url, value) if value else ""

    @field_validator("llm_api_key")
    @classmethod
    def _api_key(cls, value: SecretStr) -> SecretStr:
        from core.llm.providers import check_api_key

        return SecretStr(_checked(check_api_key, value.get_secret_value().strip()))

    @field_validator("llm_api_style", mode="before")
    @classmethod
    def _api_style(cls, value: object) -> object:
        from core.llm.types import API_STYLES

        style = value.strip().lower() if isinstance(value, str) else value
        if style not in API_STYLES:
            raise ValueError(f"the API style is {', '.join(API_STYLES[:-1])} or {API_STYLES[-1]}, not {value!r}")
        return style

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value:
            return value
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError("not a database URL; e.g. postgresql+psycopg://user:pass@host:5432/draftgate") from None
        if backend not in DATABASE_BACKENDS:
            raise ValueError(f"Draftgate runs on SQLite or PostgreSQL, not {backend!r}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if value and not value.lower().startswith(REDIS_SCHEMES):
            raise ValueError("a Redis URL starts with redis://, rediss:// or unix://; e.g. redis://127.0.0.1:6379/0")
        return value

    @field_validator("master_key")
    @classmethod
    def _master_key(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if text:
            try:
                size = len(b64decode(text, validate=True))
            except binascii.Error:
                raise ValueError("not valid base64 (make one with: python -m core rotate-master-key)") from None
            if size != MASTER_KEY_BYTES:
                raise ValueError(f"must hold {MASTER_KEY_BYTES} bytes (base64 of 32 random bytes), not {size}")
        return SecretStr(text)

    @field_validator("ip_allowlist", "trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        from core.access.allowlist import parse_allowlist

        try:
            return ", ".join(str(network) for network in parse_allowlist(value))
        except InvalidInputError as err:  # pydantic reports ValueErrors with the field's name
            raise ValueError(str(err).rstrip(".")) from err

    @field_validator("retention_days", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        """The rules that span two settings (see the module docstring), all reported at once."""
        problems = [problem for problem in (self._provider_problem(), *self._timing_problems()) if problem]
        if problems:
            raise ValueError(" ".join(problems))
        return self

    def _provider_problem(self) -> str:
        base_url, model = variable("llm_base_url"), variable("llm_model")
        if self.llm_base_url:
            return "" if self.llm_model else f"{base_url} is set but {model} is not: name the model to use there."
        ignored = [variable(name) for name, given in (
            ("llm_model", bool(self.llm_model)),
            ("llm_api_key", bool(self.llm_api_key.get_secret_value())),
            ("llm_api_style", "llm_api_style" in self.model_fields_set and self.llm_api_style != "completions"),
        ) if given]
        if not ignored:
            return ""
        one = len(ignored) == 1
        return (f"{' and '.join(ignored)} {'is' if one else 'are'} set but {base_url} is not: the embedded model "
                f"would be used and {'it' if one else 'they'} ignored. Set {base_url} to use a provider, or unset "
                f"{'it' if one else 'them'}.")

    def _timing_problems(self) -> list[str]:
        problems = []
        if self.llm_task_deadline_s < self.llm_task_poll_interval_s:
            problems.append(
                f"{variable('llm_task_deadline_s')} ({self.llm_task_deadline_s:g} s) is shorter than "
                f"{variable('llm_task_poll_interval_s')} ({self.llm_task_poll_interval_s:g} s): a task would "
                "time out before it is polled once."
            )
        if self.llm_retry_max_delay_s < self.llm_retry_initial_delay_s:
            problems.append(
                f"{variable('llm_retry_max_delay_s')} ({self.llm_retry_max_delay_s:g} s) is shorter than "
                f"{variable('llm_retry_initial_delay_s')} ({self.llm_retry_initial_delay_s:g} s)."
            )
        return problems

    @property
    def ip_networks(self):
        """The allowlist as ip_network objects; empty: every address is allowed."""
        from core.access.allowlist import parse_allowlist

        return parse_allowlist(self.ip_allowlist)

    @property
    def trusted_proxy_networks(self):
        """DRAFTGATE_TRUSTED_PROXIES as ip_network objects; empty: forwarded headers are ignored."""
        from core.access.allowlist import parse_allowlist

        return parse_allowlist(self.trusted_proxies)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'draftgate.db'}"

    @property
    def uses_embedded_model(self) -> bool:
        return not self.llm_base_url


def get_settings() -> Settings:
    """Read the settings now (never at import time), so tests can change the environment;
    SettingsError, naming each variable that is wrong, when they are not acceptable."""
    try:
        return Settings()
    except ValidationError as err:
        raise SettingsError(problems(err)) from err


def problems(err: ValidationError) -> list[str]:
    """Each problem of a ValidationError of Settings as a sentence that names its variable."""
    found = []
    for problem in err.errors():
        message = problem["msg"].removeprefix("Value error, ")
        if problem["loc"]:
            message = f"{variable('_'.join(str(part) for part in problem['loc']))}: {message}."
        found.append(message.replace("..", "."))
    return found


def _checked(check, value: str) -> str:
    """A core check raising InvalidInputError, as pydantic expects (a ValueError) in a validator."""
    try:
        return check(value)
    except InvalidInputError as err:
        raise ValueError(str(err).rstrip(".")) from err
