"""The write-up validator's structure checks, on good and broken examples (no stack needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

import omniflow.prs
from omniflow.prs import check_structure, parse

GOOD = """\
# Lesson 03: read jobs with a consumer group

Branch: `feature/lesson-03-broker`
Lesson: [03-broker](../lessons/03-broker.md)
Author: Ada

## Motivation

Workers must share the jobs without losing one when a worker dies.

## Changes

- notebooks/03-broker.ipynb: a sandbox stream and a consumer group.

## How to test

```sh
omniflow status
python -m pytest --nbval notebooks/03-broker.ipynb
```

## Evidence

```text
12 passed in 6.01s
```

## Review checklist

- [x] The notebook runs top to bottom.
- [x] It passes nbval twice in a row.
- [x] Every exercise has a check cell.

## Mentor review

> **notebooks/03-broker.ipynb** — nice use of XINFO. Reply: thanks.

## Approval

Approved by: Sam Rivera, 2026-12-05
"""


def _errors(text: str, name: str = "03-broker.md", draft: bool = False) -> list[str]:
    writeup = parse(text, Path("prs") / name)
    return [f.check for f in check_structure(writeup, draft=draft) if f.level == "error"]


def _replace(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new)


def test_the_public_surface_is_complete() -> None:
    assert len(set(omniflow.prs.__all__)) == len(omniflow.prs.__all__)
    for name in omniflow.prs.__all__:
        assert hasattr(omniflow.prs, name), name


def test_a_complete_write_up_passes() -> None:
    writeup = parse(GOOD, "prs/03-broker.md")

    assert check_structure(writeup) == []
    assert writeup.branch == "feature/lesson-03-broker"
    assert writeup.approver == "Sam Rivera, 2026-12-05"
    assert [s.title for s in writeup.sections] == list(omniflow.prs.REQUIRED_SECTIONS)


@pytest.mark.parametrize(
    ("old", "new", "check"),
    [
        ("# Lesson 03: read jobs with a consumer group\n", "", "title"),
        ("# Lesson 03: read jobs with a consumer group", "# Lesson 03: <what it does>", "title"),
        ("Branch: `feature/lesson-03-broker`\n", "", "branch"),
        ("`feature/lesson-03-broker`", "`lesson-03-broker`", "branch"),
        ("`feature/lesson-03-broker`", "`feature/Lesson 03`", "branch"),
        ("`feature/lesson-03-broker`", "`feature/lesson-04-worker`", "branch"),
        ("## Motivation\n", "", "sections"),
        ("Workers must share the jobs without losing one when a worker dies.", "", "sections"),
        ("Workers must share the jobs without losing one when a worker dies.",
         "<!-- why? -->", "sections"),
        ("```sh\nomniflow status\npython -m pytest --nbval notebooks/03-broker.ipynb\n```",
         "Run the notebook.", "commands"),
        ("```sh\nomniflow status\npython -m pytest --nbval notebooks/03-broker.ipynb\n```",
         "```sh\n```\nRun it.", "commands"),
        ("- [x] It passes nbval twice in a row.\n- [x] Every exercise has a check cell.\n", "",
         "checklist"),
        ("- [x] Every exercise has a check cell.", "- [ ] Every exercise has a check cell.",
         "checklist"),
        ("Approved by: Sam Rivera, 2026-12-05", "Looks good to me.", "approval"),
        ("Approved by: Sam Rivera, 2026-12-05", "Approved by: <name>", "approval"),
        ("Approved by: Sam Rivera, 2026-12-05", "Approval: pending", "approval"),
    ],
    ids=[
        "no-title", "placeholder-title", "no-branch", "branch-without-feature",
        "branch-with-capitals-and-space", "branch-of-another-lesson", "missing-section",
        "empty-section", "section-with-only-a-comment", "no-command-block",
        "empty-command-block", "too-few-checklist-items", "approved-with-open-item",
        "no-approval-line", "approval-placeholder", "pending-outside-a-draft",
    ],
)
def test_a_broken_write_up_is_refused(old: str, new: str, check: str) -> None:
    assert check in _errors(_replace(old, new))


def test_a_heading_inside_a_code_block_is_not_a_section() -> None:
    text = _replace("## Evidence\n\n```text\n", "## Evidence\n\n```text\n## Approval\n")
    writeup = parse(text, "prs/03-broker.md")

    assert [s.title for s in writeup.sections].count("Approval") == 1


def test_a_draft_may_leave_the_mentor_sections_open() -> None:
    text = _replace("> **notebooks/03-broker.ipynb** — nice use of XINFO. Reply: thanks.", "")
    text = text.replace("Approved by: Sam Rivera, 2026-12-05", "Approval: pending")
    text = text.replace("- [x] Every exercise", "- [ ] Every exercise")

    assert _errors(text, draft=True) == []
    assert set(_errors(text)) == {"sections", "approval"}


def test_a_learner_branch_outside_the_lessons_may_have_any_feature_name() -> None:
    text = _replace("`feature/lesson-03-broker`", "`feature/retry-with-jitter`")

    assert _errors(text, name="retry.md") == []


def test_the_template_drafts_into_a_valid_draft(tmp_path: Path) -> None:
    template = omniflow.prs.find_root() / "prs" / "TEMPLATE.md"
    text = template.read_text()
    text = text.replace("# Lesson NN: <what your change does, in one line>", "# Lesson 03: x")
    text = text.replace("`feature/lesson-NN-short-name`", "`feature/lesson-03-broker`")
    for placeholder in ("- 0000000 <one commit per line>", "<the test summary line>"):
        text = text.replace(placeholder, "filled")
    text = text.replace("## Motivation\n", "## Motivation\n\nBecause.\n")

    assert _errors(text, name="lesson-03-broker.md", draft=True) == []
