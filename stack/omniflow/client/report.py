"""The client's view of a report: the fields it shows and the actions the gateway allows.

Only a ``PENDING`` report can be cancelled and only a ``FAILED`` one retried; the gateway
enforces both rules, and the client mirrors them to offer only the buttons that will work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omniflow.contracts import ReportStatus


@dataclass(frozen=True, slots=True)
class Report:
    """One report request as the gateway returned it."""

    id: str
    type: str
    status: ReportStatus
    params: dict[str, Any] = field(default_factory=dict)
    progress: int = 0
    generation: int = 1
    attempts: int = 0
    failure_reason: str | None = None
    created_at: str = ""
    updated_at: str = ""
    finished_at: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        """Reads a report body; fields the client does not show are ignored."""
        return cls(
            id=str(data["id"]),
            type=str(data["type"]),
            status=ReportStatus(data["status"]),
            params=dict(data.get("params") or {}),
            progress=int(data.get("progress") or 0),
            generation=int(data.get("generation") or 1),
            attempts=int(data.get("attempts") or 0),
            failure_reason=data.get("failure_reason"),
            created_at=str(data.get("created_at") or ""),
            updated_at=str(data.get("updated_at") or ""),
            finished_at=data.get("finished_at"),
        )

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def can_cancel(self) -> bool:
        return self.status is ReportStatus.PENDING

    @property
    def can_retry(self) -> bool:
        return self.status is ReportStatus.FAILED


@dataclass(frozen=True, slots=True)
class ReportPage:
    """Some of my reports, newest first, and the cursor to the next (older) page."""

    items: tuple[Report, ...]
    next_cursor: str | None = None
