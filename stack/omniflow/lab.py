"""Starts JupyterLab on the lab's notebooks, on 127.0.0.1 with a token, and prints its URL.

``make lab`` runs this after ``omniflow up``. The token is kept in the state folder so the
URL stays the same between runs; set ``OMNIFLOW_JUPYTER_TOKEN`` to choose your own. JupyterLab
runs in the foreground: Ctrl-C stops it, and the stack stays up until ``make down``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path


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
    target = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
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
    print(f"JupyterLab: http://127.0.0.1:{args.port}/lab?token={token}", flush=True)
    print("Stop it with Ctrl-C; the stack keeps running until `make down`.", flush=True)
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
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    main()
