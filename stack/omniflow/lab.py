"""Starts JupyterLab on the lab's notebooks, on 127.0.0.1 with a token, and prints its URL.

``make lab`` runs this after ``omniflow up``. The token is kept in the state folder so the
URL stays the same between runs; set ``OMNIFLOW_JUPYTER_TOKEN`` to choose your own. JupyterLab
runs in the foreground: Ctrl-C stops it, and the stack stays up until ``make down``. The URL is
printed only once the server answers, so a URL on the screen is one that works.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

START_TIMEOUT_S = 120


def project_root() -> Path:
    """Finds the folder holding pyproject.toml, upward from here or from the working folder."""
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
                return folder
    return Path.cwd()


def _token(state_dir: Path) -> str:
    token = os.environ.get("OMNIFLOW_JUPYTER_TOKEN")
    if token:
        return token
    path = state_dir / "jupyter" / "token"
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(24)
    path.write_text(token)
    path.chmod(0o600)
    return token


def _quiet_settings(settings_dir: Path) -> None:
    """Turns off JupyterLab's news and update checks: this machine has no internet."""
    plugin = settings_dir / "@jupyterlab" / "apputils-extension"
    target = plugin / "notification.jupyterlab-settings"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("OMNIFLOW_JUPYTER_PORT",
                                                                       "8888")))
    args = parser.parse_args(argv)

    root = project_root()
    state_dir = Path(os.environ.get("OMNIFLOW_STATE_DIR", root / ".omniflow"))
    token = _token(state_dir)
    settings_dir = state_dir / "jupyter" / "user-settings"
    _quiet_settings(settings_dir)

    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings_dir)}
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={args.port}",
        "--port-retries=0",
        f"--ServerApp.root_dir={root / 'notebooks'}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.log_level=WARN",
    ]
    if os.geteuid() == 0:
        # Containers and CI machines often run as root; Jupyter refuses that unless told.
        command.append("--allow-root")

    print(f"starting JupyterLab on 127.0.0.1:{args.port} ...", flush=True)
    server = subprocess.Popen(command, env=env)
    try:
        if not _wait_until_serving(server, args.port, token):
            sys.exit(f"omniflow: JupyterLab did not start (exit code {server.returncode}); "
                     "its messages are above")
        print(f"JupyterLab: http://127.0.0.1:{args.port}/lab?token={token}", flush=True)
        print("Stop it with Ctrl-C; the stack keeps running until `make down`.", flush=True)
        server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_serving(server: subprocess.Popen, port: int, token: str) -> bool:
    """Polls the API until JupyterLab answers; False if the process ends or time runs out."""
    url = f"http://127.0.0.1:{port}/api/status?token={token}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    server.terminate()
    return False


if __name__ == "__main__":
    main()
