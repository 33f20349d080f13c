"""The site's policies over one tenancy request before it is stored or approved."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from dcops.core.errors import InvalidInput, OperationFailed, Problem
from dcops.core.site import Site
from dcops.stacks.verdicts import Verdict
from dcops.tenancy.model import TenancyRequest

# The offline plan sets Pulumi's mocks process-wide: within one process, one judgement at a
# time. A server judges in a pool of worker processes instead, so submits from different
# people are judged side by side (one per worker) rather than queued behind one lock.
_JUDGING = threading.Lock()
_WORKERS: ProcessPoolExecutor | None = None
MAX_WORKERS = 4


def open_judges(workers: int | None = None) -> None:
    """Judge in worker processes from now on (one per core, at most MAX_WORKERS)."""
    import multiprocessing

    global _WORKERS
    count = workers or min(os.cpu_count() or 1, MAX_WORKERS)
    # spawn, not fork: the server has threads (uvicorn's, the deliverer) a fork would copy mid-step
    _WORKERS = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"))


def close_judges() -> None:
    """Stop the worker processes (judgements run in this process again)."""
    global _WORKERS
    pool, _WORKERS = _WORKERS, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def judge_request(site: Site, request: TenancyRequest) -> list[Verdict]:
    """Every policy's verdict on what the request would build (planned offline, nothing saved)."""
    from concurrent.futures.process import BrokenProcessPool

    pool = _WORKERS
    if pool is None:
        return judge_here(site, request)
    try:
        return pool.submit(judge_here, site, request).result()
    except BrokenProcessPool:
        close_judges()
        open_judges()
        raise OperationFailed(
            "策略检查进程意外退出 / a policy worker process stopped while judging request "
            f"{request.name}; the server started new ones: send it again"
        ) from None


def judge_here(site: Site, request: TenancyRequest) -> list[Verdict]:
    """The verdicts, planned in this process (one at a time: the mocks are process-wide)."""
    from dcops.stacks.allocation import OfflineAllocation
    from dcops.stacks.config import tenancy_spec
    from dcops.stacks.plan import judge_only

    spec = tenancy_spec(request, site, OfflineAllocation(site))
    with _JUDGING:
        return judge_only(site, spec, request.name).verdicts


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
