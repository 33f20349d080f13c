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
    details = {r: r.detail() for r, _ in results if r.kind == "engine"}
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
                    **details.get(r, {}),
                }
                for r, ok in results
            ]
        )
    else:
        rows = [
            (r.capability, r.name, r.kind, _status(ok, details.get(r, {}))) for r, ok in results
        ]
        output.show(output.table(None, ["capability", "needs", "kind", "status"], rows))
        for req in missing:
            output.show(f"missing {req.capability}/{req.name}: {req.fix}")
        for req, detail in details.items():
            if detail.get("path"):
                output.show(f"engine {req.name} {detail.get('version') or '?'}: {detail['path']}")
        output.show(f"doctor: {len(results) - len(missing)} found, {len(missing)} missing")
    if strict and missing:
        raise typer.Exit(1)


def _status(found: bool, detail: dict[str, str | None]) -> str:
    """found / MISSING; for the engine also the version, and a plugin that does not match its SDK."""
    if not found:
        return "MISSING"
    version = detail.get("version")
    if not detail:
        return "found"
    if version is None:
        return "found (version unknown)"
    sdk = detail.get("sdk_version")
    if sdk and sdk != version:
        return f"found {version} (SDK {sdk}: rebuild with scripts/install-engine.sh)"
    return f"found {version}"
