"""The one rule that keeps an execution document under its size bound.

A document is never refused for its size: that would leave a report without a record, or make a
worker retry a write that can never succeed. Instead, when the encoded document is larger than
``execution_max_bytes``, it is cut by this rule:

1. Always kept whole: identity, status, trace id, environment, timings, ``input``, ``summary``
   and ``errors`` (all small by construction).
2. ``steps`` keeps its leading entries, as many as fit.
3. ``output`` keeps as much as fits of the remaining room, as ``{"preview": <the first
   characters of its JSON text>}``.
4. A ``truncated`` field records ``original_bytes``, ``kept_bytes``, the rule's name and what was
   cut, so a reader knows the document is partial.

Only if the always-kept part alone is over the bound (an absurd input) are ``input`` and then
``errors`` cut the same way, so the result always fits.
"""

from __future__ import annotations

import json
from typing import Any

import bson
from bson import Int64

RULE = "keep-head:steps-then-output-preview"
# Room left for the names appended to ``truncated.cut`` after the parts were measured.
_CUT_NAMES_ROOM = 96


def encoded_size(doc: dict[str, Any]) -> int:
    """The document's size in bytes as BSON, the form MongoDB stores and limits."""
    return len(bson.encode(doc))


def fit_execution(doc: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """Returns ``doc`` itself if it fits in ``max_bytes``, else a copy cut by the rule above."""
    original = encoded_size(doc)
    if original <= max_bytes:
        return doc

    budget = max_bytes - _CUT_NAMES_ROOM
    out = dict(doc)
    steps = list(doc.get("steps") or [])
    output = doc.get("output")
    marker: dict[str, Any] = {
        "original_bytes": Int64(original),
        "kept_bytes": Int64(0),
        "rule": RULE,
        "cut": [],
        "steps_total": Int64(len(steps)),
        "steps_kept": Int64(0),
    }
    out.update(steps=[], output=None, truncated=marker)

    # The always-kept part must fit first; only an absurd input or error list can break that.
    if encoded_size(out) > budget:
        _cut_to_preview(out, "input", budget, marker)
    if encoded_size(out) > budget:
        _keep_leading(out, "errors", list(doc.get("errors") or []), budget, marker)

    kept = _keep_leading(out, "steps", steps, budget, marker, record=False)
    marker["steps_kept"] = Int64(kept)
    if kept < len(steps):
        marker["cut"].append("steps")
    if output is not None:
        out["output"] = output
        if encoded_size(out) > budget:
            _cut_to_preview(out, "output", budget, marker)

    marker["kept_bytes"] = Int64(encoded_size(out))  # Int64 is fixed-size: the total holds.
    return out


def _keep_leading(out: dict[str, Any], field: str, items: list[Any], max_bytes: int,
                  marker: dict[str, Any], *, record: bool = True) -> int:
    """Sets ``out[field]`` to the longest leading slice of ``items`` that fits; returns it."""
    low, high = 0, len(items)
    while low < high:
        mid = (low + high + 1) // 2
        out[field] = items[:mid]
        if encoded_size(out) <= max_bytes:
            low = mid
        else:
            high = mid - 1
    out[field] = items[:low]
    if record and low < len(items):
        marker["cut"].append(field)
    return low


def _cut_to_preview(out: dict[str, Any], field: str, max_bytes: int,
                    marker: dict[str, Any]) -> None:
    """Replaces ``out[field]`` with the longest prefix of its JSON text that fits."""
    text = json.dumps(out[field], separators=(",", ":"), default=str)  # ASCII: 1 char = 1 byte
    out[field] = {"preview": ""}
    room = max(0, max_bytes - encoded_size(out))
    out[field] = {"preview": text[:room]}
    marker["cut"].append(field)
