"""Reading YAML and TOML files while remembering which line each field came from."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dcops.core.errors import Problem

Loc = tuple[str | int, ...]
# libyaml's loader builds the same nodes, marks included, several times faster.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Document:
    """Parsed data of one file plus the line of every field in it."""

    source: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest part of loc that the file mentions."""
        path = tuple(loc)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        """A problem about the field at loc in this file."""
        return Problem(self.source, dotted(loc), message, self.line_of(loc))


def dotted(loc: Sequence[str | int]) -> str:
    """A field path as people write it: pools[1].cidr."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_yaml(path: Path, source: str) -> Document:
    """Parse one YAML file; syntax errors and duplicate keys become problems, not exceptions."""
    doc = Document(source, None)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        doc.problems.append(Problem(source, "", f"cannot read file: {exc}"))
        return doc
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.data = _construct(loader, node, (), doc)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        doc.problems.append(Problem(source, "", f"invalid YAML: {reason}", line))
    finally:
        loader.dispose()
    return doc


def _construct(loader: Any, node: yaml.Node, loc: Loc, doc: Document) -> Any:
    doc.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in result:
                first = doc.lines.get((*loc, key))
                doc.problems.append(
                    Problem(
                        doc.source,
                        dotted((*loc, key)),
                        f"duplicate key {key!r} (first given on line {first}); give each key once",
                        key_node.start_mark.line + 1,
                    )
                )
                continue
            doc.lines[(*loc, key)] = key_node.start_mark.line + 1
            result[key] = _construct(loader, value_node, (*loc, key), doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*loc, i), doc) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


_TABLE = re.compile(r"^\s*\[(\[)?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def read_toml(path: Path, source: str) -> Document:
    """Parse one TOML file and map table and key paths to their lines."""
    doc = Document(source, None)
    try:
        text = path.read_text(encoding="utf-8")
        doc.data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        doc.problems.append(Problem(source, "", f"cannot read file: {exc}"))
        return doc
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        doc.problems.append(Problem(source, "", f"invalid TOML: {exc}", line))
        return doc
    doc.lines = _toml_lines(text)
    return doc


def _toml_lines(text: str) -> dict[Loc, int]:
    """Map the table and key paths of a TOML text to line numbers (inline tables map to their key)."""
    lines: dict[Loc, int] = {}
    counters: dict[tuple[str, ...], int] = {}
    table: Loc = ()
    depth = 0  # inside a multi-line array or string value
    for number, raw in enumerate(text.splitlines(), start=1):
        if depth:
            depth += raw.count("[") - raw.count("]")
            depth = max(depth, 0)
            continue
        header = _TABLE.match(raw)
        if header and not _KEY.match(raw):
            names = tuple(_unquote(p) for p in header.group(2).split("."))
            if header.group(1):
                index = counters.get(names, -1) + 1
                counters[names] = index
                table = (*_resolve(names, counters), index)
            else:
                table = _resolve(names, counters)
            lines.setdefault(table, number)
            continue
        key = _KEY.match(raw)
        if key:
            parts = tuple(_unquote(p) for p in key.group(1).split("."))
            lines.setdefault((*table, *parts), number)
            value = raw[key.end() :]
            depth = max(value.count("[") - value.count("]"), 0)
    return lines


def _resolve(names: tuple[str, ...], counters: dict[tuple[str, ...], int]) -> Loc:
    """Insert array-of-tables indexes for parents that are arrays ([[a]] then [a.b])."""
    loc: list[str | int] = []
    for i, name in enumerate(names):
        loc.append(name)
        prefix = names[: i + 1]
        if i < len(names) - 1 and prefix in counters:
            loc.append(counters[prefix])
    return tuple(loc)


def _unquote(part: str) -> str:
    return part.strip().strip("\"'")
