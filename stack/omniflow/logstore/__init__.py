"""The log store: what each report's execution looked like, kept in MongoDB.

Two collections answer two kinds of question. ``executions`` holds one document per report, the
whole story of the attempt that finished it (input, steps with timings, environment, output,
errors), so the admin can open one report and see everything. ``events`` holds one small document
per status change and per step, each carrying the report's trace id, so a timeline can be read
across reports and trimmed by age. See ``docs/logstore.md`` for the schema.
"""

from omniflow.logstore.client import connect, database
from omniflow.logstore.queries import (
    avg_step_durations,
    counts_by_kind,
    events_for,
    get_execution,
    recent_executions,
)
from omniflow.logstore.schema import EVENTS, EXECUTIONS, ensure_schema
from omniflow.logstore.truncate import fit_execution
from omniflow.logstore.writer import EventBuffer, ExecutionWriter

__all__ = [
    "EVENTS",
    "EXECUTIONS",
    "EventBuffer",
    "ExecutionWriter",
    "avg_step_durations",
    "connect",
    "counts_by_kind",
    "database",
    "ensure_schema",
    "events_for",
    "fit_execution",
    "get_execution",
    "recent_executions",
]
