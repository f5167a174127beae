"""The language-neutral contract between the gateway, the broker and the worker.

A job travels on a Redis Stream as a flat map of string fields, so a worker written in any
language can read it: ``v`` (contract version), ``job_id``, ``report_id``, ``generation``,
``type``, ``params`` (JSON text), ``trace_id`` and ``submitted_at`` (ISO 8601, UTC).

The report types and their parameter schemas live here too: the gateway validates with them,
the worker decodes with them, and the notebook client checks a form with the same rules.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

CONTRACT_VERSION = "1"


class ReportStatus(enum.StrEnum):
    """The lifecycle of a report request."""

    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self in FINISHED_STATUSES


FINISHED_STATUSES = frozenset({ReportStatus.DONE, ReportStatus.FAILED, ReportStatus.CANCELLED})


class _Params(BaseModel):
    # Strict: JSON ``true`` is not a number of days and ``"7"`` is not an integer. Dates are
    # the one exception, since JSON has no date type and they arrive as ISO 8601 strings.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    seed: int = Field(default=0, ge=0, le=2**31 - 1,
                      description="Makes the simulated work repeatable.")
    poison: bool = Field(default=False, description="Always fails: exercises the dead-letter path.")


class SalesSummaryParams(_Params):
    """A revenue summary for one region over a date range."""

    type: Literal["sales_summary"] = "sales_summary"
    region: Literal["north", "south", "east", "west", "all"] = "all"
    start_date: dt.date = Field(strict=False)
    end_date: dt.date = Field(strict=False)

    @model_validator(mode="after")
    def _range_is_sane(self) -> SalesSummaryParams:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if (self.end_date - self.start_date).days > 366:
            raise ValueError("the date range must not exceed 366 days")
        return self


class InventorySnapshotParams(_Params):
    """Stock levels of one warehouse."""

    type: Literal["inventory_snapshot"] = "inventory_snapshot"
    warehouse: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    include_zero_stock: bool = False


class UserActivityParams(_Params):
    """Activity of the most active users over the last days."""

    type: Literal["user_activity"] = "user_activity"
    days: int = Field(default=7, ge=1, le=90)
    top: int = Field(default=10, ge=1, le=100)


ReportParams = Annotated[
    SalesSummaryParams | InventorySnapshotParams | UserActivityParams,
    Field(discriminator="type"),
]
REPORT_TYPES: dict[str, type[_Params]] = {
    "sales_summary": SalesSummaryParams,
    "inventory_snapshot": InventorySnapshotParams,
    "user_activity": UserActivityParams,
}
_params_adapter: TypeAdapter[Any] = TypeAdapter(ReportParams)


def parse_params(report_type: str, params: dict[str, Any]) -> _Params:
    """Validates ``params`` for ``report_type``; raises ``pydantic.ValidationError``."""
    return _params_adapter.validate_python({**params, "type": report_type})


class Job(BaseModel):
    """One unit of work on the jobs stream."""

    model_config = ConfigDict(frozen=True)

    report_id: str
    generation: int = Field(ge=1)
    type: str
    params: dict[str, Any]
    trace_id: str
    submitted_at: dt.datetime

    @property
    def job_id(self) -> str:
        """Names one attempt-series of one report; a retry starts a new generation."""
        return f"{self.report_id}:{self.generation}"

    def to_fields(self) -> dict[str, str]:
        """Encodes the job as the flat string map a stream entry carries."""
        return {
            "v": CONTRACT_VERSION,
            "job_id": self.job_id,
            "report_id": self.report_id,
            "generation": str(self.generation),
            "type": self.type,
            "params": json.dumps(self.params, separators=(",", ":"), default=str),
            "trace_id": self.trace_id,
            "submitted_at": self.submitted_at.isoformat(),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Job:
        """Decodes a stream entry; raises ``ValueError`` on a malformed or foreign entry."""
        if fields.get("v") != CONTRACT_VERSION:
            raise ValueError(f"unsupported contract version {fields.get('v')!r}")
        try:
            return cls(
                report_id=fields["report_id"],
                generation=int(fields["generation"]),
                type=fields["type"],
                params=json.loads(fields["params"]),
                trace_id=fields["trace_id"],
                submitted_at=dt.datetime.fromisoformat(fields["submitted_at"]),
            )
        except (KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed job entry: {exc}") from exc
