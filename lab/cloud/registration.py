"""What the site expects to find in its cloud: images, the external network, optionally flavors.

Spoken through openstacksdk as the lab's admin. Each step looks first, so `up` can repeat it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from dcops.core.errors import InputError
from dcops.core.site import Site
from dcops.lab.cloud.layout import CLOUD_NAME, REGION, CloudLayout

IMAGE_BYTES = b"dcops lab image: the fake compute driver never boots it\n" * 64
EXTERNAL_PHYSNET = "external"


def admin_auth(layout: CloudLayout, password: str) -> dict[str, str]:
    """The admin credentials of the lab, as clouds.yaml and openstacksdk take them."""
    return {
        "auth_url": layout.auth_url,
        "username": "admin",
        "password": password,
        "project_name": "admin",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }


def write_clouds_yaml(layout: CloudLayout, password: str) -> Path:
    """clouds.yaml (0600) with one entry, the lab's admin."""
    entry = {
        "auth": admin_auth(layout, password),
        "region_name": REGION,
        "identity_api_version": 3,
        "interface": "public",
    }
    path = layout.clouds_yaml
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        yaml.safe_dump({"clouds": {CLOUD_NAME: entry}}, out, sort_keys=True)
    return path


def connect(layout: CloudLayout, password: str) -> Any:
    """An openstacksdk connection to the lab as its admin."""
    import openstack

    return openstack.connect(
        auth=admin_auth(layout, password),
        region_name=REGION,
        identity_api_version="3",
        load_yaml_config=False,
        load_envvars=False,
    )


def register(site: Site, conn: Any, flavors: bool) -> dict[str, list[str]]:
    """Images, the external network with a subnet from the public pool, and flavors if asked."""
    made: dict[str, list[str]] = {"images": [], "networks": [], "flavors": []}
    for image in site.config.catalogue.images:
        if conn.image.find_image(image.name) is None:
            conn.image.create_image(
                name=image.name,
                data=IMAGE_BYTES,
                disk_format="raw",
                container_format="bare",
                visibility="public",
                min_disk=image.min_disk_gb,
                os_distro=image.name,
            )
            made["images"].append(image.name)
    name = site.config.catalogue.external_network
    if conn.network.find_network(name) is None:
        external_network(site, conn, name)
        made["networks"].append(name)
    if flavors:
        for flavor in site.config.catalogue.flavors:
            if conn.compute.find_flavor(flavor.name, ignore_missing=True) is None:
                conn.compute.create_flavor(
                    name=flavor.name,
                    vcpus=flavor.vcpus,
                    ram=flavor.ram_gb * 1024,
                    disk=flavor.disk_gb,
                    is_public=True,
                )
                made["flavors"].append(flavor.name)
    return made


def external_network(site: Site, conn: Any, name: str) -> None:
    """The flat external network the platform stack looks up, with the public pool as subnet."""
    public = [pool for pool in site.config.pools if pool.use == "public"]
    if not public:
        raise InputError(
            'dcops.toml has no [[pools]] with use = "public"; the lab\'s external network '
            f"{name!r} takes its subnet (floating IPs) from it"
        )
    network = conn.network.create_network(
        name=name,
        is_router_external=True,
        provider_network_type="flat",
        provider_physical_network=EXTERNAL_PHYSNET,
        description="dcops lab: the external network of the platform stack",
    )
    cidr = public[0].network
    conn.network.create_subnet(
        name=f"{name}-subnet",
        network_id=network.id,
        ip_version=4,
        cidr=str(cidr),
        gateway_ip=str(next(cidr.hosts())),
        is_dhcp_enabled=False,
    )
