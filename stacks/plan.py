"""The offline plan: evaluate tenancy programs under mocks, judge them, diff against snapshots."""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dcops.core.errors import InputError
from dcops.core.site import Site
from dcops.stacks import snapshot
from dcops.stacks.evaluation import PLAN_STACK, PlannedResource
from dcops.stacks.policies import PolicyContext
from dcops.stacks.spec import TenancySpec
from dcops.stacks.verdicts import Verdict
from dcops.tenancy.model import PLATFORM_STACK

ROOT = "dcops:stack:Tenancy"
TENANCIES_PER_WORKER = 8
# A mocked run holds its garbage until it ends (see evaluation.py): a fresh process per this
# many tenancies keeps a worker near 200 MB however many tenancies are planned.
TENANCIES_PER_RUN = 64

IMPORTANT: dict[str, tuple[str, ...]] = {
    "openstack:identity/project:Project": ("name", "tags"),
    "openstack:networking/network:Network": ("name",),
    "openstack:networking/subnet:Subnet": ("cidr", "gatewayIp"),
    "openstack:networking/router:Router": ("name", "externalNetworkId"),
    "openstack:networking/secGroup:SecGroup": ("name", "deleteDefaultRules"),
    "openstack:networking/secGroupRule:SecGroupRule": (
        "direction",
        "protocol",
        "portRangeMin",
        "remoteIpPrefix",
        "remoteGroupId",
        "description",
    ),
    "openstack:compute/instance:Instance": ("flavorName", "imageName", "accessIpV4"),
    "openstack:compute/serverGroup:ServerGroup": ("policies",),
    "openstack:blockstorage/volume:Volume": ("size",),
    "openstack:loadbalancer/loadBalancer:LoadBalancer": ("vipAddress",),
    "openstack:loadbalancer/listener:Listener": ("protocol", "protocolPort"),
    "openstack:loadbalancer/pool:Pool": ("protocol", "lbMethod"),
    "openstack:loadbalancer/member:Member": ("address", "protocolPort"),
    "openstack:loadbalancer/monitor:Monitor": ("type", "delay", "timeout"),
    "openstack:networking/floatingIp:FloatingIp": ("address",),
    "openstack:vpnaas/ikePolicy:IkePolicy": ("encryptionAlgorithm", "authAlgorithm", "pfs"),
    "openstack:vpnaas/ipSecPolicy:IpSecPolicy": ("encryptionAlgorithm", "authAlgorithm", "pfs"),
    "openstack:vpnaas/endpointGroup:EndpointGroup": ("type", "endpoints"),
    "openstack:vpnaas/siteConnection:SiteConnection": ("peerAddress", "psk"),
    "openstack:vpnaas/service:Service": ("externalV4Ip",),
    "openstack:compute/quotaSetV2:QuotaSetV2": ("instances", "cores", "ram"),
    "openstack:networking/quotaV2:QuotaV2": ("network", "port", "floatingip"),
    "openstack:loadbalancer/quota:Quota": ("loadbalancer", "member"),
    "openstack:compute/flavor:Flavor": ("vcpus", "ram", "disk"),
    "kubernetes:core/v1:ResourceQuota": ("spec.hard",),
    "kubernetes:core/v1:LimitRange": ("spec.limits",),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ("spec.policyTypes",),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("subjects",),
}
OUTPUT_FIELDS = {"accessIpV4", "vipAddress", "address", "externalV4Ip", "gatewayIp"}


@dataclass
class TenancyPlan:
    """The plan of one tenancy stack."""

    tenancy: str
    department: str
    source: str
    allocation: str
    resources: list[PlannedResource]
    verdicts: list[Verdict]
    duplicates: list[str]
    diff: snapshot.Diff = field(default_factory=lambda: snapshot.Diff("none"))

    @property
    def violations(self) -> int:
        """How many policy violations the plan has."""
        return sum(len(v.violations) for v in self.verdicts) + len(self.duplicates)

    def summary(self) -> dict[str, Any]:
        """Counts for listings and the audit journal."""
        return {
            "tenancy": self.tenancy,
            "resources": sum(1 for r in self.resources if r.custom),
            "components": sum(1 for r in self.resources if not r.custom),
            "violations": self.violations,
            "added": len(self.diff.added),
            "changed": len(self.diff.changed),
            "removed": len(self.diff.removed),
        }

    def as_dict(self) -> dict[str, Any]:
        """The whole plan as data (for --output json and the API)."""
        return {
            "tenancy": self.tenancy,
            "summary": self.summary(),
            "department": self.department,
            "source": self.source,
            "allocation": self.allocation,
            "verdicts": [
                {
                    "policy": v.policy,
                    "passed": v.passed,
                    "violations": [{"urn": x.urn, "message": x.message} for x in v.violations],
                }
                for v in self.verdicts
            ],
            "duplicate_urns": self.duplicates,
            "diff": self.diff.as_dict(),
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "custom": r.custom,
                    "inputs": r.inputs,
                    "outputs": {k: v for k, v in r.outputs.items() if k not in r.inputs},
                }
                for r in self.resources
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TenancyPlan:
        """A plan from its data form (`as_dict`), as the server sends it to the CLI."""
        from dcops.stacks.verdicts import Violation

        diff = data["diff"]
        return cls(
            tenancy=data["tenancy"],
            department=data["department"],
            source=data["source"],
            allocation=data["allocation"],
            resources=[
                PlannedResource(
                    urn=r["urn"],
                    type=r["type"],
                    name=r["name"],
                    parent=r["parent"],
                    custom=r["custom"],
                    provider="",
                    inputs=r["inputs"],
                    outputs={**r["inputs"], **r["outputs"]},
                )
                for r in data["resources"]
            ],
            verdicts=[
                Verdict(
                    v["policy"],
                    "",
                    [Violation(v["policy"], x["message"], x["urn"]) for x in v["violations"]],
                )
                for v in data["verdicts"]
            ],
            duplicates=list(data["duplicate_urns"]),
            diff=snapshot.Diff(
                diff["against"],
                list(diff["added"]),
                [snapshot.Change(c["urn"], list(c["fields"])) for c in diff["changed"]],
                list(diff["removed"]),
            ),
        )


@dataclass
class PlanReport:
    """Plans of every tenancy asked for."""

    tenancies: list[TenancyPlan]

    @property
    def ok(self) -> bool:
        """Whether every plan passes every policy."""
        return all(t.violations == 0 for t in self.tenancies)


def important(resource: PlannedResource) -> dict[str, Any]:
    """The inputs (and a few computed outputs) worth showing for a resource."""
    shown: dict[str, Any] = {}
    for key in IMPORTANT.get(resource.type, ()):
        source = resource.outputs if key in OUTPUT_FIELDS else resource.inputs
        value: Any = source
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value not in (None, "", [], {}):
            shown[key] = value
    return shown


def plan(
    site: Site,
    specs: Sequence[tuple[TenancySpec, str]],
    workers: int | None = None,
    platform: bool = False,
) -> PlanReport:
    """Evaluate, judge and diff every spec (and the platform stack if asked); record snapshots."""
    from dcops.stacks.allocation import public_pool
    from dcops.stacks.policies import context_from_site

    _refuse_shared_names(specs)
    context = context_from_site(site, namespace_holders(site, [spec for spec, _ in specs]))
    public = public_pool(site)
    chunks = _chunks(list(specs), workers)
    if not specs:
        results: list[list[TenancyPlan]] = []
    elif len(chunks) == 1:
        results = [_evaluate_chunk(context, public, chunks[0])]
    else:
        results = _evaluate_in_workers(context, public, chunks, workers)
    plans = [p for chunk in results for p in chunk]
    if platform:
        plans.insert(0, _platform_plan(site, public))
    for p in plans:
        against, old = snapshot.load(site, p.tenancy)
        new = snapshot_of(p.resources)
        p.diff = snapshot.diff(against, old, new)
        snapshot.save(site, p.tenancy, snapshot.PLANNED, new)
    return PlanReport(plans)


def preview(site: Site, spec: TenancySpec, source: str) -> TenancyPlan:
    """One tenancy planned, judged and diffed against its last snapshot, saving nothing."""
    plan = judge_only(site, spec, source)
    against, old = snapshot.load(site, plan.tenancy)
    plan.diff = snapshot.diff(against, old, snapshot_of(plan.resources))
    return plan


def judge_only(site: Site, spec: TenancySpec, source: str) -> TenancyPlan:
    """One tenancy evaluated and judged, nothing saved: what a plan result shows."""
    from dcops.stacks.allocation import public_pool
    from dcops.stacks.policies import context_from_site

    context = context_from_site(site, namespace_holders(site, [spec]))
    return judge_planned(context, public_pool(site), spec, source)


def judge_planned(
    context: PolicyContext, public: str, spec: TenancySpec, source: str = "request"
) -> TenancyPlan:
    """One tenancy evaluated and judged in a given context: what submit and approve check."""
    return _evaluate_chunk(context, public, [(spec, source)])[0]


def namespace_holders(site: Site, specs: Sequence[TenancySpec]) -> dict[str, tuple[str, ...]]:
    """Each Kubernetes namespace with the tenancies that hold it: the specs and the store's."""
    from dcops.tenancy.location import store_in_use

    held: dict[str, set[str]] = {}
    for spec in specs:
        if spec.kubernetes is not None:
            held.setdefault(spec.kubernetes.namespace, set()).add(spec.name)
    if store_in_use(site):
        from dcops.tenancy.lifecycle import other_namespaces
        from dcops.tenancy.store import open_store

        with open_store(site).reading() as session:
            for tenancy, namespace in other_namespaces(session, ""):
                held.setdefault(namespace, set()).add(tenancy)
    return {namespace: tuple(sorted(names)) for namespace, names in held.items()}


def _platform_plan(site: Site, public: str) -> TenancyPlan:
    """The platform stack: the flavor catalogue and the external network, planned offline."""
    from dcops.stacks.config import platform_args
    from dcops.stacks.evaluation import evaluate
    from dcops.stacks.mocks import CloudMocks
    from dcops.stacks.program import Clouds, platform_program

    program = platform_program(platform_args(site), Clouds())
    resources = evaluate([program], CloudMocks(public)).resources
    for r in resources:
        r.urn, r.parent = _restack(r.urn, PLATFORM_STACK), _restack(r.parent, PLATFORM_STACK)
    resources.sort(key=lambda r: r.urn)
    return TenancyPlan(
        PLATFORM_STACK, "", "dcops.toml [catalogue]", "none", resources, [], _duplicates(resources)
    )


def _refuse_shared_names(specs: Sequence[tuple[TenancySpec, str]]) -> None:
    sources: dict[str, str] = {}
    for spec, source in specs:
        if spec.name in sources:
            raise InputError(
                f"{source} and {sources[spec.name]} both name tenancy {spec.name!r}; one stack "
                "per tenancy: give one of them another name (the request's name field)"
            )
        sources[spec.name] = source


def snapshot_of(resources: Sequence[PlannedResource]) -> snapshot.Snapshot:
    """The snapshot form of planned resources: type, parent and inputs per URN."""
    return {
        r.urn: {"type": r.type, "parent": r.parent, "custom": r.custom, "inputs": r.inputs}
        for r in resources
    }


def _evaluate_in_workers(
    context: PolicyContext,
    public: str,
    chunks: list[list[tuple[TenancySpec, str]]],
    workers: int | None,
) -> list[list[TenancyPlan]]:
    from dcops.stacks.evaluation import collector_paused

    processes = min(len(chunks), _worker_count(sum(map(len, chunks)), workers))
    with (
        collector_paused(),
        multiprocessing.get_context("fork").Pool(processes, maxtasksperchild=1) as pool,
    ):
        return pool.starmap(_evaluate_chunk, [(context, public, c) for c in chunks])


def _worker_count(tenancies: int, workers: int | None) -> int:
    count = workers or min(os.cpu_count() or 1, max(1, tenancies // TENANCIES_PER_WORKER))
    return max(1, min(count, tenancies))


def _chunks(
    specs: list[tuple[TenancySpec, str]], workers: int | None
) -> list[list[tuple[TenancySpec, str]]]:
    count = _worker_count(len(specs), workers)
    count = max(count, -(-len(specs) // TENANCIES_PER_RUN))
    return [specs[i::count] for i in range(count)]


def _evaluate_chunk(
    context: PolicyContext, public: str, specs: Sequence[tuple[TenancySpec, str]]
) -> list[TenancyPlan]:
    from dcops.stacks.evaluation import collector_paused

    with collector_paused():
        return _plan_chunk(context, public, specs)


def _plan_chunk(
    context: PolicyContext, public: str, specs: Sequence[tuple[TenancySpec, str]]
) -> list[TenancyPlan]:
    import pulumi

    from dcops.stacks.evaluation import evaluate
    from dcops.stacks.mocks import CloudMocks
    from dcops.stacks.policies import build_policies
    from dcops.stacks.verdicts import judge

    def plan_secret(key: str) -> pulumi.Output[str]:
        return pulumi.Output.secret(f"<secret {key}>")

    programs = [_program(spec, plan_secret) for spec, _ in specs]
    evaluation = evaluate(programs, CloudMocks(public))
    by_tenancy = _split(evaluation.resources)
    policies = build_policies(context)
    plans = []
    for spec, source in specs:
        resources = sorted(by_tenancy.get(spec.name, []), key=lambda r: r.urn)
        plans.append(
            TenancyPlan(
                tenancy=spec.name,
                department=spec.department,
                source=source,
                allocation=spec.allocation,
                resources=resources,
                verdicts=judge(policies, resources),
                duplicates=_duplicates(resources),
            )
        )
    return plans


def _program(spec: TenancySpec, secret: Callable[[str], Any]) -> Callable[[], None]:
    from dcops.stacks.program import Clouds, TenancyStack

    def program() -> None:
        TenancyStack(spec, Clouds(), secret)

    return program


def _split(resources: Sequence[PlannedResource]) -> dict[str, list[PlannedResource]]:
    """Group resources by tenancy and give their URNs the tenancy's own stack name."""
    parent_of = {r.urn: r.parent for r in resources}
    roots = {r.urn: r.name for r in resources if r.type == ROOT}
    grouped: dict[str, list[PlannedResource]] = {}
    for r in resources:
        urn = r.urn
        while urn and urn not in roots:
            urn = parent_of.get(urn, "")
        tenancy = roots.get(urn)
        if tenancy is None:
            continue
        r.urn = _restack(r.urn, tenancy)
        r.parent = _restack(r.parent, tenancy) if r.parent in parent_of else ""
        grouped.setdefault(tenancy, []).append(r)
    return grouped


def _duplicates(resources: Sequence[PlannedResource]) -> list[str]:
    counts = Counter(r.urn for r in resources)
    return sorted(urn for urn, n in counts.items() if n > 1)


def _restack(urn: str, tenancy: str) -> str:
    return urn.replace(f"urn:pulumi:{PLAN_STACK}::", f"urn:pulumi:{tenancy}::", 1)
