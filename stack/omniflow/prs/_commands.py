"""The commands a write-up lists under "How to test": finding them, vetting them, running them.

Nothing here goes through a shell. Each command line is split like a shell would split it, must
match the allow-list below, and is then run as a plain argument list with a timeout, in the
project folder. Shell operators (``;``, ``&&``, ``|``, ``>``, ``$(...)``) are refused instead of
being passed on, so a reviewer's copy-paste and the validator always run the same thing.

The allow-list, by program:

* ``make`` with the cheap targets in ``MAKE_TARGETS`` (plus ``NAME=value`` variables);
* ``omniflow status|env|logs|run`` (``logs`` without ``--follow``; ``run`` only around another
  allowed command);
* ``python -m pytest``, ``pytest``, and ``python -m omniflow.prs check``;
* ``curl`` to ``http://127.0.0.1`` or ``http://localhost`` only, with a fixed set of options.

A command may start with ``OMNIFLOW_*=value`` assignments and may use ``$OMNIFLOW_*``,
``${OMNIFLOW_*}`` or ``${OMNIFLOW_*:-default}``; an unset variable falls back to the default
of the same name in ``omniflow.settings``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from omniflow.prs._writeup import COMMAND_LANGUAGES, WriteUp

DEPTH_VARIABLE = "OMNIFLOW_PRS_DEPTH"
DEFAULT_TIMEOUT_S = 240.0
MAKE_TARGETS = frozenset({"help", "status", "test-fast", "lint", "lesson", "check-prs"})
OMNIFLOW_COMMANDS = frozenset({"status", "env", "logs", "run"})
PYTHON_NAMES = frozenset({"python", "python3", ".venv/bin/python", ".venv/bin/python3"})
PYTEST_NAMES = frozenset({"pytest", ".venv/bin/pytest"})
OMNIFLOW_NAMES = frozenset({"omniflow", ".venv/bin/omniflow"})
LOCAL_URL = re.compile(r"^https?://(127\.0\.0\.1|localhost)(:\d{1,5})?(/[^\s]*)?$")
CURL_FLAGS = frozenset({
    "-s", "--silent", "-S", "--show-error", "-f", "--fail", "--fail-with-body", "-i",
    "--include", "-v", "--verbose", "-I", "--head", "-G", "--get", "--compressed", "-N",
    "--no-buffer", "-g", "--globoff",
})  # fmt: skip
CURL_VALUE_OPTIONS = frozenset({
    "-H", "--header", "-d", "--data", "--data-raw", "--data-binary", "--data-urlencode",
    "--json", "-X", "--request", "-m", "--max-time", "--connect-timeout", "-w", "--write-out",
    "-A", "--user-agent", "-u", "--user", "--retry", "--retry-delay", "--retry-max-time",
    "--url",
})  # fmt: skip
_OPERATOR = re.compile(r"^[();<>|&]+$")
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class Refused(ValueError):
    """A command that the validator will not run, with the reason."""


@dataclass(frozen=True)
class Command:
    """One command line from a write-up's ``sh`` block."""

    text: str
    line: int


@dataclass(frozen=True)
class Vetted:
    """An allowed command, ready to run: the argument list and extra variables."""

    command: Command
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What happened when a command ran."""

    command: Command
    ok: bool
    seconds: float
    detail: str
    tail: list[str] = field(default_factory=list)


def extract(writeup: WriteUp) -> list[Command]:
    """The commands in the ``sh`` blocks of "How to test", continuation lines joined.

    In a ``console`` block only lines starting with ``$`` are commands (the rest is output).
    """
    section = writeup.section("How to test")
    if section is None:
        return []
    commands: list[Command] = []
    for block in section.code_blocks():
        if block.language not in COMMAND_LANGUAGES:
            continue
        pending, start = "", 0
        for offset, raw in enumerate(block.text.splitlines(), start=1):
            line = raw.strip()
            if not pending:
                if block.language == "console":
                    if not line.startswith("$"):
                        continue
                    line = line[1:].strip()
                elif line.startswith("$ "):
                    line = line[2:].strip()
                if not line or line.startswith("#"):
                    continue
                start = block.line + offset
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            commands.append(Command((pending + line).strip(), start))
            pending = ""
        if pending:
            commands.append(Command(pending.strip(), start))
    return commands


def vet(command: Command, environ: Mapping[str, str] | None = None) -> Vetted:
    """Checks ``command`` against the allow-list; raises ``Refused`` saying why not."""
    environ = os.environ if environ is None else environ
    tokens = _split(command.text)
    env: dict[str, str] = {}
    while tokens and _ASSIGNMENT.match(tokens[0]):
        match = _ASSIGNMENT.match(tokens.pop(0))
        assert match is not None
        name = match["name"]
        if not name.startswith("OMNIFLOW_") or name == DEPTH_VARIABLE:
            raise Refused(f"only OMNIFLOW_* variables may be set before a command, not {name}")
        env[name] = _expand(match["value"], {**environ, **env})
    if not tokens:
        raise Refused("no command after the variable assignments")
    scope = {**environ, **env}
    tokens = [_expand(token, scope) for token in tokens]
    return Vetted(command, _allowed_argv(tokens), env)


def run(vetted: Vetted, *, cwd: Path, timeout: float = DEFAULT_TIMEOUT_S) -> Outcome:
    """Runs one vetted command; never raises for the command's own failure."""
    depth = int(os.environ.get(DEPTH_VARIABLE, "0") or 0)
    env = {**os.environ, **vetted.env, DEPTH_VARIABLE: str(depth + 1)}
    began = time.monotonic()
    try:
        proc = subprocess.Popen(
            vetted.argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        return Outcome(vetted.command, False, 0.0, f"could not start: {exc.strerror or exc}")
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        output, _ = proc.communicate()
        seconds = time.monotonic() - began
        return Outcome(vetted.command, False, seconds, f"timed out after {timeout:.0f} s",
                       _tail(output))  # fmt: skip
    seconds = time.monotonic() - began
    if proc.returncode != 0:
        return Outcome(vetted.command, False, seconds, f"exit status {proc.returncode}",
                       _tail(output))  # fmt: skip
    return Outcome(vetted.command, True, seconds, "ok", _tail(output, 1))


def nested() -> bool:
    """True inside a command the validator runs: then it does not run commands again."""
    return int(os.environ.get(DEPTH_VARIABLE, "0") or 0) > 0


def _split(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise Refused(f"cannot split the command: {exc}") from exc
    for token in tokens:
        if _OPERATOR.match(token):
            raise Refused(f"shell operator {token!r} is not run: write one plain command per line")
        if "`" in token or "$(" in token:
            raise Refused("command substitution is not run")
    return tokens


def _expand(token: str, environ: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        if not name.startswith("OMNIFLOW_"):
            raise Refused(f"only $OMNIFLOW_* variables are expanded, not ${name}")
        if environ.get(name):
            return environ[name]
        if match["default"] is not None:
            return match["default"]
        default = _settings_default(name)
        if default is None:
            raise Refused(f"${name} is not set and has no default")
        return default

    if "$" in _VARIABLE.sub("", token):
        raise Refused(f"cannot expand {token!r}: write $OMNIFLOW_NAME or ${{OMNIFLOW_NAME}}")
    return _VARIABLE.sub(replace, token)


def _settings_default(name: str) -> str | None:
    from omniflow.settings import Settings

    key = name.removeprefix("OMNIFLOW_").lower()
    if key not in Settings.model_fields:
        return None
    value = getattr(Settings(), key)
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def _allowed_argv(tokens: list[str]) -> list[str]:
    program, args = tokens[0], tokens[1:]
    if program in PYTHON_NAMES:
        if args[:2] == ["-m", "pytest"]:
            return [sys.executable, "-m", "pytest", *args[2:]]
        if args[:3] == ["-m", "omniflow.prs", "check"]:
            return [sys.executable, *args]
        raise Refused("python may only run `-m pytest` or `-m omniflow.prs check`")
    if program in PYTEST_NAMES:
        return [sys.executable, "-m", "pytest", *args]
    if program in OMNIFLOW_NAMES:
        return _omniflow(args)
    if program == "make":
        return _make(args)
    if program == "curl":
        return _curl(args)
    raise Refused(f"{program!r} is not on the allow-list (make, omniflow, python -m pytest, "
                  "pytest, python -m omniflow.prs check, curl to 127.0.0.1)")  # fmt: skip


def _omniflow(args: list[str]) -> list[str]:
    launcher = Path(sys.executable).with_name("omniflow")
    prefix = [str(launcher)] if launcher.exists() else [sys.executable, "-m", "omniflow.launcher"]
    if not args or args[0] not in OMNIFLOW_COMMANDS:
        sub = args[0] if args else "(nothing)"
        raise Refused(f"omniflow {sub} is not allowed here; use one of "
                      f"{', '.join(sorted(OMNIFLOW_COMMANDS))}")  # fmt: skip
    if args[0] == "logs" and {"-f", "--follow"} & set(args):
        raise Refused("omniflow logs --follow never ends")
    if args[0] != "run":
        return [*prefix, *args]
    rest = args[1:]
    options = []
    while rest and rest[0] in {"--isolated", "--keep-logs"}:
        options.append(rest.pop(0))
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if not rest:
        raise Refused("omniflow run needs a command after --")
    inner = _allowed_argv(rest)
    return [*prefix, "run", *options, "--", *inner]


def _make(args: list[str]) -> list[str]:
    if shutil.which("make") is None:
        raise Refused("make is not installed")
    targets = [a for a in args if not _ASSIGNMENT.match(a)]
    for arg in targets:
        if arg.startswith("-"):
            raise Refused(f"make option {arg} is not allowed")
        if arg not in MAKE_TARGETS:
            raise Refused(f"make {arg} is not allowed here (too slow, or it changes the stack); "
                          f"allowed targets: {', '.join(sorted(MAKE_TARGETS))}")  # fmt: skip
    return ["make", *args]


def _curl(args: list[str]) -> list[str]:
    urls = []
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            if name in CURL_FLAGS:
                continue
            if name in CURL_VALUE_OPTIONS:
                if "=" not in arg:
                    if position >= len(args):
                        raise Refused(f"curl {name} needs a value")
                    value = args[position]
                    position += 1
                    if name == "--url":
                        urls.append(value)
                continue
            raise Refused(f"curl option {name} is not allowed")
        if arg.startswith("-") and len(arg) > 1:
            letters = arg[1:]
            for index, letter in enumerate(letters):
                option = f"-{letter}"
                if option in CURL_FLAGS:
                    continue
                if option in CURL_VALUE_OPTIONS:
                    if index == len(letters) - 1:
                        if position >= len(args):
                            raise Refused(f"curl {option} needs a value")
                        position += 1
                    break
                raise Refused(f"curl option {option} is not allowed")
            continue
        urls.append(arg)
    if not urls:
        raise Refused("curl needs a URL")
    for url in urls:
        if not LOCAL_URL.match(url):
            raise Refused(f"curl may only call http://127.0.0.1 or http://localhost, not {url!r}")
    return ["curl", *args]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _tail(output: bytes | None, count: int = 15) -> list[str]:
    lines = [line.rstrip() for line in (output or b"").decode(errors="replace").splitlines()]
    return [line for line in lines if line.strip()][-count:]
