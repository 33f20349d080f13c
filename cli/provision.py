"""`dcops provision`, `dcops destroy`, `dcops refresh`: the real Pulumi engine, one stack per tenancy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from dcops.cli.views.session import Session, session
from dcops.core.errors import OperationFailed

if TYPE_CHECKING:
    from dcops.core.identity import Actor


class PolicyViolation(OperationFailed):
    """The stack breaks a policy: refused before the engine touches the cloud (exit 1)."""


REQUEST_HELP = "An approved request (ID or tenancy name), or a request file."
_REQUEST = typer.Argument(None, metavar="[REQUEST|NAME]", help=REQUEST_HELP, show_default=False)
_PLATFORM = typer.Option(
    False, "--platform", help="The platform stack (external network, flavor catalogue) instead."
)
_ONLY = typer.Option(
    None,
    "--only",
    help="Apply one part of the tenancy: kubernetes or openstack (refused if the stack holds the other).",
    show_default=False,
)


_SKIP_PREVIEW = typer.Option(
    False,
    "--skip-preview",
    help="Update without a preview first (one engine run instead of two; needs --yes).",
)


def provision(
    ctx: typer.Context,
    request: str | None = _REQUEST,
    platform: bool = _PLATFORM,
    preview_only: bool = typer.Option(False, "--preview-only", help="Preview, change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking after the preview."),
    only: str | None = _ONLY,
    skip_preview: bool = _SKIP_PREVIEW,
) -> None:
    """Preview a stack, show the changes, ask, then apply it with the Pulumi engine."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.cli.views.confirm import confirm_change
    from dcops.cli.views.engine_progress import EngineProgress
    from dcops.core.errors import Declined
    from dcops.tenancy.model import audit_object

    state = session(ctx)
    actor = state.require("ops", action="dcops provision")
    _refuse_unasked_skip(skip_preview, yes, preview_only)
    driver, planned = _driver(state, request, platform, only)
    name = driver.name
    driver.read_ahead()  # the CLI reads the stack's state while dcops checks the request
    _check_namespace(state, driver, planned)
    report = _judged(state, planned)  # offline; a violation is refused (and audited) below
    if only:
        driver.refuse_dropping_parts()
    parameters = {"request": _source(planned), "preview_only": preview_only, "only": only}
    target = audit_object(name)
    with audited(state.site, actor, "provision", target, parameters, secrets=driver.secrets) as op:
        if not report.ok:
            raise PolicyViolation(_violations(report))
        planned_changes = None
        if not skip_preview:
            with EngineProgress(f"preview {name}") as bar:
                preview = driver.preview(bar)
            output.show(f"preview of {name}: {preview.text()}")
            if preview_only or not preview.changes:
                op.attach(diff=preview.text(), details={"applied": False})
                return
            if not yes:
                try:
                    confirm_change(f"变更 {name}？Apply these changes to {name}?", "provision")
                except Declined:
                    op.attach(diff=preview.text(), details={"applied": False, "declined": True})
                    raise
            planned_changes = preview.changes
        with EngineProgress(f"update {name}") as bar:
            if planned_changes is not None:
                bar.planned(planned_changes)
            outcome = driver.up(bar)
        _record_applied(state, report)
        op.attach(
            diff=outcome.text(),
            details={"applied": True, "summary": outcome.summary, "outputs": outcome.outputs},
        )
    output.show(f"provision: {name} updated — {outcome.text().splitlines()[0]}")
    for note in outcome.notes:
        output.show(note)
    _show_outputs(name, outcome.outputs)
    if planned is not None and planned.request_id is not None and planned.state == "approved":
        from dcops.tenancy.lifecycle import mark_provisioned

        mark_provisioned(state.site, str(planned.request_id), actor)
        output.show(f"tenancy request #{planned.request_id} is now provisioned")


def _show_outputs(name: str, outputs: dict[str, Any]) -> None:
    """The stack's outputs, one dotted key and its value a line."""
    from dcops.cli.views import output
    from dcops.stacks.outputs import flat

    pairs = flat(outputs)
    if not pairs:
        return
    width = min(max(len(key) for key, _ in pairs), 44)
    output.show(f"outputs of {name}:")
    for key, value in pairs:
        output.show(f"  {output.inline(key):<{width}}  {output.inline(value)}")


def _refuse_unasked_skip(skip_preview: bool, yes: bool, preview_only: bool) -> None:
    """--skip-preview applies unseen changes: only with --yes, never with --preview-only."""
    from dcops.core.errors import InputError

    if skip_preview and preview_only:
        raise InputError(
            "--skip-preview 与 --preview-only 不能同时使用 / "
            "--skip-preview and --preview-only contradict each other: choose one"
        )
    if skip_preview and not yes:
        raise InputError(
            "--skip-preview 不显示变更即执行，须同时给出 --yes / "
            "--skip-preview applies changes nobody has seen: give --yes with it"
        )


def destroy(
    ctx: typer.Context,
    request: str | None = _REQUEST,
    platform: bool = _PLATFORM,
    yes: bool = typer.Option(False, "--yes", "-y", help="Destroy without asking."),
) -> None:
    """Delete every resource of a stack (asks first unless --yes)."""
    from dcops.cli.views import output
    from dcops.cli.views.confirm import confirm_change
    from dcops.stacks import snapshot

    state = session(ctx)
    actor = state.require("ops", action="dcops destroy")
    if platform:
        _refuse_while_tenancies_live(state)
    driver, planned = _driver(state, request, platform, program=False)
    name = driver.name
    if not yes:
        confirm_change(
            f"删除堆栈 {name} 的全部资源？Destroy every resource of stack {name}?", "destroy"
        )
    _engine_run(state, actor, "destroy", driver, planned)
    snapshot.save(state.site, name, snapshot.APPLIED, {})  # nothing of it is live any more
    if planned is not None and planned.request_id is not None and planned.state == "offboarding":
        from dcops.tenancy.lifecycle import mark_destroyed

        mark_destroyed(state.site, str(planned.request_id), actor)
        output.show(f"tenancy {name} is offboarded; its addresses are released")


def refresh(
    ctx: typer.Context,
    request: str | None = _REQUEST,
    platform: bool = _PLATFORM,
) -> None:
    """Read the real cloud back into a stack's state and show what drifted."""
    state = session(ctx)
    actor = state.require("ops", action="dcops refresh")
    driver, planned = _driver(state, request, platform, program=False)
    _engine_run(state, actor, "refresh", driver, planned)


def _engine_run(state: Session, actor: Actor, verb: str, driver: Any, planned: Any) -> None:
    """Run one engine verb (destroy, refresh) on a stack, with progress and its audit record."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.cli.views.engine_progress import EngineProgress
    from dcops.tenancy.model import audit_object

    name = driver.name
    with audited(state.site, actor, verb, audit_object(name), {"request": _source(planned)}) as op:
        with EngineProgress(f"{verb} {name}") as bar:
            outcome = getattr(driver, verb)(bar)
        op.attach(diff=outcome.text(), details={"summary": outcome.summary})
    # A refresh lists what drifted and which properties; a destroy only counts what went.
    text = outcome.text() if verb == "refresh" else outcome.text().splitlines()[0]
    output.show(f"{verb}: {name} — {text}")
    if verb != "refresh":  # a refresh's text holds its drift and notes already
        for note in outcome.notes:
            output.show(note)


def _driver(
    state: Session,
    request: str | None,
    platform: bool,
    only: str | None = None,
    program: bool = True,
) -> tuple[Any, Any]:
    """The stack driver, and the resolved request (None for the platform stack); program=False
    when the verb runs no program (refresh, destroy), so the program's secrets are not read."""
    from dcops.core.errors import InputError

    if platform == (request is not None):
        raise InputError("name one stack: a REQUEST (file, ID or tenancy name), or --platform")
    if only is not None and (platform or only not in ("kubernetes", "openstack")):
        raise InputError(f"--only {only!r}: allowed for a tenancy stack: kubernetes, openstack")
    from dcops.stacks.deprecations import quiet_third_party

    quiet_third_party()
    from dcops.stacks.automation import StackDriver
    from dcops.stacks.requests import resolve

    if request is None:
        return StackDriver.for_platform(state.site), None
    from dcops.stacks.program import PARTS, Clouds

    planned = resolve(state.site, [request], False)[0]
    clouds = Clouds.for_site(state.site, (only,) if only else PARTS)
    return StackDriver.for_tenancy(state.site, planned.spec, clouds, program), planned


def _check_namespace(state: Session, driver: Any, planned: Any) -> None:
    """A tenancy's namespace must be absent or already its own: never adopt someone else's."""
    spec = getattr(planned, "spec", None)
    if spec is None or spec.kubernetes is None or "kubernetes" not in driver.parts:
        return
    from dcops.core.clusters import kubernetes_target
    from dcops.stacks.namespace_claims import check_namespace_claim

    check_namespace_claim(kubernetes_target(state.site), spec.kubernetes.namespace, spec.name)


def _refuse_while_tenancies_live(state: Session) -> None:
    """The platform stack holds the flavors that live tenancies' servers run on."""
    from dcops.core.errors import InputError
    from dcops.stacks.snapshot import live_stacks
    from dcops.tenancy.model import PLATFORM_STACK

    live = [name for name in live_stacks(state.site) if name != PLATFORM_STACK]
    if live:
        raise InputError(
            f"the platform stack is shared by {len(live)} provisioned tenancy stacks "
            f"({', '.join(live)}); destroy those first (dcops destroy NAME), then the platform"
        )


def _source(planned: Any) -> str:
    return "dcops.toml [catalogue]" if planned is None else str(planned.source)


def _judged(state: Session, planned: Any) -> Any:
    """The stack's offline plan, judged by the site's policies before the engine runs."""
    from dcops.stacks.plan import plan

    if planned is None:
        return plan(state.site, [], platform=True)
    return plan(state.site, [(planned.spec, planned.source)])


def _violations(report: Any) -> str:
    """The policies a plan breaks, each with its first message."""
    found = []
    for tenancy in report.tenancies:
        for verdict in tenancy.verdicts:
            if verdict.violations:
                found.append(f"{verdict.policy}: {verdict.violations[0].message}")
        if tenancy.duplicates:
            found.append(f"duplicate resource names: {', '.join(tenancy.duplicates[:3])}")
    return (
        "策略不通过 / policy violations, the cloud was not touched (see `dcops plan` for all): "
        + "; ".join(found)
    )


def _record_applied(state: Session, report: Any) -> None:
    """Keep the applied program's offline snapshot: later plans diff against what is live."""
    from dcops.stacks import snapshot
    from dcops.stacks.plan import snapshot_of

    applied = report.tenancies[0]
    snapshot.save(state.site, applied.tenancy, snapshot.APPLIED, snapshot_of(applied.resources))
