"""Printing: Rich tables for people, JSON for programs, colour only on a terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

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


def print_json(data: Any) -> None:
    """Print data as indented JSON, non-ASCII kept readable."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_default) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A plain table with the given header and rows (values turned to text)."""
    out = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(_cell(v) for v in row))
    return out


def _cell(value: Any) -> RenderableType:
    if isinstance(value, Table | Text):
        return value
    return Text("" if value is None else str(value))


def show(renderable: RenderableType | str) -> None:
    """Print something to stdout; plain strings are printed as they are, never as markup."""
    console().print(renderable, markup=False)
