"""Virtual environments for the contenders, made on first use and reused while unchanged."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE.parent / ".venvs"


def ensure(name: str, echo=print) -> Path:  # noqa: ANN001 - any callable taking a line
    """The ``bin`` folder of the ``name`` environment, installed from ``requirements-NAME.txt``."""
    requirements = HERE / f"requirements-{name}.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    folder = VENVS / name
    stamp = folder / f".installed-{digest}"
    if stamp.exists():
        return folder / "bin"
    echo(f"installing the {name} contender into {folder} (once) ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    subprocess.run([str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", "-r", str(requirements)], check=True)
    stamp.touch()
    return folder / "bin"


def versions(bin_dir: Path, packages: tuple[str, ...]) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, sys; print(json.dumps("
            "{p: m.version(p) for p in sys.argv[1:]}))")
    done = subprocess.run([str(bin_dir / "python"), "-c", code, *packages], check=True,
                          capture_output=True, text=True)
    import json

    return json.loads(done.stdout)
