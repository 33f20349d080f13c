"""Each service's database schema, Keystone's keys and admin, and Octavia's CA: made once per lab."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from dcops.core.errors import OperationFailed
from dcops.lab.cloud import processes
from dcops.lab.cloud.configs import Secrets, database_url
from dcops.lab.cloud.layout import REGION, CloudLayout

Command = Sequence[str]


def keystone(layout: CloudLayout, secrets: Secrets) -> list[Command]:
    """Keystone: schema, fernet and credential keys, the admin user, project and role."""
    conf = ["--config-file", str(layout.etc("keystone") / "keystone.conf")]
    owner = ["--keystone-user", "root", "--keystone-group", "root"]
    return [
        ["/usr/bin/keystone-manage", *conf, "db_sync"],
        ["/usr/bin/keystone-manage", *conf, "fernet_setup", *owner],
        ["/usr/bin/keystone-manage", *conf, "credential_setup", *owner],
        # No endpoint URLs: the catalog is templated. The password comes from the environment.
        [
            "/usr/bin/keystone-manage",
            *conf,
            "bootstrap",
            "--bootstrap-username",
            "admin",
            "--bootstrap-project-name",
            "admin",
            "--bootstrap-role-name",
            "admin",
            "--bootstrap-region-id",
            REGION,
        ],
    ]


def nova(layout: CloudLayout, secrets: Secrets) -> list[Command]:
    """Nova: the API database, cell0, cell1 and the main database."""
    conf = ["--config-file", str(layout.etc("nova") / "nova-conductor.conf")]
    manage = "/usr/bin/nova-manage"
    cell0 = database_url(layout, secrets, "nova_cell0")
    return [
        [manage, *conf, "api_db", "sync"],
        [manage, *conf, "cell_v2", "map_cell0", "--database_connection", cell0],
        [manage, *conf, "cell_v2", "create_cell", "--name", "cell1"],
        [manage, *conf, "db", "sync"],
    ]


def others(layout: CloudLayout) -> dict[str, list[Command]]:
    """Glance, Placement, Neutron (with VPNaaS), Cinder and Octavia: one schema command each."""
    etc = layout.etc
    return {
        "glance": [
            [
                "/usr/bin/glance-manage",
                "--config-file",
                str(etc("glance") / "glance-api.conf"),
                "db_sync",
            ]
        ],
        "placement": [
            [
                "/usr/bin/placement-manage",
                "--config-file",
                str(etc("placement") / "placement.conf"),
                "db",
                "sync",
            ]
        ],
        "neutron": [
            [
                "/usr/bin/neutron-db-manage",
                "--config-file",
                str(etc("neutron") / "neutron.conf"),
                "--config-file",
                str(etc("neutron") / "ml2_conf.ini"),
                "upgrade",
                "heads",
            ]
        ],
        "cinder": [
            [
                "/usr/bin/cinder-manage",
                "--config-file",
                str(etc("cinder") / "cinder-api.conf"),
                "db",
                "sync",
            ]
        ],
        "octavia": [
            [
                "/usr/bin/octavia-db-manage",
                "--config-file",
                str(etc("octavia") / "octavia.conf"),
                "upgrade",
                "head",
            ]
        ],
    }


def prepare(layout: CloudLayout, secrets: Secrets) -> None:
    """Run every service's schema commands, services side by side, each one's in order."""
    chains = {"keystone": keystone(layout, secrets), "nova": nova(layout, secrets)}
    chains.update(others(layout))
    env = {"OS_BOOTSTRAP_PASSWORD": secrets.admin}

    def chain(item: tuple[str, list[Command]]) -> None:
        name, commands = item
        for command in commands:
            processes.run(
                command, root=layout.root, log=layout.log(f"setup-{name}"), env=env, timeout=600
            )

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(chain, sorted(chains.items(), key=lambda kv: kv[0] != "neutron")))


def octavia_ca(layout: CloudLayout, secrets: Secrets) -> None:
    """The CA Octavia's worker signs amphora certificates with (a key with a passphrase)."""
    certs = layout.data("octavia")
    certs.mkdir(mode=0o700, parents=True, exist_ok=True)
    if (certs / "ca.pem").exists():
        return
    passphrase = ["-pass", "env:DCOPS_OCTAVIA_CA"]
    steps = [
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-aes-256-cbc",
            *passphrase,
            "-out",
            str(certs / "ca.key"),
        ],
        [
            "openssl",
            "req",
            "-x509",
            "-new",
            "-key",
            str(certs / "ca.key"),
            "-passin",
            "env:DCOPS_OCTAVIA_CA",
            "-subj",
            "/CN=dcops lab octavia CA",
            "-days",
            "3650",
            "-out",
            str(certs / "ca.pem"),
        ],
    ]
    for step in steps:
        done = subprocess.run(
            step,
            capture_output=True,
            text=True,
            env={"DCOPS_OCTAVIA_CA": secrets.octavia_ca, "PATH": "/usr/bin:/bin"},
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise OperationFailed(f"openssl could not make Octavia's CA: {done.stderr.strip()}")
