"""The hosts inventory: the example loads, and each kind of mistake names its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.loader import load_site
from tests.unit.core.site_edits import refusals


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_example_hosts_load_with_groups_and_fabric(site_dir: Path) -> None:
    hosts = load_site(site_dir).hosts
    assert {h.group for h in hosts.hosts} == {"spine", "leaf", "servers", "backup", "mgmt"}
    assert [h.name for h in hosts.group("spine")] == ["spine-1", "spine-2"]
    assert hosts.host("leaf-1") is not None and hosts.host("leaf-1").asn == 65101  # type: ignore[union-attr]
    assert len(hosts.fabric_links) == 4


def test_site_without_hosts_file_still_loads(site_dir: Path) -> None:
    (site_dir / "inventory" / "hosts.yml").unlink()
    assert load_site(site_dir).hosts.hosts == ()


@pytest.mark.parametrize(
    ("file", "old", "new", "field", "words"),
    [
        (
            "hosts.yml",
            "ansible_host: 10.10.0.31",
            "ansible_host: 10.10.0.300",
            "all.children.servers.hosts.srv-1.ansible_host",
            "not an IPv4 address",
        ),
        (
            "hosts.yml",
            "ansible_host: 10.10.0.31",
            "ansible_host: 192.0.2.31",
            "all.children.servers.hosts.srv-1.ansible_host",
            "outside every management pool",
        ),
        (
            "hosts.yml",
            "loopback: 10.255.3.12, bgp_asn: 65102, ",
            "loopback: 10.255.3.12, ",
            "all.children.leaf.hosts.leaf-2.bgp_asn",
            "required for a leaf switch",
        ),
        (
            "hosts.yml",
            "    mgmt:\n",
            "    mgmnt:\n",
            "all.children.mgmnt",
            "unknown group 'mgmnt'; allowed: spine, leaf, servers, backup, mgmt",
        ),
        (
            "hosts.yml",
            "rack: C01",
            "rack: Z99",
            "all.children.backup.hosts.backup-1.rack",
            "unknown rack 'Z99'",
        ),
        (
            "group_vars/all.yml",
            "from: [monitoring]",
            "from: [monitors]",
            "firewall_rules_base[1].from[0]",
            "unknown source 'monitors'",
        ),
        (
            "group_vars/all.yml",
            "b: spine-1, b_port: swp1",
            "b: leaf-2, b_port: swp1",
            "fabric_links[0].b",
            "not a spine",
        ),
        (
            "group_vars/servers.yml",
            "backup_host: backup-1",
            "backup_host: srv-1",
            "backup_host",
            "not in group backup",
        ),
        (
            "group_vars/servers.yml",
            "daily: 7",
            "daily: -1",
            "backup_retention.daily",
            "greater than or equal to 0",
        ),
    ],
)
def test_bad_inventory_names_file_line_and_field(
    site_dir: Path, file: str, old: str, new: str, field: str, words: str
) -> None:
    _edit(site_dir / "inventory" / file, old, new)
    problems = refusals(site_dir)
    found = [p for p in problems if p.source == f"inventory/{file}" and p.field == field]
    assert found, f"no problem for {field} in {[str(p) for p in problems]}"
    assert words in found[0].message
    assert found[0].line is not None


def test_vars_file_for_unknown_host_is_reported(site_dir: Path) -> None:
    (site_dir / "inventory" / "host_vars" / "srv-9.yml").write_text("x: 1\n", encoding="utf-8")
    problems = refusals(site_dir)
    assert any(
        p.source == "inventory/host_vars/srv-9.yml" and "unknown host 'srv-9'" in p.message
        for p in problems
    )
