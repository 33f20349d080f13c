"""A stack's applied state from a recorded Pulumi checkpoint (fgw-staging on the lab cloud)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from dcops.cloud.applied_state import parse_deployment, read_applied
from dcops.core.errors import InputError
from dcops.core.loader import load_site
from dcops.core.site import Site

RECORDED = Path(__file__).parent / "recorded" / "pulumi-checkpoint.json"


@pytest.fixture
def site(site_dir: Path) -> Site:
    return load_site(site_dir)


def stacks_dir(site: Site) -> Path:
    folder = site.paths.state / "pulumi" / "state" / ".pulumi" / "stacks" / "dcops"
    folder.mkdir(parents=True)
    return folder


def test_the_compared_resources_and_their_fields_are_read() -> None:
    latest = json.loads(RECORDED.read_text(encoding="utf-8"))["checkpoint"]["latest"]
    found = {(r.kind, r.id): r for r in parse_deployment(latest)}
    assert sorted({kind for kind, _ in found}) == [
        "namespace",
        "project",
        "resource_quota",
        "security_group",
        "security_group_rule",
        "server",
    ]
    assert found["project", "4c3daa12f7d343648e86ae802a228a38"].name == "fgw-staging"
    server = found["server", "14f14dae-9a9f-4425-aa76-1d3cd812ad79"]
    assert (server.name, server.details) == ("fgw-staging-vm-web-1", {"flavor": "c2.m4"})
    ssh = found["security_group_rule", "cb58f513-2a23-4fd3-8e0c-ab80259893ba"].details
    assert (ssh["group"], ssh["port_min"], ssh["remote_ip_prefix"]) == (
        "fgw-staging-sg-web",
        22,
        "10.10.0.0/16",
    )
    egress = found["security_group_rule", "507a4549-298e-4cd7-ba2e-c1fa8d19bc19"].details
    # The provider stores 0 and "" for 'any'; Neutron says None: both read as no port.
    assert (egress["direction"], egress["protocol"], egress["port_min"]) == ("egress", "", None)
    from_web = found["security_group_rule", "907d09b1-329d-4b33-bbea-1093d38e24de"].details
    assert from_web["remote_group"] == "dcdc2fc1-e32d-4d0c-8fe6-46292df529f9"
    quota = found["resource_quota", "19aa11bb-1490-4df8-8752-a229ce608ff7"]
    assert (quota.scope, quota.details["hard"]["limits.cpu"]) == ("fault", "16")
    assert found["namespace", "d60be350-b478-42c5-bc4a-07ae021c1d3a"].name == "fault"


def test_a_file_backend_checkpoint_is_read_plain_or_gzipped(site: Site) -> None:
    assert read_applied(site, "fgw-staging") is None  # never applied
    folder = stacks_dir(site)
    shutil.copy(RECORDED, folder / "fgw-staging.json")
    plain = read_applied(site, "fgw-staging")
    assert plain is not None and len(plain) == 11
    (folder / "fgw-staging.json").unlink()
    (folder / "fgw-staging.json.gz").write_bytes(gzip.compress(RECORDED.read_bytes()))
    assert read_applied(site, "fgw-staging") == plain


def test_a_stack_whose_resources_were_all_destroyed_has_no_state(site: Site) -> None:
    empty = {"version": 3, "checkpoint": {"stack": "organization/dcops/gone"}}
    (stacks_dir(site) / "gone.json").write_text(json.dumps(empty), encoding="utf-8")
    assert read_applied(site, "gone") is None


def test_a_damaged_checkpoint_is_named(site: Site) -> None:
    (stacks_dir(site) / "broken.json").write_text('{"version": 3, "check', encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.json: not a Pulumi checkpoint"):
        read_applied(site, "broken")
