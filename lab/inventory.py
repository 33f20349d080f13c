"""The lab's Ansible inventory: the site's hosts, plus how to reach them inside the lab."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from dcops.core.site import Site
from dcops.lab.access import control_dir
from dcops.lab.topology import Topology

LAB_VARS = "lab.yml"


def inventory_dir(lab: Path) -> Path:
    """The lab inventory folder (hosts.yml, group_vars/, host_vars/, lab.yml)."""
    return lab / "inventory"


def write_inventory(site: Site, lab: Path, topo: Topology) -> Path:
    """Copy the site's hosts inventory and add the lab's connection settings."""
    target = inventory_dir(lab)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    source = site.paths.inventory
    shutil.copy2(source / "hosts.yml", target / "hosts.yml")
    for folder in ("group_vars", "host_vars"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, target / folder)
    settings = {
        "all": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(lab / "id_ed25519"),
                "ansible_ssh_common_args": f"-F {lab / 'ssh_config'}",
                "ansible_python_interpreter": "/usr/bin/python3",
                "dcops_lab": True,
                "dcops_lab_prefix": topo.prefix,
                # chronyd in a namespace still shares the machine's clock: never let it steer it
                "chrony_control_clock": False,
            }
        }
    }
    text = "# Written by `dcops lab up`: how to reach the lab hosts.\n" + yaml.safe_dump(settings)
    (target / LAB_VARS).write_text(text, encoding="utf-8")
    control_dir(topo.prefix).mkdir(mode=0o700, exist_ok=True)
    return target
