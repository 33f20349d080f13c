"""`dcops site`: validate the site and show it as a tree."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session

app = typer.Typer(
    help="Validate and show the site: dcops.toml and inventory/.", no_args_is_help=True
)


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Load and validate dcops.toml and inventory/; exit 2 listing every problem."""
    from dcops.cli.views import output
    from dcops.core.duties import conflicts
    from dcops.core.summary import site_counts

    site = session(ctx).site
    counts = site_counts(site)
    warnings = [c.message() for c in conflicts(site.config)]
    if session(ctx).json:
        output.print_json(
            {
                "site": site.name,
                "title": site.config.site.title,
                "ok": True,
                "counts": counts,
                "problems": [],
                "warnings": warnings,
            }
        )
        return
    output.show(f"Site {site.name} — {site.config.site.title} ({site.config.site.timezone})")
    output.show(output.table(None, ["item", "count"], counts.items()))
    output.show("site check: ok — no problems in dcops.toml or inventory/")
    for warning in warnings:
        typer.echo(f"warning: {warning}")
    if warnings:
        typer.echo(
            "提示 / hint: [identity.separation] strict = true in dcops.toml refuses such a site"
        )


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Show the site as a tree: rooms, rows, racks, devices, departments, pools, people."""
    from dcops.cli.views import output
    from dcops.cli.views.site_tree import site_tree

    site = session(ctx).site
    if session(ctx).json:
        output.print_json(
            {
                "config": site.config.model_dump(mode="json"),
                "rooms": [r.model_dump(mode="json") for r in site.rooms],
                "devices": [d.model_dump(mode="json") for d in site.devices],
            }
        )
        return
    output.show(site_tree(site))
