"""Runs one worker process: ``python -m omniflow.worker``.

The consumer name comes from ``OMNIFLOW_WORKER_NAME`` (the launcher sets worker-1, worker-2…);
without it, ``<hostname>-<pid>`` keeps several ad-hoc workers apart.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from omniflow.logging_setup import configure_logging
from omniflow.settings import get_settings
from omniflow.worker.app import run_worker


def consumer_name() -> str:
    return os.environ.get("OMNIFLOW_WORKER_NAME") or f"{socket.gethostname()}-{os.getpid()}"


def main() -> int:
    settings = get_settings()
    configure_logging("worker", settings.log_level)
    return asyncio.run(run_worker(settings, consumer_name()))


if __name__ == "__main__":
    sys.exit(main())
