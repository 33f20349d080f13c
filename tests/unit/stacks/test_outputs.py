"""A tenancy stack's outputs: what ops see after `dcops provision` (project, CIDRs, addresses)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from dcops.stacks.evaluation import evaluate
from dcops.stacks.mocks import CloudMocks
from dcops.stacks.outputs import flat
from dcops.stacks.program import Clouds, TenancyStack
from dcops.stacks.spec import TenancySpec


def exported(spec: TenancySpec, clouds: Clouds, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The stack outputs the program exports, resolved under the mocks."""
    found: dict[str, Any] = {}

    def export(key: str, value: Any) -> None:
        pulumi.Output.from_input(value).apply(lambda resolved: found.__setitem__(key, resolved))

    monkeypatch.setattr(pulumi, "export", export)

    def program() -> None:
        TenancyStack(spec, clouds, lambda key: pulumi.Output.secret("psk"))

    evaluate([program], CloudMocks())
    return found


def test_the_example_tenancy_exports_what_ops_need(
    sample_spec: TenancySpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = exported(sample_spec, Clouds(), monkeypatch)
    assert set(outputs) == {
        "project_id",
        "networks",
        "servers",
        "load_balancers",
        "vpns",
        "kubernetes",
    }
    [network] = sample_spec.networks
    assert outputs["networks"]["app"]["cidr"] == network.cidr
    servers = outputs["servers"]
    assert sorted(servers) == ["db-1", "web-1", "web-2"]  # fgw-production-vm-web-1 in the cloud
    assert servers["db-1"]["volume_gb"] == 500
    assert servers["web-2"]["volume_gb"] == 100
    assert all(s["address"] and s["volume_id"] for s in servers.values())
    assert outputs["load_balancers"]["web"]["vip"]
    assert "floating_ip" not in outputs["load_balancers"]["web"]  # the request asks for none
    assert outputs["vpns"]["hq"]["peer"] == "203.0.113.10"
    assert outputs["vpns"]["hq"]["peer_cidrs"] == ["192.168.10.0/24"]
    assert outputs["vpns"]["hq"]["local_endpoint"]
    assert outputs["kubernetes"] == {"namespace": "fgw"}


def test_only_the_parts_of_the_stack_are_exported(
    sample_spec: TenancySpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = exported(sample_spec, Clouds(parts=("kubernetes",)), monkeypatch)
    assert outputs == {"kubernetes": {"namespace": "fgw"}}


def test_outputs_flatten_to_dotted_keys_project_first() -> None:
    outputs = {
        "servers": {"a-vm-web-1": {"address": "10.0.0.5", "volume_gb": 100.0}},
        "project_id": "p1",
        "vpns": {"hq": {"local_endpoint": None, "peer_cidrs": ["192.168.10.0/24", "10.9.0.0/16"]}},
    }
    assert flat(outputs) == [
        ("project_id", "p1"),
        ("servers.a-vm-web-1.address", "10.0.0.5"),
        ("servers.a-vm-web-1.volume_gb", "100"),
        ("vpns.hq.local_endpoint", "-"),
        ("vpns.hq.peer_cidrs", "192.168.10.0/24, 10.9.0.0/16"),
    ]
