"""Finding, vetting and running the commands of a write-up (no stack needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from omniflow.prs import Command, Refused, extract, parse, run, vet
from omniflow.prs._check import check_file
from omniflow.prs._commands import DEPTH_VARIABLE

ENV = {"OMNIFLOW_GATEWAY_URL": "http://127.0.0.1:8123"}


def _vet(text: str) -> list[str]:
    return vet(Command(text, 1), ENV).argv


def test_commands_are_found_in_sh_blocks_only() -> None:
    writeup = parse(
        "# T\n\n## How to test\n\n"
        "```sh\n# a comment\nomniflow status\n\n$ make test-fast\npython -m pytest \\\n"
        "  tests/lab -q\n```\n\n"
        "```console\n$ omniflow env\nexport OMNIFLOW_X=1\n```\n\n"
        "```text\nmake lint\n```\n"
    )

    assert [c.text for c in extract(writeup)] == [
        "omniflow status", "make test-fast", "python -m pytest tests/lab -q", "omniflow env",
    ]


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("omniflow status", ["status"]),
        ("python -m pytest -q tests/lab", [sys.executable, "-m", "pytest", "-q", "tests/lab"]),
        ("pytest -k 'not slow'", [sys.executable, "-m", "pytest", "-k", "not slow"]),
        ("make test-fast", ["make", "test-fast"]),
        ('curl -fsS "$OMNIFLOW_GATEWAY_URL/health/ready"',
         ["curl", "-fsS", "http://127.0.0.1:8123/health/ready"]),
        ('curl -s "${OMNIFLOW_GATEWAY_URL:-http://127.0.0.1:8000}/openapi.json"',
         ["curl", "-s", "http://127.0.0.1:8123/openapi.json"]),
        ("curl -s -H 'Accept: application/json' http://localhost:8000/health/live",
         ["curl", "-s", "-H", "Accept: application/json", "http://localhost:8000/health/live"]),
        ("python -m omniflow.prs check --no-run prs/03-broker.md",
         [sys.executable, "-m", "omniflow.prs", "check", "--no-run", "prs/03-broker.md"]),
    ],
    ids=["omniflow-status", "python-m-pytest", "pytest-quoted-arg", "make-cheap-target",
         "curl-variable", "curl-variable-with-default", "curl-header", "prs-check"],
)
def test_allowed_commands_become_plain_argument_lists(text: str, argv: list[str]) -> None:
    assert _vet(text)[-len(argv):] == argv


def test_omniflow_run_is_allowed_around_an_allowed_command() -> None:
    argv = _vet("omniflow run --isolated -- pytest tests/lab")

    assert argv[-6:] == ["--isolated", "--", sys.executable, "-m", "pytest", "tests/lab"]


def test_leading_omniflow_assignments_become_the_environment() -> None:
    vetted = vet(Command("OMNIFLOW_WORKERS=3 omniflow status", 1), ENV)

    assert vetted.env == {"OMNIFLOW_WORKERS": "3"}
    assert vetted.argv[-1] == "status"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("rm -rf /", "not on the allow-list"),
        ("bash -c 'make status'", "not on the allow-list"),
        ("make test", "not allowed here"),
        ("make -C /tmp status", "option -C"),
        ("omniflow down", "not allowed here"),
        ("omniflow stop worker", "not allowed here"),
        ("omniflow logs worker -f", "never ends"),
        ("omniflow run -- rm -rf x", "not on the allow-list"),
        ("python -c 'print(1)'", "may only run"),
        ("python -m omniflow.prs start 03", "may only run"),
        ("make status && make lint", "shell operator"),
        ("make status; make lint", "shell operator"),
        ("pytest tests | tee out.txt", "shell operator"),
        ("pytest tests > out.txt", "shell operator"),
        ("pytest $(cat args)", "operator"),
        ("pytest `cat args`", "substitution"),
        ("curl https://example.com/", "only call"),
        ("curl http://127.0.0.1.example.com/", "only call"),
        ("curl -o /tmp/x http://127.0.0.1:8000/", "option -o"),
        ("curl -L http://127.0.0.1:8000/", "option -L"),
        ("curl -fsSo x http://127.0.0.1:8000/", "option -o"),
        ("curl --url https://example.com", "only call"),
        ("curl -s", "needs a URL"),
        ("curl $HOME", "only $OMNIFLOW_"),
        ("PATH=/tmp make status", "only OMNIFLOW_"),
        (f"{DEPTH_VARIABLE}=0 make status", "only OMNIFLOW_"),
        ("pytest 'unbalanced", "cannot split"),
    ],
)
def test_refused_commands_say_why(text: str, reason: str) -> None:
    with pytest.raises(Refused, match=reason.replace("$", r"\$")):
        _vet(text)


def test_a_failing_command_reports_its_status_and_last_lines(tmp_path: Path) -> None:
    (tmp_path / "test_fails.py").write_text("def test_fails():\n    assert 1 == 2\n")
    vetted = vet(Command("python -m pytest -q -p no:cacheprovider test_fails.py", 1), ENV)

    outcome = run(vetted, cwd=tmp_path, timeout=60)

    assert not outcome.ok
    assert outcome.detail == "exit status 1"
    assert any("1 failed" in line for line in outcome.tail)


def test_a_slow_command_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    (tmp_path / "test_slow.py").write_text("import time\n\ndef test_slow():\n    time.sleep(60)\n")
    vetted = vet(Command("python -m pytest -q -p no:cacheprovider test_slow.py", 1), ENV)

    outcome = run(vetted, cwd=tmp_path, timeout=3)

    assert not outcome.ok
    assert outcome.detail.startswith("timed out")
    assert outcome.seconds < 30


def test_commands_are_not_run_again_from_inside_a_validated_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writeup = tmp_path / "retry.md"
    writeup.write_text("# T\n\nBranch: `feature/t`\n\n## How to test\n\n```sh\nmake status\n```\n")
    monkeypatch.setenv(DEPTH_VARIABLE, "1")

    report = check_file(writeup, root=tmp_path, run=True)

    assert report.outcomes == []
    assert any(f.check == "run" and f.level == "warning" for f in report.findings)
