"""Log format for every service process: one line per event, readable by a person.

Each line carries the time, the service, the level, the logger and the message; a record that
has a ``trace_id`` attribute (set by the gateway's middleware or the worker) shows it too, so a
report can be followed from the HTTP request into the worker and the log store.
"""

from __future__ import annotations

import logging
import os
import sys


class _TraceFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        trace = getattr(record, "trace_id", None) or getattr(record, "request_trace_id", None)
        record.trace = f" trace={trace}" if trace else ""
        return True


def configure_logging(service: str, level: str | None = None) -> None:
    """Sends this process's logs to stderr, which the supervisor writes to the service log."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_TraceFilter())
    handler.setFormatter(
        logging.Formatter(
            f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s%(trace)s",
            datefmt="%Y-%m-%dT%H:%M:%S",
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("OMNIFLOW_LOG_LEVEL", "INFO"))
