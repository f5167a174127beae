"""Runs the gateway: ``python -m omniflow.gateway``.

It listens on ``OMNIFLOW_GATEWAY_HOST`` (default 127.0.0.1) and ``OMNIFLOW_GATEWAY_PORT``
(default 8000) with uvloop and the httptools parser, the fastest choices uvicorn offers.
"""

from __future__ import annotations

import os

import uvicorn

from omniflow.gateway.middleware import install_trace_logging
from omniflow.logging_setup import configure_logging


def main() -> None:
    configure_logging("gateway")
    install_trace_logging()
    uvicorn.run(
        "omniflow.gateway.app:create_app",
        factory=True,
        host=os.environ.get("OMNIFLOW_GATEWAY_HOST", "127.0.0.1"),
        port=int(os.environ.get("OMNIFLOW_GATEWAY_PORT", "8000")),
        loop="uvloop",
        http="httptools",
        log_config=None,  # Keep the format configure_logging set.
        access_log=False,  # The gateway writes its own access line, with user and trace.
        server_header=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
