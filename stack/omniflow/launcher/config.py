"""The launcher's own settings: where the stack keeps its state, its ports and its servers.

They come from ``OMNIFLOW_*`` variables, like the services' settings, but only the launcher reads
them. The URLs the services see are derived from these ports, so that ``omniflow.settings``
defaults and a stack started with default ports always agree.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ServerChoice = Literal["embedded", "system"]
HOST = "127.0.0.1"
RECORD_NAME = "stack.json"
ALL_SERVICES = ("postgres", "redis", "mongo", "gateway", "relay", "worker")


def project_root(start: Path | None = None) -> Path:
    """The nearest folder holding a ``pyproject.toml``, looking upward; else the start folder."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


class LauncherSettings(BaseSettings):
    """What ``omniflow up`` starts and where; each field maps to ``OMNIFLOW_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="OMNIFLOW_", extra="ignore")

    state_dir: Path = Field(default_factory=lambda: project_root() / ".omniflow")

    postgres_port: int = Field(default=55432, ge=1, le=65535)
    redis_port: int = Field(default=56379, ge=1, le=65535)
    mongo_port: int = Field(default=57017, ge=1, le=65535)
    gateway_port: int = Field(default=8000, ge=1, le=65535)

    workers: int = Field(default=2, ge=0, le=64)

    postgres_server: ServerChoice = "embedded"
    redis_server: ServerChoice = "embedded"
    mongo_server: ServerChoice = "embedded"

    # A comma-separated subset of postgres,redis,mongo,gateway,relay,worker; empty means all.
    # ``postgres,redis,mongo`` gives the stores alone, e.g. to run the services from an IDE.
    services: str = ""

    # Another program can stand in for a service, e.g. a worker written in another language:
    # the job contract is language-neutral. Empty means ``python -m omniflow.<service>``.
    gateway_command: str = ""
    relay_command: str = ""
    worker_command: str = ""

    # Every wait has a deadline, so a broken service fails loudly instead of hanging.
    start_timeout: float = Field(default=60.0, gt=0)

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = sorted(set(names) - set(ALL_SERVICES))
        if unknown:
            raise ValueError(f"unknown service(s) {', '.join(unknown)}")
        return ",".join(names)

    @field_validator("state_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return Path(os.path.abspath(value.expanduser()))

    # Where things live inside the state folder.
    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def record_path(self) -> Path:
        return self.state_dir / RECORD_NAME

    # The URLs every service and client uses.
    @property
    def database_url(self) -> str:
        return f"postgresql://omniflow@{HOST}:{self.postgres_port}/omniflow"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis_port}/0"

    @property
    def mongo_url(self) -> str:
        return f"mongodb://{HOST}:{self.mongo_port}/"

    @property
    def gateway_url(self) -> str:
        return f"http://{HOST}:{self.gateway_port}"

    def service_names(self) -> list[str]:
        """The services this stack runs, in start order."""
        wanted = self.services.split(",") if self.services else ALL_SERVICES
        return [name for name in ALL_SERVICES if name in wanted]

    def command_for(self, service: str) -> list[str] | None:
        """The command that replaces ``python -m omniflow.<service>``, if one is configured."""
        text = getattr(self, f"{service}_command", "")
        return shlex.split(text) if text else None

    def service_env(self) -> dict[str, str]:
        """The variables every supervised program and every ``omniflow run`` command gets."""
        return {
            "OMNIFLOW_DATABASE_URL": self.database_url,
            "OMNIFLOW_REDIS_URL": self.redis_url,
            "OMNIFLOW_MONGO_URL": self.mongo_url,
            "OMNIFLOW_GATEWAY_URL": self.gateway_url,
            "OMNIFLOW_GATEWAY_PORT": str(self.gateway_port),
            "OMNIFLOW_STATE_DIR": str(self.state_dir),
        }

    def client_env(self) -> dict[str, str]:
        """``service_env`` plus the ports: ``omniflow`` run in that shell finds the same stack."""
        return {
            **self.service_env(),
            "OMNIFLOW_POSTGRES_PORT": str(self.postgres_port),
            "OMNIFLOW_REDIS_PORT": str(self.redis_port),
            "OMNIFLOW_MONGO_PORT": str(self.mongo_port),
        }

    # A running stack records the settings it was started with: commands run later in
    # another shell (``status``, ``stop redis``) then talk about the stack that really runs.
    def save_record(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.record_path.write_text(self.model_dump_json(indent=2) + "\n")

    @classmethod
    def load_record(cls, state_dir: Path) -> LauncherSettings | None:
        path = state_dir / RECORD_NAME
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        data["state_dir"] = str(state_dir)
        try:
            return cls.model_validate(data)
        except ValueError:
            return None
