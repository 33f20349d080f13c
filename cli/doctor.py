"""`dcops doctor`: what each capability needs on this machine, found or missing, and the fix."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session


def doctor(
    ctx: typer.Context,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 if anything is missing."),
) -> None:
    """For each capability: the packages, programs and privileges it needs, and how to get them."""
    from dcops.cli.views import output
    from dcops.core.requirements import check_all

    results = check_all()
    missing = [req for req, found in results if not found]
    if session(ctx).json:
        output.print_json(
            [
                {
                    "capability": r.capability,
                    "name": r.name,
                    "kind": r.kind,
                    "found": ok,
                    "fix": None if ok else r.fix,
                    "note": r.note,
                }
                for r, ok in results
            ]
        )
    else:
        rows = [(r.capability, r.name, r.kind, "found" if ok else "MISSING") for r, ok in results]
        output.show(output.table(None, ["capability", "needs", "kind", "status"], rows))
        for req in missing:
            output.show(f"missing {req.capability}/{req.name}: {req.fix}")
        output.show(f"doctor: {len(results) - len(missing)} found, {len(missing)} missing")
    if strict and missing:
        raise typer.Exit(1)
