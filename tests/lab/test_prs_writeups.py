"""The lesson write-ups in ``prs/`` pass the validator, including their commands.

The structure test needs nothing; the command test runs every "How to test" command against
the running test stack (``make test`` starts one), so it is the slow one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omniflow.prs import check_file, default_files, find_root
from omniflow.prs._check import format_report
from omniflow.settings import Settings

ROOT = find_root(Path(__file__))
WRITEUPS = [p for p in default_files(ROOT) if "drafts" not in p.parts]
COMMAND_TIMEOUT_S = 240.0


def test_there_is_a_write_up_for_every_lesson() -> None:
    lessons = sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]-*.md"))

    assert [p.name for p in WRITEUPS] == lessons


@pytest.mark.parametrize("path", WRITEUPS, ids=lambda p: p.stem)
def test_write_up_is_well_formed(path: Path) -> None:
    report = check_file(path, root=ROOT, run=False)

    assert report.ok, format_report(report, ROOT)
    assert not report.draft


@pytest.mark.parametrize("path", WRITEUPS, ids=lambda p: p.stem)
def test_write_up_commands_run(path: Path, settings: Settings) -> None:
    report = check_file(path, root=ROOT, run=True, timeout=COMMAND_TIMEOUT_S)

    assert report.outcomes, "no command was run"
    assert report.ok, format_report(report, ROOT)
