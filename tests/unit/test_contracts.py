"""The job contract and the report parameter schemas, as pure logic."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from omniflow.contracts import Job, ReportStatus, parse_params


def _job(**overrides: object) -> Job:
    fields: dict[str, object] = {
        "report_id": "7f0c1d0e-0000-4000-8000-000000000001",
        "generation": 1,
        "type": "user_activity",
        "params": {"days": 7, "top": 5, "seed": 3},
        "trace_id": "abc123",
        "submitted_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    }
    fields.update(overrides)
    return Job.model_validate(fields)


def test_job_survives_a_round_trip_through_stream_fields() -> None:
    job = _job()
    fields = job.to_fields()

    assert all(isinstance(value, str) for value in fields.values())
    assert Job.from_fields(fields) == job
    assert fields["job_id"] == f"{job.report_id}:1"


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"v": "2"}, id="future-version"),
        pytest.param({"params": "{not json"}, id="params-not-json"),
        pytest.param({"generation": "zero"}, id="generation-not-int"),
    ],
)
def test_malformed_entries_are_refused(broken: dict[str, str]) -> None:
    fields = {**_job().to_fields(), **broken}

    with pytest.raises(ValueError):
        Job.from_fields(fields)


def test_missing_field_is_refused() -> None:
    fields = _job().to_fields()
    del fields["trace_id"]

    with pytest.raises(ValueError, match="malformed"):
        Job.from_fields(fields)


def test_sales_summary_rejects_a_reversed_range() -> None:
    with pytest.raises(ValidationError, match="end_date must not be before start_date"):
        parse_params("sales_summary", {"start_date": "2026-02-01", "end_date": "2026-01-01"})


@pytest.mark.parametrize(
    ("report_type", "params"),
    [
        pytest.param("inventory_snapshot", {"warehouse": "A; DROP TABLE"}, id="bad-warehouse"),
        pytest.param("user_activity", {"days": 0}, id="days-too-small"),
        pytest.param("user_activity", {"unexpected": 1}, id="extra-field"),
        pytest.param("user_activity", {"days": True}, id="bool-is-not-a-number"),
        pytest.param("user_activity", {"days": "7"}, id="numeric-string"),
        pytest.param("inventory_snapshot", {"warehouse": 12}, id="number-is-not-a-name"),
        pytest.param("inventory_snapshot", {"warehouse": "A", "include_zero_stock": 1},
                     id="int-is-not-a-bool"),
        pytest.param("no_such_report", {}, id="unknown-type"),
    ],
)
def test_bad_parameters_are_refused(report_type: str, params: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_params(report_type, params)


def test_dates_arrive_as_iso_strings() -> None:
    params = parse_params("sales_summary", {"start_date": "2026-01-01", "end_date": "2026-01-31"})

    assert params.model_dump(mode="json")["end_date"] == "2026-01-31"


def test_finished_statuses() -> None:
    assert {s for s in ReportStatus if s.finished} == {"DONE", "FAILED", "CANCELLED"}
