"""Mocks that answer like a real OpenStack and Kubernetes would: IDs, addresses, ports."""

from __future__ import annotations

import ipaddress
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pulumi

_NAMESPACE = uuid.UUID("6f1c2a0e-3b7d-4f4e-9a51-0d2c7e9b8a11")
PUBLIC_FALLBACK = "198.51.100.0/24"

Computed = Callable[["CloudMocks", str, dict[str, Any]], dict[str, Any]]


def stable_id(*parts: str) -> str:
    """A UUID that is the same for the same resource on every run (so diffs stay quiet)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


class AddressBook:
    """Hands out host addresses per subnet, the way Neutron's IPAM would, in a fixed order."""

    def __init__(self, public_cidr: str) -> None:
        self._lock = threading.Lock()
        self._cidr_of: dict[str, str] = {}
        self._used: dict[str, set[int]] = {}
        self.public = public_cidr
        self._cidr_of["public"] = public_cidr

    def add_subnet(self, key: str, cidr: str) -> None:
        """Remember a subnet under its network ID and its subnet ID."""
        with self._lock:
            self._cidr_of[key] = cidr

    def host_for(self, key: str, owner: str) -> str:
        """A free host address of a subnet, picked by the owner's name so runs agree.

        Registrations arrive in a different order on every run; a pick that depends on the
        owner alone keeps plans (and so their diffs) stable. Collisions probe forward.
        """
        with self._lock:
            cidr = self._cidr_of.get(key, self.public)
            network = ipaddress.ip_network(cidr)
            span = max(network.num_addresses - 16, 1)
            start = uuid.uuid5(_NAMESPACE, owner).int % span
            used = self._used.setdefault(cidr, set())
            for step in range(span):
                offset = 10 + (start + step) % span
                if offset not in used:
                    used.add(offset)
                    return str(network.network_address + offset)
            raise ValueError(f"subnet {cidr} has no free address left for {owner}")


def _subnet(m: CloudMocks, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    cidr = str(inputs.get("cidr", ""))
    m.addresses.add_subnet(rid, cidr)
    m.addresses.add_subnet(str(inputs.get("networkId", "")), cidr)
    network = ipaddress.ip_network(cidr)
    return {
        "gatewayIp": str(network.network_address + 1),
        "allocationPools": [
            {"start": str(network.network_address + 2), "end": str(network.broadcast_address - 1)}
        ],
    }


def _instance(m: CloudMocks, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    networks = inputs.get("networks") or [{}]
    address = m.addresses.host_for(str(networks[0].get("uuid", "")), rid)
    attached = [{**networks[0], "fixedIpV4": address, "mac": _mac(rid)}]
    return {"accessIpV4": address, "accessIpV6": "", "networks": attached, "powerState": "active"}


def _load_balancer(m: CloudMocks, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    address = m.addresses.host_for(str(inputs.get("vipSubnetId", "")), rid)
    return {"vipAddress": address, "vipPortId": stable_id("port", rid), "operatingStatus": "ONLINE"}


def _router(m: CloudMocks, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    address = m.addresses.host_for("public", rid)
    return {"externalFixedIps": [{"ipAddress": address, "subnetId": stable_id("public-subnet")}]}


def _floating_ip(m: CloudMocks, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"address": m.addresses.host_for("public", rid)}


def _vpn_service(m: CloudMocks, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"externalV4Ip": m.addresses.host_for("public", rid), "status": "PENDING_CREATE"}


def _keypair(m: CloudMocks, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    digest = uuid.UUID(rid).hex
    return {"fingerprint": ":".join(digest[i : i + 2] for i in range(0, 32, 2))}


def _volume_attach(m: CloudMocks, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"device": "/dev/vdb"}


def _kubernetes(m: CloudMocks, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    metadata = dict(inputs.get("metadata") or {})
    metadata.setdefault("uid", rid)
    metadata.setdefault("resourceVersion", "1")
    return {"metadata": metadata}


def _mac(rid: str) -> str:
    digest = uuid.UUID(rid).hex
    return "fa:16:3e:" + ":".join(digest[i : i + 2] for i in range(0, 6, 2))


COMPUTED: dict[str, Computed] = {
    "openstack:networking/subnet:Subnet": _subnet,
    "openstack:compute/instance:Instance": _instance,
    "openstack:loadbalancer/loadBalancer:LoadBalancer": _load_balancer,
    "openstack:networking/router:Router": _router,
    "openstack:networking/floatingIp:FloatingIp": _floating_ip,
    "openstack:vpnaas/service:Service": _vpn_service,
    "openstack:compute/keypair:Keypair": _keypair,
    "openstack:compute/volumeAttach:VolumeAttach": _volume_attach,
}


class CloudMocks(pulumi.runtime.Mocks):
    """Pulumi mocks with provider-computed outputs filled in realistically and deterministically."""

    def __init__(self, public_cidr: str = PUBLIC_FALLBACK) -> None:
        self.addresses = AddressBook(public_cidr)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """An ID and the output state: the inputs plus what the cloud would compute."""
        rid = args.resource_id or stable_id(args.typ, args.name)
        computed = COMPUTED.get(args.typ)
        if computed is None and args.typ.startswith("kubernetes:"):
            computed = _kubernetes
        extra = computed(self, rid, args.inputs) if computed else {}
        return rid, {**args.inputs, **extra}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answers to provider lookups; the external network is found by name."""
        if args.token == "openstack:networking/getNetwork:getNetwork":
            name = str(args.args.get("name", ""))
            return {
                "id": stable_id("network", name),
                "name": name,
                "external": True,
                "subnets": [stable_id("public-subnet")],
            }, []
        if args.token == "openstack:identity/getAuthScope:getAuthScope":
            return {"id": "provisioner", "userId": stable_id("user", "provisioner")}, []
        if args.token == "openstack:identity/getRole:getRole":
            name = str(args.args.get("name", ""))
            return {"id": stable_id("role", name), "name": name}, []
        return {}, []
