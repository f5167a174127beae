"""Checks a report form before it is sent, with the very rules the gateway applies.

Both sides call ``omniflow.contracts.parse_params``, so a form the client accepts is a form the
gateway accepts, and a rejected form names the same fields (``params.end_date``) with the same
reasons the gateway would give. Checking first spares a round trip and shows the problem next
to the field that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from omniflow.client.problems import FieldProblem
from omniflow.contracts import REPORT_TYPES, parse_params


@dataclass(frozen=True, slots=True)
class CheckedParams:
    """The outcome of checking a form: the params to send, or what is wrong with them."""

    params: dict[str, Any] | None
    errors: tuple[FieldProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.params is not None


def check_params(report_type: str, values: dict[str, Any]) -> CheckedParams:
    """Validates ``values`` for ``report_type``; returns the params as JSON-ready values."""
    if report_type not in REPORT_TYPES:
        known = ", ".join(REPORT_TYPES)
        return CheckedParams(None, (FieldProblem("type", f"must be one of: {known}"),))

    try:
        model = parse_params(report_type, values)
    except ValidationError as exc:
        return CheckedParams(None, tuple(_problems(exc, report_type)))
    return CheckedParams(model.model_dump(mode="json", exclude={"type"}))


def _problems(exc: ValidationError, report_type: str) -> list[FieldProblem]:
    fields = set(REPORT_TYPES[report_type].model_fields)
    problems = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] == report_type:
            loc = loc[1:]
        reason = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        if not loc:
            # A rule across fields starts its message with the field it is about.
            first_word = reason.split(" ", 1)[0]
            loc = [first_word] if first_word in fields else []
        problems.append(FieldProblem(".".join(["params", *loc]), reason))
    return problems
