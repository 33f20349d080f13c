"""Silence the DeprecationWarnings that third-party Pulumi SDKs emit on import, and only those."""

from __future__ import annotations

import warnings

THIRD_PARTY = r"(pulumi_openstack|pulumi_kubernetes|pulumi_policy)(\..*)?$"


def quiet_third_party() -> None:
    """Ignore DeprecationWarnings raised inside the Pulumi provider SDKs; ours still surface."""
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=THIRD_PARTY)
