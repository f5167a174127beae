"""One settings object, read from the environment, shared by every service.

Every connection is a URL from an ``OMNIFLOW_*`` variable, so the same code runs against the
embedded servers and against docker compose. The defaults point at the embedded stack that
``omniflow up`` starts on its default ports, which lets a notebook work with no set-up at all.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"


class Settings(BaseSettings):
    """Runtime configuration; each field maps to ``OMNIFLOW_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="OMNIFLOW_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"

    # Where the services live.
    database_url: str = "postgresql://omniflow@127.0.0.1:55432/omniflow"
    redis_url: str = "redis://127.0.0.1:56379/0"
    mongo_url: str = "mongodb://127.0.0.1:57017/"
    mongo_db: str = "omniflow"
    gateway_url: str = "http://127.0.0.1:8000"

    # Auth.
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    token_ttl_seconds: int = Field(default=3600, ge=60)
    admin_email: str = "admin@omniflow.local"
    admin_password: SecretStr = SecretStr("admin-password-change-me")
    login_rate_per_minute: int = Field(default=10, ge=1)

    # Business rules.
    max_unfinished_reports: int = Field(default=50, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    # Database pool.
    db_pool_min: int = Field(default=2, ge=1)
    db_pool_max: int = Field(default=10, ge=1)
    db_conn_max_lifetime_s: float = Field(default=300.0, gt=0)

    # Broker contract.
    jobs_stream: str = "omniflow:jobs"
    dead_stream: str = "omniflow:jobs:dead"
    consumer_group: str = "workers"
    stream_maxlen: int = Field(default=100_000, ge=1000)

    # Outbox relay.
    relay_batch: int = Field(default=500, ge=1)
    relay_poll_s: float = Field(default=0.5, gt=0)
    republish_after_s: float = Field(default=30.0, gt=0)

    # Worker.
    worker_concurrency: int = Field(default=16, ge=1)
    worker_batch: int = Field(default=32, ge=1)
    worker_block_ms: int = Field(default=1000, ge=1)
    claim_idle_ms: int = Field(default=15_000, ge=100)
    max_attempts: int = Field(default=3, ge=1)
    max_deliveries: int = Field(default=10, ge=1)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    work_scale: float = Field(default=1.0, ge=0)
    failure_rate: float = Field(default=0.0, ge=0, le=1)
    cpu_pool_size: int = Field(default=1, ge=0)

    # Log store.
    execution_max_bytes: int = Field(default=1024 * 1024, ge=16 * 1024)
    event_retention_days: int = Field(default=30, ge=1)

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key.get_secret_value() == DEV_SECRET:
                raise ValueError("OMNIFLOW_SECRET_KEY must be set to a real secret in production")
            if self.admin_password.get_secret_value() == "admin-password-change-me":
                raise ValueError("OMNIFLOW_ADMIN_PASSWORD must be changed in production")
        return self


@lru_cache
def get_settings() -> Settings:
    """Returns the process-wide settings, read once from the environment."""
    return Settings()
