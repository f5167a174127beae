"""What the stack runs: one entry per service, in start order, with how to run and reach it."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from omniflow.launcher import binaries, postgres
from omniflow.launcher.config import HOST, LauncherSettings


@dataclass(frozen=True)
class Service:
    """One supervised program (``numprocs`` copies for the worker)."""

    name: str
    command: tuple[str, ...]
    port: int | None
    url: str | None
    server: binaries.Server | None = None
    numprocs: int = 1
    user: str | None = None
    stopsignal: str = "TERM"
    stopwaitsecs: int = 10
    priority: int = 50
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``embedded`` or ``system`` for a server; ``app`` for our own programs."""
        return self.server.kind if self.server else "app"

    @property
    def server_label(self) -> str:
        if self.server:
            return self.server.label
        if self.command[0] == sys.executable:
            return " ".join(("python", *self.command[1:]))
        return " ".join(self.command)

    @property
    def process_names(self) -> list[str]:
        """The names supervisord gives the processes: ``redis``; ``worker-1``, ``worker-2``."""
        if self.numprocs == 1 and self.name != "worker":
            return [self.name]
        return [f"{self.name}-{n}" for n in range(1, self.numprocs + 1)]


def _app_command(settings: LauncherSettings, name: str) -> tuple[str, ...]:
    return tuple(settings.command_for(name) or (sys.executable, "-m", f"omniflow.{name}"))


def build(settings: LauncherSettings) -> list[Service]:
    """The services the settings ask for, in start order."""
    wanted = set(settings.service_names())
    services: list[Service] = []
    state = settings.state_dir
    if "postgres" in wanted:
        server = binaries.postgres_server(settings.postgres_server)
        socket_dir = postgres.socket_dir_for(settings.run_dir, settings.postgres_port)
        command = (
            *server.command, "-D", str(state / "postgres"), "-h", HOST,
            "-p", str(settings.postgres_port), "-k", str(socket_dir or ""),
            "-c", "max_connections=200",
        )  # fmt: skip
        services.append(Service(
            "postgres", command, settings.postgres_port, settings.database_url, server,
            user=postgres.system_user(settings.postgres_server),
            stopsignal="INT", stopwaitsecs=30, priority=10,
        ))  # fmt: skip
    if "redis" in wanted:
        server = binaries.redis_server(settings.redis_server)
        command = (
            *server.command, "--bind", HOST, "--port", str(settings.redis_port),
            "--dir", str(state / "redis"), "--appendonly", "yes",
            "--appendfsync", "everysec", "--save", "",
        )  # fmt: skip
        services.append(Service(
            "redis", command, settings.redis_port, settings.redis_url, server,
            stopwaitsecs=20, priority=20,
        ))  # fmt: skip
    if "mongo" in wanted:
        server = binaries.mongo_server(settings.mongo_server)
        if server.kind == "embedded":
            command = (
                *server.command, "--db", str(state / "mongo" / "logs.db"), "--host", HOST,
                "-p", str(settings.mongo_port),
                "--log-file", str(settings.logs_dir / "mongo-server.log"),
                "--pid-file", str(settings.run_dir / "mongo.pid"),
            )  # fmt: skip
        else:
            command = (
                *server.command, "--bind_ip", HOST, "--port", str(settings.mongo_port),
                "--dbpath", str(state / "mongo-system"),
            )  # fmt: skip
        services.append(Service(
            "mongo", command, settings.mongo_port, settings.mongo_url, server,
            stopwaitsecs=20, priority=30,
        ))  # fmt: skip
    if "gateway" in wanted:
        services.append(Service(
            "gateway", _app_command(settings, "gateway"), settings.gateway_port,
            settings.gateway_url, stopwaitsecs=15, priority=50,
        ))  # fmt: skip
    if "relay" in wanted:
        services.append(Service(
            "relay", _app_command(settings, "relay"), None, None, stopwaitsecs=15, priority=60,
        ))  # fmt: skip
    if "worker" in wanted and settings.workers > 0:
        services.append(Service(
            "worker", _app_command(settings, "worker"), None, None,
            numprocs=settings.workers, stopwaitsecs=15, priority=70,
            environment={"OMNIFLOW_WORKER_NAME": "worker-%(process_num)d"},
        ))  # fmt: skip
    return services


def data_dirs(settings: LauncherSettings) -> list[Path]:
    """Folders that must exist before the servers start."""
    mongo = "mongo" if settings.mongo_server == "embedded" else "mongo-system"
    return [settings.state_dir / name for name in ("redis", mongo, "logs", "run")]
