"""The same admin panel outside Jupyter: a Bokeh server app on 127.0.0.1.

Each browser tab gets a session with its own dashboard and its own poller, driven by a
periodic callback on the server's event loop; closing the tab ends the session, its callback
and its connections. The charts are the very ones the notebook shows (``Dashboard``).

    python -m omniflow.monitor --port 5006
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.document import Document
from bokeh.server.server import Server

from omniflow.client.problems import ApiError
from omniflow.monitor.admin_poller import AdminPoller
from omniflow.monitor.dashboard import DEFAULT_ROLLOVER, Dashboard
from omniflow.monitor.rates import DEFAULT_WINDOW_S

log = logging.getLogger("omniflow.monitor")

HOST = "127.0.0.1"


class _Session:
    """One tab's dashboard and poller; a reading still in flight is never started twice."""

    def __init__(self, doc: Document, gateway_url: str | None, rollover: int,
                 window_s: float) -> None:
        self.dashboard = Dashboard(rollover=rollover, window_s=window_s)
        self.poller = AdminPoller(gateway_url, window_s=window_s)
        self._busy = False
        doc.title = "OmniFlow monitor"
        doc.add_root(self.dashboard.layout)

    async def tick(self) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            snapshot = await self.poller.poll()
        except ApiError as exc:
            self.dashboard.show_problem(exc.message)
        else:
            self.dashboard.update(snapshot)
        finally:
            self._busy = False

    def closed(self, _context: Any) -> None:
        asyncio.get_running_loop().create_task(self.poller.aclose())
        log.info("a monitor session ended")


def monitor_app(gateway_url: str | None = None, *, interval_s: float = 1.0,
                rollover: int = DEFAULT_ROLLOVER,
                window_s: float = DEFAULT_WINDOW_S) -> Application:
    """Builds the Bokeh application that serves one live dashboard per browser tab."""

    def make_document(doc: Document) -> None:
        session = _Session(doc, gateway_url, rollover, window_s)
        doc.add_periodic_callback(session.tick, int(interval_s * 1000))
        doc.on_session_destroyed(session.closed)
        log.info("a monitor session started")

    return Application(FunctionHandler(make_document))


def make_server(port: int, *, gateway_url: str | None = None, interval_s: float = 1.0,
                rollover: int = DEFAULT_ROLLOVER) -> Server:
    """Creates (but does not start) the server, listening on 127.0.0.1 only."""
    return Server(
        {"/": monitor_app(gateway_url, interval_s=interval_s, rollover=rollover)},
        address=HOST,
        port=port,
        allow_websocket_origin=[f"{HOST}:{port}", f"localhost:{port}"],
        check_unused_sessions_milliseconds=5_000,
        unused_session_lifetime_milliseconds=15_000,
    )


def serve(port: int = 5006, *, gateway_url: str | None = None, interval_s: float = 1.0,
          rollover: int = DEFAULT_ROLLOVER) -> None:
    """Runs the monitor until interrupted."""
    server = make_server(port, gateway_url=gateway_url, interval_s=interval_s,
                         rollover=rollover)
    server.start()
    print(f"OmniFlow monitor: http://{HOST}:{server.port}/  (Ctrl-C stops it)", flush=True)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
