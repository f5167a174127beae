"""Private stacks for the launcher tests: a temporary folder, free ports, the real command.

Each test names its own state folder and ports, so these tests never touch the default stack
(nor the stack that ``omniflow run --isolated`` may have started around the test run).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from omniflow.launcher import Stack
from omniflow.launcher.ports import free_ports

STANDIN = Path(__file__).with_name("standin.py")
Env = dict[str, str]


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def app_commands() -> Env:
    """Stand-ins for the gateway, relay and worker whose ``python -m`` entry point is missing."""
    env = {}
    for name, mode in (("gateway", "gateway"), ("relay", "idle"), ("worker", "idle")):
        if not has_module(f"omniflow.{name}.__main__"):
            env[f"OMNIFLOW_{name.upper()}_COMMAND"] = f"{sys.executable} {STANDIN} {mode}"
    return env


def omniflow(env: Env, *args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    """Runs the ``omniflow`` command as a person would, in a given environment."""
    return subprocess.run(
        [sys.executable, "-m", "omniflow.launcher", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def stack_of(env: Env) -> Stack:
    return Stack.from_env(state_dir=env["OMNIFLOW_STATE_DIR"])


def new_env(**settings: str) -> Env:
    """The environment of a new private stack: its own folder, free ports, given settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFLOW_")}
    postgres, redis, mongo, gateway = free_ports(4)
    env.update(
        OMNIFLOW_STATE_DIR=tempfile.mkdtemp(prefix="omniflow-test-"),
        OMNIFLOW_POSTGRES_PORT=str(postgres),
        OMNIFLOW_REDIS_PORT=str(redis),
        OMNIFLOW_MONGO_PORT=str(mongo),
        OMNIFLOW_GATEWAY_PORT=str(gateway),
        OMNIFLOW_START_TIMEOUT="60",
        **app_commands(),
    )
    env.update({f"OMNIFLOW_{key.upper()}": value for key, value in settings.items()})
    return env


def discard(env: Env) -> None:
    """Stops the stack of ``env`` if it runs and deletes its folder."""
    stack_of(env).down()
    shutil.rmtree(env["OMNIFLOW_STATE_DIR"], ignore_errors=True)
