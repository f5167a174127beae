"""The main job's JupyterLab: it starts, prints a URL only once it serves, and answers it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_lab_prints_a_working_url_and_serves_the_notebooks(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "OMNIFLOW_STATE_DIR": str(tmp_path), "OMNIFLOW_JUPYTER_TOKEN": "t0k3n"}
    lab = subprocess.Popen(
        [sys.executable, "-m", "omniflow.lab", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = lab.stdout.readline()
            assert line, f"JupyterLab ended before printing its URL (exit {lab.poll()})"
            if line.startswith("JupyterLab: "):
                url = line.removeprefix("JupyterLab: ").strip()
        assert url == f"http://127.0.0.1:{port}/lab?token=t0k3n"

        api = f"http://127.0.0.1:{port}/api/contents?token=t0k3n"
        with urllib.request.urlopen(api, timeout=10) as response:
            names = {item["name"] for item in json.load(response)["content"]}
        assert "00-welcome.ipynb" in names
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)
