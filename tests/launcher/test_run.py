"""``omniflow run --isolated``: a private stack around one command, always stopped afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omniflow.launcher import Stack
from omniflow.launcher.ports import port_is_free

from .helpers import omniflow

pytestmark = pytest.mark.timeout(150)

# Runs inside the isolated stack: reports what it sees, through the launcher's own API too.
PROBE = """
import json, os, redis
from omniflow.launcher import Stack
stack = Stack.from_env()
env = {k: v for k, v in os.environ.items() if k.startswith("OMNIFLOW_")}
redis.Redis.from_url(env["OMNIFLOW_REDIS_URL"]).set("seen", "yes")
print(json.dumps({"env": env, "healthy": stack.healthy(), "pids": stack.pids()}))
"""


def _isolated_env(**settings: str) -> dict[str, str]:
    """The caller's environment, as if a lab stack ran on the default ports in this shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFLOW_")}
    env.update({f"OMNIFLOW_{k.upper()}": v for k, v in settings.items()})
    from .helpers import app_commands

    env.update(app_commands())
    return env


def test_run_isolated_exports_the_stack_and_stops_it() -> None:
    result = omniflow(_isolated_env(WORKERS="1"), "run", "--isolated", "--", sys.executable,
                      "-c", PROBE)  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    env = seen["env"]
    assert seen["healthy"] is True
    assert set(seen["pids"]) == {"postgres", "redis", "mongo", "gateway", "relay", "worker-1"}
    for key in ("DATABASE_URL", "REDIS_URL", "MONGO_URL", "GATEWAY_URL", "STATE_DIR"):
        assert f"OMNIFLOW_{key}" in env
    default_ports = {"55432", "56379", "57017", "8000"}
    ports = {env[f"OMNIFLOW_{k}_PORT"] for k in ("POSTGRES", "REDIS", "MONGO", "GATEWAY")}
    assert not ports & default_ports
    # Afterwards: no process left, no port held, the temporary folder gone.
    assert not any(_alive(pid) for pid in seen["pids"].values())
    assert all(port_is_free(int(port)) for port in ports)
    assert not Path(env["OMNIFLOW_STATE_DIR"]).exists()


def test_run_isolated_passes_on_the_exit_code_and_still_stops() -> None:
    script = "import os; print(os.environ['OMNIFLOW_STATE_DIR']); raise SystemExit(3)"
    result = omniflow(_isolated_env(SERVICES="redis"), "run", "--isolated", "--",
                      sys.executable, "-c", script)  # fmt: skip
    assert result.returncode == 3
    state = Path(result.stdout.strip().splitlines()[-1])
    assert not Stack.from_env(state_dir=state).is_running()
    assert (state / "logs" / "redis.log").exists()  # a failed run keeps its logs to read
    assert not (state / "redis").exists()
    assert "logs of this run kept in" in result.stderr
    subprocess.run(["rm", "-rf", str(state)], check=True)


def test_sigterm_stops_the_command_and_the_stack(tmp_path: Path) -> None:
    marker = tmp_path / "state"
    script = (
        "import os, sys, time; open(sys.argv[1], 'w').write(os.environ['OMNIFLOW_STATE_DIR']);"
        " time.sleep(120)"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-m", "omniflow.launcher", "run", "--isolated", "--",
         sys.executable, "-c", script, str(marker)],
        env=_isolated_env(SERVICES="redis"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (marker.exists() and marker.read_text()):
            assert launcher.poll() is None, launcher.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        launcher.send_signal(signal.SIGTERM)
        _, stderr = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 128 + signal.SIGTERM, stderr
    state = Path(marker.read_text())
    assert not Stack.from_env(state_dir=state).is_running()
    subprocess.run(["rm", "-rf", str(state)], check=True)


def test_a_missing_command_fails_before_starting_anything() -> None:
    result = omniflow(_isolated_env(), "run", "--isolated", "--", "no-such-program-here")
    assert result.returncode == 1
    assert result.stderr.strip() == "omniflow: cannot run no-such-program-here: command not found"


def test_isolated_stack_as_a_context_manager() -> None:
    with Stack.isolated(services="redis") as stack:
        assert stack.healthy()
        state = stack.state_dir
        assert stack.env()["OMNIFLOW_STATE_DIR"] == str(state)
    assert not state.exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
