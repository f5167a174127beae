"""The validator: the structure checks and the commands of each write-up, as one report."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from omniflow.prs import _commands, _writeup
from omniflow.prs._commands import Outcome, Refused
from omniflow.prs._writeup import Finding

Echo = Callable[[str], None]


@dataclass
class FileReport:
    """Everything the validator found in one write-up."""

    path: Path
    draft: bool
    findings: list[Finding] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    summary: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def failed_commands(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed_commands


def default_files(root: Path) -> list[Path]:
    """The lesson write-ups (``prs/NN-*.md``) and any drafts under ``prs/drafts/``."""
    folder = root / "prs"
    files = sorted(p for p in folder.glob("*.md") if _writeup.LESSON_FILE.match(p.name))
    return files + sorted((folder / "drafts").rglob("*.md"))


def is_draft(path: Path) -> bool:
    return "drafts" in path.parts


def check_file(
    path: Path,
    *,
    root: Path,
    run: bool = True,
    timeout: float = _commands.DEFAULT_TIMEOUT_S,
    draft: bool | None = None,
    echo: Echo | None = None,
) -> FileReport:
    """Checks one write-up; with ``run``, also runs every allowed command it lists."""
    draft = is_draft(path) if draft is None else draft
    report = FileReport(path, draft)
    try:
        writeup = _writeup.read(path)
    except (OSError, UnicodeDecodeError) as exc:
        report.findings.append(Finding("error", "read", f"cannot read the file: {exc}"))
        return report

    report.findings.extend(_writeup.check_structure(writeup, draft=draft))
    commands = _commands.extract(writeup)
    vetted = []
    for command in commands:
        try:
            vetted.append(_commands.vet(command))
        except Refused as exc:
            report.findings.append(
                Finding("error", "allow-list", f"not run: `{command.text}`: {exc}", command.line)
            )
    approver = writeup.approver
    items = writeup.section("Review checklist")
    report.summary = (
        f"{len(writeup.sections)} sections, {len(commands)} command(s), "
        f"{len(items.checklist()) if items else 0} checklist item(s), "
        + (f"approved by {approver}" if approver else "not approved")
    )

    if not run:
        return report
    if _commands.nested():
        report.findings.append(Finding(
            "warning", "run", "commands not run: this check runs inside a command that the "
            "validator itself started",
        ))  # fmt: skip
        return report
    for item in vetted:
        if echo:
            echo(f"  ...   {item.command.text}")
        report.outcomes.append(_commands.run(item, cwd=root, timeout=timeout))
    return report


def check_files(paths: Iterable[Path], *, root: Path, run: bool = True,
                timeout: float = _commands.DEFAULT_TIMEOUT_S, draft: bool | None = None,
                echo: Echo | None = None) -> list[FileReport]:  # fmt: skip
    """Checks each write-up in turn, printing each report through ``echo`` as it is done."""
    reports = []
    for path in paths:
        if echo:
            echo(_display(path, root))
        report = check_file(path, root=root, run=run, timeout=timeout, draft=draft, echo=echo)
        if echo:
            echo(format_report(report, root, header=False))
        reports.append(report)
    return reports


def format_report(report: FileReport, root: Path, *, header: bool = True) -> str:
    """The report of one file as indented lines: ``ok``, ``warn`` and ``FAIL``."""
    lines = [_display(report.path, root)] if header else []
    structure_errors = [f for f in report.errors if f.check != "allow-list"]
    label = "FAIL" if structure_errors else "ok"
    kind = "draft" if report.draft else "write-up"
    lines.append(f"  {label:<5} structure of the {kind}: {report.summary}")
    for finding in report.findings:
        tag = "FAIL" if finding.level == "error" else "warn"
        lines.append(f"  {tag:<5} {finding}")
    for outcome in report.outcomes:
        tag = "ok" if outcome.ok else "FAIL"
        detail = "" if outcome.ok else f"{outcome.detail}, "
        lines.append(f"  {tag:<5} $ {outcome.command.text}  ({detail}{outcome.seconds:.1f} s)")
        if not outcome.ok:
            lines.extend(f"          | {text}" for text in outcome.tail)
    return "\n".join(lines)


def format_summary(reports: list[FileReport]) -> str:
    failed = [r for r in reports if not r.ok]
    errors = sum(len(r.errors) + len(r.failed_commands) for r in reports)
    warnings = sum(1 for r in reports for f in r.findings if f.level == "warning")
    ran = sum(len(r.outcomes) for r in reports)
    verdict = "all passed" if not failed else f"{len(failed)} failed"
    return (f"{len(reports)} write-up(s) checked: {verdict} ({errors} error(s), "
            f"{warnings} warning(s)); {ran} command(s) run")  # fmt: skip


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
