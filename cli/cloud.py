"""`dcops cloud`: what actually runs in the clouds, department by department (read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from dcops.cli.views.session import Session, session

if TYPE_CHECKING:
    from dcops.cloud.findings import Finding
    from dcops.cloud.inventory import Inventory
    from dcops.cloud.usage import Usage
    from dcops.cloud.usage_metrics import Sample, UsageCollector
    from dcops.core.identity import Actor
    from dcops.core.site import Site

app = typer.Typer(
    help="What actually runs in OpenStack and Kubernetes: inventory, usage, compliance scan.",
    no_args_is_help=True,
)

READERS = ("ops", "auditor")
CLOUDS = ("openstack", "kubernetes")
_ONLY = typer.Option(
    None,
    "--only",
    help="Read one cloud: openstack or kubernetes (a site without the other). Default: both.",
    show_default=False,
)


def _clouds(only: str | None) -> tuple[str, ...]:
    """The clouds to read: both, or the one --only names."""
    if only is None:
        return CLOUDS
    if only not in CLOUDS:
        from dcops.core.errors import InputError

        raise InputError(
            f"--only {only!r} is not a cloud dcops reads; allowed: {', '.join(CLOUDS)}"
        )
    return (only,)


def _reader(state: Session, department: str | None, action: str) -> Actor:
    """Ops and auditors read everything; a department's people read their own department only."""
    actor = state.actor
    if any(actor.has(role) for role in READERS):
        return actor
    if department is not None and actor.has(f"department:{department}"):
        return actor
    mine = [r.removeprefix("department:") for r in actor.roles if r.startswith("department:")]
    if mine:
        from dcops.core.errors import AccessDenied

        raise AccessDenied(
            f"权限不足 / {action}: user {actor.user!r} may read department "
            f"{', '.join(sorted(mine))} only; add --department {sorted(mine)[0]}"
        )
    return state.require(*READERS, action=action)


@app.command("inventory")
def inventory(
    ctx: typer.Context,
    department: str | None = typer.Option(
        None, "--department", "-d", help="One department's code, or `unowned` or `platform`."
    ),
    only: str | None = _ONLY,
) -> None:
    """Every project and namespace with its owner tenancy (or unowned) and what it holds."""
    from dcops.cli.views import cloud_view, output
    from dcops.cloud.inventory import take_inventory

    state = session(ctx)
    _reader(state, department, "dcops cloud inventory")
    clouds = _clouds(only)
    with output.error_console().status("cloud inventory: 读取云资源 reading the clouds"):
        found = take_inventory(state.site, department, clouds)
    if state.json:
        output.print_json(found.as_dict())
    elif state.csv:
        cloud_view.inventory_csv(found)
    else:
        cloud_view.show_inventory(found)


@app.command("scan")
def scan(
    ctx: typer.Context,
    department: str | None = typer.Option(
        None, "--department", "-d", help="One department's code, or `unowned`."
    ),
    only: str | None = _ONLY,
) -> None:
    """Compliance checks on the live clouds; every finding recorded in the audit journal; exit 1 on any.

    `--output html` gives the auditors' report, in the style of `dcops audit report`.
    """
    from dcops.cli.views import cloud_view, output
    from dcops.cloud import scan as scanning
    from dcops.cloud.inventory import take_inventory
    from dcops.cloud.observations import record_findings

    state = session(ctx)
    actor = _reader(state, department, "dcops cloud scan")
    clouds = _clouds(only)
    with output.error_console().status("cloud scan: 检查云上合规 checking the clouds"):
        found = take_inventory(state.site, department, clouds)
        findings = scanning.scan(state.site, found)
    record_findings(state.site, actor, "cloud.scan.finding", findings)
    unread = [f for f in found.failures if not f.absent]
    if state.json:
        output.print_json(cloud_view.scan_dict(findings, found))
    elif state.markdown:
        output.show(cloud_view.scan_markdown(findings, found))
    elif state.html:
        _print_html(state.site, actor, findings, found)
    else:
        cloud_view.show_scan(findings, found)
    if findings or unread:
        raise typer.Exit(1)


def _print_html(site: Site, actor: Actor, findings: list[Finding], found: Inventory) -> None:
    """The scan as the auditors' HTML page, on stdout as it is (no terminal markup)."""
    import sys
    from datetime import UTC, datetime

    from dcops.cloud.scan_report import ScanReport, html_page

    report = ScanReport(
        site=site.config.site.name,
        title=site.config.site.title,
        generated=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        auditor=f"{actor.user} ({actor.name})",
        findings=findings,
        inventory=found,
    )
    sys.stdout.write(html_page(report))


@app.command("usage")
def usage(
    ctx: typer.Context,
    department: str | None = typer.Option(
        None, "--department", "-d", help="One department's code."
    ),
    threshold: float = typer.Option(
        90.0, "--threshold", min=1, max=100, help="Flag use at or above this % of what was granted."
    ),
) -> None:
    """Per department: used against the clouds' quotas, its tenancies' grants and its tier's caps."""
    from dcops.cli.views import cloud_view, output

    state = session(ctx)
    _reader(state, department, "dcops cloud usage")
    with output.error_console().status("cloud usage: 读取配额与用量 reading quotas and use"):
        measured = _measure(state.site, department)
    if state.json:
        output.print_json(cloud_view.usage_dict(measured, threshold))
    else:
        cloud_view.show_usage(measured, threshold)


def _measure(site: Site, department: str | None = None) -> Usage:
    """Read the clouds and the quotas: each department's usage, with what could not be read."""
    from dcops.cloud import openstack_reading
    from dcops.cloud.inventory import take_inventory
    from dcops.cloud.usage import measure, openstack_quotas
    from dcops.core.clusters import openstack_target

    found = take_inventory(site, department)
    connection = openstack_reading.connect(openstack_target(site))
    measured = measure(site, found, lambda project: openstack_quotas(connection, project))
    measured.failures[:0] = found.failures
    return measured


@app.command("exporter")
def exporter(
    ctx: typer.Context,
    listen: str = typer.Option(
        "127.0.0.1:9466", "--listen", help="HOST:PORT to serve /metrics on (port 0: any free port)."
    ),
    interval: float = typer.Option(
        300.0, "--interval", min=5, help="Seconds between two readings of the clouds."
    ),
    once: bool = typer.Option(
        False,
        "--once",
        help="Read once, print the metrics in the text format and exit (1 if a read failed).",
    ),
) -> None:
    """Serve every department's usage, grants and caps as Prometheus metrics (dcops_cloud_…)."""
    import sys

    from dcops.cloud.usage_metrics import UsageCollector

    state = session(ctx)
    state.require(*READERS, action="dcops cloud exporter")
    host, port = _host_port(listen)
    collector = UsageCollector(state.site.config.site.name)
    collector.update(_reading(state.site, collector))
    if once:
        from prometheus_client import CollectorRegistry, generate_latest

        registry = CollectorRegistry(auto_describe=False)
        registry.register(collector)
        sys.stdout.write(generate_latest(registry).decode())
        last = collector.last()
        if last is not None and last.usage.failures:
            raise typer.Exit(1)
        return
    _serve(state.site, collector, host, port, interval)


def _host_port(text: str) -> tuple[str, int]:
    from dcops.core.errors import InputError

    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise InputError(f"--listen {text!r} is not HOST:PORT; allowed: for example 127.0.0.1:9466")
    return host.strip("[]"), int(port)


def _reading(site: Site, collector: UsageCollector) -> Sample:
    """One reading; a read that fails as a whole keeps the last lines and counts the failure."""
    from dcops.cloud.records import ServiceFailure
    from dcops.cloud.usage import Usage
    from dcops.cloud.usage_metrics import sample_now
    from dcops.core.errors import DcopsError

    def read() -> Usage:
        try:
            return _measure(site)
        except DcopsError as error:
            last = collector.last()
            lines = last.usage.lines if last else []
            return Usage(lines, [ServiceFailure("openstack", "connect", str(error)[:300])])

    return sample_now(read)


def _serve(site: Site, collector: UsageCollector, host: str, port: int, interval: float) -> None:
    """Serve /metrics and read the clouds every interval until interrupted."""
    import time

    from prometheus_client import CollectorRegistry, start_http_server

    from dcops.cli.views import output

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    server, _ = start_http_server(port, host, registry)
    bound = server.server_address[1]
    output.error_console().print(
        f"cloud exporter: 正在提供 serving http://{host}:{bound}/metrics, "
        f"每 {interval:g} 秒读取一次 reading every {interval:g} s"
    )
    try:
        while True:
            time.sleep(interval)
            collector.update(_reading(site, collector))
    finally:
        server.shutdown()


@app.command("drift")
def drift(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="One tenancy's name; default all of them."),
) -> None:
    """Differences between each tenancy's request, its stack's applied state and the live clouds; exit 1 on any."""
    from dcops.cli.views import cloud_view, output
    from dcops.cloud.applied_state import read_applied
    from dcops.cloud.drift import drift as find_drift
    from dcops.cloud.inventory import take_inventory
    from dcops.cloud.observations import record_findings
    from dcops.cloud.ownership import tenancies

    state = session(ctx)
    actor = state.require(*READERS, action="dcops cloud drift")
    with output.error_console().status("cloud drift: 对比申请、状态与云上 comparing"):
        chosen = [t for t in tenancies(state.site) if name is None or t.name == name]
        # Kubernetes is read only when a tenancy compared has a namespace there.
        clouds = ("openstack", "kubernetes") if any(t.namespace for t in chosen) else ("openstack",)
        found = take_inventory(state.site, clouds=clouds)
        findings = find_drift(found, lambda stack: read_applied(state.site, stack), name)
    record_findings(state.site, actor, "cloud.drift.finding", findings)
    if state.json:
        output.print_json(cloud_view.scan_dict(findings, found))
    else:
        cloud_view.show_scan(findings, found, "漂移")
    if findings or any(not failure.absent for failure in found.failures):
        raise typer.Exit(1)
