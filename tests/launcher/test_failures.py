"""What a person sees when the stack cannot start: one line, exit code 1, nothing left behind."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sys
import time

import psutil
import pytest

from omniflow.launcher.binaries import postgres_bin_dir
from omniflow.launcher.errors import StackError
from omniflow.launcher.ports import port_is_free

from .helpers import Env, omniflow, stack_of

pytestmark = pytest.mark.timeout(120)


def _one_line(stderr: str) -> str:
    """The last stderr line, after checking it is the only ``omniflow:`` line and no traceback."""
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("omniflow:")]
    assert len(errors) == 1, stderr
    return errors[0]


def _nothing_runs(env: Env) -> None:
    assert not stack_of(env).is_running()
    for key in ("POSTGRES", "REDIS", "MONGO", "GATEWAY"):
        assert port_is_free(int(env[f"OMNIFLOW_{key}_PORT"])), key


def test_a_busy_port_is_named_before_anything_starts(make_env) -> None:
    env = make_env()
    port = int(env["OMNIFLOW_REDIS_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = omniflow(env, "up")
        assert result.returncode == 1
        line = _one_line(result.stderr)
        assert re.fullmatch(
            rf"omniflow: redis failed to start: port {port} is already in use by another "
            rf"process( \(pid {os.getpid()} [^)]+\))? \(log: .+/logs/redis\.log\)",
            line,
        ), line
        assert not stack_of(env).is_running()
    _nothing_runs(env)


def test_a_missing_system_binary_is_one_line(make_env) -> None:
    env = make_env(MONGO_SERVER="system")
    env["PATH"] = os.path.dirname(sys.executable)  # no mongod on this PATH
    result = omniflow(env, "up")
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert "mongo failed to start" in line and "`mongod` is not on PATH" in line
    _nothing_runs(env)


def test_a_service_that_dies_at_start_is_reported_and_the_stack_stopped(make_env) -> None:
    crash = "import sys; print('gateway: cannot read its settings'); sys.exit(2)"
    env = make_env(SERVICES="redis,gateway", GATEWAY_COMMAND=f'{sys.executable} -c "{crash}"')
    result = omniflow(env, "up")
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert line.startswith("omniflow: gateway failed to start: ")
    assert "cannot read its settings" in line and line.endswith("/logs/gateway.log)")
    assert "stopped the partly started stack again" in result.stderr
    _nothing_runs(env)


def test_down_and_status_when_nothing_runs(make_env) -> None:
    env = make_env()
    down = omniflow(env, "down")
    assert down.returncode == 0 and "nothing runs" in down.stderr
    status = omniflow(env, "status")
    assert status.returncode == 1 and "not running" in status.stderr
    stop = omniflow(env, "stop", "redis")
    assert stop.returncode == 1
    assert "is not running; start it with `omniflow up`" in _one_line(stop.stderr)


def test_system_postgres_runs_and_status_says_so(make_env) -> None:
    try:
        postgres_bin_dir("system")
    except StackError:
        pytest.skip("no PostgreSQL server installed on this machine")
    env = make_env(POSTGRES_SERVER="system", SERVICES="postgres")
    result = omniflow(env, "up")
    assert result.returncode == 0, result.stderr
    (row,) = stack_of(env).status()
    assert row.kind == "system" and row.server.startswith("system postgres ") and row.healthy


def test_down_stops_programs_that_outlived_a_killed_supervisord(make_env) -> None:
    env = make_env(SERVICES="redis,mongo")
    assert omniflow(env, "up").returncode == 0
    stack = stack_of(env)
    pids = stack.pids()
    daemon = stack.supervisor.daemon_pid()
    assert daemon
    os.kill(daemon, signal.SIGKILL)
    _wait_gone(daemon)
    assert not stack.is_running()

    down = omniflow(env, "down")
    assert down.returncode == 0, down.stderr
    assert "outlived this stack's supervisord" in down.stderr
    for pid in pids.values():
        _wait_gone(pid, timeout=1)
    _nothing_runs(env)


def _wait_gone(pid: int, timeout: float = 10) -> None:
    """Waits until ``pid`` has exited (a zombie nobody reaped counts as exited)."""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(psutil.NoSuchProcess):
        while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, f"pid {pid} still runs"
            time.sleep(0.05)
