"""Run the ```console examples of the docs and compare what they print with what the page shows.

A block is a series of `$ command` lines, each followed by its expected output (stdout and
stderr together). A line `...` matches any number of lines; a line ending in `...` matches a
line that starts with what comes before it; a last line `[exit N]` says the
command ends with exit code N (otherwise 0). The commands of one block run in order with bash
in a fresh copy of the example site (one copy per block), as the user given by DCOPS_USER in the command or `zhangwei` (ops).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO, copy_site, dcops_env

_EXIT = re.compile(r"^\[exit (\d+)\]$")


@dataclass
class Example:
    """One `$ command` of a docs page with the output the page shows for it."""

    page: str
    line: int
    command: str
    expected: list[str]
    exit_code: int
    block: int


def examples(page: Path) -> list[Example]:
    """The console examples of one page, in order."""
    found: list[Example] = []
    inside = False
    block = 0
    for number, raw in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.strip() == "```console":
            inside = True
            block += 1
            continue
        if inside and raw.strip() == "```":
            inside = False
            continue
        if not inside:
            continue
        if raw.startswith("$ "):
            found.append(Example(str(page.relative_to(REPO)), number, raw[2:], [], 0, block))
        elif found:
            match = _EXIT.match(raw.strip())
            if match:
                found[-1].exit_code = int(match.group(1))
            else:
                found[-1].expected.append(raw.rstrip())
    return found


def pages_with_examples() -> list[Path]:
    """Docs pages that hold at least one console example."""
    return sorted(p for p in (REPO / "docs").rglob("*.md") if examples(p))


def run_page(page: Path, workdir: Path) -> list[tuple[Example, str, int]]:
    """Run every example of a page, each block in its own site copy; return (example, output, code)."""
    results = []
    for example in examples(page):
        site = workdir / f"block-{example.block}"
        if not site.exists():
            copy_site(site)
        done = subprocess.run(
            ["bash", "-c", example.command],
            cwd=site,
            env=dcops_env(),
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
        results.append((example, done.stdout, done.returncode))
    return results


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether actual lines match expected ones, `...` standing for any number of lines."""
    if not expected:
        return not actual
    head, *rest = expected
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    if not actual:
        return False
    same = actual[0].startswith(head[:-3]) if head.endswith("...") else actual[0] == head
    return same and matches(rest, actual[1:])


def normalise(output: str) -> list[str]:
    """Output lines without trailing spaces or trailing blank lines."""
    lines = [line.rstrip() for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines
