"""Builds the input widgets of a report type from its parameter schema in the contract.

The form is derived from ``omniflow.contracts`` rather than written by hand, so a parameter
added to the contract shows up in the form, with its default and description, without a change
here. Inputs accept anything the person types; deciding what is valid is left to the contract
(see ``validation.py``), and each field has a slot to show its problem beside it.
"""

from __future__ import annotations

import datetime as dt
import html
import typing
from typing import Any

import ipywidgets as widgets
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from omniflow.client.problems import FieldProblem
from omniflow.contracts import REPORT_TYPES

_LABEL = {"description_width": "9em"}


def _input_for(name: str, info: FieldInfo) -> widgets.ValueWidget:
    """Picks the widget that fits a parameter's type."""
    annotation = info.annotation
    default = None if info.default is PydanticUndefined else info.default
    common: dict[str, Any] = {"description": name, "style": _LABEL}
    if info.description:
        common["tooltip"] = info.description

    if typing.get_origin(annotation) is typing.Literal:
        options = [str(option) for option in typing.get_args(annotation)]
        return widgets.Dropdown(options=options, value=default or options[0], **common)
    if annotation is bool:
        return widgets.Checkbox(value=bool(default), indent=True, **common)
    if annotation is int:
        return widgets.IntText(value=int(default or 0), **common)
    if annotation is dt.date:
        return widgets.DatePicker(value=default, **common)
    return widgets.Text(value="" if default is None else str(default), **common)


class ParamsEditor:
    """The parameter inputs of one report type; ``set_type`` swaps them for another type's."""

    def __init__(self, report_type: str) -> None:
        self.widget = widgets.VBox()
        self.inputs: dict[str, widgets.ValueWidget] = {}
        self.problems: dict[str, widgets.HTML] = {}
        self.report_type = ""
        self.set_type(report_type)

    def set_type(self, report_type: str) -> None:
        """Rebuilds the inputs for ``report_type``, with the contract's defaults."""
        model = REPORT_TYPES[report_type]
        self.report_type = report_type
        # The type's own parameters first; those every type shares (seed, poison) after them.
        shared = set(model.__mro__[1].model_fields)
        names = [name for name in model.model_fields if name != "type"]
        names.sort(key=lambda name: name in shared)
        self.inputs = {name: _input_for(name, model.model_fields[name]) for name in names}
        self.problems = {name: widgets.HTML("") for name in self.inputs}
        self.widget.children = [
            widgets.HBox([self.inputs[name], self.problems[name]]) for name in self.inputs
        ]

    def values(self) -> dict[str, Any]:
        """Returns what the inputs hold; an empty date is left out, so the contract names it."""
        return {name: box.value for name, box in self.inputs.items() if box.value is not None}

    def set_values(self, **values: Any) -> None:
        """Fills inputs by name; an unknown name is a mistake in the caller's code."""
        for name, value in values.items():
            if name not in self.inputs:
                raise KeyError(f"{self.report_type} has no parameter {name!r}; "
                               f"it has {', '.join(self.inputs)}")
            self.inputs[name].value = value

    def show_problems(self, problems: tuple[FieldProblem, ...]) -> None:
        """Writes each problem beside its input and clears the others."""
        self.clear_problems()
        for problem in problems:
            slot = self.problems.get(problem.name)
            if slot is not None:
                slot.value = (f'<span style="color:#a4262c" data-field="{problem.name}">'
                              f"{html.escape(problem.reason)}</span>")

    def clear_problems(self) -> None:
        for slot in self.problems.values():
            slot.value = ""
