"""A pass_persist program for Debian's snmpd: serves OIDs from a JSON file the simulator rewrites.

snmpd starts it as `python -m dcops.dcim.simulation.snmpd_pass VALUES.json`; values change while snmpd
keeps running, which `override` lines cannot do.
"""

from __future__ import annotations

import bisect
import json
import os
import sys
from typing import TextIO

Values = dict[tuple[int, ...], tuple[str, str]]


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.strip().strip(".").split(".") if p)


class ValueFile:
    """The OID values of one simulated device, re-read when the file changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stamp = -1.0
        self.values: Values = {}
        self.order: list[tuple[int, ...]] = []

    def refresh(self) -> None:
        """Re-read the file if it changed."""
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except OSError:
            return
        if stamp == self.stamp:
            return
        try:
            with open(self.path, encoding="utf-8") as handle:
                raw = json.load(handle)
        except (OSError, ValueError):
            return
        self.values = {_key(oid): (kind, str(value)) for oid, (kind, value) in raw.items()}
        self.order = sorted(self.values)
        self.stamp = stamp

    def get(self, oid: str) -> tuple[str, str, str] | None:
        """The exact OID."""
        key = _key(oid)
        found = self.values.get(key)
        return (oid.strip(), *found) if found else None

    def next(self, oid: str) -> tuple[str, str, str] | None:
        """The first OID after oid."""
        key = _key(oid)
        at = bisect.bisect_right(self.order, key)
        if at >= len(self.order):
            return None
        found = self.order[at]
        kind, value = self.values[found]
        return "." + ".".join(map(str, found)), kind, value


def serve(values: ValueFile, stdin: TextIO, stdout: TextIO) -> None:
    """Answer snmpd's PING/get/getnext/set lines until stdin closes."""
    while True:
        command = stdin.readline()
        if not command:
            return
        command = command.strip().lower()
        if command == "ping":
            stdout.write("PONG\n")
        elif command in ("get", "getnext"):
            oid = stdin.readline()
            values.refresh()
            found = values.get(oid) if command == "get" else values.next(oid)
            stdout.write("NONE\n" if found is None else "{}\n{}\n{}\n".format(*found))
        elif command == "set":
            stdin.readline()
            stdin.readline()
            stdout.write("not-writable\n")
        else:
            stdout.write("NONE\n")
        stdout.flush()


if __name__ == "__main__":
    serve(ValueFile(sys.argv[1]), sys.stdin, sys.stdout)
