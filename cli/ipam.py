"""`dcops ipam`: the address pools, what is allocated from them and what is free."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session

app = typer.Typer(
    help="Address management (IPAM): pools, allocations, free space.", no_args_is_help=True
)


@app.callback()
def _needs_the_store() -> None:
    """Address management (IPAM): pools, allocations, free space."""
    from dcops.cli.tenancy import require_store

    require_store()


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Show each pool with allocated and free addresses, and the allocations by department."""
    from dcops.cli.views import output
    from dcops.tenancy.reports import address_report
    from dcops.tenancy.store import open_store

    state = session(ctx)
    if state.remote is not None:
        report = state.remote.call("GET", "/api/v1/ipam")
    else:
        state.require("ops", "approver", "auditor", action="showing address allocations")
        with open_store(state.site).reading() as db:
            report = address_report(db, state.site)
    if state.json:
        output.print_json(report)
        return
    pools = report["pools"]
    output.show(
        output.table(
            "pools",
            ["pool", "cidr", "use", "environment", "blocks", "allocated", "free"],
            (
                [
                    p["pool"],
                    p["cidr"],
                    p["use"],
                    p["environment"] or "",
                    p["blocks"],
                    p["allocated"],
                    p["free"],
                ]
                for p in pools
            ),
        )
    )
    rows = report["allocations"]
    if not rows:
        output.show("no addresses allocated yet")
        return
    output.show(
        output.table(
            "allocations by department",
            ["department", "tenancy", "network", "cidr", "pool"],
            ([a["department"], a["tenancy"], a["network"], a["cidr"], a["pool"]] for a in rows),
        )
    )
