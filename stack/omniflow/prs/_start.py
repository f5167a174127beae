"""``start``: a branch for a lesson and a drafted write-up that fills itself in.

The draft is the template with three slots filled: the commits of the branch (``git log
BASE..HEAD``), the commands a reviewer runs, and the result of running the lesson's notebook
under nbval. Each slot sits between ``<!-- begin NAME -->`` and ``<!-- end NAME -->`` markers,
so ``draft`` can refresh the slots later without touching what the learner wrote around them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

NBVAL_ARGS = ("--nbval", "--nbval-current-env", "--nbval-sanitize-with", "notebooks/sanitize.cfg")
TEST_TIMEOUT_S = 600.0
_SLOT = re.compile(r"(<!-- begin (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end (?P=name) -->)",
                   re.DOTALL)  # fmt: skip
_LESSON_BRANCH = re.compile(r"^feature/lesson-(?P<number>\d{2})-")
_SUMMARY = re.compile(r"\b(passed|failed|errors?|skipped|no tests ran|deselected)\b")


class StartError(Exception):
    """``start`` or ``draft`` cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Lesson:
    """One lesson: ``03``, ``broker``, its title and its files."""

    number: str
    slug: str
    title: str
    text: Path
    notebook: Path

    @property
    def name(self) -> str:
        return f"{self.number}-{self.slug}"

    @property
    def branch(self) -> str:
        return f"feature/lesson-{self.number}-{self.slug}"


def find_root(start: Path | None = None) -> Path:
    """The project folder: the nearest parent holding ``pyproject.toml`` and ``prs/``."""
    for begin in (start or Path.cwd(), Path(__file__).resolve()):
        for folder in (begin.resolve(), *begin.resolve().parents):
            if (folder / "pyproject.toml").is_file() and (folder / "prs").is_dir():
                return folder
    raise StartError("cannot find the project folder (one with pyproject.toml and prs/)")


def lessons(root: Path) -> dict[str, Lesson]:
    """Every lesson under ``lessons/``, by number."""
    found = {}
    for text in sorted((root / "lessons").glob("[0-9][0-9]-*.md")):
        number, slug = text.stem.split("-", 1)
        title = _first_heading(text) or slug.replace("-", " ")
        found[number] = Lesson(number, slug, title, text, root / "notebooks" / f"{text.stem}.ipynb")
    return found


def lesson(root: Path, number: str) -> Lesson:
    number = f"{int(number):02d}" if number.isdigit() else number
    found = lessons(root)
    if number not in found:
        raise StartError(f"no lesson {number}; choose one of {', '.join(found) or '(none)'}")
    return found[number]


def start(root: Path, number: str, *, base: str = "main", tests: bool = True) -> Path:
    """Creates (or reuses, when already on it) the lesson's branch; writes the draft."""
    chosen = lesson(root, number)
    current = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    if current != chosen.branch:
        if _git(root, "branch", "--list", chosen.branch):
            raise StartError(f"branch {chosen.branch} exists already: `git switch "
                             f"{chosen.branch}`, then `python -m omniflow.prs draft`")  # fmt: skip
        _git(root, "switch", "-c", chosen.branch)
    return draft(root, base=base, tests=tests)


def draft(root: Path, *, base: str = "main", tests: bool = True) -> Path:
    """Writes or refreshes ``prs/drafts/<branch>.md`` for the current branch."""
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    if not branch.startswith("feature/"):
        raise StartError(f"you are on {branch!r}; a write-up belongs to a feature/... branch "
                         "(`python -m omniflow.prs start NN` creates one)")  # fmt: skip
    match = _LESSON_BRANCH.match(branch)
    chosen = lesson(root, match["number"]) if match else None
    path = root / "prs" / "drafts" / f"{branch}.md"

    slots = {"commits": _commits(root, base), "commands": _commands_block(chosen)}
    if path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        text = _from_template(root, branch, chosen, path)
    if tests:
        slots["tests"] = _test_block(root, chosen)
    elif not path.exists():
        # A refresh without tests keeps the result pasted earlier.
        slots["tests"] = ("_Tests not run yet: run `python -m omniflow.prs draft` to paste "
                          "their result here._\n")
    text = _fill_slots(text, slots)
    text = re.sub(r"(?m)^Branch:.*$", f"Branch: `{branch}`", text, count=1)

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run_lesson_tests(root: Path, chosen: Lesson) -> tuple[str, str]:
    """Runs the lesson's notebook under nbval; returns (the command, pytest's summary line)."""
    notebook = chosen.notebook.relative_to(root)
    argv = [sys.executable, "-m", "pytest", *NBVAL_ARGS, str(notebook), "-q",
            "-p", "no:cacheprovider"]  # fmt: skip
    shown = ".venv/bin/python -m pytest " + " ".join([*NBVAL_ARGS, str(notebook)])
    try:
        done = subprocess.run(argv, cwd=root, capture_output=True, text=True,
                              timeout=TEST_TIMEOUT_S, stdin=subprocess.DEVNULL)  # fmt: skip
    except subprocess.TimeoutExpired:
        return shown, f"timed out after {TEST_TIMEOUT_S:.0f} s"
    lines = [ln.strip(" =") for ln in done.stdout.splitlines() if _SUMMARY.search(ln)]
    summary = lines[-1] if lines else f"pytest exited with status {done.returncode}"
    return shown, summary


def _from_template(root: Path, branch: str, chosen: Lesson | None, path: Path) -> str:
    template = root / "prs" / "TEMPLATE.md"
    try:
        text = template.read_text(encoding="utf-8")
    except OSError as exc:
        raise StartError(f"cannot read {template}: {exc}") from exc
    if chosen is not None:
        heading = re.sub(r"^Lesson \d{2}\s*[:.-]\s*", "", chosen.title)
        title = f"Lesson {chosen.number}: {heading}"
        link = os.path.relpath(chosen.text, path.parent)
        text = re.sub(r"(?m)^Lesson:.*$", f"Lesson: [{chosen.name}]({link})", text, count=1)
    else:
        title = branch.removeprefix("feature/").replace("-", " ").capitalize()
        text = re.sub(r"(?m)^Lesson:.*\n", "", text, count=1)
    text = re.sub(r"(?m)^# .*$", f"# {title}", text, count=1)
    author = _git(root, "config", "user.name", check=False) or "your name"
    return re.sub(r"(?m)^Author:.*$", f"Author: {author}", text, count=1)


def _fill_slots(text: str, slots: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        body = slots.get(match["name"])
        if body is None:
            return match.group(0)
        return f"{match.group(1)}{body.rstrip()}\n{match.group(4)}"

    return _SLOT.sub(replace, text)


def _commits(root: Path, base: str) -> str:
    if not _git(root, "rev-parse", "--verify", "--quiet", base, check=False):
        return f"_No branch {base!r} to compare with: pass `--base`._\n"
    log = _git(root, "log", "--reverse", "--format=- %h %s", f"{base}..HEAD")
    return log + "\n" if log else f"_No commits on this branch yet (compared with {base})._\n"


def _commands_block(chosen: Lesson | None) -> str:
    lines = [".venv/bin/omniflow status"]
    if chosen is not None:
        notebook = f"notebooks/{chosen.name}.ipynb"
        lines.append(".venv/bin/python -m pytest " + " ".join([*NBVAL_ARGS, notebook]))
    else:
        lines.append("make test-fast")
    return "```sh\n" + "\n".join(lines) + "\n```\n"


def _test_block(root: Path, chosen: Lesson | None) -> str:
    if chosen is None or not chosen.notebook.exists():
        return "_This branch has no lesson notebook to run._\n"
    command, summary = run_lesson_tests(root, chosen)
    return f"```text\n$ {command}\n{summary}\n```\n"


def _git(root: Path, *args: str, check: bool = True) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    except OSError as exc:
        raise StartError(f"git is not available: {exc}") from exc
    if done.returncode != 0:
        if not check:
            return ""
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise StartError(f"`git {shlex.join(args)}` failed: {reason}")
    return done.stdout.strip()


def _first_heading(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""
