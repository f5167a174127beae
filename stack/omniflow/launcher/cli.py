"""The ``omniflow`` command: up, down, status, logs, env, run, migrate, start, stop, restart.

Progress goes to stderr and results to stdout, so ``eval "$(omniflow env)"`` and pipes work.
Every failure is one line, ``omniflow: ...``, and exit code 1; never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
from collections.abc import Sequence

import pydantic

from omniflow.launcher import logs, runner
from omniflow.launcher.errors import StackError
from omniflow.launcher.stack import ProcessStatus, Stack


def _echo(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _where(row: ProcessStatus) -> str:
    return row.url or "-"


def _up_table(rows: list[ProcessStatus]) -> str:
    return _table(
        ["SERVICE", "KIND", "URL", "PID", "LOG"],
        [[r.process, r.kind, _where(r), str(r.pid or "-"), str(r.log)] for r in rows],
    )


def _status_table(rows: list[ProcessStatus]) -> str:
    return _table(
        ["SERVICE", "STATE", "PID", "UPTIME", "PORT", "SERVER", "HEALTH"],
        [
            [
                r.process,
                r.state,
                str(r.pid or "-"),
                _uptime(r.uptime_s),
                str(r.port or "-"),
                r.server,
                r.health,
            ]  # fmt: skip
            for r in rows
        ],
    )


def _stack(args: argparse.Namespace) -> Stack:
    overrides = {}
    if args.state_dir:
        overrides["state_dir"] = args.state_dir
    if getattr(args, "only", None):
        overrides["services"] = args.only
    return Stack.from_env(echo=_echo, **overrides)


def cmd_up(args: argparse.Namespace) -> int:
    stack = _stack(args)
    rows = stack.up(timeout=args.timeout)
    print(_up_table(rows))
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    _stack(args).down()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    stack = _stack(args)
    rows = stack.status()
    healthy = bool(rows) and all(r.healthy for r in rows)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        if not stack.is_running():
            _echo(f"the stack in {stack.state_dir} is not running")
        print(_status_table(rows))
    return 0 if healthy else 1


def cmd_logs(args: argparse.Namespace) -> int:
    stack = _stack(args)
    processes = {s.name: s.process_names for s in stack.services()}
    paths = logs.log_files(stack.state_dir / "logs", processes, args.service)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --follow
        logs.show(paths, args.lines, args.follow)
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    stack = _stack(args)
    if not stack.is_running():
        _echo(f"omniflow: the stack in {stack.state_dir} is not running; start it with "
              "`omniflow up`")  # fmt: skip
    for key, value in stack.env().items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if args.state_dir and not args.isolated:
        os.environ["OMNIFLOW_STATE_DIR"] = args.state_dir
    return runner.run(command, isolated=args.isolated, echo=_echo, keep_logs=args.keep_logs)


def cmd_migrate(args: argparse.Namespace) -> int:
    stack = _stack(args)
    stack.migrate()
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    _stack(args).stop(args.service)
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    _stack(args).start(args.service)
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    _stack(args).restart(args.service)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omniflow",
        description="Runs the OmniFlow Lab stack locally under supervisord.",
    )
    parser.add_argument(
        "--state-dir", help="the stack's folder (default: OMNIFLOW_STATE_DIR or ./.omniflow)"
    )
    sub = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start every service and wait until all are healthy")
    up.add_argument("--timeout", type=float, help="seconds to wait for health (default 60)")
    up.add_argument("--only", help="a comma-separated subset, e.g. postgres,redis,mongo")
    up.set_defaults(func=cmd_up)

    sub.add_parser("down", help="stop everything the stack started").set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="state and health of every service")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    log = sub.add_parser("logs", help="show a service's log (all services without a name)")
    log.add_argument("service", nargs="?", help="e.g. redis, worker, worker-1, migrate")
    log.add_argument("-n", "--lines", type=int, default=40, help="how many lines (default 40)")
    log.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    log.set_defaults(func=cmd_logs)

    env = sub.add_parser("env", help='print export lines: eval "$(omniflow env)"')
    env.set_defaults(func=cmd_env)

    run = sub.add_parser("run", help="run a command with the stack's variables: run -- CMD")
    run.add_argument(
        "--isolated", action="store_true",
        help="a private stack in a temporary folder on free ports, stopped afterwards",
    )  # fmt: skip
    run.add_argument("--keep-logs", action="store_true", help="keep an isolated run's logs")
    run.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    run.set_defaults(func=cmd_run)

    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=cmd_migrate)
    for name, func, text in (
        ("start", cmd_start, "start one service (or one process: worker-1)"),
        ("stop", cmd_stop, "stop one service gracefully (or one process: worker-1)"),
        ("restart", cmd_restart, "stop, then start one service"),
    ):
        one = sub.add_parser(name, help=text)
        one.add_argument("service")
        one.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except StackError as exc:
        print(f"omniflow: {exc}", file=sys.stderr)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        field = "_".join(str(part) for part in error["loc"]).upper()
        print(f"omniflow: OMNIFLOW_{field}: {error['msg']}", file=sys.stderr)
    except KeyboardInterrupt:
        print("omniflow: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an unforeseen OS error: still one line
        if os.environ.get("OMNIFLOW_DEBUG"):
            raise
        print(f"omniflow: unexpected {type(exc).__name__}: {exc} "
              "(OMNIFLOW_DEBUG=1 shows the traceback)", file=sys.stderr)  # fmt: skip
    return 1
