"""Port checks: a busy port is reported before anything starts, with who holds it if we can tell."""

from __future__ import annotations

import contextlib
import socket

import psutil

from omniflow.launcher.config import HOST


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when a server could bind ``host:port`` now (the way servers bind, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_holder(port: int) -> str | None:
    """A short description of the process bound to ``port`` (``"pid 123 python3"``), if visible."""
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="inet"):
            if conn.laddr and conn.laddr.port == port and conn.pid:
                with contextlib.suppress(psutil.Error):
                    return f"pid {conn.pid} {psutil.Process(conn.pid).name()}"
                return f"pid {conn.pid}"
    return None


def free_ports(count: int, host: str = HOST) -> list[int]:
    """``count`` distinct ports nobody listens on now, chosen by the kernel.

    All sockets stay open until every port is chosen, so the kernel never hands out one twice.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
