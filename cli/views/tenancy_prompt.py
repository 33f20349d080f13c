"""`dcops tenancy request --interactive`: ask for a request field by field, with the site's choices."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from dcops.core.identity import Actor
    from dcops.core.site import Site


def _choose(text: str, choices: Sequence[str], default: str | None = None) -> str:
    while True:
        value = str(typer.prompt(f"{text} ({', '.join(choices)})", default=default)).strip()
        if value in choices:
            return value
        typer.echo(f"{value!r} is not one of {', '.join(choices)}", err=True)


def _ask(text: str, default: Any = None, kind: type = str) -> Any:
    return typer.prompt(text, default=default, type=kind, show_default=default is not None)


def _optional(text: str) -> str:
    return str(typer.prompt(text, default="", show_default=False)).strip()


def ask_request(site: Site, actor: Actor, today: datetime.date) -> dict[str, Any]:
    """Prompt for every part of a request; returns data in the request file's shape."""
    departments = [d.code for d in site.config.departments]
    mine = actor.departments[0] if actor.departments else None
    code = _choose("Department code (部门代码)", departments, mine)
    department = site.department(code)
    tier = site.tier_of(code)
    assert department is not None and tier is not None
    typer.echo(
        f"{code} ({department.name}) is tier {department.tier} ({tier.title}): "
        f"up to {tier.vcpus} vCPUs, {tier.ram_gb} GB RAM, {tier.instances} servers, "
        f"{tier.networks} networks, {tier.max_period_days} days"
    )
    environments = sorted(
        {p.environment for p in site.config.pools if p.use == "tenant" and p.environment}
    )
    environment = _choose("Environment (环境)", environments, environments[0])
    purpose = _ask("Purpose (用途)")
    classification = _choose(
        "Classification (等保级别)", ["level-1", "level-2", "level-3", "level-4"], "level-2"
    )
    latest = today + datetime.timedelta(days=min(365, tier.max_period_days))
    expires = _ask("Expires (到期日, YYYY-MM-DD)", latest.isoformat())
    person = site.person(actor.user)
    data: dict[str, Any] = {
        "department": {"code": code, "name": department.name},
        "contacts": [_contact(person.name if person else None, person.email if person else None)],
        "purpose": purpose,
        "environment": environment,
        "classification": classification,
        "expires": expires,
    }
    data["compute"] = _compute(site)
    data["networks"] = _networks()
    data["ingress"] = _ingress()
    data["load_balancers"] = _load_balancers()
    data["vpn"] = _vpn()
    namespace = _optional("Kubernetes namespace (empty for none)")
    if namespace:
        data["kubernetes"] = {
            "namespace": namespace,
            "quota": {
                "cpu": _ask("  CPU cores", min(8, tier.k8s_cpu), int),
                "memory": _ask("  memory", f"{min(32, tier.k8s_memory_gb)}Gi"),
                "pods": _ask("  pods", min(50, tier.k8s_pods), int),
            },
        }
    return data


def _contact(name: str | None, email: str | None) -> dict[str, Any]:
    contact = {"name": _ask("Contact name (联系人)", name), "email": _ask("Contact e-mail", email)}
    phone = _optional("Contact phone (optional)")
    if phone:
        contact["phone"] = phone
    return contact


def _compute(site: Site) -> list[dict[str, Any]]:
    flavors = [f.name for f in site.config.catalogue.flavors]
    images = [i.name for i in site.config.catalogue.images]
    groups = []
    while name := _optional("Compute service name (empty to finish)"):
        groups.append(
            {
                "name": name,
                "flavor": _choose("  flavor", flavors, flavors[0]),
                "image": _choose("  image", images, images[0]),
                "count": _ask("  count", 1, int),
                "volume_gb": _ask("  data volume GB per server (0 for none)", 0, int),
            }
        )
    return groups


def _networks() -> list[dict[str, Any]]:
    networks = [
        {"name": _ask("Network name", "app"), "size": _ask("  prefix length (16-28)", 24, int)}
    ]
    while name := _optional("Another network name (empty to finish)"):
        networks.append({"name": name, "size": _ask("  prefix length (16-28)", 24, int)})
    return networks


def _ingress() -> list[dict[str, Any]]:
    rules = []
    while to := _optional("Ingress to service (empty to finish)"):
        rules.append(
            {
                "to": to,
                "port": _ask("  port", 443, int),
                "from": _ask("  from (service name or CIDR)"),
                "description": _ask("  description"),
                "protocol": _choose("  protocol", ["tcp", "udp"], "tcp"),
            }
        )
    return rules


def _load_balancers() -> list[dict[str, Any]]:
    balancers = []
    while name := _optional("Load balancer name (empty for none)"):
        protocol = _choose("  protocol", ["TCP", "UDP", "HTTP", "HTTPS"], "TCP")
        balancers.append(
            {
                "name": name,
                "port": _ask("  port", 443, int),
                "protocol": protocol,
                "members": _ask("  members (compute service)", name),
                "health": {"type": "UDP-CONNECT" if protocol == "UDP" else protocol},
            }
        )
    return balancers


def _vpn() -> list[dict[str, Any]]:
    peers = []
    while name := _optional("VPN to your own site: name (empty for none)"):
        peers.append(
            {
                "name": name,
                "peer_address": _ask("  your VPN gateway's public address"),
                "peer_cidrs": [
                    c.strip()
                    for c in str(_ask("  your networks behind it (CIDRs, comma-separated)")).split(
                        ","
                    )
                ],
                "psk_secret": _ask("  name of the pre-shared key secret (not the key)"),
            }
        )
    return peers
