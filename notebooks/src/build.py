"""Builds the lesson notebooks from their sources here, and optionally runs them to fill outputs.

Each ``NN-name.py`` is a notebook in the "percent" format: a line ``# %%`` starts a code cell,
``# %% [markdown]`` a Markdown cell whose lines are written as ``# text``. A code cell whose
first line is ``# lab: strip-output`` keeps no outputs in the committed notebook (use it for
large outputs such as a Bokeh chart, together with ``# NBVAL_IGNORE_OUTPUT``).

    python notebooks/src/build.py                 # every notebook, without outputs
    python notebooks/src/build.py 03 --execute    # one notebook, run against the stack

Run ``--execute`` against a stack with its variables exported, e.g. inside
``omniflow run --isolated -- python notebooks/src/build.py --execute``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent
STRIP_MARK = "# lab: strip-output"
# Written by other people: never generated here.
NOT_OURS = {"06-client", "07-monitor"}
_CELL = re.compile(r"^# %%(?P<rest>.*)$")


def parse(text: str) -> nbformat.NotebookNode:
    """Turns a percent-format source into a notebook without outputs."""
    cells = []
    kind, lines = None, []

    def flush() -> None:
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(_uncomment(line) for line in body.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(body))
        else:
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.splitlines():
        match = _CELL.match(line)
        if match:
            flush()
            kind = "markdown" if "[markdown]" in match["rest"] else "code"
            lines = []
            continue
        if kind is not None:
            lines.append(line)
    flush()

    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"},
        "language_info": {"name": "python"},
    }
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"
    return notebook


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    return "" if line.strip() == "#" else line


def execute(notebook: nbformat.NotebookNode, timeout: int) -> None:
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()


def tidy(notebook: nbformat.NotebookNode) -> None:
    """Drops what changes on every run and is never compared: timings, and stripped outputs."""
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code" and cell.source.startswith(STRIP_MARK):
            cell.outputs = []
            cell.execution_count = None


def sources(selected: list[str]) -> list[Path]:
    found = sorted(HERE.glob("[0-9][0-9]-*.py"))
    if selected:
        found = [p for p in found if any(p.name.startswith(s) for s in selected)]
    return [p for p in found if p.stem not in NOT_OURS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers, e.g. 00 03 (default: all)")
    parser.add_argument("--execute", action="store_true", help="run them to fill the outputs")
    parser.add_argument("--timeout", type=int, default=180, help="seconds per cell")
    args = parser.parse_args(argv)

    paths = sources(args.lessons)
    if not paths:
        print("no notebook sources match", file=sys.stderr)
        return 2
    for path in paths:
        notebook = parse(path.read_text(encoding="utf-8"))
        target = NOTEBOOKS / f"{path.stem}.ipynb"
        began = time.monotonic()
        if args.execute:
            execute(notebook, args.timeout)
        tidy(notebook)
        nbformat.validate(notebook)
        nbformat.write(notebook, target)
        took = f" (ran in {time.monotonic() - began:.1f} s)" if args.execute else ""
        print(f"wrote {target.relative_to(NOTEBOOKS.parent)}{took}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
