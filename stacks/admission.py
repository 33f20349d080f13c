"""The site's policies over one tenancy request before it is stored or approved."""

from __future__ import annotations

import copy
import hashlib
import os
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from dcops.core.errors import InvalidInput, OperationFailed, Problem
from dcops.core.site import Site
from dcops.stacks.verdicts import Verdict
from dcops.tenancy.model import TenancyRequest

if TYPE_CHECKING:
    from dcops.stacks.policies import PolicyContext
    from dcops.stacks.spec import TenancySpec

# The offline plan sets Pulumi's mocks process-wide: within one process, one judgement at a
# time. A server judges in a pool of worker processes instead, so submits from different
# people are judged side by side (one per worker) rather than queued behind one lock.
_JUDGING = threading.Lock()
_WORKERS: ProcessPoolExecutor | None = None
MAX_WORKERS = 4
# Verdicts are a function of the stack inputs, the policy context and the public pool alone,
# so the same request judged again (validate, then submit, then approve; the console's
# checks and preview) is answered from here instead of planned again.
REMEMBERED = 256
_VERDICTS: OrderedDict[str, list[Verdict]] = OrderedDict()
_REMEMBERING = threading.Lock()


def open_judges(workers: int | None = None) -> None:
    """Judge in worker processes from now on (one per core, at most MAX_WORKERS), warmed up."""
    import multiprocessing

    global _WORKERS
    count = workers or min(os.cpu_count() or 1, MAX_WORKERS)
    # spawn, not fork: the server has threads (uvicorn's, the deliverer) a fork would copy mid-step
    _WORKERS = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"))
    # One warm-up each, sent now: it starts every worker (a pool spawns one per waiting task)
    # and pays the SDK's imports and first run (about 4 s a worker) before the first submit.
    for _ in range(count):
        _WORKERS.submit(warm_up)


def close_judges() -> None:
    """Stop the worker processes (judgements run in this process again).

    Workers are ended, not waited for: a warm-up still running (seconds of imports and a plan,
    with no effect outside its process) would otherwise hold up every stop of the server.
    """
    global _WORKERS
    pool, _WORKERS = _WORKERS, None
    if pool is None:
        return
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(10)


def judge_request(site: Site, request: TenancyRequest) -> list[Verdict]:
    """Every policy's verdict on what the request would build (planned offline, nothing saved)."""
    from concurrent.futures.process import BrokenProcessPool

    spec, context, public = judgement_inputs(site, request)
    key = hashlib.sha256(repr((spec, context, public)).encode("utf-8")).hexdigest()
    with _REMEMBERING:
        if key in _VERDICTS:
            _VERDICTS.move_to_end(key)
            return copy.deepcopy(_VERDICTS[key])
    pool = _WORKERS
    try:
        verdicts = (
            judge_inputs(spec, context, public)
            if pool is None
            else pool.submit(judge_inputs, spec, context, public).result()
        )
    except BrokenProcessPool:
        close_judges()
        open_judges()
        raise OperationFailed(
            "策略检查进程意外退出 / a policy worker process stopped while judging request "
            f"{request.name}; the server started new ones: send it again"
        ) from None
    with _REMEMBERING:
        _VERDICTS[key] = copy.deepcopy(verdicts)
        while len(_VERDICTS) > REMEMBERED:
            _VERDICTS.popitem(last=False)
    return verdicts


def judgement_inputs(site: Site, request: TenancyRequest) -> tuple[TenancySpec, PolicyContext, str]:
    """What a judgement depends on: the stack inputs, the policy context, the public pool."""
    from dcops.stacks.allocation import OfflineAllocation, public_pool
    from dcops.stacks.config import tenancy_spec
    from dcops.stacks.plan import namespace_holders
    from dcops.stacks.policies import context_from_site

    spec = tenancy_spec(request, site, OfflineAllocation(site))
    return spec, context_from_site(site, namespace_holders(site, [spec])), public_pool(site)


def planning_here() -> threading.Lock:
    """Held while anything plans offline in this process: Pulumi's mocks are process-wide."""
    return _JUDGING


def judge_inputs(spec: TenancySpec, context: PolicyContext, public: str) -> list[Verdict]:
    """The verdicts, planned in this process (one at a time: the mocks are process-wide)."""
    from dcops.stacks.plan import judge_planned

    with _JUDGING:
        return judge_planned(context, public, spec).verdicts


def judge_here(site: Site, request: TenancyRequest) -> list[Verdict]:
    """The verdicts, planned in this process and not remembered (what bench/ times)."""
    return judge_inputs(*judgement_inputs(site, request))


def warm_up() -> None:
    """Plan one tenancy of every kind of resource, so a worker's first judgement is not slow."""
    from dcops.stacks.policies import PolicyContext
    from dcops.stacks.spec import (
        IngressSpec,
        KubernetesSpec,
        LoadBalancerSpec,
        NetworkAllowSpec,
        NetworkSpec,
        QuotaSpec,
        ServerSpec,
        TenancySpec,
        VpnSpec,
    )

    spec = TenancySpec(
        name="warm-up", department="warm", environment="test", tier="warm",
        external_network="public", networks=(NetworkSpec("app", "10.0.0.0/24"),),
        servers=(ServerSpec("web", "m1.small", "debian-12", 1, volume_gb=10, network="app"),),
        ingress=(IngressSpec("web", 443, "https", cidr="10.1.0.0/24"),),
        load_balancers=(LoadBalancerSpec("www", 443, "TCP", "web", floating_ip=True),),
        vpns=(VpnSpec("site", "203.0.113.1", ("10.2.0.0/24",), "warm-up-psk"),),
        quota=QuotaSpec(1, 1, 1024, 10, 1, 1, 4, 1, 2, 4, 1, 1, 1, 1, 1, 1),
        kubernetes=KubernetesSpec("warm-up", "1", "1Gi", 4, "warm",
                                  (NetworkAllowSpec("web", port=443),)),
    )  # fmt: skip
    judge_inputs(spec, PolicyContext({}), "198.51.100.0/24")


def refuse_violations(source: str, name: str, verdicts: list[Verdict]) -> None:
    """InvalidInput (exit 2) naming each mandatory rule the request breaks, if any."""
    problems = [
        Problem(source, f"policy {v.policy}", violation.message)
        for v in verdicts
        if v.mandatory
        for violation in v.violations
    ]
    if problems:
        raise InvalidInput(
            f"策略不允许 / tenancy request {name} breaks mandatory policies", problems
        )


def verdicts_as_data(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """Each policy's verdict as plain data: what `tenancy show` prints and the API returns."""
    return [
        {"policy": v.policy, "passed": v.passed, "violations": [x.message for x in v.violations]}
        for v in verdicts
    ]
