"""Reading a PR write-up and checking its structure.

A write-up is Markdown with a fixed shape: a ``# title``, a header of ``Key: value`` lines
(``Branch:`` is required), then one ``## section`` per required part. Headings inside fenced
code blocks do not count, and HTML comments (the template's guidance) do not count as content.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_SECTIONS = (
    "Motivation",
    "Changes",
    "How to test",
    "Evidence",
    "Review checklist",
    "Mentor review",
    "Approval",
)
# Sections a draft may leave for the mentor to fill in.
MENTOR_SECTIONS = ("Mentor review", "Approval")
COMMAND_LANGUAGES = frozenset({"sh", "bash", "shell", "console"})
MIN_CHECKLIST_ITEMS = 3

_WORD = r"[a-z0-9]+(?:[-._][a-z0-9]+)*"
BRANCH_PATTERN = re.compile(rf"^feature/{_WORD}(?:/{_WORD})*$")
LESSON_FILE = re.compile(r"^(?P<number>\d{2})-[a-z0-9-]+\.md$")
_HEADER_FIELD = re.compile(r"^(?P<key>[A-Z][A-Za-z -]*):\s*(?P<value>.*?)\s*$")
_CHECK_ITEM = re.compile(r"^\s*[-*]\s+\[(?P<mark>[ xX])\]\s+(?P<text>\S.*)$")
_APPROVED = re.compile(r"^\s*(?:\*\*)?Approved by:?(?:\*\*)?:?\s*(?P<who>.+?)\s*$", re.IGNORECASE)
_PENDING = re.compile(r"^\s*(?:\*\*)?Approval:?(?:\*\*)?:?\s*pending\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"<[a-z][^<>\n]*>|\bTODO\b|\bTBD\b")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
Report = Callable[..., None]
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block: its info string (``sh``), its text and the line it starts on."""

    language: str
    text: str
    line: int


@dataclass
class Section:
    """A ``##`` section: its heading, body lines and where it starts."""

    title: str
    line: int
    body: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.body)

    @property
    def content(self) -> str:
        """The body without HTML comments, stripped: empty means the author wrote nothing."""
        return _COMMENT.sub("", self.text).strip()

    def code_blocks(self) -> list[CodeBlock]:
        return list(_code_blocks(self.body, self.line + 1))

    def checklist(self) -> list[tuple[bool, str]]:
        """The ``- [ ]`` / ``- [x]`` items as (ticked, text), outside code blocks."""
        items = []
        for text in _prose_lines(self.body):
            match = _CHECK_ITEM.match(text)
            if match:
                items.append((match["mark"] != " ", match["text"]))
        return items


@dataclass
class WriteUp:
    """A parsed PR write-up."""

    path: Path
    title: str
    title_line: int
    fields: dict[str, str]
    sections: list[Section]

    def section(self, name: str) -> Section | None:
        for section in self.sections:
            if section.title.casefold() == name.casefold():
                return section
        return None

    @property
    def branch(self) -> str:
        return self.fields.get("Branch", "").strip().strip("`").strip()

    @property
    def approver(self) -> str | None:
        """Who approved, from the ``Approved by:`` line; ``None`` when nobody has."""
        section = self.section("Approval")
        for line in _prose_lines(section.body) if section else []:
            match = _APPROVED.match(line)
            if match:
                who = match["who"].strip(" .*_")
                return None if not who or _PLACEHOLDER.search(who) else who
        return None


@dataclass(frozen=True)
class Finding:
    """One result of a check: ``error`` fails the write-up, ``warning`` only informs."""

    level: str
    check: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.message}"


def parse(text: str, path: Path | str = "<text>") -> WriteUp:
    """Splits a write-up into its title, header fields and ``##`` sections."""
    lines = text.splitlines()
    title, title_line = "", 0
    fields: dict[str, str] = {}
    sections: list[Section] = []
    current: Section | None = None

    for number, line, in_code in _walk(lines):
        if not in_code and line.startswith("# ") and not title and current is None:
            title, title_line = line[2:].strip(), number
            continue
        if not in_code and line.startswith("## "):
            current = Section(line[3:].strip().rstrip("#").strip(), number)
            sections.append(current)
            continue
        if current is not None:
            current.body.append(line)
        elif not in_code:
            match = _HEADER_FIELD.match(line.strip().replace("**", ""))
            if match:
                fields.setdefault(match["key"].strip(), match["value"])
    return WriteUp(Path(path), title, title_line, fields, sections)


def read(path: Path | str) -> WriteUp:
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), path)


def check_structure(writeup: WriteUp, *, draft: bool = False) -> list[Finding]:
    """Checks the shape of a write-up; a draft may leave the mentor's sections open.

    Note that the commands themselves are vetted and run elsewhere (``_commands``).
    """
    findings: list[Finding] = []

    def error(check: str, message: str, line: int | None = None) -> None:
        findings.append(Finding("error", check, message, line))

    def warning(check: str, message: str, line: int | None = None) -> None:
        findings.append(Finding("warning", check, message, line))

    if not writeup.title:
        error("title", "no title: the first heading must be `# <title>`")
    elif _PLACEHOLDER.search(writeup.title):
        error("title", f"the title still holds a placeholder: {writeup.title!r}",
              writeup.title_line)

    _check_branch(writeup, error)

    seen = {s.title.casefold() for s in writeup.sections}
    for name in REQUIRED_SECTIONS:
        section = writeup.section(name)
        if section is None:
            error("sections", f"missing section `## {name}`")
            continue
        if not section.content:
            if draft and name in MENTOR_SECTIONS:
                warning("sections", f"`## {name}` is still empty (the mentor fills it in)",
                        section.line)
            else:
                error("sections", f"section `## {name}` is empty", section.line)
    extra = sorted(seen - {n.casefold() for n in REQUIRED_SECTIONS})
    if extra:
        warning("sections", "sections outside the template: " + ", ".join(extra))

    how = writeup.section("How to test")
    if how is not None and how.content:
        blocks = [b for b in how.code_blocks() if b.language in COMMAND_LANGUAGES]
        if not blocks:
            error("commands", "`## How to test` has no ```sh block of commands", how.line)
        elif not any(b.text.strip() for b in blocks):
            error("commands", "the ```sh blocks in `## How to test` are empty", how.line)

    approved = _check_approval(writeup, draft, error, warning)
    _check_checklist(writeup, approved, draft, error, warning)
    return findings


def _check_branch(writeup: WriteUp, error: Report) -> None:
    branch = writeup.branch
    if not branch:
        error("branch", "no `Branch: feature/...` line under the title")
        return
    if not BRANCH_PATTERN.match(branch):
        error("branch", f"branch {branch!r} does not match feature/<lowercase-words> "
              "(letters, digits, - . _ and / only)")
        return
    lesson = LESSON_FILE.match(writeup.path.name)
    if lesson and not branch.startswith(f"feature/lesson-{lesson['number']}-"):
        error("branch", f"a lesson write-up's branch must start with "
              f"feature/lesson-{lesson['number']}- (found {branch!r})")


def _check_approval(writeup: WriteUp, draft: bool, error: Report, warning: Report) -> bool:
    section = writeup.section("Approval")
    if section is None or not section.content:
        return False
    for offset, line in enumerate(_prose_lines(section.body), start=1):
        match = _APPROVED.match(line)
        if match:
            who = match["who"].strip(" .*_")
            if not who or _PLACEHOLDER.search(who):
                error("approval", f"the approval line names nobody: {line.strip()!r}",
                      section.line + offset)
                return False
            return True
    pending = any(_PENDING.match(line) for line in section.body)
    if draft and pending:
        warning("approval", "not approved yet (Approval: pending)", section.line)
    else:
        error("approval", "no approval line: write `Approved by: <name>` "
              "(a draft may say `Approval: pending`)", section.line)
    return False


def _check_checklist(
    writeup: WriteUp, approved: bool, draft: bool, error: Report, warning: Report
) -> None:
    section = writeup.section("Review checklist")
    if section is None or not section.content:
        return
    items = section.checklist()
    if len(items) < MIN_CHECKLIST_ITEMS:
        error("checklist", f"the review checklist needs at least {MIN_CHECKLIST_ITEMS} "
              f"`- [ ]` items (found {len(items)})", section.line)
        return
    open_items = [text for ticked, text in items if not ticked]
    if open_items and approved:
        error("checklist", f"approved with {len(open_items)} unticked checklist item(s): "
              f"{open_items[0]!r}", section.line)
    elif open_items and draft:
        warning("checklist", f"{len(open_items)} checklist item(s) not ticked yet", section.line)


def _walk(lines: list[str]) -> Iterator[tuple[int, str, bool]]:
    """Yields (line number, line, inside a fenced block) for each line."""
    fence: str | None = None
    for number, line in enumerate(lines, start=1):
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match["fence"]
            yield number, line, True
            continue
        if fence is not None:
            if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                fence = None
            yield number, line, True
            continue
        yield number, line, False


def _prose_lines(lines: list[str]) -> list[str]:
    text = _COMMENT.sub("", "\n".join(lines)).splitlines()
    return [line for _, line, in_code in _walk(text) if not in_code]


def _code_blocks(lines: list[str], first_line: int) -> Iterator[CodeBlock]:
    fence: str | None = None
    info = ""
    start = 0
    body: list[str] = []
    for offset, line in enumerate(lines):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, info, start, body = match["fence"], match["info"].lower(), offset, []
            continue
        stripped = line.strip()
        if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
            yield CodeBlock(info, "\n".join(body), first_line + start)
            fence = None
            continue
        body.append(line)
