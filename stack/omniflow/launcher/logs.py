"""``omniflow logs``: the last lines of the services' log files, optionally followed live.

supervisord writes each program's output to ``STATE/logs/<process>.log`` and rotates it when it
grows; following reopens the file when that happens.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

from omniflow.launcher.errors import StackError


def log_files(logs_dir: Path, processes: dict[str, list[str]], name: str | None) -> list[Path]:
    """The log files of a service, one process, or everything (``name`` of ``None``).

    ``processes`` maps service names to their process names. Any other ``<name>.log`` in the
    logs folder (``migrate``, ``supervisord``) can be named too.
    """
    if name is None:
        names = [p for procs in processes.values() for p in procs]
        return [path for n in names if (path := logs_dir / f"{n}.log").exists()]
    if name in processes:
        return [logs_dir / f"{n}.log" for n in processes[name]]
    if (logs_dir / f"{name}.log").exists() or any(name in p for p in processes.values()):
        return [logs_dir / f"{name}.log"]
    known = sorted({*processes, *(p.stem for p in logs_dir.glob("*.log"))})
    raise StackError(f"no log named {name!r}; choose from {', '.join(known) or 'nothing yet'}")


def last_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines, reading backwards in blocks so a big log costs little."""
    if count <= 0 or not path.exists():
        return []
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        data = b""
        while end > 0 and data.count(b"\n") <= count:
            start = max(0, end - 64 * 1024)
            f.seek(start)
            data = f.read(end - start) + data
            end = start
    return data.decode(errors="replace").splitlines()[-count:]


def show(paths: list[Path], count: int, follow: bool, out: TextIO = sys.stdout) -> None:
    """Prints the last lines of each file; with ``follow``, then new lines until Ctrl-C."""
    many = len(paths) > 1
    for path in paths:
        if many:
            print(f"==> {path} <==", file=out)
        for line in last_lines(path, count):
            print(line, file=out)
    out.flush()
    if follow:
        _follow(paths, out, prefix=many)


def _follow(paths: list[Path], out: TextIO, prefix: bool) -> None:
    positions: dict[Path, tuple[int, int]] = {}  # path -> (inode, offset)
    for path in paths:
        stat = path.stat() if path.exists() else None
        positions[path] = (stat.st_ino, stat.st_size) if stat else (0, 0)
    pending: dict[Path, bytes] = {path: b"" for path in paths}
    while True:
        for path in paths:
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            inode, offset = positions[path]
            if stat.st_ino != inode or stat.st_size < offset:  # rotated or truncated
                offset = 0
            if stat.st_size > offset:
                with path.open("rb") as f:
                    f.seek(offset)
                    chunk = pending[path] + f.read()
                    offset = f.tell()
                *lines, pending[path] = chunk.split(b"\n")
                for line in lines:
                    text = line.decode(errors="replace")
                    print(f"[{path.stem}] {text}" if prefix else text, file=out)
                out.flush()
            positions[path] = (stat.st_ino, offset)
        time.sleep(0.25)
