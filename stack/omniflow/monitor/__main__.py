"""Serves the admin monitor in a browser, outside Jupyter: ``python -m omniflow.monitor``."""

from __future__ import annotations

import argparse
import logging

from omniflow.logging_setup import configure_logging
from omniflow.monitor.bokeh_server import serve
from omniflow.monitor.dashboard import DEFAULT_ROLLOVER


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m omniflow.monitor",
        description="Live charts of the OmniFlow stack, read through the gateway's admin API.",
    )
    parser.add_argument("--port", type=int, default=5006, help="port on 127.0.0.1 (5006)")
    parser.add_argument("--gateway-url", default=None,
                        help="the gateway (default: OMNIFLOW_GATEWAY_URL)")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between readings (1.0)")
    parser.add_argument("--rollover", type=int, default=DEFAULT_ROLLOVER,
                        help=f"points kept per series ({DEFAULT_ROLLOVER})")
    args = parser.parse_args(argv)

    configure_logging("monitor")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # One line per request is noise.
    serve(args.port, gateway_url=args.gateway_url, interval_s=args.interval,
          rollover=args.rollover)


if __name__ == "__main__":
    main()
