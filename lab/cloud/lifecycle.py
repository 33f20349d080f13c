"""`lab cloud up`, `down` and `status`: start the whole control plane, remove it, inspect it."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

from dcops.core.errors import MissingDependency, OperationFailed
from dcops.core.site import Site
from dcops.lab.cloud import backends, configs, ml2, octavia_vip, processes, registration, schemas
from dcops.lab.cloud.configs import Secrets
from dcops.lab.cloud.layout import CLOUD_NAME, HOST, CloudLayout, cloud_layout
from dcops.lab.cloud.services import CINDER, Service, missing_programs, services

READY_TIMEOUT = 180.0
COMPUTE_TIMEOUT = 120.0


@dataclass
class UpReport:
    """What `lab cloud up` did."""

    clouds_yaml: str
    cloud: str
    already_up: bool = False
    cleaned: int = 0
    registered: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    pss_bytes: int = 0


@dataclass(frozen=True)
class ServiceHealth:
    """One process of the lab as it is now."""

    name: str
    port: int | None
    pid: int | None
    healthy: bool
    detail: str


def ensure_capable() -> None:
    """Refuse clearly without root or without the lab cloud's Debian packages."""
    if os.geteuid() != 0:
        raise MissingDependency(
            "dcops lab cloud needs root (it runs MariaDB, RabbitMQ and OpenStack's services "
            "from Debian's packages); run it as root, e.g. with sudo"
        )
    missing = missing_programs()
    if missing:
        raise MissingDependency(
            f"the lab cloud's Debian packages are not installed ({', '.join(missing)} missing); "
            "run scripts/install-lab-cloud.sh as root (about 2 minutes on an idle machine)"
        )


def up(site: Site, flavors: bool = False) -> UpReport:
    """Start the lab cloud (idempotent: a healthy lab is kept; leftovers are cleared first)."""
    ensure_capable()
    started = time.monotonic()
    layout = cloud_layout(site)
    report = UpReport(str(layout.clouds_yaml), CLOUD_NAME)
    if layout.state_file.exists() and all(s.healthy for s in status(site)):
        report.already_up = True
        if flavors:
            report.registered = registration.register(site, _connect(layout), flavors)
        report.pss_bytes = memory(layout)
        return report
    report.cleaned = len(down(site))
    secret = Secrets(*(secrets.token_hex(16) for _ in range(4)))
    try:
        _build(site, layout, secret)
        _start(layout, secret)
        conn = registration.connect(layout, secret.admin)
        _wait_compute(conn, layout)
        _wait_volume(conn, layout)
        report.registered = registration.register(site, conn, flavors)
    except BaseException:
        processes.stop_all(layout.root)
        raise
    registration.write_clouds_yaml(layout, secret.admin)
    report.seconds = round(time.monotonic() - started, 1)
    report.pss_bytes = memory(layout)
    layout.state_file.write_text(json.dumps(asdict(report), indent=1), encoding="utf-8")
    return report


def _build(site: Site, layout: CloudLayout, secret: Secrets) -> None:
    """Folders, config files, the ML2 driver, Octavia's CA, the databases and their schemas."""
    layout.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in ("etc", "data", "log", "run"):
        (layout.root / folder).mkdir(mode=0o700, exist_ok=True)
    _private(layout.password_file, secret.admin + "\n")
    _write_configs(layout, secret)
    ml2.install_driver(layout.python)
    octavia_vip.install_driver(layout.python)
    schemas.octavia_ca(layout, secret)
    backends.start_mariadb(layout, secret)
    backends.start_rabbitmq(layout, secret)
    schemas.prepare(layout, secret)


def _write_configs(layout: CloudLayout, secret: Secrets) -> None:
    etc = layout.etc
    files = {
        etc("keystone") / "keystone.conf": configs.render(configs.keystone(layout, secret)),
        etc("keystone") / "catalog": configs.catalog(layout),
        etc("placement") / "placement.conf": configs.render(configs.placement(layout, secret)),
        etc("glance") / "glance-api.conf": configs.render(configs.glance(layout, secret)),
        etc("neutron") / "neutron.conf": configs.render(configs.neutron(layout, secret)),
        etc("neutron") / "ml2_conf.ini": configs.render(configs.ml2(layout)),
        etc("octavia") / "octavia.conf": configs.render(configs.octavia(layout, secret)),
    }
    computes = [f"nova-compute-{host}" for host in configs.compute_hosts()]
    for service in ("nova-api", "nova-conductor", "nova-scheduler", *computes):
        files[etc("nova") / f"{service}.conf"] = configs.render(
            configs.nova(layout, secret, service)
        )
    for service in CINDER:
        files[etc("cinder") / f"{service}.conf"] = configs.render(
            configs.cinder(layout, secret, service)
        )
    for path, text in files.items():
        configs.write(path, text)
    for name in ("glance", "nova", "neutron", "octavia", "placement", "cinder"):
        (layout.data(name) / "lock").mkdir(mode=0o700, parents=True, exist_ok=True)


def _start(layout: CloudLayout, secret: Secrets) -> None:
    """Launch every service, Keystone first, and wait until each API answers."""
    table = services(layout)
    for service in table:
        processes.launch(
            service.argv,
            root=layout.root,
            log=layout.log(f"{service.name}-console"),
            pid_file=layout.pid(service.name),
            env=service.env,
        )
    deadline = time.monotonic() + READY_TIMEOUT
    for service in table:
        while not (health := _health(layout, service)).healthy:
            if time.monotonic() > deadline or health.pid is None:
                raise OperationFailed(
                    f"lab cloud: {service.name} did not come up ({health.detail}); last lines "
                    f"of {layout.log(service.name)}:\n{processes.tail(layout.log(service.name))}"
                    f"\n{processes.tail(layout.log(service.name + '-console'), 4)}"
                )
            time.sleep(0.5)


def _wait_compute(conn: Any, layout: CloudLayout) -> None:
    """Wait until the fake compute host is in Placement and mapped to a cell (servers can land)."""
    deadline = time.monotonic() + COMPUTE_TIMEOUT
    while time.monotonic() < deadline:
        if len(list(conn.compute.hypervisors())) >= len(configs.compute_hosts()):
            return
        time.sleep(1)
    raise OperationFailed(
        f"lab cloud: the fake compute hosts did not register within {COMPUTE_TIMEOUT:.0f} s; "
        f"see {layout.log('nova-compute-lab-compute-1')}"
    )


def _wait_volume(conn: Any, layout: CloudLayout) -> None:
    """Wait until the volume service reports to the scheduler (volumes can be placed)."""
    deadline = time.monotonic() + COMPUTE_TIMEOUT
    while time.monotonic() < deadline:
        found = conn.block_storage.services(binary="cinder-volume")
        if any(s.state == "up" and s.status == "enabled" for s in found):
            return
        time.sleep(1)
    raise OperationFailed(
        f"lab cloud: the volume service did not report within {COMPUTE_TIMEOUT:.0f} s; "
        f"see {layout.log('cinder-volume')}"
    )


def down(site: Site) -> list[str]:
    """Stop every process of the lab cloud and remove its folder (works after a crash too)."""
    layout = cloud_layout(site)
    stopped = processes.stop_all(layout.root)
    removed = [f"process {p.name} ({p.pid})" for p in stopped]
    if layout.root.exists():
        shutil.rmtree(layout.root)
        removed.append(f"folder {layout.root}")
    return removed


def status(site: Site) -> list[ServiceHealth]:
    """MariaDB, RabbitMQ and each OpenStack service: pid, port, and whether it answers."""
    layout = cloud_layout(site)
    rows = [
        _backend(layout, "mariadb"),
        _backend(layout, "rabbitmq"),
    ]
    return rows + [_health(layout, service) for service in services(layout)]


def _backend(layout: CloudLayout, name: str) -> ServiceHealth:
    pid = processes.pid_alive(layout.pid(name), layout.root)
    port = layout.port(name)
    answers = pid is not None and _accepts(port)
    detail = "accepts connections" if answers else ("not running" if pid is None else "no answer")
    return ServiceHealth(name, port, pid, answers, detail)


def _health(layout: CloudLayout, service: Service) -> ServiceHealth:
    pid = processes.pid_alive(layout.pid(service.name), layout.root)
    port = service.port(layout)
    if pid is None:
        return ServiceHealth(service.name, port, None, False, "not running")
    if port is None:
        return ServiceHealth(service.name, None, pid, True, "running")
    code = _http_status(f"http://{HOST}:{port}/")
    if code is None:
        return ServiceHealth(service.name, port, pid, False, "no answer")
    return ServiceHealth(service.name, port, pid, code < 500, f"HTTP {code}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def _http_status(url: str) -> int | None:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=3) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def memory(layout: CloudLayout) -> int:
    """PSS of every process of the lab, in bytes."""
    return processes.pss_bytes([p.pid for p in processes.marked(layout.root)])


def _connect(layout: CloudLayout) -> Any:
    password = layout.password_file.read_text(encoding="utf-8").strip()
    return registration.connect(layout, password)


def _private(path: Any, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
