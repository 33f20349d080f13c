"""The lab cloud's OpenStack processes: how each starts and how its health is checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dcops.lab.cloud.configs import compute_hosts
from dcops.lab.cloud.layout import HOST, CloudLayout

PYTHON = "/usr/bin/python3"  # Debian's: the services' code is not importable from a venv


@dataclass(frozen=True)
class Service:
    """One long-running process of the lab: its command, environment and port (if it listens)."""

    name: str
    argv: tuple[str, ...]
    port_name: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def port(self, layout: CloudLayout) -> int | None:
        """The loopback port it answers on, if it is an API."""
        return layout.port(self.port_name) if self.port_name else None


def uwsgi(
    layout: CloudLayout, name: str, wsgi_file: str, *pyargv: str, threads: int = 4
) -> tuple[str, ...]:
    """A uwsgi command serving one WSGI file on the service's loopback port."""
    argv = [
        "/usr/bin/uwsgi",
        "--plugin",
        "python3",
        "--http-socket",
        f"{HOST}:{layout.port(name)}",
        "--wsgi-file",
        wsgi_file,
        "--processes",
        "1",
        "--threads",
        str(threads),
        "--master",
        "--die-on-term",
        "--add-header",
        "Connection: close",
        "--buffer-size",
        "65535",
        "--pidfile",
        str(layout.run / f"{name}-uwsgi.pid"),
    ]
    if pyargv:
        argv += ["--pyargv", " ".join(pyargv)]
    return tuple(argv)


def nova_command(layout: CloudLayout, service: str, module: str) -> tuple[str, ...]:
    """A Nova service from python3-nova's own entry module with its config file."""
    conf = layout.etc("nova") / f"{service}.conf"
    code = f"import sys; from {module} import main; sys.argv[0] = {service!r}; sys.exit(main())"
    return (PYTHON, "-c", code, "--config-file", str(conf))


def cinder_command(layout: CloudLayout, service: str, module: str) -> tuple[str, ...]:
    """A Cinder service from python3-cinder's own entry module with its config file."""
    conf = layout.etc("cinder") / f"{service}.conf"
    code = f"import sys; from {module} import main; sys.argv[0] = {service!r}; sys.exit(main())"
    return (PYTHON, "-c", code, "--config-file", str(conf))


CINDER = {
    "cinder-api": "cinder.cmd.api",
    "cinder-scheduler": "cinder.cmd.scheduler",
    # No cinder-volume package (it pulls lvm2, tgt, open-iscsi): python3-cinder runs it.
    "cinder-volume": "cinder.cmd.volume",
}


def services(layout: CloudLayout) -> list[Service]:
    """Every OpenStack process of the lab, in start order."""
    etc = layout.etc
    neutron_confs = (
        "--config-file",
        str(etc("neutron") / "neutron.conf"),
        "--config-file",
        str(etc("neutron") / "ml2_conf.ini"),
    )
    octavia_conf = str(etc("octavia") / "octavia.conf")
    return [
        Service(
            "keystone",
            # One thread: Keystone's cache locks are eventlet's, which hang across threads.
            uwsgi(layout, "keystone", "/usr/bin/keystone-wsgi-public", threads=1),
            "keystone",
            {"OS_KEYSTONE_CONFIG_DIR": str(etc("keystone"))},
        ),
        Service(
            "placement",
            uwsgi(layout, "placement", "/usr/bin/placement-api"),
            "placement",
            {"OS_PLACEMENT_CONFIG_DIR": str(etc("placement"))},
        ),
        Service(
            "glance",
            ("/usr/bin/glance-api", "--config-file", str(etc("glance") / "glance-api.conf")),
            "glance",
        ),
        Service(
            "neutron",
            ("/usr/bin/neutron-server", *neutron_confs),
            "neutron",
            {"PYTHONPATH": str(layout.python)},
        ),
        Service("nova-api", nova_command(layout, "nova-api", "nova.cmd.api"), "nova"),
        Service("nova-conductor", nova_command(layout, "nova-conductor", "nova.cmd.conductor")),
        Service("nova-scheduler", nova_command(layout, "nova-scheduler", "nova.cmd.scheduler")),
        *(
            Service(
                f"nova-compute-{host}",
                nova_command(layout, f"nova-compute-{host}", "nova.cmd.compute"),
            )
            for host in compute_hosts()
        ),
        Service(
            "octavia-api",
            uwsgi(layout, "octavia", "/usr/bin/octavia-wsgi", "--config-file", octavia_conf),
            "octavia",
            {"PYTHONPATH": str(layout.python)},
        ),
        Service(
            "octavia-worker",
            ("/usr/bin/octavia-worker", "--config-file", octavia_conf),
            env={"PYTHONPATH": str(layout.python)},
        ),
        *(
            Service(
                name, cinder_command(layout, name, module), "cinder" if name == "cinder-api" else ""
            )
            for name, module in CINDER.items()
        ),
    ]


def missing_programs() -> list[str]:
    """The programs of the lab's Debian packages that this machine lacks."""
    needed = [
        "/usr/bin/uwsgi",
        "/usr/bin/keystone-wsgi-public",
        "/usr/bin/placement-api",
        "/usr/bin/glance-api",
        "/usr/bin/neutron-server",
        "/usr/bin/octavia-wsgi",
        "/usr/bin/octavia-worker",
        "/usr/bin/cinder-api",
        "/usr/bin/cinder-scheduler",
        "/usr/lib/python3/dist-packages/cinder/tests/fake_driver.py",
        "/usr/sbin/mariadbd",
        "/usr/lib/rabbitmq/bin/rabbitmq-server",
    ]
    return [path for path in needed if not Path(path).exists()]
