"""The site's policies over one tenancy request before it is stored or approved."""

from __future__ import annotations

import threading
from typing import Any

from dcops.core.errors import InvalidInput, Problem
from dcops.core.site import Site
from dcops.stacks.verdicts import Verdict
from dcops.tenancy.model import TenancyRequest

# The offline plan sets Pulumi's mocks process-wide: in a server's threads, one judgement at a time.
_JUDGING = threading.Lock()


def judge_request(site: Site, request: TenancyRequest) -> list[Verdict]:
    """Every policy's verdict on what the request would build (planned offline, nothing saved)."""
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
