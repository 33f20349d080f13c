"""The CLI reference page for the docs, generated from the Typer app itself."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator

import typer

from dcops.cli.app import app, run


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every command and group of dcops, depth first, in the order `--help` lists them."""
    root = typer.main.get_command(app)

    def walk(command: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        children = getattr(command, "commands", {})
        for name in sorted(children):
            if not getattr(children[name], "hidden", False):
                yield from walk(children[name], (*path, name))

    yield from walk(root, ())


def help_text(path: tuple[str, ...]) -> str:
    """What `dcops PATH --help` prints, at a fixed width."""
    buffer = io.StringIO()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        with contextlib.redirect_stdout(buffer):
            run([*path, "--help"])
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return buffer.getvalue().rstrip()


def cli_reference() -> str:
    """Markdown with the help of every command."""
    parts = [
        "# CLI reference",
        "",
        "Generated from the dcops command itself when the docs are built; "
        "`dcops COMMAND --help` prints the same.",
    ]
    for path in command_paths():
        title = " ".join(("dcops", *path))
        parts += ["", f"## {title}", "", "```text", help_text(path), "```"]
    return "\n".join(parts) + "\n"
