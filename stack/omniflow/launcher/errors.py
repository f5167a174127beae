"""The one error the launcher raises: its message is the single line a person reads."""

from __future__ import annotations

from pathlib import Path


class StackError(Exception):
    """Something kept the stack from doing what was asked; ``str()`` is a complete sentence."""

    def __init__(self, message: str, *, log: Path | None = None) -> None:
        self.log = log
        super().__init__(f"{message} (log: {log})" if log else message)
