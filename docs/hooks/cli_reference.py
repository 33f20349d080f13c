"""mkdocs hook: add reference/cli.md, generated from the installed dcops command."""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files


def on_files(files: Files, config: Any) -> Files:
    """Add the generated CLI reference page to the site."""
    from dcops.cli.reference import cli_reference

    files.append(File.generated(config, "reference/cli.md", content=cli_reference()))
    return files
