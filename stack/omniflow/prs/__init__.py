"""Lessons as pull requests: start a lesson branch with a drafted write-up, and check write-ups.

``python -m omniflow.prs start 03`` creates ``feature/lesson-03-broker`` and drafts
``prs/drafts/feature/lesson-03-broker.md`` from ``prs/TEMPLATE.md``, filled with the branch's
commits and the lesson notebook's test result. ``python -m omniflow.prs check`` validates every
write-up: its sections, branch name, checklist and approval, and that the commands under "How
to test" really run (each one vetted against an allow-list, with a timeout).
"""

from omniflow.prs._check import FileReport, check_file, check_files, default_files
from omniflow.prs._commands import Command, Outcome, Refused, Vetted, extract, run, vet
from omniflow.prs._start import Lesson, StartError, draft, find_root, lessons, start
from omniflow.prs._writeup import (
    REQUIRED_SECTIONS,
    Finding,
    WriteUp,
    check_structure,
    parse,
    read,
)

__all__ = [
    "REQUIRED_SECTIONS",
    "Command",
    "FileReport",
    "Finding",
    "Lesson",
    "Outcome",
    "Refused",
    "StartError",
    "Vetted",
    "WriteUp",
    "check_file",
    "check_files",
    "check_structure",
    "default_files",
    "draft",
    "extract",
    "find_root",
    "lessons",
    "parse",
    "read",
    "run",
    "start",
    "vet",
]
