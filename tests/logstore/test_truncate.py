"""The size rule for execution documents, as a pure function."""

from __future__ import annotations

import datetime as dt

import pytest

from omniflow.logstore.truncate import RULE, encoded_size, fit_execution

MIB = 1024 * 1024
LIMIT = 1 * MIB


def _doc(output_bytes: int, *, steps: int = 4, step_bytes: int = 100) -> dict:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return {
        "_id": "r-1", "report_id": "r-1", "generation": 1, "attempt": 1, "status": "DONE",
        "trace_id": "t-1", "input": {"seed": 1, "region": "all"},
        "summary": {"orders": 10, "revenue": 99.5}, "errors": [{"attempt": 1, "message": "x"}],
        "started_at": now, "finished_at": now,
        "steps": [{"name": f"step-{n}", "note": "s" * step_bytes} for n in range(steps)],
        "output": {"regions": [{"region": "north"}],
                   "detail": ["d" * 1024] * (output_bytes // 1024)},
        "truncated": None,
    }


def test_a_document_that_fits_is_returned_untouched():
    doc = _doc(10 * 1024)
    assert fit_execution(doc, LIMIT) is doc


@pytest.mark.parametrize("size", [16 * MIB + 1024, 18 * MIB, 48 * MIB],
                         ids=["16MiB+1KiB", "18MiB", "48MiB"])
def test_oversized_output_becomes_a_preview_and_everything_else_is_kept(size):
    doc = _doc(size)
    fitted = fit_execution(doc, LIMIT)

    assert encoded_size(fitted) <= LIMIT
    marker = fitted["truncated"]
    assert marker["rule"] == RULE and marker["cut"] == ["output"]
    assert marker["original_bytes"] == encoded_size(doc) > size
    assert marker["kept_bytes"] == encoded_size(fitted)
    assert fitted["output"]["preview"].startswith('{"regions":[{"region":"north"}]')
    assert marker["kept_bytes"] > LIMIT - 4096  # the room is used, not wasted
    for field in ("input", "summary", "errors", "steps", "trace_id", "started_at"):
        assert fitted[field] == doc[field]
    assert doc["truncated"] is None  # the original is not modified


def test_huge_steps_keep_their_leading_entries():
    doc = _doc(0, steps=5000, step_bytes=1024)
    fitted = fit_execution(doc, LIMIT)

    assert encoded_size(fitted) <= LIMIT
    marker = fitted["truncated"]
    assert "steps" in marker["cut"] and 0 < marker["steps_kept"] < 5000
    assert fitted["steps"] == doc["steps"][: marker["steps_kept"]]
    assert marker["steps_total"] == 5000


def test_an_absurd_input_is_cut_too_so_the_result_always_fits():
    doc = _doc(2 * MIB)
    doc["input"] = {"blob": "i" * (2 * MIB)}
    fitted = fit_execution(doc, LIMIT)
    assert encoded_size(fitted) <= LIMIT
    assert fitted["truncated"]["cut"][0] == "input"
    assert fitted["summary"] == doc["summary"]
