"""Name cells as an author sees them, and say where a cell failed: the line, the message, the last frame.

Jupyter numbers code cells ``In [n]`` as they run; after *Restart and Run All* of the source notebook
the k-th code cell shows ``In [k]``, so that is the number used here. Markdown cells have no number
on screen, so they are "markdown cell k" (the k-th markdown cell). Never a 0-based index.
"""
from __future__ import annotations

import re
from datetime import datetime

from nbformat import NotebookNode

from autograde import cells
from autograde.cells import CellError, grade_id

ANSI = re.compile(r"\x1b\[[0-9;]*m")
FRAME = re.compile(r"Cell In\s*\[(\d+)\], line (\d+)(?:, in (\w+))?")  # IPython 8's frame header in a traceback
LONGEST = 100  # characters of a source line quoted in a message


def position(nb: NotebookNode, index: int) -> str:
    """"In [k]" for the k-th code cell, "markdown cell k" for the k-th markdown cell (k from 1)."""
    return cells.position(nb.cells, index)


def label(nb: NotebookNode, index: int) -> str:
    """The cell's grade_id with its position ("test_f (In [3])"), or the position alone."""
    name = grade_id(nb.cells[index])
    return f"{name} ({position(nb, index)})" if name else position(nb, index)


def _quoted(source: str, line: int) -> str:
    """Line ``line`` (from 1) of ``source``, stripped and shortened, in backticks; "" when out of range."""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1].strip()
    return f"`{text if len(text) <= LONGEST else text[:LONGEST - 3] + '...'}`"


def frames(traceback: str) -> list[tuple[int, int, str]]:
    """(execution count, line, function or "") of each notebook frame in a traceback, outermost first."""
    return [(int(count), int(line), function or "") for count, line, function in FRAME.findall(ANSI.sub("", traceback))]


def describe(nb: NotebookNode, index: int, error: CellError) -> str:
    """"line 4: `assert f(2) == 5` -> AssertionError: 6", plus the last frame when it is in another cell.

    ``nb`` is the executed notebook (its execution counts name the frames); lines are those of the cell source.
    """
    message = str(error) if error.message else f"{error.ename} (no message)"
    by_count = {cell.get("execution_count"): i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"}
    own = nb.cells[index].get("execution_count")
    found = frames(error.traceback)
    here = [line for count, line, _ in found if count == own]
    text = f"line {here[0]}: {_quoted(nb.cells[index].source, here[0])} -> {message}" if here else message
    if found and found[-1][0] != own and found[-1][0] in by_count:
        count, line, function = found[-1]
        where = by_count[count]
        inside = f" in {function}" if function else ""
        text += f" (raised{inside} at {label(nb, where)} line {line}: {_quoted(nb.cells[where].source, line)})"
    return text


def cell_seconds(cell: NotebookNode) -> float:
    """Wall time of one executed cell from nbclient's timing metadata (0 when missing)."""
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError, AttributeError):
        return 0.0
    return max(0.0, (end - start).total_seconds())


def slowest(nb: NotebookNode, shown: int = 2) -> str:
    """"In [5] 14 s, setup (In [1]) 3 s": the code cells of an executed notebook that took longest (1 s or more)."""
    timed = sorted(((cell_seconds(c), i) for i, c in enumerate(nb.cells) if c.cell_type == "code"), reverse=True)
    return ", ".join(f"{label(nb, i)} {seconds:.0f} s" for seconds, i in timed[:shown] if seconds >= 1)
