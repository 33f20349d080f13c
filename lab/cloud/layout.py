"""Where the lab cloud keeps its files and which loopback ports its services use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dcops.core.errors import InputError
from dcops.core.site import Site

PORT_BASE_ENV = "DCOPS_LAB_CLOUD_PORT_BASE"
DEFAULT_PORT_BASE = 25000
HOST = "127.0.0.1"
REGION = "RegionOne"
CLOUD_NAME = "dcops-lab"

# Offsets from the port base; every process of the lab listens on HOST only.
PORT_OFFSETS = {
    "keystone": 0,
    "glance": 1,
    "placement": 2,
    "nova": 3,
    "neutron": 4,
    "octavia": 5,
    "mariadb": 6,
    "rabbitmq": 7,
    "rabbitmq-dist": 8,
    "epmd": 9,
    "cinder": 10,
}


@dataclass(frozen=True)
class CloudLayout:
    """The lab cloud's folder in the state dir and its ports."""

    root: Path
    port_base: int

    def port(self, name: str) -> int:
        """The loopback port of a service (or of MariaDB, RabbitMQ and its helpers)."""
        return self.port_base + PORT_OFFSETS[name]

    def url(self, name: str, path: str = "") -> str:
        """http://127.0.0.1:PORT/path of an API service."""
        return f"http://{HOST}:{self.port(name)}{path}"

    @property
    def auth_url(self) -> str:
        """Keystone's v3 URL."""
        return self.url("keystone", "/v3")

    def etc(self, service: str) -> Path:
        """A service's config folder."""
        return self.root / "etc" / service

    def data(self, name: str) -> Path:
        """A service's data folder (databases, images, key repositories)."""
        return self.root / "data" / name

    def log(self, service: str) -> Path:
        """A process's log file."""
        return self.root / "log" / f"{service}.log"

    def pid(self, service: str) -> Path:
        """A process's pid file."""
        return self.root / "run" / f"{service}.pid"

    @property
    def run(self) -> Path:
        """Sockets and pid files."""
        return self.root / "run"

    @property
    def python(self) -> Path:
        """Code of ours that the services import (the lab ML2 mechanism driver)."""
        return self.root / "python"

    @property
    def clouds_yaml(self) -> Path:
        """The clouds.yaml with the lab's admin entry (0600)."""
        return self.root / "clouds.yaml"

    @property
    def password_file(self) -> Path:
        """The admin and service password (0600), made on the first `up`."""
        return self.root / "admin-password"

    @property
    def state_file(self) -> Path:
        """What `up` finished: written last, so its absence means an incomplete lab."""
        return self.root / "lab-cloud.json"


def cloud_layout(site: Site) -> CloudLayout:
    """The site's lab cloud: <state dir>/lab-cloud, ports from $DCOPS_LAB_CLOUD_PORT_BASE."""
    raw = os.environ.get(PORT_BASE_ENV, "").strip()
    base = DEFAULT_PORT_BASE
    if raw:
        if not raw.isdigit() or not 1024 <= int(raw) <= 65000:
            raise InputError(
                f"${PORT_BASE_ENV} is {raw!r}; allowed: a port number from 1024 to 65000 "
                f"(the lab cloud uses it and the next {len(PORT_OFFSETS) - 1})"
            )
        base = int(raw)
    return CloudLayout(site.paths.state / "lab-cloud", base)
