"""`dcops tenancy request --interactive`: ask for a request field by field, with the site's choices."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import TypeAdapter, ValidationError

from dcops.cli.views import output
from dcops.core.site import Cidr, Email
from dcops.tenancy import model

if TYPE_CHECKING:
    from dcops.core.identity import Actor
    from dcops.core.site import Site


Check = Callable[[Any], Any]


def _choose(text: str, choices: Sequence[str], default: str | None = None) -> str:
    while True:
        value = str(typer.prompt(f"{text} ({', '.join(choices)})", default=default)).strip()
        if value in choices:
            return value
        typer.echo(f"{output.inline(value)!r} is not one of {', '.join(choices)}", err=True)


def _ask(text: str, default: Any = None, kind: type = str, check: Check | None = None) -> Any:
    """Ask until the answer passes check (the same rule the request file is held to)."""
    while True:
        value = typer.prompt(text, default=default, type=kind, show_default=default is not None)
        if check is None:
            return value
        try:
            return check(value)
        except (ValueError, ValidationError) as exc:
            typer.echo(f"  {output.inline(_reason(exc))}; try again", err=True)


def _optional(text: str, check: Check | None = None) -> str:
    while True:
        value = str(typer.prompt(text, default="", show_default=False)).strip()
        if not value or check is None:
            return value
        try:
            return str(check(value))
        except (ValueError, ValidationError) as exc:
            typer.echo(f"  {output.inline(_reason(exc))}; try again", err=True)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return str(exc)


def _rule(kind: Any) -> Check:
    """A check from a request type (a name, a CIDR, a quantity...): its validators, as a function."""
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    return adapter.validate_python


def _expiry(today: datetime.date, latest: datetime.date) -> Check:
    def check(value: Any) -> str:
        date: datetime.date = _rule(model.CalendarDate)(str(value).strip())
        if not today < date <= latest:
            raise ValueError(f"{date} is outside {today + datetime.timedelta(days=1)} .. {latest}")
        return date.isoformat()

    return check


def ask_request(
    site: Site, actor: Actor, today: datetime.date, data: dict[str, Any]
) -> dict[str, Any]:
    """Prompt for every part of a request into data (kept as far as it got if interrupted)."""
    departments = [d.code for d in site.config.departments]
    mine = actor.departments[0] if actor.departments else None
    code = _choose("Department code (部门代码)", departments, mine)
    department = site.department(code)
    tier = site.tier_of(code)
    assert department is not None and tier is not None
    data["department"] = {"code": code, "name": department.name}
    typer.echo(
        f"{code} ({department.name}) is tier {department.tier} ({tier.title}): "
        f"up to {tier.vcpus} vCPUs, {tier.ram_gb} GB RAM, {tier.instances} servers, "
        f"{tier.networks} networks, {tier.max_period_days} days"
    )
    environments = sorted(
        {p.environment for p in site.config.pools if p.use == "tenant" and p.environment}
    )
    data["environment"] = _choose("Environment (环境)", environments, environments[0])
    data["purpose"] = _ask("Purpose (用途)", check=_rule(model.Text))
    data["classification"] = _choose(
        "Classification (等保级别)", ["level-1", "level-2", "level-3", "level-4"], "level-2"
    )
    latest = today + datetime.timedelta(days=tier.max_period_days)
    suggested = today + datetime.timedelta(days=min(365, tier.max_period_days))
    data["expires"] = _ask(
        f"Expires (到期日, YYYY-MM-DD, at most {latest})",
        suggested.isoformat(),
        check=_expiry(today, latest),
    )
    person = site.person(actor.user)
    data["contacts"] = [_contact(person.name if person else None, person.email if person else None)]
    data["compute"] = []
    _compute(site, data["compute"])
    data["networks"] = []
    _networks(data["networks"])
    data["ingress"] = []
    _ingress(data["ingress"])
    data["load_balancers"] = []
    _load_balancers(data["load_balancers"])
    data["vpn"] = []
    _vpn(data["vpn"])
    namespace = _optional("Kubernetes namespace (empty for none)", _rule(model.PartName))
    if namespace:
        data["kubernetes"] = {
            "namespace": namespace,
            "quota": {
                "cpu": _ask("  CPU cores", min(8, tier.k8s_cpu), int, _rule(model.CpuQuantity)),
                "memory": _ask(
                    "  memory",
                    f"{min(32, tier.k8s_memory_gb)}Gi",
                    check=_rule(model.MemoryQuantity),
                ),
                "pods": _ask("  pods", min(50, tier.k8s_pods), int, _rule(model.Count)),
            },
        }
    return data


def _contact(name: str | None, email: str | None) -> dict[str, Any]:
    contact = {
        "name": _ask("Contact name (联系人)", name, check=_rule(model.Line)),
        "email": _ask("Contact e-mail", email, check=_rule(Email)),
    }
    phone = _optional("Contact phone (optional)")
    if phone:
        contact["phone"] = phone
    return contact


def _compute(site: Site, groups: list[dict[str, Any]]) -> None:
    flavors = [f.name for f in site.config.catalogue.flavors]
    images = [i.name for i in site.config.catalogue.images]
    while name := _optional("Compute service name (empty to finish)", _rule(model.PartName)):
        groups.append(
            {
                "name": name,
                "flavor": _choose("  flavor", flavors, flavors[0]),
                "image": _choose("  image", images, images[0]),
                "count": _ask("  count", 1, int, _rule(model.Count)),
                "volume_gb": _ask("  data volume GB per server (0 for none)", 0, int, _volume),
            }
        )


def _volume(value: int) -> int:
    if not 0 <= value <= 16384:
        raise ValueError(f"{value} GB is outside 0..16384")
    return value


def _size(value: int) -> int:
    if not 16 <= value <= 28:
        raise ValueError(f"/{value} is outside /16../28")
    return value


def _networks(networks: list[dict[str, Any]]) -> None:
    name = _ask("Network name", "app", check=_rule(model.PartName))
    networks.append({"name": name, "size": _ask("  prefix length (16-28)", 24, int, _size)})
    while name := _optional("Another network name (empty to finish)", _rule(model.PartName)):
        networks.append({"name": name, "size": _ask("  prefix length (16-28)", 24, int, _size)})


def _ingress(rules: list[dict[str, Any]]) -> None:
    while to := _optional("Ingress to service (empty to finish)", _rule(model.PartName)):
        rules.append(
            {
                "to": to,
                "port": _ask("  port", 443, int, _rule(model.Port)),
                "from": _ask("  from (service name or CIDR)"),
                "description": _ask("  description", check=_rule(model.Line)),
                "protocol": _choose("  protocol", ["tcp", "udp"], "tcp"),
            }
        )


def _load_balancers(balancers: list[dict[str, Any]]) -> None:
    while name := _optional("Load balancer name (empty for none)", _rule(model.PartName)):
        protocol = _choose("  protocol", ["TCP", "UDP", "HTTP", "HTTPS"], "TCP")
        balancers.append(
            {
                "name": name,
                "port": _ask("  port", 443, int, _rule(model.Port)),
                "protocol": protocol,
                "members": _ask("  members (compute service)", name, check=_rule(model.PartName)),
                "health": {"type": "UDP-CONNECT" if protocol == "UDP" else protocol},
            }
        )


def _cidrs(value: str) -> list[str]:
    return [_rule(Cidr)(c.strip()) for c in value.split(",")]


def _vpn(peers: list[dict[str, Any]]) -> None:
    while name := _optional("VPN to your own site: name (empty for none)", _rule(model.PartName)):
        peers.append(
            {
                "name": name,
                "peer_address": _ask(
                    "  your VPN gateway's public address", check=_rule(model.Address)
                ),
                "peer_cidrs": _ask(
                    "  your networks behind it (CIDRs, comma-separated)", check=_cidrs
                ),
                "psk_secret": _ask(
                    "  name of the pre-shared key secret (not the key)",
                    check=_rule(model.SecretName),
                ),
            }
        )


def save_draft(data: dict[str, Any], target: Path) -> Path:
    """Write the answers given so far next to target (never over an existing file)."""
    import yaml

    draft = target.with_name(f"{target.stem}.draft{target.suffix or '.yml'}")
    number = 1
    while draft.exists():
        number += 1
        draft = target.with_name(f"{target.stem}.draft-{number}{target.suffix or '.yml'}")
    draft.write_text(
        "# 草稿 draft: complete it, then: dcops tenancy request THIS-FILE\n"
        + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None),
        encoding="utf-8",
    )
    return draft
