"""Asking before a change: anything but yes ends the command with exit 1, nothing changed."""

from __future__ import annotations

import sys

import typer

from dcops.core.errors import Declined


def confirm_change(question: str, command: str) -> None:
    """Ask the question; unless the answer is yes, raise Declined naming the command."""
    try:
        agreed = typer.confirm(question, default=False)
    except typer.Abort:
        if sys.stdin.isatty():
            raise  # Ctrl-C at the prompt: an interruption, exit 130
        typer.echo()  # end the unanswered prompt's line
        raise Declined(
            f"{command}: no answer (input is not a terminal), nothing was changed; "
            "give --yes to run without asking"
        ) from None
    if not agreed:
        raise Declined(f"{command}: declined at the prompt (需要确认), nothing was changed")
