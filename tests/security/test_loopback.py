"""Every server of the embedded stack listens on 127.0.0.1 only, nothing on a public address.

The listening sockets are read from the stack's own processes (and their children) with
psutil, so a server that binds a second address, or a worker that opens a debug port, is caught.
"""

from __future__ import annotations

import contextlib
import stat

import psutil
import pytest

from omniflow.launcher import Stack

LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def stack() -> Stack:
    running = Stack.from_env()
    if not running.is_running():
        pytest.skip("needs a stack started by the launcher (omniflow run --isolated)")
    return running


def listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP or UDP socket of ``pid`` and its children."""
    found = []
    root = psutil.Process(pid)
    for proc in (root, *root.children(recursive=True)):
        with contextlib.suppress(psutil.NoSuchProcess):
            for conn in proc.net_connections(kind="inet"):
                bound = conn.status == psutil.CONN_LISTEN or conn.type == 2  # 2: SOCK_DGRAM
                if bound and conn.laddr:
                    found.append((conn.laddr.ip, conn.laddr.port))
    return found


def test_every_process_of_the_stack_listens_on_loopback_only(stack: Stack) -> None:
    rows = [row for row in stack.status() if row.pid]
    assert {row.service for row in rows} >= {"postgres", "redis", "mongo", "gateway"}
    exposed = {}
    for row in rows:
        addresses = listening(row.pid)
        if row.port is not None:
            assert (LOOPBACK, row.port) in addresses, (row.process, addresses)
        public = [a for a in addresses if a[0] != LOOPBACK]
        if public:
            exposed[row.process] = public
    assert not exposed, f"listening beyond {LOOPBACK}: {exposed}"


def test_supervisord_listens_on_a_private_unix_socket_only(stack: Stack) -> None:
    pid = stack.supervisor.daemon_pid()
    assert pid
    daemon = psutil.Process(pid)
    assert not [c for c in daemon.net_connections(kind="inet")
                if c.status == psutil.CONN_LISTEN]
    mode = stat.S_IMODE(stack.supervisor.socket_path.stat().st_mode)
    assert mode & 0o077 == 0, f"supervisord's control socket is open to others: {oct(mode)}"
