"""The latest-release audit's verdicts, with PyPI's answers given (pure logic, no network)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "audit_latest.py"


@pytest.fixture
def audit(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_latest", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _answers(monkeypatch: pytest.MonkeyPatch, audit: ModuleType, installed: dict[str, str],
             pypi: dict[str, object]) -> None:
    monkeypatch.setattr(audit, "installed", lambda: installed)
    monkeypatch.setattr(audit, "latest", lambda name: pypi[name])


def test_an_advisory_on_an_installed_latest_release_fails_the_audit(
        monkeypatch, audit, capsys) -> None:
    advisory = {"id": "PYSEC-0000-1", "fixed_in": [], "withdrawn": None}
    _answers(monkeypatch, audit, {"oldcrypto": "2.6.1", "fine": "1.0"},
             {"oldcrypto": ("2.6.1", [advisory]), "fine": ("1.0", [])})

    assert audit.main() == 1
    assert "oldcrypto 2.6.1: PYSEC-0000-1 (fixed in no fix yet)" in capsys.readouterr().out


def test_a_withdrawn_advisory_does_not_count(monkeypatch, audit) -> None:
    withdrawn = {"id": "GHSA-x", "fixed_in": ["2"], "withdrawn": "2026-01-01T00:00:00Z"}
    _answers(monkeypatch, audit, {"pkg": "1.0"}, {"pkg": ("1.0", [withdrawn])})

    assert audit.main() == 0


def test_an_older_release_is_listed_as_not_audited_never_as_clean(
        monkeypatch, audit, capsys) -> None:
    _answers(monkeypatch, audit, {"old": "1.0", "new": "2.0"},
             {"old": ("1.5", []), "new": ("2.0", [])})

    assert audit.main() == 0
    out = capsys.readouterr().out
    assert "1 audited" in out and "not audited: old 1.0 (latest 1.5)" in out


def test_no_answer_from_pypi_at_all_is_a_blocked_audit(monkeypatch, audit, capsys) -> None:
    _answers(monkeypatch, audit, {"pkg": "1.0"}, {"pkg": "PyPI did not answer (timed out)"})

    assert audit.main() == 2
    assert "audit BLOCKED" in capsys.readouterr().out
