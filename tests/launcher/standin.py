"""Minimal programs that look like the gateway, relay and worker from the launcher's side.

``gateway`` answers ``/health/ready`` and ``/health/live`` on ``OMNIFLOW_GATEWAY_PORT``; ``idle``
just runs. Both stop cleanly on SIGTERM. The launcher tests use them when the real services
cannot be started on their own, so that the launcher is tested apart from them.
"""

from __future__ import annotations

import http.server
import os
import signal
import sys
import threading


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        found = self.path in {"/health/ready", "/health/live"}
        self.send_response(200 if found else 404)
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}' if found else b"")

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"{sys.argv[1]} stand-in started as {os.environ.get('OMNIFLOW_WORKER_NAME', '-')}")
    if sys.argv[1] == "gateway":
        port = int(os.environ["OMNIFLOW_GATEWAY_PORT"])
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Health)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    print("stopping")


if __name__ == "__main__":
    main()
