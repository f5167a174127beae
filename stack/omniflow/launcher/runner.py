"""``omniflow run``: run a command against the stack, e.g. the test suite against a private one.

With ``isolated``, the stack lives in a fresh temporary folder on free ports and is always
stopped afterwards: on success, on failure, on Ctrl-C and on SIGTERM. The command's exit code
becomes ours.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from types import FrameType

from omniflow.launcher.errors import StackError
from omniflow.launcher.stack import Echo, Stack


class _Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _terminal_delivers_sigint() -> bool:
    """True when Ctrl-C reaches the child by itself (we share the terminal's foreground group)."""
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


@contextlib.contextmanager
def _signals(handler: signal.Handlers | object) -> Iterator[None]:
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, handler)  # type: ignore[arg-type]
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted(signum)


def _wait_child(proc: subprocess.Popen[bytes]) -> int:
    """Waits for the command, passing SIGINT/SIGTERM on; a second signal kills it."""
    received: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            proc.kill()
        elif signum == signal.SIGTERM or not _terminal_delivers_sigint():
            proc.send_signal(signum)

    with _signals(forward):
        code = proc.wait()
    return code if code >= 0 else 128 - code


def run(command: list[str], *, isolated: bool, echo: Echo, keep_logs: bool = False) -> int:
    """Brings the stack up, runs ``command`` with the stack's variables, returns its exit code."""
    if not command:
        raise StackError("run needs a command after `--`, e.g. omniflow run -- pytest")
    if not shutil.which(command[0]):  # fail before spending seconds on the stack
        raise StackError(f"cannot run {command[0]}: command not found")
    stack = Stack.isolated(echo=echo) if isolated else Stack.from_env(echo=echo)
    code = 1
    try:
        with _signals(_raise_interrupted):
            stack.up()
            env = {**os.environ, **stack.env()}
            echo(f"running {shlex.join(command)}")
            try:
                proc = subprocess.Popen(command, env=env)
            except OSError as exc:
                raise StackError(f"cannot run {command[0]}: {exc.strerror or exc}") from exc
        code = _wait_child(proc)
    except _Interrupted as exc:
        code = 128 + exc.signum
        echo(f"interrupted by {exc}")
    finally:
        if isolated:
            # Tearing down must finish even if someone presses Ctrl-C again.
            with _signals(lambda signum, frame: None):
                try:
                    stack.down()
                finally:
                    keep = keep_logs or code != 0
                    stack.cleanup(keep_logs=keep)
                    if keep:
                        echo(f"logs of this run kept in {stack.state_dir / 'logs'}")
    return code
