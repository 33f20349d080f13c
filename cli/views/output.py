"""Printing: Rich tables for people, JSON for programs, colour only on a terminal."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

# Characters that steer a terminal instead of showing: C0 and C1 controls, DEL, and the
# bidirectional overrides that reorder what is shown. Newline and tab are kept in blocks.
_STEERING = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE_BLOCK = re.compile(f"[{_STEERING}]")
_UNSAFE_LINE = re.compile(f"[\t\n{_STEERING}]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\e"}

_console: Console | None = None
_errors: Console | None = None


def console() -> Console:
    """The console for normal output (stdout)."""
    global _console
    if _console is None:
        _console = Console(highlight=False, soft_wrap=False)
    return _console


def error_console() -> Console:
    """The console for errors (stderr)."""
    global _errors
    if _errors is None:
        _errors = Console(stderr=True, highlight=False, soft_wrap=True)
    return _errors


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def inline(value: object) -> str:
    """Text from outside (requests, devices, journals) for one line: every control shown as \\e, \\n, \\xNN."""
    return _UNSAFE_LINE.sub(_visible, "" if value is None else str(value))


def block(value: object) -> str:
    """Text for several lines: newlines and tabs kept, every other control shown as an escape."""
    return _UNSAFE_BLOCK.sub(_visible, "" if value is None else str(value))


def print_json(data: Any) -> None:
    """Print data as indented JSON, non-ASCII kept readable."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_default) + "\n")


# Columns of free text: they wrap when a table is wider than the terminal (80 columns over ssh
# or in a pipe). Every other column (IDs, names, CIDRs, dates, states, actions) stays whole.
WRAPPING = frozenset(
    {
        "summary",
        "error",
        "reason",
        "message",
        "details",
        "purpose",
        "description",
        "what happens",
        "comment",
        "title",
        "readings",
        "problem",
        "roles",
        "full name",
        "matchers",
    }
)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A plain table with the given header and rows (values turned to text), never truncated."""
    out = Table(
        title=Text(inline(title)) if title else None, title_justify="left", show_lines=False
    )
    wrapping = [column in WRAPPING for column in columns]
    widths = [cell_len(inline(column)) for column in columns]
    for column, wraps in zip(columns, wrapping, strict=True):
        out.add_column(Text(inline(column)), no_wrap=not wraps, overflow="fold")
    for row in rows:
        cells = [_cell(v) for v in row]
        widths = [
            max(w, cell_len(c.plain) if isinstance(c, Text) else w)
            for w, c in zip(widths, cells, strict=False)
        ]
        out.add_row(*cells)
    _fit(out, widths, wrapping)
    return out


def _cell(value: Any) -> RenderableType:
    if isinstance(value, Table | Text):
        return value
    return Text(inline(value))


def show(renderable: RenderableType | str) -> None:
    """Print something to stdout; strings never as markup, their control characters escaped."""
    if isinstance(
        renderable, str
    ):  # a line is never broken by dcops: terminals wrap, pipes keep it
        console().print(block(renderable), markup=False, soft_wrap=True)
        return
    console().print(renderable, markup=False)


def _fit(table: Table, widths: list[int], wrapping: list[bool]) -> None:
    """A table that cannot fit the terminal by wrapping its free text loses its frame (a header
    rule and one space between columns) before a column that must stay whole is folded."""
    framed = sum(w if not wraps else min(w, 12) for w, wraps in zip(widths, wrapping, strict=True))
    if framed + 3 * len(widths) + 1 <= console().width:
        return
    table.box = box.SIMPLE_HEAD
    table.show_edge = False
    table.pad_edge = False
    table.collapse_padding = True
    table.padding = (0, 0)
