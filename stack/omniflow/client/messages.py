"""The one place an app tells the person what happened: a line of coloured, escaped text.

Every outcome a person must notice (signed in, report accepted, a field is wrong, the gateway
is down) is written here in plain words. Text is HTML-escaped, so whatever an error contains
is shown as text and never interpreted as markup.
"""

from __future__ import annotations

import html
import logging
from typing import Literal

import ipywidgets as widgets

log = logging.getLogger("omniflow.client")

Level = Literal["info", "success", "error"]
_COLOURS: dict[str, str] = {"info": "#31536b", "success": "#1d6b35", "error": "#a4262c"}
_SYMBOLS: dict[str, str] = {"info": "ℹ", "success": "✔", "error": "✖"}


class MessageArea:
    """Shows the latest message; ``text`` and ``level`` read it back for code and tests."""

    def __init__(self) -> None:
        self.widget = widgets.HTML(value="", layout=widgets.Layout(min_height="1.6em"))
        self.text = ""
        self.level: Level = "info"

    def info(self, text: str) -> None:
        self._show("info", text)

    def success(self, text: str) -> None:
        self._show("success", text)

    def error(self, text: str) -> None:
        self._show("error", text)

    def clear(self) -> None:
        self.text = ""
        self.level = "info"
        self.widget.value = ""

    def _show(self, level: Level, text: str) -> None:
        self.text = text
        self.level = level
        self.widget.value = (
            f'<div role="status" data-level="{level}" style="color:{_COLOURS[level]}">'
            f"{_SYMBOLS[level]} {html.escape(text)}</div>"
        )
        if level == "error":
            log.info("shown to the user: %s", text)
