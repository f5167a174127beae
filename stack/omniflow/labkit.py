"""Small helpers the lesson notebooks share, so each notebook can stay about its own idea.

A notebook starts with ``labkit.check_stack()``, which says clearly what to do when the stack is
not up. It then usually works as a fresh learner::

    from omniflow import labkit

    labkit.check_stack()
    me = labkit.new_learner()
    report = me.submit("user_activity", days=7, top=5)
    done = me.wait_for_status(report["id"], "DONE")

Every connection comes from the ``OMNIFLOW_*`` variables (``omniflow.settings``), so the same
notebook runs against ``make lab``, an isolated test stack, or docker compose. The clients here
are the synchronous ones (httpx, redis, pymongo, psycopg): a notebook cell reads top to bottom.
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pymongo
import redis as redis_lib
from psycopg.rows import dict_row
from pymongo.database import Database

from omniflow import signals
from omniflow.settings import Settings

FINISHED = ("DONE", "FAILED", "CANCELLED")
PROBE_TIMEOUT_S = 2.0
NOT_UP_HINT = (
    "The stack is not up: run `make lab` in a terminal in the project folder (or "
    "`.venv/bin/omniflow up`), wait until it has said each service is ready (`make lab` then "
    "prints the JupyterLab address), then run this cell again."
)


class StackNotUp(RuntimeError):
    """The stack (or part of it) does not answer; the message says what to do.

    In a notebook it shows as that message alone, without a traceback.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31m{line}\x1b[0m" for line in str(self).splitlines()]


def settings() -> Settings:
    """Reads the ``OMNIFLOW_*`` variables now (defaults: the stack ``make lab`` starts)."""
    return Settings()


# ---------------------------------------------------------------------------------------------
# Is the stack up?


@dataclass(frozen=True)
class Check:
    """One part of the stack and whether it answered."""

    part: str
    ok: bool
    detail: str


def probe_stack(cfg: Settings | None = None) -> list[Check]:
    """Asks each part of the stack a real question, with a short deadline each."""
    cfg = cfg or settings()
    checks = [
        Check("postgres", *_attempt(lambda: _postgres_ok(cfg))),
        Check("redis", *_attempt(lambda: _redis_ok(cfg))),
        Check("mongo", *_attempt(lambda: _mongo_ok(cfg))),
        Check("gateway", *_attempt(lambda: _gateway_ok(cfg))),
    ]
    redis_up = checks[1].ok
    if redis_up:
        checks.append(Check("workers", *_attempt(lambda: _workers_ok(cfg))))
    else:
        checks.append(Check("workers", False, "unknown: redis does not answer"))
    return checks


def check_stack(*, need: Iterable[str] | None = None, quiet: bool = False,
                wait_s: float = 20.0) -> None:
    """Prints one line per part of the stack; raises ``StackNotUp`` if a needed part is down.

    ``need`` names the parts a lesson uses (default: all of them). A part that is down is
    probed again for up to ``wait_s`` seconds, since a store that has just restarted takes a
    moment to be seen again by the gateway. The printed lines hold no ports, pids or counts, so
    they are the same on every machine.
    """
    deadline = time.monotonic() + wait_s
    while True:
        checks = probe_stack()
        wanted = set(need) if need is not None else {c.part for c in checks}
        missing = [c for c in checks if c.part in wanted and not c.ok]
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    if not quiet:
        for check in checks:
            if check.part not in wanted:
                continue
            print(f"{check.part:<9}{'ok' if check.ok else 'DOWN: ' + check.detail}")
    if missing:
        names = ", ".join(c.part for c in missing)
        raise StackNotUp(f"{NOT_UP_HINT}\n(not answering: {names})")
    if not quiet:
        print("The stack is up.")


def _attempt(probe: Any) -> tuple[bool, str]:
    try:
        detail = probe()
    except Exception as exc:  # any failure means "not up"; show its first line only
        text = str(exc).strip().splitlines()
        return False, (text[0] if text else type(exc).__name__)[:120]
    return True, detail or "ok"


def _postgres_ok(cfg: Settings) -> str:
    with psycopg.connect(cfg.database_url, connect_timeout=int(PROBE_TIMEOUT_S)) as conn:
        conn.execute("SELECT 1").fetchone()
    return "ok"


def _redis_ok(cfg: Settings) -> str:
    client = redis_lib.Redis.from_url(cfg.redis_url, socket_timeout=PROBE_TIMEOUT_S,
                                      socket_connect_timeout=PROBE_TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _mongo_ok(cfg: Settings) -> str:
    client = mongo_client(cfg, timeout_s=PROBE_TIMEOUT_S)
    try:
        client.admin.command("ping")
    finally:
        client.close()
    return "ok"


def _gateway_ok(cfg: Settings) -> str:
    reply = httpx.get(f"{cfg.gateway_url}/health/ready", timeout=PROBE_TIMEOUT_S)
    if reply.status_code != 200:
        down = [name for name, c in reply.json().get("checks", {}).items()
                if c.get("status") != "ok"]
        raise RuntimeError(f"/health/ready says {', '.join(down) or reply.status_code} is down")
    return "ok"


def _workers_ok(cfg: Settings) -> str:
    alive = live_workers(cfg)
    if not alive:
        raise RuntimeError("no worker has sent a heartbeat recently")
    return "ok"


def live_workers(cfg: Settings | None = None, *, max_age_s: float = 10.0) -> list[str]:
    """The names of the workers whose heartbeat in Redis is recent, sorted."""
    cfg = cfg or settings()
    client = redis(cfg)
    try:
        now = time.time()
        names = sorted(client.smembers(signals.WORKERS_KEY))
        alive = []
        for name in names:
            beat = client.hget(signals.worker_key(name), "heartbeat_ts")
            if beat is not None and now - float(beat) <= max_age_s:
                alive.append(name)
        return alive
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------
# Talking to the gateway as a learner (or as the admin).


class ApiError(RuntimeError):
    """The gateway answered with an error; ``problem`` is its RFC 9457 body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status}: {problem.get('detail') or problem}")


class Learner:
    """A logged-in user of the gateway: an httpx client with their bearer token.

    Note that ``email`` and ``user_id`` differ on every run; print them only in cells marked
    ``# NBVAL_IGNORE_OUTPUT``.
    """

    def __init__(self, email: str, token: str, cfg: Settings) -> None:
        self.email = email
        self.settings = cfg
        self.http = httpx.Client(
            base_url=cfg.gateway_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10.0,
        )
        self.user_id: int = self.get("/auth/me")["id"]

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Sends a request as this user and returns the raw response (errors included)."""
        return self.http.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return _json_or_raise(self.request("GET", path, **kwargs))

    def post(self, path: str, **kwargs: Any) -> Any:
        return _json_or_raise(self.request("POST", path, **kwargs))

    def submit(self, report_type: str, *, idempotency_key: str | None = None,
               **params: Any) -> dict[str, Any]:
        """Submits a report request; returns the report (``PENDING``) as the gateway saved it."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.post("/reports", json={"type": report_type, "params": params},
                         headers=headers)

    def report(self, report_id: str) -> dict[str, Any]:
        return self.get(f"/reports/{report_id}")

    def reports(self, **filters: Any) -> list[dict[str, Any]]:
        """This user's reports, newest first (every page)."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**filters, "limit": 100, **({"cursor": cursor} if cursor else {})}
            page = self.get("/reports", params=query)
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return items

    def wait_for_status(self, report_id: str, statuses: str | Sequence[str] = FINISHED,
                        timeout: float = 30.0) -> dict[str, Any]:
        """Polls the report until its status is one of ``statuses``; returns the report."""
        return wait_for_status(self, report_id, statuses, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Learner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def new_learner(prefix: str = "learner", cfg: Settings | None = None) -> Learner:
    """Signs up a brand-new learner with a random email and password, and logs in."""
    cfg = cfg or settings()
    email = f"{prefix}-{uuid.uuid4().hex[:12]}@lab.example.org"
    password = secrets.token_urlsafe(18)
    with httpx.Client(base_url=cfg.gateway_url, timeout=10.0) as http:
        _json_or_raise(http.post("/auth/signup", json={"email": email, "password": password}))
        token = login(http, email, password)
    return Learner(email, token, cfg)


def admin(cfg: Settings | None = None) -> Learner:
    """The configured administrator (``OMNIFLOW_ADMIN_EMAIL`` / ``OMNIFLOW_ADMIN_PASSWORD``)."""
    cfg = cfg or settings()
    email = cfg.admin_email
    with httpx.Client(base_url=cfg.gateway_url, timeout=10.0) as http:
        token = login(http, email, cfg.admin_password.get_secret_value())
    return Learner(email, token, cfg)


def login(http: httpx.Client, email: str, password: str) -> str:
    """Exchanges an email and password for a bearer token."""
    body = _json_or_raise(http.post("/auth/login", json={"email": email, "password": password}))
    return body["access_token"]


def wait_for_status(user: Learner, report_id: str, statuses: str | Sequence[str] = FINISHED,
                    *, timeout: float = 30.0, poll_s: float = 0.1) -> dict[str, Any]:
    """Polls ``GET /reports/{id}`` until the status is one of ``statuses``.

    Raises ``TimeoutError`` naming the last status seen, so a stuck report is obvious.
    """
    wanted = {statuses} if isinstance(statuses, str) else set(statuses)
    deadline = time.monotonic() + timeout
    while True:
        report = user.report(report_id)
        if report["status"] in wanted:
            return report
        if time.monotonic() > deadline:
            raise TimeoutError(f"report still {report['status']} after {timeout:.0f} s "
                               f"(waiting for {' or '.join(sorted(wanted))})")
        time.sleep(poll_s)


def wait_until(condition: Any, *, timeout: float = 30.0, poll_s: float = 0.1,
               what: str = "the condition") -> Any:
    """Calls ``condition()`` until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(poll_s)


def _json_or_raise(reply: httpx.Response) -> Any:
    if reply.status_code >= 400:
        try:
            problem = reply.json()
        except ValueError:
            problem = {"detail": reply.text[:200]}
        raise ApiError(reply.status_code, problem)
    if reply.status_code == 204 or not reply.content:
        return None
    return reply.json()


# ---------------------------------------------------------------------------------------------
# Direct connections to the stores (the same URLs the services use).


def redis(cfg: Settings | None = None) -> redis_lib.Redis:
    """A Redis client that returns text, not bytes."""
    cfg = cfg or settings()
    return redis_lib.Redis.from_url(cfg.redis_url, decode_responses=True,
                                    socket_connect_timeout=PROBE_TIMEOUT_S)


def mongo_client(cfg: Settings | None = None, *, timeout_s: float = 5.0) -> pymongo.MongoClient:
    cfg = cfg or settings()
    ms = int(timeout_s * 1000)
    with warnings.catch_warnings():
        # The driver warns when the server is not a genuine MongoDB build (the embedded one).
        warnings.simplefilter("ignore")
        return pymongo.MongoClient(cfg.mongo_url, serverSelectionTimeoutMS=ms,
                                   connectTimeoutMS=ms, tz_aware=True)


def mongo(cfg: Settings | None = None) -> Database:
    """The log store's database (``executions`` and ``events``)."""
    cfg = cfg or settings()
    return mongo_client(cfg)[cfg.mongo_db]


def postgres(cfg: Settings | None = None) -> psycopg.Connection:
    """A PostgreSQL connection in autocommit mode whose rows are dicts."""
    cfg = cfg or settings()
    return psycopg.connect(cfg.database_url, autocommit=True,
                           row_factory=dict_row)


# ---------------------------------------------------------------------------------------------
# The launcher (embedded stack only): stopping and starting processes for the fault lessons.


def stack() -> Any:
    """The running embedded stack as a launcher ``Stack``; ``StackNotUp`` under compose.

    The fault lessons use it to stop a worker or Redis and start them again.
    """
    from omniflow.launcher import Stack

    running = Stack.from_env()
    if not running.is_running():
        raise StackNotUp(
            "These steps stop and start processes through the `omniflow` launcher, which runs "
            "the embedded stack (`make lab`). Under docker compose, use `docker compose stop "
            "worker` and `docker compose start worker` in a terminal instead."
        )
    return running


def restore_stack() -> list[str]:
    """Stops the lab's own workers, then starts every supervised process that is not running.

    Returns the processes it had to start. The fault lessons call it in their cleanup cell.
    """
    stop_lab_workers()
    running = stack()
    idle = [row for row in running.status() if row.state != "RUNNING"]
    for service in dict.fromkeys(row.service for row in idle):
        running.start(service)  # starts the service's idle processes together
    started = [row.process for row in idle]
    workers = {row.process for row in running.status() if row.service == "worker"}
    wait_until(lambda: workers <= set(live_workers()), timeout=30,
               what="a heartbeat from every worker")
    return started


@dataclass
class LabWorker:
    """A worker process this notebook started itself (beside the supervised ones)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, no warning, to the worker and its CPU pool: a crash, an OOM kill."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: the worker finishes or hands back its jobs, then exits."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()


_lab_workers: dict[str, LabWorker] = {}


def start_lab_worker(name: str, *, wait: bool = True, **overrides: Any) -> LabWorker:
    """Starts ``python -m omniflow.worker`` as consumer ``name``, with settings overridden.

    ``start_lab_worker("lab-a", claim_idle_ms=2000)`` runs a worker whose
    ``OMNIFLOW_CLAIM_IDLE_MS`` is 2000. Its output goes to ``logs/<name>.log`` in the stack's
    state folder. With ``wait``, returns once the worker's first heartbeat is in Redis.
    """
    running = stack()
    if name in _lab_workers and _lab_workers[name].alive():
        raise RuntimeError(f"a lab worker named {name} is already running")
    env = {**os.environ, **running.env(), "OMNIFLOW_WORKER_NAME": name,
           **{f"OMNIFLOW_{key.upper()}": str(value) for key, value in overrides.items()}}
    log = running.log_path(name)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "omniflow.worker"], env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    worker = LabWorker(name, process, log)
    _lab_workers[name] = worker
    if wait:
        try:
            wait_until(lambda: not worker.alive() or name in live_workers(max_age_s=5),
                       timeout=30, what=f"the first heartbeat of {name}")
        except TimeoutError:
            worker.kill()
            raise
        if not worker.alive():
            raise RuntimeError(f"lab worker {name} exited; see {log}")
    return worker


def stop_lab_workers() -> None:
    """Stops every worker this process started with ``start_lab_worker``."""
    workers = list(_lab_workers.values())
    for worker in workers:
        if worker.alive():
            worker.process.terminate()
    for worker in workers:
        worker.stop()
    _lab_workers.clear()


atexit.register(stop_lab_workers)


# ---------------------------------------------------------------------------------------------
# Small display helpers.


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> None:
    """Prints ``rows`` as an aligned plain-text table (plain text keeps notebooks small)."""
    rows = list(rows)
    if not rows:
        print("(no rows)")
        return
    columns = list(columns or rows[0].keys())
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    print("  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def show_problem(reply: httpx.Response) -> None:
    """Prints an error response's status, title, detail and each bad field (not its trace id)."""
    try:
        problem = reply.json()
    except ValueError:
        print(reply.status_code, reply.text[:200])
        return
    print(f"{reply.status_code} {problem.get('title', '')}: {problem.get('detail', '')}")
    for error in problem.get("errors") or []:
        print(f"  {error['field']}: {error['reason']}")


def unique_name(prefix: str) -> str:
    """A name no other run uses, e.g. for a sandbox stream: ``lab:broker:3f9a1c2b``."""
    return f"{prefix}:{uuid.uuid4().hex[:8]}"


def passed(message: str = "Correct!") -> None:
    """What a "check your answer" cell prints once its asserts pass."""
    print(f"\u2714 {message}")


class NotAnswered(AssertionError):
    """A check ran before the answer cell it checks: say so, instead of a bare NameError."""


def answered(*names: str) -> None:
    """The first line of a "check your answer" cell: are the answer's ``names`` defined yet?

    A learner who clears the pre-filled answer and runs the check would otherwise meet a
    ``NameError`` that does not say what to do. The names are looked up where the calling cell
    runs (the notebook's namespace).
    """
    frame = inspect.currentframe()
    space = frame.f_back.f_globals if frame and frame.f_back else {}
    missing = [name for name in names if name not in space]
    if missing:
        listed = ", ".join(f"`{name}`" for name in missing)
        raise NotAnswered(f"{listed} not defined yet: write your answer in the \u270f\ufe0f YOUR "
                          f"ANSWER cell above and run it, then run this check again")
