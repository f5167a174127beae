"""supervisord does the process management; this module writes its config and talks to it.

supervisord runs as a daemon on a unix socket inside the state folder, so it outlives the
``omniflow`` command that started it, restarts a program that crashes, and captures every
program's output into a log file. ``supervisorctl -c STATE/supervisord.conf`` works too.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import http.client
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

import psutil

import omniflow
from omniflow.launcher.config import LauncherSettings
from omniflow.launcher.errors import StackError
from omniflow.launcher.services import Service

RPC_ERRORS = (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError, http.client.HTTPException)
_SOCKET_PATH_MAX = 100
LOG_MAX_BYTES = "10MB"
LOG_BACKUPS = 3
_SPAWNED = re.compile(r"^(\S+ \S+) INFO spawned: '([^']+)' with pid (\d+)")


def _esc(text: str) -> str:
    """supervisord expands ``%(name)s`` in its config, so a literal ``%`` must be doubled."""
    return text.replace("%", "%%")


def _command(args: tuple[str, ...] | list[str]) -> str:
    return _esc(shlex.join(args))


def _environment(env: dict[str, str]) -> str:
    """``KEY="value",...``: supervisord strips the quotes and knows no escapes inside them."""
    pairs = []
    for key, value in env.items():
        quote = '"' if '"' not in value else "'"
        if quote in value:
            raise StackError(f"{key} holds both kinds of quotes, which supervisord cannot pass on")
        pairs.append(f"{key}={quote}{value}{quote}")
    return ",".join(pairs)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    """XML-RPC over a unix socket, with a timeout so a stuck supervisord cannot hang us."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__()
        self._path, self._timeout = path, timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        self.close()
        conn = _UnixConnection(self._path, self._timeout)
        self._connection = (host, conn)
        return conn


class Supervisor:
    """One supervisord, identified by its state folder."""

    def __init__(self, settings: LauncherSettings) -> None:
        self.settings = settings
        self.conf_path = settings.state_dir / "supervisord.conf"
        self.pid_path = settings.run_dir / "supervisord.pid"
        self.log_path = settings.logs_dir / "supervisord.log"
        socket_path = settings.run_dir / "supervisor.sock"
        if len(str(socket_path)) > _SOCKET_PATH_MAX:  # a unix socket path has a size limit
            digest = hashlib.sha1(str(settings.state_dir).encode()).hexdigest()[:12]
            socket_path = Path(tempfile.gettempdir()) / f"omniflow-{digest}.sock"
        self.socket_path = socket_path

    # The config file.
    def render(self, services: list[Service]) -> str:
        s = self.settings
        package_parent = str(Path(omniflow.__file__).resolve().parent.parent)
        pythonpath = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)
        env = {**s.service_env(), "PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath}
        lines = [
            "; Written by `omniflow up`; edits are overwritten when the stack starts again.",
            "[unix_http_server]",
            f"file={_esc(str(self.socket_path))}",
            "chmod=0700",
            "",
            "[supervisord]",
            f"logfile={_esc(str(self.log_path))}",
            "logfile_maxbytes=5MB",
            "logfile_backups=2",
            f"pidfile={_esc(str(self.pid_path))}",
            f"directory={_esc(str(s.state_dir))}",
            f"childlogdir={_esc(str(s.logs_dir))}",
            "identifier=omniflow",
            f"environment={_esc(_environment(env))}",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{_esc(str(self.socket_path))}",
        ]
        for service in services:
            lines += ["", *self._program(service)]
        return "\n".join(lines) + "\n"

    def _program(self, service: Service) -> list[str]:
        s = self.settings
        many = service.process_names != [service.name]
        name = "%(program_name)s-%(process_num)d" if many else _esc(service.name)
        log = f"{_esc(str(s.logs_dir))}/{name}.log"
        lines = [
            f"[program:{service.name}]",
            f"command={_command(service.command)}",
            f"directory={_esc(str(s.state_dir))}",
            "autostart=false",  # the launcher starts programs in order, each once healthy
            "autorestart=true",
            "startsecs=1",
            "startretries=3",
            f"stopsignal={service.stopsignal}",
            f"stopwaitsecs={service.stopwaitsecs}",
            "stopasgroup=false",  # the main process shuts its own children down gracefully
            "killasgroup=true",
            f"priority={service.priority}",  # supervisord stops higher numbers first
            "redirect_stderr=true",
            f"stdout_logfile={log}",
            f"stdout_logfile_maxbytes={LOG_MAX_BYTES}",
            f"stdout_logfile_backups={LOG_BACKUPS}",
        ]
        if many:
            lines += [
                f"process_name={name}",
                f"numprocs={service.numprocs}",
                "numprocs_start=1",
            ]
        if service.user:
            lines.append(f"user={service.user}")
        if service.environment:
            # Only our own placeholders are left unescaped here.
            lines.append(f"environment={_environment(service.environment)}")
        return lines

    def write_conf(self, services: list[Service]) -> None:
        self.settings.run_dir.mkdir(parents=True, exist_ok=True)
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.render(services))

    # The daemon.
    def call(self, method: str, *args: Any, timeout: float = 10.0) -> Any:
        """One XML-RPC call, e.g. ``call("supervisor.getState")``, on a fresh connection."""
        transport = _UnixTransport(str(self.socket_path), timeout)
        try:
            proxy = xmlrpc.client.ServerProxy("http://localhost", transport=transport)
            return getattr(proxy, method)(*args)
        finally:
            transport.close()

    def alive(self) -> bool:
        """True when supervisord answers on our socket."""
        if not self.socket_path.exists():
            return False
        try:
            return self.call("supervisor.getState", timeout=3)["statename"] == "RUNNING"
        except RPC_ERRORS:
            return False

    def daemon_pid(self) -> int | None:
        """The pid of our supervisord if it runs (a stale pid file may name another program)."""
        with contextlib.suppress(OSError, ValueError, psutil.Error):
            pid = int(self.pid_path.read_text().strip())
            if _running(pid) and "supervisord" in " ".join(psutil.Process(pid).cmdline()):
                return pid
        return None

    def start_daemon(self, timeout: float = 15.0) -> None:
        """Starts supervisord in the background and waits until it answers."""
        if (pid := self.daemon_pid()) and not self.alive():
            raise StackError(
                f"supervisord (pid {pid}) runs but does not answer on {self.socket_path}; "
                f"stop it with `kill {pid}`",
                log=self.log_path,
            )
        command = [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf_path)]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False,
                stdin=subprocess.DEVNULL, cwd=self.settings.state_dir,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            msg = "supervisord did not start in time"
            raise StackError(msg, log=self.log_path) from exc
        if done.returncode != 0:
            lines = (done.stderr + done.stdout).strip().splitlines() or ["no output"]
            reason = next((ln for ln in lines if ln.startswith("Error:")), lines[0])[:300]
            raise StackError(f"supervisord failed to start: {reason}", log=self.log_path)
        deadline = time.monotonic() + timeout
        while not self.alive():
            if time.monotonic() > deadline:
                raise StackError("supervisord did not answer in time", log=self.log_path)
            time.sleep(0.05)

    def shutdown(self, timeout: float = 60.0) -> bool:
        """Stops every program, then supervisord itself. False when nothing was running."""
        pid = self.daemon_pid()
        if self.alive():
            with contextlib.suppress(*RPC_ERRORS):
                self.call("supervisor.shutdown")
        elif pid:  # still starting up: SIGTERM makes it stop its programs and exit just the same
            os.kill(pid, signal.SIGTERM)
        else:
            return False
        deadline = time.monotonic() + timeout
        while pid and _running(pid):
            if time.monotonic() > deadline:
                raise StackError(f"supervisord (pid {pid}) did not stop in time", log=self.log_path)
            time.sleep(0.1)
        return True

    def leftovers(self) -> dict[str, psutil.Process]:
        """Programs this supervisord started that outlived it (say, it was killed).

        supervisord logs the pid of every program it spawns; a pid counts only if that process
        was created when the log says, so a reused pid never names a stranger.
        """
        spawned: dict[str, tuple[int, float]] = {}
        for path in (*(Path(f"{self.log_path}.{n}") for n in (2, 1)), self.log_path):
            with contextlib.suppress(OSError):
                for line in path.read_text(errors="replace").splitlines():
                    if match := _SPAWNED.match(line):
                        when = datetime.datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")
                        spawned[match[2]] = (int(match[3]), when.timestamp())
        found = {}
        for name, (pid, when) in spawned.items():
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                if abs(proc.create_time() - when) < 5 and _running(pid):
                    found[name] = proc
        return found

    # Programs.
    def infos(self) -> dict[str, dict[str, Any]]:
        """supervisord's view of every process, keyed by process name (``worker-1``)."""
        return {info["name"]: info for info in self.call("supervisor.getAllProcessInfo")}

    def start(self, rpc_name: str) -> None:
        try:
            self.call("supervisor.startProcess", rpc_name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise

    def stop(self, rpc_name: str) -> None:
        try:
            self.call("supervisor.stopProcess", rpc_name, False)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
