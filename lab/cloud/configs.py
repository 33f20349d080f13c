"""The lab cloud's config files, rendered from its layout and secrets (INI, one per service)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dcops.lab.cloud.layout import HOST, REGION, CloudLayout
from dcops.lab.cloud.ml2 import DRIVER
from dcops.lab.cloud.octavia_vip import DRIVER as VIP_DRIVER

Sections = Mapping[str, Mapping[str, object]]
DB_USER = "dcops"
RABBIT_USER = "dcops"
VPN_PROVIDER = (
    "VPN:strongswan:neutron_vpnaas.services.vpn.service_drivers.ipsec.IPsecVPNDriver:default"
)
OCTAVIA_NOOP = {
    "amphora_driver": "amphora_noop_driver",
    "compute_driver": "compute_noop_driver",
    "volume_driver": "volume_noop_driver",
    "image_driver": "image_noop_driver",
}


@dataclass(frozen=True)
class Secrets:
    """Passwords of the lab: the admin user (also used by the services) and the back ends."""

    admin: str
    database: str
    rabbit: str
    octavia_ca: str


def render(sections: Sections) -> str:
    """INI text; lists become repeated keys (oslo.config's MultiStrOpt)."""
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            items = value if isinstance(value, list | tuple) else [value]
            for item in items:
                text = str(item).lower() if isinstance(item, bool) else str(item)
                lines.append(f"{key} = {text}")
        lines.append("")
    return "\n".join(lines)


def write(path: Path, text: str) -> None:
    """Write a config file readable by its owner only (they hold passwords)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def database_url(layout: CloudLayout, secrets: Secrets, name: str) -> str:
    """SQLAlchemy URL of one of the lab's databases."""
    return (
        f"mysql+pymysql://{DB_USER}:{secrets.database}@{HOST}:{layout.port('mariadb')}/{name}"
        "?charset=utf8"
    )


def transport_url(layout: CloudLayout, secrets: Secrets) -> str:
    """oslo.messaging's RabbitMQ URL."""
    return f"rabbit://{RABBIT_USER}:{secrets.rabbit}@{HOST}:{layout.port('rabbitmq')}/"


def service_auth(layout: CloudLayout, secrets: Secrets) -> dict[str, object]:
    """How a service authenticates to Keystone: as the lab's admin (a lab shortcut)."""
    return {
        "auth_type": "password",
        "auth_url": layout.auth_url,
        "www_authenticate_uri": layout.auth_url,
        "username": "admin",
        "password": secrets.admin,
        "project_name": "admin",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "region_name": REGION,
    }


def client_auth(layout: CloudLayout, secrets: Secrets) -> dict[str, object]:
    """Credentials a service uses to call another service (no www_authenticate_uri)."""
    auth = service_auth(layout, secrets)
    auth.pop("www_authenticate_uri")
    return auth


def common(layout: CloudLayout, secrets: Secrets, service: str) -> dict[str, dict[str, object]]:
    """Sections every oslo service shares: logging, locks, messaging, token checking."""
    return {
        "DEFAULT": {
            "debug": False,
            "log_file": layout.log(service),
            "use_stderr": False,
            "transport_url": transport_url(layout, secrets),
        },
        "oslo_concurrency": {"lock_path": layout.data(service) / "lock"},
        # Services send service tokens of the admin user, who has no "service" role here.
        "keystone_authtoken": service_auth(layout, secrets),
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
        "oslo_policy": {"enforce_new_defaults": False, "enforce_scope": False},
    }


def keystone(layout: CloudLayout, secrets: Secrets) -> Sections:
    """keystone.conf: fernet tokens, a templated catalog of the lab's endpoints."""
    return {
        "DEFAULT": {"log_file": layout.log("keystone"), "use_stderr": False},
        "database": {"connection": database_url(layout, secrets, "keystone")},
        "token": {"provider": "fernet"},
        "fernet_tokens": {"key_repository": layout.data("keystone") / "fernet-keys"},
        "fernet_receipts": {"key_repository": layout.data("keystone") / "fernet-keys"},
        "credential": {"key_repository": layout.data("keystone") / "credential-keys"},
        "catalog": {"driver": "templated", "template_file": layout.etc("keystone") / "catalog"},
        # Keystone runs as one process of one thread (services.py), so an in-process cache
        # stays coherent: it drops its own entries on every write. Without it each token check re-reads the admin's role
        # assignments in every project (~300 queries), and grows with every tenancy made.
        "cache": {"enabled": True, "backend": "dogpile.cache.memory"},
        # bcrypt's cheapest cost: every service logs in with a password, often.
        "identity": {"password_hash_rounds": 4},
    }


CATALOG = {
    "identity": ("keystone", "/v3", "Identity"),
    "image": ("glance", "", "Image"),
    "placement": ("placement", "", "Placement"),
    "compute": ("nova", "/v2.1", "Compute"),
    "network": ("neutron", "", "Network"),
    "load-balancer": ("octavia", "", "Load balancing"),
    # Keystone puts the token's project into the URL, as Cinder's clients expect.
    "volumev3": ("cinder", "/v3/$(project_id)s", "Block Storage"),
}


def catalog(layout: CloudLayout) -> str:
    """Keystone's templated catalog: every service at its loopback URL, public and internal."""
    lines = []
    for kind, (service, path, title) in CATALOG.items():
        url = layout.url(service, path)
        prefix = f"catalog.{REGION}.{kind}"
        lines += [f"{prefix}.{iface}URL = {url}" for iface in ("public", "internal", "admin")]
        lines.append(f"{prefix}.name = {title}")
    return "\n".join(lines) + "\n"


def glance(layout: CloudLayout, secrets: Secrets) -> Sections:
    """glance-api.conf: images on the local file store."""
    base = common(layout, secrets, "glance")
    base["DEFAULT"].update(
        bind_host=HOST,
        bind_port=layout.port("glance"),
        workers=1,
        enabled_backends="files:file",
        image_cache_dir=layout.data("glance") / "cache",
    )
    return {
        **base,
        "database": {"connection": database_url(layout, secrets, "glance")},
        "glance_store": {"default_backend": "files"},
        "files": {"filesystem_store_datadir": layout.data("glance") / "images"},
        "os_glance_staging_store": {"filesystem_store_datadir": layout.data("glance") / "staging"},
        "os_glance_tasks_store": {"filesystem_store_datadir": layout.data("glance") / "tasks"},
        "paste_deploy": {"flavor": "keystone", "config_file": "/etc/glance/glance-api-paste.ini"},
    }


def placement(layout: CloudLayout, secrets: Secrets) -> Sections:
    """placement.conf."""
    base = common(layout, secrets, "placement")
    del base["DEFAULT"]["transport_url"]
    return {
        **base,
        "placement_database": {"connection": database_url(layout, secrets, "placement")},
        "api": {"auth_strategy": "keystone"},
    }


def compute_hosts() -> list[str]:
    """The lab's fake compute hosts: two, so that a service of two servers in an
    anti-affinity group (as the example requests have) can be placed."""
    return ["lab-compute-1", "lab-compute-2"]


def nova(layout: CloudLayout, secrets: Secrets, service: str) -> Sections:
    """nova.conf for one Nova process: the fake compute driver, one worker, no VIF waits."""
    base = common(layout, secrets, service)
    compute = service.startswith("nova-compute")
    base["DEFAULT"].update(
        host=service.removeprefix("nova-compute-") if compute else "lab-controller",
        my_ip=HOST,
        state_path=layout.data("nova"),
        instances_path=layout.data("nova") / "instances",
        compute_driver="fake.FakeDriver",
        enabled_apis="osapi_compute",
        osapi_compute_listen=HOST,
        osapi_compute_listen_port=layout.port("nova"),
        osapi_compute_workers=1,
        vif_plugging_is_fatal=False,
        vif_plugging_timeout=0,
        use_neutron=True,
    )
    base["oslo_concurrency"] = {"lock_path": layout.data("nova") / "lock"}
    # The compute service reaches the databases only through the conductor.
    databases = (
        {}
        if compute
        else {
            "api_database": {"connection": database_url(layout, secrets, "nova_api")},
            "database": {"connection": database_url(layout, secrets, "nova")},
        }
    )
    return {
        **base,
        **databases,
        "api": {"auth_strategy": "keystone"},
        "wsgi": {"api_paste_config": "/etc/nova/api-paste.ini"},
        "conductor": {"workers": 1},
        "scheduler": {"workers": 1, "discover_hosts_in_cells_interval": 2},
        "placement": client_auth(layout, secrets),
        "neutron": {**client_auth(layout, secrets), "service_metadata_proxy": False},
        "glance": {"api_servers": layout.url("glance")},
        # Cinder lets only Nova delete an attachment Nova made, and knows Nova by its service
        # token: the compute services send one (the admin's: Cinder takes its role, below).
        "service_user": {**client_auth(layout, secrets), "send_service_user_token": compute},
        "vnc": {"enabled": False},
        # Volumes attach through Cinder; the fake driver takes the connection and keeps it.
        "cinder": {**client_auth(layout, secrets), "os_region_name": REGION},
        "oslo_messaging_notifications": {"driver": "noop"},
    }


FAKE_VOLUME_DRIVER = "cinder.tests.fake_driver.FakeLoggingVolumeDriver"
VOLUME_HOST = "lab-volume"
VOLUME_BACKEND = "lab"


def cinder(layout: CloudLayout, secrets: Secrets, service: str) -> Sections:
    """cinder.conf for one Cinder process: one API worker, one back end that keeps no data."""
    base = common(layout, secrets, service)
    base["DEFAULT"].update(
        host=VOLUME_HOST,
        my_ip=HOST,
        state_path=layout.data("cinder"),
        auth_strategy="keystone",
        osapi_volume_listen=HOST,
        osapi_volume_listen_port=layout.port("cinder"),
        osapi_volume_workers=1,
        enabled_backends=VOLUME_BACKEND,
        glance_api_servers=layout.url("glance"),
        # The scheduler would otherwise wait a minute for the volume service's first report.
        scheduler_driver_init_wait_time=5,
        api_paste_config="/etc/cinder/api-paste.ini",
    )
    base["oslo_concurrency"] = {"lock_path": layout.data("cinder") / "lock"}
    # Nova's service token carries the admin role here (no "service" role in the lab).
    base["keystone_authtoken"].update(
        service_token_roles="admin", service_token_roles_required=True
    )
    return {
        **base,
        "database": {"connection": database_url(layout, secrets, "cinder")},
        VOLUME_BACKEND: {
            # Logs every call and stores nothing: volumes exist in Cinder's database only.
            "volume_driver": FAKE_VOLUME_DRIVER,
            "volume_backend_name": VOLUME_BACKEND,
            "volumes_dir": layout.data("cinder") / "volumes",
        },
        "nova": client_auth(layout, secrets),
        "coordination": {"backend_url": f"file://{layout.data('cinder') / 'coordination'}"},
        "oslo_messaging_notifications": {"driver": "noop"},
    }


def neutron(layout: CloudLayout, secrets: Secrets) -> Sections:
    """neutron.conf: ML2 with the lab driver, router and VPNaaS, one API worker."""
    base = common(layout, secrets, "neutron")
    base["DEFAULT"].update(
        bind_host=HOST,
        bind_port=layout.port("neutron"),
        core_plugin="ml2",
        service_plugins="router,vpnaas",
        api_workers=1,
        rpc_workers=0,
        rpc_state_report_workers=0,
        auth_strategy="keystone",
        state_path=layout.data("neutron"),
        notify_nova_on_port_status_changes=True,
        notify_nova_on_port_data_changes=True,
        allow_overlapping_ips=True,
        api_paste_config="/etc/neutron/api-paste.ini",
    )
    return {
        **base,
        "database": {"connection": database_url(layout, secrets, "neutron")},
        "nova": client_auth(layout, secrets),
        "placement": client_auth(layout, secrets),
        "service_providers": {"service_provider": VPN_PROVIDER},
        "agent": {"root_helper": "true"},
        "oslo_messaging_notifications": {"driver": "noop"},
    }


def ml2(layout: CloudLayout) -> Sections:
    """ml2_conf.ini: VXLAN tenant networks, a flat external network, the lab driver."""
    return {
        "ml2": {
            "type_drivers": "flat,vxlan",
            "tenant_network_types": "vxlan",
            "mechanism_drivers": DRIVER,
            "extension_drivers": "port_security",
        },
        "ml2_type_flat": {"flat_networks": "external"},
        "ml2_type_vxlan": {"vni_ranges": "1:10000"},
        "securitygroup": {"enable_security_group": True, "firewall_driver": "noop"},
    }


def octavia(layout: CloudLayout, secrets: Secrets) -> Sections:
    """octavia.conf: the amphora provider with the noop drivers; a CA for the worker."""
    base = common(layout, secrets, "octavia")
    certs = layout.data("octavia")
    return {
        **base,
        "api_settings": {
            "bind_host": HOST,
            "bind_port": layout.port("octavia"),
            "enabled_provider_drivers": "amphora:The lab's amphora provider (noop drivers)",
            "default_provider_driver": "amphora",
        },
        "database": {"connection": database_url(layout, secrets, "octavia")},
        "controller_worker": {
            **OCTAVIA_NOOP,
            "network_driver": VIP_DRIVER,  # noop, but a VIP is a real Neutron port
            "loadbalancer_topology": "SINGLE",
            "workers": 1,
            "amp_boot_network_list": "00000000-0000-0000-0000-000000000000",
            "amp_image_tag": "amphora",
            "amp_flavor_id": "lab",
            "client_ca": certs / "ca.pem",
        },
        "certificates": {
            "ca_certificate": certs / "ca.pem",
            "ca_private_key": certs / "ca.key",
            "ca_private_key_passphrase": secrets.octavia_ca,
            "server_certs_key_passphrase": secrets.octavia_ca,
        },
        "haproxy_amphora": {"client_cert": certs / "client.pem", "server_ca": certs / "ca.pem"},
        "task_flow": {"jobboard_enabled": False},
        "service_auth": client_auth(layout, secrets),
        "oslo_messaging": {"topic": "octavia_prov"},
        "health_manager": {"heartbeat_key": secrets.octavia_ca},
    }


def mariadb(layout: CloudLayout) -> str:
    """my.cnf of the lab's MariaDB: loopback only, small buffers."""
    data = layout.data("mariadb")
    return render(
        {
            "mysqld": {
                "datadir": data,
                "socket": layout.run / "mysqld.sock",
                "pid-file": layout.run / "mysqld.pid",
                "bind-address": HOST,
                "port": layout.port("mariadb"),
                "log-error": layout.log("mariadb"),
                "user": "root",
                "innodb_buffer_pool_size": "64M",
                "innodb_log_file_size": "16M",
                "innodb_flush_log_at_trx_commit": 0,
                "max_connections": 500,
                "skip-name-resolve": True,
                "character-set-server": "utf8",
                "performance_schema": "OFF",
            },
        }
    ).replace(" = true", "")
