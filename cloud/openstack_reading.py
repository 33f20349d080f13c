"""Read a whole OpenStack cloud as its admin: one paginated listing per kind, run side by side."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from dcops.cloud import openstack_parsing as parse
from dcops.cloud.records import Reading, Resource, Scope, ServiceFailure
from dcops.core.clusters import OpenStackTarget
from dcops.core.errors import InputError, MissingDependency

PAGE = 500
"""Items asked for per API page (the services cap it at their own maximum)."""
PARALLEL_READS = 4
"""Listings in flight at once: enough to hide latency, few enough to spare the APIs."""
CLOUD = "openstack"


@dataclass(frozen=True)
class Listing:
    """One kind of resource: the service that serves it and how to list and parse it."""

    kind: str
    service: str
    fetch: Callable[[Any], Iterable[Any]]
    parse: Callable[[Mapping[str, Any]], Resource | list[Resource]]


LISTINGS = (
    Listing(
        "server",
        "compute",
        lambda c: c.compute.servers(details=True, all_projects=True, limit=PAGE),
        parse.server,
    ),
    Listing(
        "volume",
        "block-storage",
        lambda c: c.block_storage.volumes(details=True, all_projects=True, limit=PAGE),
        parse.volume,
    ),
    Listing("network", "network", lambda c: c.network.networks(limit=PAGE), parse.network),
    Listing("router", "network", lambda c: c.network.routers(limit=PAGE), parse.router),
    Listing("floating_ip", "network", lambda c: c.network.ips(limit=PAGE), parse.floating_ip),
    Listing(
        "security_group",
        "network",
        lambda c: c.network.security_groups(limit=PAGE),
        parse.security_group,
    ),
    Listing(
        "load_balancer",
        "load-balancer",
        lambda c: c.load_balancer.load_balancers(limit=PAGE),
        parse.load_balancer,
    ),
    Listing(
        "vpn_connection",
        "network",
        lambda c: c.network.vpn_ipsec_site_connections(limit=PAGE),
        parse.vpn_connection,
    ),
    Listing(
        "role_assignment",
        "identity",
        lambda c: c.identity.role_assignments(include_names=True),  # Keystone does not paginate
        parse.role_assignment,
    ),
    Listing(
        "ike_policy",
        "network",
        lambda c: c.network.vpn_ike_policies(limit=PAGE),
        parse.crypto_policy("ike_policy"),
    ),
    Listing(
        "ipsec_policy",
        "network",
        lambda c: c.network.vpn_ipsec_policies(limit=PAGE),
        parse.crypto_policy("ipsec_policy"),
    ),
)
"""What an inventory lists; VPN policies only feed the scan's crypto check."""


def connect(target: OpenStackTarget) -> Any:
    """An openstacksdk connection from the target's clouds.yaml entry, counting API calls."""
    if not target.clouds_yaml.is_file():
        hint = "start the lab cloud (dcops lab cloud up)" if target.lab else "fix the path"
        raise InputError(
            f"no clouds.yaml to read OpenStack with; {hint}. Looked for {target.clouds_yaml} "
            "([clusters.openstack] clouds_yaml in dcops.toml, else the lab cloud's)"
        )
    try:
        import openstack.config
        import openstack.connection
    except ImportError as missing:
        raise MissingDependency(
            f"reading OpenStack needs openstacksdk ({missing}); install dcops with the cloud extra"
        ) from None
    config = openstack.config.OpenStackConfig(config_files=[str(target.clouds_yaml)])
    try:
        region = config.get_one(target.cloud, timing=True)
    except openstack.exceptions.ConfigException as error:
        raise InputError(
            f"{target.clouds_yaml}: entry {target.cloud!r}: {error}; name an entry that exists "
            "([clusters.openstack] cloud in dcops.toml)"
        ) from None
    return openstack.connection.Connection(config=region)


def api_calls(connection: Any) -> int:
    """How many HTTP requests the connection has made so far."""
    return len(connection.session.get_timings())


def read(connection: Any, listings: tuple[Listing, ...] = LISTINGS) -> Reading:
    """Every project and the resources of each listing; a failing service is reported, not fatal."""
    reading = Reading(CLOUD)
    try:
        projects = list(connection.identity.projects())  # Keystone does not paginate
    except Exception as error:
        reading.failures.append(ServiceFailure(CLOUD, "identity", _reason(error)))
        reading.calls = api_calls(connection)
        return reading
    scopes = {
        str(p.id): Scope(CLOUD, str(p.name), str(p.id), tags=tuple(p.tags or ())) for p in projects
    }
    offered = {listing.service for listing in listings if _offers(connection, listing.service)}
    wanted = [listing for listing in listings if listing.service in offered]
    for listing in listings:
        if listing.service not in offered:
            reason = "not in the service catalogue"
            reading.failures.append(
                ServiceFailure(CLOUD, f"{listing.service}/{listing.kind}", reason, absent=True)
            )
    for service in offered:  # make each proxy once, before threads race to make it
        getattr(connection, service.replace("-", "_"))
    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        results = list(pool.map(lambda listing: _list(connection, listing), wanted))
    for listing, (resources, failure) in zip(wanted, results, strict=True):
        if failure:
            reading.failures.append(failure)
        for resource in resources:
            scope = scopes.get(resource.scope)
            if scope is None:
                scope = scopes.setdefault(
                    resource.scope, Scope(CLOUD, resource.scope or "(none)", resource.scope)
                )
            scope.resources.append(resource)
        del listing
    reading.scopes = sorted(scopes.values(), key=lambda s: s.name)
    reading.account = str(connection.current_user_id or "")
    reading.calls = api_calls(connection)
    return reading


def _offers(connection: Any, service: str) -> bool:
    try:
        return bool(connection.has_service(service))
    except Exception:  # an unreadable catalogue: let the listing itself say what is wrong
        return True


def _list(connection: Any, listing: Listing) -> tuple[list[Resource], ServiceFailure | None]:
    found: list[Resource] = []
    try:
        for item in listing.fetch(connection):
            parsed = listing.parse(item.to_dict(computed=False))
            found.extend(parsed if isinstance(parsed, list) else [parsed])
    except Exception as error:
        return [], ServiceFailure(CLOUD, f"{listing.service}/{listing.kind}", _reason(error))
    return found, None


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}"
