"""Scan and drift findings as observations in the audit journal: one `record` event each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from dcops.audit.event import draft, new_correlation
from dcops.audit.recorder import actor_fields
from dcops.cloud.findings import Finding

if TYPE_CHECKING:
    from dcops.core.identity import Actor
    from dcops.core.site import Site


def record_findings(site: Site, actor: Actor, action: str, findings: Iterable[Finding]) -> int:
    """Append each finding as an observation (one correlation per run), then sign a checkpoint."""
    from dcops.audit.checkpoint import write_checkpoint
    from dcops.audit.journal import Journal

    journal = Journal.of(site)
    correlation = new_correlation()
    count = 0
    for finding in findings:
        journal.append(
            draft(
                phase="record",
                action=action,
                target=finding.target,
                actor=actor_fields(actor),
                parameters={
                    "rule": finding.rule,
                    "severity": finding.severity,
                    "cloud": finding.cloud,
                    "scope": finding.scope,
                    "department": finding.department,
                },
                correlation=correlation,
                timezone=site.config.site.timezone,
                status="success",
                details={"message": finding.message, "name": finding.resource_name},
            )
        )
        count += 1
    if count:
        write_checkpoint(journal)
    return count
