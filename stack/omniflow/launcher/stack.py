"""The local stack as one object: bring it up in order, look at it, stop parts of it, tear it down.

``Stack`` is what the ``omniflow`` command uses and what tests import to, say, stop Redis in the
middle of a scenario. Every wait has a deadline and every failure is a ``StackError`` whose
message is one line naming the service and its log file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from omniflow.launcher import health, postgres, services
from omniflow.launcher.config import HOST, LauncherSettings
from omniflow.launcher.errors import StackError
from omniflow.launcher.ports import free_ports, port_holder, port_is_free
from omniflow.launcher.services import Service
from omniflow.launcher.supervisor import RPC_ERRORS, Supervisor

Echo = Callable[[str], None]
UP_STATES = {"STARTING", "RUNNING"}
FAILED_STATES = {"FATAL", "EXITED", "UNKNOWN"}
# Services of one phase start together; a phase starts once the previous one is healthy.
# The database schema is migrated after the first phase, before the gateway.
PHASES = (("postgres", "redis", "mongo"), ("gateway",), ("relay", "worker"))
MIGRATIONS_INI = Path(__file__).resolve().parent.parent / "migrations" / "alembic.ini"


@dataclass(frozen=True)
class ProcessStatus:
    """One supervised process as ``omniflow status`` shows it."""

    service: str
    process: str
    state: str
    pid: int | None
    uptime_s: float | None
    port: int | None
    url: str | None
    kind: str
    server: str
    health: str
    log: Path

    @property
    def healthy(self) -> bool:
        return self.health == "ok"

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "log": str(self.log), "healthy": self.healthy}


class Stack:
    """The services of one state folder, run by one supervisord."""

    def __init__(self, settings: LauncherSettings | None = None, *, echo: Echo | None = None):
        self.requested = settings or LauncherSettings()
        self.supervisor = Supervisor(self.requested)
        self.echo: Echo = echo or (lambda line: None)
        self.temporary = False
        self._lock_depth = 0
        self._lock_file: Any = None

    @classmethod
    def from_env(cls, *, echo: Echo | None = None, **overrides: Any) -> Stack:
        """The stack named by ``OMNIFLOW_*`` (``OMNIFLOW_STATE_DIR`` first); keywords win."""
        return cls(LauncherSettings(**overrides), echo=echo)

    @classmethod
    def isolated(cls, *, echo: Echo | None = None, **overrides: Any) -> Stack:
        """A stack in a fresh temporary folder on free ports: it never meets another stack."""
        state = Path(tempfile.mkdtemp(prefix="omniflow-"))
        ports = free_ports(4)
        names = ("postgres_port", "redis_port", "mongo_port", "gateway_port")
        settings = LauncherSettings(
            **{**dict(zip(names, ports, strict=True)), **overrides, "state_dir": state}
        )
        stack = cls(settings, echo=echo)
        stack.temporary = True
        return stack

    # What runs.
    @property
    def state_dir(self) -> Path:
        return self.requested.state_dir

    @property
    def settings(self) -> LauncherSettings:
        """The settings of the running stack (as recorded when it started), else the requested."""
        if self.supervisor.alive():
            recorded = LauncherSettings.load_record(self.state_dir)
            if recorded is not None:
                return recorded
        return self.requested

    def is_running(self) -> bool:
        """True when this stack's supervisord answers (whatever state its programs are in)."""
        return self.supervisor.alive()

    def env(self) -> dict[str, str]:
        """The ``OMNIFLOW_*`` variables a client of this stack needs."""
        return self.settings.client_env()

    def log_path(self, process: str) -> Path:
        return self.state_dir / "logs" / f"{process}.log"

    def services(self) -> list[Service]:
        return services.build(self.settings)

    # Bringing it up.
    def up(self, timeout: float | None = None) -> list[ProcessStatus]:
        """Starts whatever does not run yet, phase by phase (see ``PHASES``), and waits for health.

        Idempotent: services that already run and answer are left alone. On failure, what
        this call started is stopped again before the ``StackError`` propagates.
        """
        with self._locked():
            limit = timeout or self.requested.start_timeout
            deadline = time.monotonic() + limit
            fresh = not self.supervisor.alive()
            settings = self.requested if fresh else self.settings
            if not fresh and _shape(settings) != _shape(self.requested):
                self.echo(f"the stack in {self.state_dir} already runs with its recorded settings;"
                          " `omniflow down` first to change them")  # fmt: skip
            wanted = services.build(settings)
            if fresh:
                self._stop_leftovers()
                self._check_ports(wanted)
                for folder in services.data_dirs(settings):
                    folder.mkdir(parents=True, exist_ok=True)
                self.supervisor.write_conf(wanted)
                settings.save_record()
                self.echo(f"starting supervisord in {self.state_dir}")
                self.supervisor.start_daemon()
            elif self._all_healthy(wanted):
                self.echo("the stack is already up")
                return self.status()
            started: list[str] = []
            try:
                for phase in PHASES:
                    group = [s for s in wanted if s.name in phase]
                    launched = [(s, self._launch(s, settings, started)) for s in group]
                    for service, began in launched:
                        if began is not None:
                            self._finish(service, deadline, service.process_names, began)
                    if any(s.name == "postgres" for s in group):
                        self.migrate(deadline=deadline)
            except BaseException:
                self._undo(fresh, started)
                raise
            return self.status()

    def _undo(self, fresh: bool, started: list[str]) -> None:
        with contextlib.suppress(StackError, *RPC_ERRORS):
            if fresh:
                self.supervisor.shutdown()
                self.echo("stopped the partly started stack again")
            elif started:
                for name in reversed(started):
                    self.supervisor.stop(name)
                self.echo(f"stopped again what this run started: {', '.join(started)}")

    def _check_ports(self, wanted: list[Service]) -> None:
        for service in wanted:
            if service.port is not None and not port_is_free(service.port):
                self._port_error(service)

    def _port_error(self, service: Service) -> None:
        holder = port_holder(service.port or 0)
        raise StackError(
            f"{service.name} failed to start: port {service.port} is already in use by another "
            f"process{f' ({holder})' if holder else ''}",
            log=self.log_path(service.process_names[0]),
        )

    def _all_healthy(self, wanted: list[Service]) -> bool:
        with contextlib.suppress(*RPC_ERRORS):
            infos = self.supervisor.infos()
            return all(self._service_ready(s, infos) is None for s in wanted)
        return False

    @staticmethod
    def _service_ready(
        service: Service, infos: dict[str, dict[str, Any]], names: list[str] | None = None
    ) -> str | None:
        """``None`` when the processes (default: all) run and the service answers; else why not."""
        names = names or service.process_names
        states = [infos.get(name, {}).get("statename", "ABSENT") for name in names]
        probe = health.PROBES.get(service.name)
        if probe and service.port is not None:
            if any(state not in UP_STATES for state in states):
                return "not running"
            return probe(service.port)
        return None if all(state == "RUNNING" for state in states) else "not running"

    def _bring_up(
        self,
        service: Service,
        settings: LauncherSettings,
        deadline: float,
        started: list[str],
        names: list[str] | None = None,
    ) -> None:
        """Starts the service's processes (default: all) that do not run; waits for health."""
        names = names or service.process_names
        began = self._launch(service, settings, started, names)
        if began is not None:
            self._finish(service, deadline, names, began)

    def _launch(
        self,
        service: Service,
        settings: LauncherSettings,
        started: list[str],
        names: list[str] | None = None,
    ) -> float | None:
        """Asks supervisord to start what does not run; when, or ``None`` if all was ready."""
        names = names or service.process_names
        label = names[0] if len(names) == 1 else service.name
        infos = self.supervisor.infos()
        if self._service_ready(service, infos, names) is None:
            pids = ", ".join(str(infos[name]["pid"]) for name in names)
            self.echo(f"{label} already runs (pid {pids})")
            return None
        idle = [name for name in names if infos.get(name, {}).get("statename") not in UP_STATES]
        if service.port is not None and idle and not port_is_free(service.port):
            self._port_error(service)
        if service.name == "postgres":
            self._prepare_postgres(service, settings)
        where = f" on {HOST}:{service.port}" if service.port else ""
        count = f" x{len(idle)}" if len(idle) > 1 else ""
        self.echo(f"starting {label}{count} ({service.server_label}){where} ...")
        began = time.monotonic()
        for name in idle:
            rpc = f"{service.name}:{name}"
            self._start_process(service, rpc)
            started.append(rpc)
        return began

    def _finish(self, service: Service, deadline: float, names: list[str], began: float) -> None:
        """Waits until the launched processes are healthy; then any first-start set-up."""
        self._wait_ready(service, deadline, names)
        if service.name == "postgres":
            postgres.ensure_app_database(service.port or 0)
        label = names[0] if len(names) == 1 else service.name
        self.echo(f"{label} ready in {time.monotonic() - began:.1f}s")

    def _start_process(self, service: Service, rpc: str) -> None:
        try:
            self.supervisor.start(rpc)
        except RPC_ERRORS as exc:
            reason = getattr(exc, "faultString", None) or str(exc)
            log = self.log_path(rpc.split(":")[-1])
            raise StackError(f"{service.name} failed to start: {reason}", log=log) from exc

    def _prepare_postgres(self, service: Service, settings: LauncherSettings) -> None:
        assert service.server is not None
        data = settings.state_dir / "postgres"
        if not (data / "PG_VERSION").exists():
            self.echo(f"initializing a new PostgreSQL data folder in {data} ...")
        began = time.monotonic()
        if postgres.prepare(
            kind=service.server.kind,
            bin_dir=Path(service.server.command[0]).parent,
            data_dir=data,
            socket_dir=postgres.socket_dir_for(settings.run_dir, settings.postgres_port),
            log=self.log_path("postgres-initdb"),
        ):
            self.echo(f"initdb done in {time.monotonic() - began:.1f}s")

    def _wait_ready(self, service: Service, deadline: float, names: list[str]) -> None:
        while True:
            infos = self.supervisor.infos()
            for name in names:
                info = infos.get(name, {})
                if info.get("statename") in FAILED_STATES:
                    log = self.log_path(name)
                    reason = _death_reason(info, log)
                    raise StackError(f"{service.name} failed to start: {reason}", log=log)
            reason = self._service_ready(service, infos, names) or ""
            if not reason:
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{service.name} failed to start: not ready before the deadline ({reason})",
                    log=self.log_path(names[0]),
                )
            time.sleep(0.1)

    def migrate(self, *, deadline: float | None = None) -> None:
        """Brings the database schema to the newest revision (alembic ``upgrade head``)."""
        settings = self.settings
        log = self.log_path("migrate")
        log.parent.mkdir(parents=True, exist_ok=True)
        remaining = (deadline - time.monotonic()) if deadline else settings.start_timeout
        command = [sys.executable, "-m", "alembic", "-c", str(MIGRATIONS_INI), "upgrade", "head"]
        env = {**os.environ, **settings.service_env()}
        self.echo("migrating the database to the newest schema ...")
        began = time.monotonic()
        with log.open("ab") as out:
            out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
            out.flush()
            try:
                done = subprocess.run(
                    command, stdout=out, stderr=subprocess.STDOUT, env=env, check=False,
                    timeout=max(remaining, 5.0), stdin=subprocess.DEVNULL,
                )  # fmt: skip
            except subprocess.TimeoutExpired as exc:
                raise StackError("migrate failed: alembic did not finish in time", log=log) from exc
        if done.returncode != 0:
            last = _last_line(log)
            raise StackError(f"migrate failed: alembic exited with {done.returncode}: {last}",
                             log=log)  # fmt: skip
        self.echo(f"migrations done in {time.monotonic() - began:.1f}s")

    # Tearing it down.
    def down(self, timeout: float = 90.0) -> bool:
        """Stops every program and supervisord itself. False when nothing was running."""
        with self._locked():
            pid = self.supervisor.daemon_pid()
            if not self.supervisor.alive() and not pid:
                if self._stop_leftovers():
                    return True
                self.echo(f"nothing runs in {self.state_dir}")
                return False
            self.echo(f"stopping the stack (supervisord pid {pid}) ...")
            began = time.monotonic()
            self.supervisor.shutdown(timeout=timeout)
            self.echo(f"stopped in {time.monotonic() - began:.1f}s")
            return True

    def _stop_leftovers(self) -> int:
        """Stops programs that outlived their supervisord the way it would have: services
        before the stores they use, each with its stop signal and grace period."""
        found = self.supervisor.leftovers()
        if not found:
            return 0
        by_process = {p: s for s in self.services() for p in s.process_names}
        order = sorted(found, key=lambda n: -(by_process[n].priority if n in by_process else 99))
        for name in order:
            service, proc = by_process.get(name), found[name]
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.Signals[f"SIG{service.stopsignal if service else 'TERM'}"])
                proc.wait(timeout=service.stopwaitsecs if service else 10)
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                with contextlib.suppress(OSError):  # each program leads its own process group
                    os.killpg(proc.pid, signal.SIGKILL)
        names = ", ".join(f"{name} (pid {proc.pid})" for name, proc in found.items())
        self.echo(f"stopped what outlived this stack's supervisord: {names}")
        return len(found)

    def cleanup(self, *, keep_logs: bool = False) -> None:
        """Deletes the state folder of a temporary stack (keeping its logs if asked)."""
        if not self.temporary:
            return
        if not keep_logs:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            return
        for child in self.state_dir.iterdir():
            if child.name not in {"logs", "supervisord.conf", "stack.json"}:
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    def __enter__(self) -> Stack:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.down()
        finally:
            self.cleanup()

    # One service at a time (for fault drills: stop Redis, kill a worker...).
    def _resolve(self, name: str) -> tuple[Service, list[str]]:
        """A service (``worker``) or one process (``worker-2``) -> (service, process names)."""
        wanted = self.services()
        for service in wanted:
            if name == service.name:
                return service, service.process_names
            if name in service.process_names:
                return service, [name]
        choices = ", ".join(p for s in wanted for p in dict.fromkeys([s.name, *s.process_names]))
        raise StackError(f"unknown service {name!r}; choose from {choices}")

    def _require_running(self) -> None:
        if not self.supervisor.alive():
            raise StackError(f"the stack in {self.state_dir} is not running; start it with "
                             "`omniflow up`")  # fmt: skip

    def stop(self, name: str, timeout: float = 60.0) -> None:
        """Stops a service or one process (graceful signal first) and waits until it is down."""
        with self._locked():
            self._require_running()
            service, names = self._resolve(name)
            for process in names:
                self.supervisor.stop(f"{service.name}:{process}")
            deadline = time.monotonic() + timeout
            while True:
                infos = self.supervisor.infos()
                if all(infos[n]["statename"] not in {"STOPPING", *UP_STATES} for n in names):
                    break
                if time.monotonic() > deadline:
                    raise StackError(f"{name} did not stop in time", log=self.log_path(names[0]))
                time.sleep(0.1)
            self.echo(f"stopped {name}")

    def start(self, name: str, timeout: float | None = None) -> None:
        """Starts a stopped service or process and waits until it is healthy."""
        with self._locked():
            self._require_running()
            settings = self.settings
            service, names = self._resolve(name)
            deadline = time.monotonic() + (timeout or settings.start_timeout)
            self._bring_up(service, settings, deadline, [], names)

    def restart(self, name: str, timeout: float | None = None) -> None:
        self.stop(name)
        self.start(name, timeout)

    # Looking at it.
    def status(self) -> list[ProcessStatus]:
        """One row per process; a stack that is not running shows every row as ``DOWN``."""
        settings = self.settings
        wanted = services.build(settings)
        try:
            infos = self.supervisor.infos() if self.supervisor.alive() else {}
        except RPC_ERRORS:
            infos = {}
        rows = []
        for service in wanted:
            probe_result = None
            if service.name in health.PROBES:
                probe_result = self._service_ready(service, infos)
            for name in service.process_names:
                info = infos.get(name)
                state = info["statename"] if info else "DOWN"
                running = state in UP_STATES
                if service.name in health.PROBES:
                    verdict = probe_result
                else:
                    verdict = None if state == "RUNNING" else "not running"
                rows.append(ProcessStatus(
                    service=service.name, process=name, state=state,
                    pid=(info or {}).get("pid") or None,
                    uptime_s=float(info["now"] - info["start"]) if info and running else None,
                    port=service.port, url=service.url, kind=service.kind,
                    server=service.server_label, health=verdict or "ok",
                    log=self.log_path(name),
                ))  # fmt: skip
        return rows

    def healthy(self) -> bool:
        rows = self.status()
        return bool(rows) and all(row.healthy for row in rows)

    def pids(self) -> dict[str, int]:
        """The pid of every running process by name (``postgres``, ``worker-1``...)."""
        return {row.process: row.pid for row in self.status() if row.pid}

    def worker_pids(self) -> dict[str, int]:
        return {name: pid for name, pid in self.pids().items() if name.startswith("worker-")}

    # One launcher command at a time per state folder.
    @contextlib.contextmanager
    def _locked(self, timeout: float = 120.0) -> Iterator[None]:
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        run_dir = self.state_dir / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        handle = (run_dir / "launcher.lock").open("a")
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() > deadline:
                    handle.close()
                    msg = f"another omniflow command holds {run_dir}/launcher.lock"
                    raise StackError(msg) from exc
                time.sleep(0.1)
        self._lock_depth = 1
        try:
            yield
        finally:
            self._lock_depth = 0
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _shape(settings: LauncherSettings) -> dict[str, Any]:
    """The settings that decide what runs where (not, say, how long to wait)."""
    return settings.model_dump(exclude={"start_timeout"})


def _last_line(log: Path) -> str:
    with contextlib.suppress(OSError):
        with log.open("rb") as f:
            f.seek(max(0, log.stat().st_size - 4096))
            lines = [ln.strip() for ln in f.read().decode(errors="replace").splitlines()]
        lines = [ln for ln in lines if ln]
        if lines:
            return lines[-1][:200]
    return "no output"


def _death_reason(info: dict[str, Any], log: Path) -> str:
    """Why a process died, preferably in its own words (the last line it wrote)."""
    last = _last_line(log)
    if info.get("statename") == "FATAL":
        if last == "no output" and info.get("spawnerr"):
            return str(info["spawnerr"]).lower()
        return f"it keeps exiting: {last}"
    return f"exited with status {info.get('exitstatus')}: {last}"
