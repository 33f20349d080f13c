"""inventory/hosts.yml is a standard Ansible inventory, and `dcops site check` guards it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, RunDcops

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


def test_ansible_inventory_reads_the_hosts_and_ignores_the_other_site_files() -> None:
    done = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", "inventory/", "--list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "rooms.yml" not in done.stderr and "devices.yml" not in done.stderr
    data = json.loads(done.stdout)
    for group in ("spine", "leaf", "servers", "backup", "mgmt"):
        assert data[group]["hosts"], group
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["leaf-1"]["bgp_asn"] == 65101
    assert hostvars["srv-1"]["backup_host"] == "backup-1"  # from group_vars/servers.yml
    assert hostvars["srv-1"]["backup_hooks"][0]["name"] == "dump app database"  # host_vars


def test_site_check_rejects_a_bad_hosts_inventory_with_file_and_field(
    dcops: RunDcops, site_dir: Path
) -> None:
    hosts = site_dir / "inventory" / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("bgp_asn: 65102, ", ""), encoding="utf-8")
    before = hosts.read_bytes()
    done = dcops("site", "check")
    assert done.returncode == 2
    assert (
        "inventory/hosts.yml:14: all.children.leaf.hosts.leaf-2.bgp_asn: required for a leaf switch"
        in done.stderr
    )
    assert hosts.read_bytes() == before
    assert not (site_dir / ".dcops" / "configure").exists()


def test_configure_refuses_a_bad_inventory_before_running_anything(
    dcops: RunDcops, site_dir: Path
) -> None:
    path = site_dir / "inventory" / "group_vars" / "all.yml"
    path.write_text(path.read_text().replace("from: [management]}", "from: [mgmt-net]}"))
    done = dcops("configure", "network", "--yes")
    assert done.returncode == 2
    assert "inventory/group_vars/all.yml:" in done.stderr
    assert "firewall_rules_base[0].from[0]: unknown source 'mgmt-net'" in done.stderr
    assert not (site_dir / ".dcops" / "configure" / "runs").exists()


def test_configure_needs_the_ops_role(dcops: RunDcops) -> None:
    done = dcops("configure", "network", "--check", user="zhaomin")
    assert done.returncode == 2
    assert "dcops configure network needs the ops role" in done.stderr


@pytest.mark.skipif(
    shutil.which("ansible-lint", path=str(BIN)) is None,
    reason="ansible-lint not installed (dev extra)",
)
def test_playbooks_pass_ansible_lint(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "ansible-lint"), "--nocolor", "-q"],
        cwd=REPO / "playbooks",
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
