"""``python -m omniflow.prs start NN | draft | check [FILES]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from omniflow.prs import _check, _commands, _start


def _echo(line: str) -> None:
    print(line, flush=True)


def cmd_start(args: argparse.Namespace) -> int:
    root = _start.find_root()
    chosen = _start.lesson(root, args.lesson)
    if args.tests:
        _echo(f"running notebooks/{chosen.name}.ipynb under nbval for the draft ...")
    path = _start.start(root, args.lesson, base=args.base, tests=args.tests)
    _echo(f"on branch {chosen.branch}; draft written to {path.relative_to(root)}")
    _echo("commit your work, then refresh the draft with `.venv/bin/omniflow-pr draft`")
    return 0


def cmd_draft(args: argparse.Namespace) -> int:
    root = _start.find_root()
    path = _start.draft(root, base=args.base, tests=args.tests)
    _echo(f"draft refreshed: {path.relative_to(root)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    root = _start.find_root()
    files = [Path(f) for f in args.files] or _check.default_files(root)
    if not files:
        _echo("no write-ups to check")
        return 1
    missing = [f for f in files if not f.is_file()]
    if missing:
        _echo(f"no such file: {missing[0]}")
        return 2
    reports = _check.check_files(
        files, root=root, run=args.run, timeout=args.timeout,
        draft=True if args.draft else None, echo=_echo,
    )  # fmt: skip
    _echo("")
    _echo(_check.format_summary(reports))
    return 0 if all(r.ok for r in reports) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m omniflow.prs",
                                     description="Lessons as pull requests: start one, check them.")
    sub = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")

    start = sub.add_parser("start", help="create feature/lesson-NN-... and draft its write-up")
    start.add_argument("lesson", help="the lesson number, e.g. 03")
    draft = sub.add_parser("draft", help="refresh the current branch's draft write-up")
    for command in (start, draft):
        command.add_argument("--base", default="main", help="the branch to compare with (main)")
        command.add_argument("--no-tests", dest="tests", action="store_false",
                             help="do not run the lesson notebook for the draft")  # fmt: skip
    start.set_defaults(func=cmd_start)
    draft.set_defaults(func=cmd_draft)

    check = sub.add_parser("check", help="validate write-ups and run their test commands")
    check.add_argument("files", nargs="*", help="default: prs/NN-*.md and prs/drafts/**/*.md")
    check.add_argument("--no-run", dest="run", action="store_false",
                       help="check the structure and the allow-list only")  # fmt: skip
    check.add_argument("--timeout", type=float, default=_commands.DEFAULT_TIMEOUT_S,
                       help="seconds each command may take (default %(default)s)")  # fmt: skip
    check.add_argument("--draft", action="store_true",
                       help="treat every file as a draft (the mentor's sections may be open)")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except _start.StartError as exc:
        print(f"omniflow.prs: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("omniflow.prs: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
