"""Settings: one object read from DRAFTGATE_* environment variables and a .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.platform import constants

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DRAFTGATE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = ""  # empty: a SQLite file in data_dir

    llm_base_url: str = ""  # empty: the embedded local model
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = ""
    llm_api_style: Literal["completions", "chat", "task"] = "chat"
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

    embedded_context_tokens: int = Field(default=constants.EMBEDDED_CONTEXT_TOKENS, ge=512)
    embedded_threads: int = Field(default=0, ge=0)  # 0: all cores
    context_budget_tokens: int = Field(default=constants.CONTEXT_BUDGET_TOKENS, ge=64)

    admin_password: SecretStr = SecretStr("")  # empty: generated and printed on first start
    claim_lease_minutes: int = Field(default=constants.CLAIM_LEASE_MINUTES, ge=1)

    # security and privacy (core.access.security, core.access.throttle, core.access.privacy)
    session_idle_minutes: int = Field(default=constants.SESSION_IDLE_MINUTES, ge=0)  # 0: never
    ip_allowlist: str = ""  # comma-separated CIDR ranges (IPv4 or IPv6); empty: every address
    trusted_proxies: str = ""  # CIDR ranges whose X-Forwarded-For is believed; empty: none (core.access.client_address)
    login_max_failures: int = Field(default=constants.LOGIN_MAX_FAILURES, ge=0)  # 0: no limit
    login_max_failures_per_address: int = Field(default=constants.LOGIN_MAX_FAILURES_PER_ADDRESS, ge=0)
    login_window_minutes: int = Field(default=constants.LOGIN_WINDOW_MINUTES, ge=1)
    retention_days: Optional[int] = Field(default=None, ge=1)  # empty: keep drafts for ever

    # the HTTP API (api/): per-key limits unless the key sets its own; 0: no limit
    api_qps_limit: float = Field(default=constants.API_QPS_LIMIT, ge=0)
    api_concurrency_limit: int = Field(default=constants.API_CONCURRENCY_LIMIT, ge=0)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("ip_allowlist", "trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        from core.platform.errors import InvalidInputError
        from core.access.security import parse_allowlist

        try:
            return ", ".join(str(network) for network in parse_allowlist(value))
        except InvalidInputError as err:  # pydantic reports ValueErrors with the field's name
            raise ValueError(str(err)) from err

    @field_validator("retention_days", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def ip_networks(self):
        """The allowlist as ip_network objects; empty: every address is allowed."""
        from core.access.security import parse_allowlist

        return parse_allowlist(self.ip_allowlist)

    @property
    def trusted_proxy_networks(self):
        """DRAFTGATE_TRUSTED_PROXIES as ip_network objects; empty: forwarded headers are ignored."""
        from core.access.security import parse_allowlist

        return parse_allowlist(self.trusted_proxies)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'draftgate.db'}"

    @property
    def uses_embedded_model(self) -> bool:
        return not self.llm_base_url


def get_settings() -> Settings:
    """Read the settings now (never at import time), so tests can change the environment."""
    return Settings()
