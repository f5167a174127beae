"""One private stack, brought up once, then examined, poked and restarted.

The tests run in file order: the last one takes the stack down and up again.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psutil
import psycopg
import pymongo
import pytest
import redis

from omniflow.launcher.ports import port_is_free

from .helpers import Env, discard, new_env, omniflow, stack_of

pytestmark = pytest.mark.timeout(180)
ALL = ["postgres", "redis", "mongo", "gateway", "relay", "worker-1", "worker-2"]


@dataclass
class Lab:
    env: Env
    first_up: subprocess.CompletedProcess[str]
    first_up_s: float


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    env = new_env(WORKERS="2")
    began = time.monotonic()
    first = omniflow(env, "up")
    try:
        yield Lab(env, first, time.monotonic() - began)
    finally:
        discard(env)


def _status(env: Env, exit_code: int = 0) -> dict[str, dict]:
    result = omniflow(env, "status", "--json")
    assert result.returncode == exit_code, result.stdout
    return {row["process"]: row for row in json.loads(result.stdout)}


def _wait(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_up_starts_every_service_and_prints_where_it_listens(lab: Lab) -> None:
    env, first = lab.env, lab.first_up
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    listed = [line.split()[0] for line in first.stdout.splitlines()[1:]]
    assert listed == ALL
    assert f"127.0.0.1:{env['OMNIFLOW_REDIS_PORT']}" in first.stdout
    assert "postgres ready in" in first.stderr
    print(f"first up took {lab.first_up_s:.1f}s")


def test_status_is_healthy_and_names_the_servers(lab: Lab) -> None:
    env = lab.env
    plain = omniflow(env, "status")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    rows = _status(env)
    assert list(rows) == ALL
    assert all(row["state"] == "RUNNING" and row["healthy"] for row in rows.values()), rows
    assert rows["postgres"]["server"].startswith("embedded postgres 18")
    assert rows["redis"]["server"].startswith("embedded valkey-server")
    assert rows["mongo"]["server"].startswith("embedded nx-27017")
    assert rows["redis"]["port"] == int(env["OMNIFLOW_REDIS_PORT"])


def test_second_up_changes_nothing(lab: Lab) -> None:
    env = lab.env
    before = stack_of(env).pids()
    again = omniflow(env, "up")
    assert again.returncode == 0, again.stderr
    assert "already up" in again.stderr
    assert stack_of(env).pids() == before


def test_env_names_the_running_stack(lab: Lab) -> None:
    env = lab.env
    result = omniflow(env, "env")
    assert result.returncode == 0
    exported = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in result.stdout.splitlines()
    )
    port = env["OMNIFLOW_POSTGRES_PORT"]
    assert exported["OMNIFLOW_DATABASE_URL"] == f"postgresql://omniflow@127.0.0.1:{port}/omniflow"
    assert exported["OMNIFLOW_REDIS_URL"] == f"redis://127.0.0.1:{env['OMNIFLOW_REDIS_PORT']}/0"
    assert exported["OMNIFLOW_MONGO_URL"] == f"mongodb://127.0.0.1:{env['OMNIFLOW_MONGO_PORT']}/"
    assert exported["OMNIFLOW_STATE_DIR"] == env["OMNIFLOW_STATE_DIR"]
    with psycopg.connect(exported["OMNIFLOW_DATABASE_URL"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("omniflow",)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()


def test_stop_and_start_redis_keeps_its_data(lab: Lab) -> None:
    env = lab.env
    client = redis.Redis(port=int(env["OMNIFLOW_REDIS_PORT"]), socket_timeout=2)
    client.set("launcher:probe", "kept")
    stopped = omniflow(env, "stop", "redis")
    assert stopped.returncode == 0, stopped.stderr
    assert _status(env, exit_code=1)["redis"]["state"] == "STOPPED"
    with pytest.raises(redis.ConnectionError):
        client.ping()
    started = omniflow(env, "start", "redis")
    assert started.returncode == 0, started.stderr
    assert client.get("launcher:probe") == b"kept"
    client.close()
    assert stack_of(env).healthy()


def test_each_worker_is_its_own_consumer_and_comes_back_after_a_kill(lab: Lab) -> None:
    env = lab.env
    stack = stack_of(env)
    pids = stack.worker_pids()
    assert sorted(pids) == ["worker-1", "worker-2"]
    for name, pid in pids.items():
        assert psutil.Process(pid).environ()["OMNIFLOW_WORKER_NAME"] == name

    os.kill(pids["worker-1"], signal.SIGKILL)  # supervisord restarts a crashed program
    _wait(lambda: stack.worker_pids().get("worker-1", pids["worker-1"]) != pids["worker-1"])
    _wait(lambda: stack.healthy())

    stack.stop("worker-2")
    rows = {row.process: row for row in stack.status()}
    assert rows["worker-2"].state == "STOPPED" and rows["worker-1"].state == "RUNNING"
    stack.start("worker-2")
    assert stack.healthy()


def test_logs_show_a_service_and_refuse_unknown_names(lab: Lab) -> None:
    env = lab.env
    result = omniflow(env, "logs", "redis", "-n", "50")
    assert result.returncode == 0
    assert "Ready to accept connections" in result.stdout
    unknown = omniflow(env, "logs", "nosuch")
    assert unknown.returncode == 1
    assert unknown.stderr.count("\n") == 1 and "no log named 'nosuch'" in unknown.stderr


def test_data_survives_down_and_up(lab: Lab) -> None:
    env = lab.env
    stack = stack_of(env)
    url = stack.env()["OMNIFLOW_DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS launcher_probe (note text)")
        conn.execute("INSERT INTO launcher_probe VALUES ('kept')")
    cache = redis.Redis(port=int(env["OMNIFLOW_REDIS_PORT"]), socket_timeout=2)
    cache.set("launcher:survivor", "kept")
    cache.close()
    mongo = pymongo.MongoClient(stack.env()["OMNIFLOW_MONGO_URL"])
    mongo.launcher.probe.insert_one({"note": "kept"})
    mongo.close()
    old_pids = set(stack.pids().values())

    down = omniflow(env, "down")
    assert down.returncode == 0, down.stderr
    assert not stack.is_running()
    assert not any(psutil.pid_exists(pid) for pid in old_pids)
    for key in ("POSTGRES", "REDIS", "MONGO", "GATEWAY"):
        assert port_is_free(int(env[f"OMNIFLOW_{key}_PORT"]))

    up = omniflow(env, "up")
    assert up.returncode == 0, up.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT note FROM launcher_probe").fetchall() == [("kept",)]
    cache = redis.Redis(port=int(env["OMNIFLOW_REDIS_PORT"]), socket_timeout=2)
    assert cache.get("launcher:survivor") == b"kept"
    cache.close()
    mongo = pymongo.MongoClient(stack.env()["OMNIFLOW_MONGO_URL"])
    assert mongo.launcher.probe.find_one({}, {"_id": 0}) == {"note": "kept"}
    mongo.close()
