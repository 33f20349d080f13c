"""Entry of the policy pack: starts the analyzer with the site's policies (DCOPS_SITE locates it)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyPack

from dcops.core.loader import load_site
from dcops.stacks.policies import build_policies, context_from_site


def main() -> None:
    """Build the pack; the constructor serves the engine until it disconnects."""
    PolicyPack(
        name="dcops-gdc",
        enforcement_level=EnforcementLevel.MANDATORY,
        policies=build_policies(context_from_site(load_site())),
    )


if __name__ == "__main__":
    main()
