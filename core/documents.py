"""Reading YAML and TOML files while remembering which line each field came from."""

from __future__ import annotations

import re
import stat
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
MIB = 1024 * 1024
# Control characters a value may not carry (they move the cursor, clear screens, forge lines).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Limits:
    """How large a file dcops reads may be, and how deep, wide and long its values."""

    file_bytes: int = 4 * MIB
    values: int = 200_000  # every scalar, list and mapping, aliases expanded
    depth: int = 32  # lists and mappings inside each other
    items: int = 10_000  # entries of one list or mapping
    string_chars: int = 256 * 1024  # characters of one value


SITE_LIMITS = Limits()


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


def read_text(
    path: Path, source: str, limits: Limits = SITE_LIMITS
) -> tuple[str | None, Problem | None]:
    """The text of a regular file no larger than the limit, or the problem that stops reading it."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return None, Problem(
                source, "", f"{_kind(info.st_mode)}, not a regular file; give a file"
            )
        if info.st_size > limits.file_bytes:
            return None, _too_large(source, info.st_size, limits)
        with path.open("rb") as handle:
            raw = handle.read(limits.file_bytes + 1)
        if len(raw) > limits.file_bytes:
            return None, _too_large(source, len(raw), limits)
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, Problem(source, "", f"not UTF-8 text (byte {exc.start}); save it as UTF-8")
    except PermissionError:
        return None, Problem(
            source, "", "cannot read file: permission denied (check its mode and owner)"
        )
    except OSError as exc:
        return None, Problem(source, "", f"cannot read file: {exc.strerror or exc}")


def _kind(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "a special file")


def _too_large(source: str, size: int, limits: Limits) -> Problem:
    return Problem(
        source, "", f"file is {size} bytes or more; the limit is {limits.file_bytes} bytes"
    )


def read_yaml(path: Path, source: str, limits: Limits = SITE_LIMITS) -> Document:
    """Parse one YAML file within limits; syntax errors, duplicate keys, oversize become problems."""
    doc = Document(source, None)
    text, problem = read_text(path, source, limits)
    if text is None:
        doc.problems.append(problem or Problem(source, "", "cannot read file"))
        return doc
    return parse_yaml(text, source, limits)


def parse_yaml(text: str, source: str, limits: Limits = SITE_LIMITS) -> Document:
    """Parse YAML text: measured event by event first, so no alias bomb or deep nest is built."""
    doc = Document(source, None)
    loader = _Loader(text)
    try:
        if _within_limits(loader, doc, limits):
            loader.dispose()
            loader = _Loader(text)
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


class _Open:
    """A list or mapping being measured: its size with aliases expanded, and its entries."""

    __slots__ = ("anchor", "entries", "pairs", "size")

    def __init__(self, anchor: str | None, pairs: bool) -> None:
        self.anchor, self.pairs, self.size, self.entries = anchor, pairs, 1, 0


def _within_limits(loader: Any, doc: Document, limits: Limits) -> bool:
    """Walk the parser's events and check depth, entries, value length and expanded size."""
    stack: list[_Open] = []
    sizes: dict[str, int] = {}

    def refuse(event: Any, message: str) -> bool:
        doc.problems.append(Problem(doc.source, "", message, event.start_mark.line + 1))
        return False

    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= limits.depth:
                return refuse(
                    event, f"nested deeper than {limits.depth} levels; the limit is {limits.depth}"
                )
            stack.append(_Open(event.anchor, isinstance(event, yaml.MappingStartEvent)))
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            done = stack.pop()
            size, anchor = done.size, done.anchor
        elif isinstance(event, yaml.ScalarEvent):
            if len(event.value) > limits.string_chars:
                return refuse(
                    event,
                    f"a value of {len(event.value)} characters; the limit is {limits.string_chars}",
                )
            size, anchor = 1, event.anchor
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                return refuse(
                    event, f"alias *{event.anchor} refers to itself; aliases may not recurse"
                )
            size, anchor = sizes[event.anchor], None
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if stack:
            parent = stack[-1]
            parent.size += size
            parent.entries += 1
            if parent.entries > limits.items * (2 if parent.pairs else 1):
                return refuse(event, f"more than {limits.items} entries in one list or mapping")
            size = parent.size
        if size > limits.values:
            return refuse(
                event,
                f"more than {limits.values} values once aliases are expanded; the limit is "
                f"{limits.values} (anchors and aliases may not multiply the data)",
            )
    return True


def _construct(loader: Any, node: yaml.Node, loc: Loc, doc: Document) -> Any:
    doc.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(loader, node, loc, doc)
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


_TAGS = {"timestamp": "date or time (YYYY-MM-DD)", "int": "integer", "float": "number"}


def _scalar(loader: Any, node: yaml.ScalarNode, loc: Loc, doc: Document) -> Any:
    """A scalar's value; one that cannot exist (2027-02-30) or carries control characters is a problem."""
    try:
        value = loader.construct_object(node, deep=True)
    except (ValueError, OverflowError, TypeError):
        kind = _TAGS.get(node.tag.rsplit(":", 1)[-1], node.tag)
        doc.problems.append(doc.problem(loc, f"{node.value!r} is not a valid {kind}"))
        return None
    if isinstance(value, str) and CONTROL.search(value):
        doc.problems.append(
            doc.problem(
                loc,
                f"{value[:40]!r} contains control characters; allowed: text with newlines and tabs",
            )
        )
    return value


_TABLE = re.compile(r"^\s*\[(\[)?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def read_toml(path: Path, source: str, limits: Limits = SITE_LIMITS) -> Document:
    """Parse one TOML file within limits and map table and key paths to their lines."""
    doc = Document(source, None)
    text, problem = read_text(path, source, limits)
    if text is None:
        doc.problems.append(problem or Problem(source, "", "cannot read file"))
        return doc
    depth = _bracket_depth(text)
    if depth > limits.depth:
        message = f"nested deeper than {limits.depth} levels ({depth} brackets); the limit is {limits.depth}"
        doc.problems.append(Problem(source, "", message))
        return doc
    try:
        doc.data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        doc.problems.append(Problem(source, "", f"invalid TOML: {exc}", line))
        return doc
    doc.lines = _toml_lines(text)
    doc.problems.extend(_data_problems(doc, doc.data, (), limits))
    return doc


def _bracket_depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings and comments (an upper bound is enough)."""
    deepest = depth = 0
    quote = ""
    comment = escaped = False
    for char in text:
        if comment:
            comment = char != "\n"
        elif escaped:
            escaped = False
        elif quote:
            escaped = quote == '"' and char == "\\"
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _data_problems(doc: Document, data: Any, loc: Loc, limits: Limits) -> list[Problem]:
    """Entries, value length and control characters of parsed data."""
    if isinstance(data, dict):
        items: Any = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    elif isinstance(data, str):
        if len(data) > limits.string_chars:
            return [
                doc.problem(
                    loc, f"a value of {len(data)} characters; the limit is {limits.string_chars}"
                )
            ]
        if CONTROL.search(data):
            return [
                doc.problem(
                    loc,
                    f"{data[:40]!r} contains control characters; allowed: text with newlines and tabs",
                )
            ]
        return []
    else:
        return []
    if len(data) > limits.items:
        return [doc.problem(loc, f"more than {limits.items} entries in one list or table")]
    return [p for key, value in items for p in _data_problems(doc, value, (*loc, key), limits)]


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
