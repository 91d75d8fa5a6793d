"""Settings: one object read from DRAFTGATE_* environment variables and a .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core import constants

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DRAFTGATE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = ""  # empty: a SQLite file in data_dir

    llm_base_url: str = ""  # empty: the embedded local model
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = ""
    llm_api_style: Literal["completions", "chat"] = "chat"
    llm_connect_timeout_s: float = Field(default=constants.CONNECT_TIMEOUT_S, gt=0)
    llm_read_timeout_s: float = Field(default=constants.READ_TIMEOUT_S, gt=0)

    embedded_context_tokens: int = Field(default=constants.EMBEDDED_CONTEXT_TOKENS, ge=512)
    embedded_threads: int = Field(default=0, ge=0)  # 0: all cores
    context_budget_tokens: int = Field(default=constants.CONTEXT_BUDGET_TOKENS, ge=64)

    admin_password: SecretStr = SecretStr("")  # empty: generated and printed on first start
    claim_lease_minutes: int = Field(default=constants.CLAIM_LEASE_MINUTES, ge=1)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'draftgate.db'}"

    @property
    def uses_embedded_model(self) -> bool:
        return not self.llm_base_url


def get_settings() -> Settings:
    """Read the settings now (never at import time), so tests can change the environment."""
    return Settings()
