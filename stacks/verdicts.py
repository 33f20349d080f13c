"""Run the policies directly over planned resources and collect a verdict per policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from dcops.stacks.evaluation import PlannedResource


@dataclass(frozen=True)
class Violation:
    """One breach of a policy, at a resource (or the whole stack when urn is empty)."""

    policy: str
    message: str
    urn: str = ""


@dataclass
class Verdict:
    """A policy's outcome for one stack."""

    policy: str
    description: str
    violations: list[Violation] = field(default_factory=list)
    mandatory: bool = True

    @property
    def passed(self) -> bool:
        """Whether the stack complies."""
        return not self.violations


_MANDATORY = EnforcementLevel.MANDATORY
_OPTIONS = PolicyResourceOptions(
    protect=False,
    ignore_changes=[],
    delete_before_replace=None,
    aliases=[],
    custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
    additional_secret_outputs=[],
)


def judge(
    policies: Sequence[Policy],
    resources: Sequence[PlannedResource],
) -> list[Verdict]:
    """Each policy's verdict over the custom resources of one stack."""
    custom = [r for r in resources if r.custom]
    verdicts = []
    for policy in policies:
        level = policy.enforcement_level
        verdict = Verdict(
            policy.name, policy.description or "", mandatory=level in (None, _MANDATORY)
        )

        def report(message: str, urn: str | None = None, *, _v: Verdict = verdict) -> None:
            _v.violations.append(Violation(_v.policy, message, urn or ""))

        if isinstance(policy, ResourceValidationPolicy):
            for r in custom:
                before = len(verdict.violations)
                policy.validate(_resource_args(r), report)
                for i in range(before, len(verdict.violations)):
                    v = verdict.violations[i]
                    verdict.violations[i] = Violation(v.policy, v.message, v.urn or r.urn)
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs([_policy_resource(r) for r in custom]), report)
        verdicts.append(verdict)
    return verdicts


def _resource_args(r: PlannedResource) -> ResourceValidationArgs:
    return ResourceValidationArgs(r.type, r.inputs, r.urn, r.name, _OPTIONS, None)


def _policy_resource(r: PlannedResource) -> PolicyResource:
    return PolicyResource(r.type, r.inputs, r.urn, r.name, _OPTIONS, None, None, [], {})
