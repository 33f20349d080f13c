"""What the live provisioning tests share: the engine check, the platform stack, leftovers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.integration.lab_cloud import LabCloud

ENGINE_TIMEOUT = 2400.0  # an `up` takes 3-5 minutes on a loaded 2-core machine


def engine_missing() -> str | None:
    """Why the engine cannot run here (not built), or None."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    for program in ("pulumi", "pulumi-resource-openstack"):
        if shutil.which(program, path=path) is None:
            return f"LIVE TEST SKIPPED: {program} is not built (run scripts/install-engine.sh)"
    return None


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """stdout of a command that must have succeeded."""
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def write_secret(site: Path, name: str, value: str) -> None:
    """A VPN pre-shared key in the site's secrets folder (0600)."""
    folder = site / ".dcops" / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / name).write_text(value)
    (folder / name).chmod(0o600)


def checkpoint_resources(site: Path, stack: str) -> list[dict[str, Any]]:
    """The resources a stack's state holds (none when it does not exist)."""
    path = site / ".dcops" / "pulumi" / "state" / ".pulumi" / "stacks" / "dcops"
    path = path / f"{stack}.json"
    if not path.exists():
        return []
    latest = json.loads(path.read_text(encoding="utf-8"))["checkpoint"].get("latest") or {}
    return list(latest.get("resources") or [])


def held(cloud: LabCloud, stack: str) -> int:
    """How many resources a stack's state holds (0 when it has none or does not exist)."""
    return len(checkpoint_resources(cloud.site, stack))


def platform_provisioned(cloud: LabCloud) -> None:
    """The platform stack up (once per lab): it owns the catalogue's flavors."""
    if held(cloud, "platform"):
        return
    conn = cloud.connect()
    # `lab cloud up --flavors` made the catalogue's flavors for the tests that do not provision;
    # the platform stack is to own them, and Nova refuses a second flavor of the same name.
    for flavor in conn.compute.flavors():
        conn.compute.delete_flavor(flavor)
    ok(cloud.dcops("provision", "--platform", "--yes", timeout=ENGINE_TIMEOUT))


def project_of(conn: Any, name: str) -> Any:
    """The tenancy's project, which must exist."""
    project = conn.identity.find_project(name)
    assert project is not None, f"no project {name}"
    return project


def leftovers(conn: Any, name: str, project_id: str) -> list[str]:
    """Anything in the cloud that still belongs to a tenancy (by project or by name)."""

    def mine(item: Any) -> bool:
        owner = getattr(item, "project_id", None) or getattr(item, "tenant_id", None)
        return owner == project_id or str(getattr(item, "name", "") or "").startswith(name)

    found = [f"project {p.name}" for p in conn.identity.projects() if p.id == project_id]
    listings = {
        "network": conn.network.networks(),
        "subnet": conn.network.subnets(),
        "router": conn.network.routers(),
        "port": conn.network.ports(),
        "security group": conn.network.security_groups(),
        "floating IP": conn.network.ips(),
        "IKE policy": conn.network.vpn_ike_policies(),
        "IPsec policy": conn.network.vpn_ipsec_policies(),
        "VPN service": conn.network.vpn_services(),
        "endpoint group": conn.network.vpn_endpoint_groups(),
        "site connection": conn.network.vpn_ipsec_site_connections(),
        "server": conn.compute.servers(all_projects=True),
        "server group": conn.compute.server_groups(all_projects=True),
        "keypair": conn.compute.keypairs(),
        "load balancer": conn.load_balancer.load_balancers(),
        "volume": conn.block_storage.volumes(all_projects=True),
    }
    for kind, items in listings.items():
        found.extend(f"{kind} {getattr(i, 'name', '')} ({i.id})" for i in items if mine(i))
    return found


def shown_outputs(out: str, stack: str) -> dict[str, str]:
    """The `outputs of STACK:` lines that `dcops provision` printed, key → value."""
    _, found, after = out.partition(f"outputs of {stack}:\n")
    assert found, f"no outputs of {stack} in:\n{out}"
    shown = {}
    for line in after.splitlines():
        if not line.startswith("  "):
            break
        key, _, value = line.strip().partition("  ")
        shown[key] = value.strip()
    return shown


Named = set[tuple[str, str]]


def part_of(resource_type: str) -> str:
    """Which part of a tenancy a resource type belongs to."""
    return "kubernetes" if "kubernetes" in resource_type else "openstack"


def planned_and_created(
    site: Path, plan_json: str, stack: str, parts: tuple[str, ...]
) -> tuple[Named, Named]:
    """(type, name) of every resource an offline plan (`dcops plan REQUEST -o json`) lists for
    these parts of its tenancy, and of every resource the engine's state holds for its stack."""
    report = json.loads(plan_json)
    planned = {
        (r["type"], r["name"])
        for r in report["tenancies"][0]["resources"]
        if r["type"] == "dcops:stack:Tenancy" or part_of(r["type"]) in parts
    }
    created = {
        (r["type"], r["urn"].rsplit("::", 1)[1])
        for r in checkpoint_resources(site, stack)
        if r["type"] != "pulumi:pulumi:Stack"  # the engine's own root, not a planned resource
    }
    return planned, created
