"""``start`` and ``draft`` in a throw-away git repository (no stack needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from omniflow.prs import StartError, draft, find_root, parse, start
from omniflow.prs._check import check_file

PROJECT = find_root(Path(__file__))


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada Learner", "GIT_AUTHOR_EMAIL": "ada@example.org",
           "GIT_COMMITTER_NAME": "Ada Learner", "GIT_COMMITTER_EMAIL": "ada@example.org"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A tiny project: pyproject.toml, the PR template and one lesson, committed on main."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'tiny'\n")
    (tmp_path / "prs").mkdir()
    shutil.copy(PROJECT / "prs" / "TEMPLATE.md", tmp_path / "prs" / "TEMPLATE.md")
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "03-broker.md").write_text("# Lesson 03: The broker\n")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.name", "Ada Learner")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "The tiny project")
    return tmp_path


def test_start_creates_the_branch_and_a_draft_that_passes_as_a_draft(repo: Path) -> None:
    path = start(repo, "3", tests=False)

    assert _git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "feature/lesson-03-broker"
    assert path == repo / "prs" / "drafts" / "feature" / "lesson-03-broker.md"
    writeup = parse(path.read_text(), path)
    assert writeup.title == "Lesson 03: The broker"
    assert writeup.branch == "feature/lesson-03-broker"
    assert writeup.fields["Author"] == "Ada Learner"
    assert "notebooks/03-broker.ipynb" in writeup.section("How to test").text

    text = path.read_text().replace("<!-- Why does this change exist?", "Because.\n<!--", 1)
    path.write_text(text)
    report = check_file(path, root=repo, run=False)
    assert report.errors == [], [str(f) for f in report.errors]


def test_draft_refreshes_the_commits_and_keeps_what_the_learner_wrote(repo: Path) -> None:
    path = start(repo, "03", tests=False)
    path.write_text(path.read_text().replace("## Motivation\n", "## Motivation\n\nMine.\n"))
    (repo / "lessons" / "03-broker.md").write_text("# Lesson 03: The broker, clearer\n")
    _git(repo, "commit", "-q", "-am", "Say what a pending entry is")

    draft(repo, tests=False)

    text = path.read_text()
    assert "Mine." in text
    assert "Say what a pending entry is" in text
    assert "No commits on this branch yet" not in text


def test_start_refuses_a_lesson_that_does_not_exist(repo: Path) -> None:
    with pytest.raises(StartError, match="no lesson 07"):
        start(repo, "07", tests=False)


def test_start_refuses_to_take_over_an_existing_branch(repo: Path) -> None:
    _git(repo, "branch", "feature/lesson-03-broker")

    with pytest.raises(StartError, match="exists already"):
        start(repo, "03", tests=False)


def test_draft_needs_a_feature_branch(repo: Path) -> None:
    with pytest.raises(StartError, match="feature/"):
        draft(repo, tests=False)


def test_a_refresh_without_tests_keeps_the_result_pasted_earlier(repo: Path) -> None:
    path = start(repo, "03", tests=False)
    text = path.read_text()
    begin = text.index("<!-- begin tests -->\n") + len("<!-- begin tests -->\n")
    end = text.index("<!-- end tests -->")
    path.write_text(text[:begin] + "```text\n15 passed in 2.79s\n```\n" + text[end:])

    draft(repo, tests=False)

    assert "15 passed in 2.79s" in path.read_text()
