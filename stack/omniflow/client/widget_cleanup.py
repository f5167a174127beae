"""Closes widgets together with their children.

ipywidgets keeps every widget it creates alive in the kernel until ``close()`` is called, and
closing a box does not close what it holds. A table redrawn every few seconds would otherwise
grow the kernel's memory for as long as the notebook is open.
"""

from __future__ import annotations

import ipywidgets as widgets


def close_tree(widget: widgets.Widget) -> None:
    """Closes ``widget`` and, first, everything inside it."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()
