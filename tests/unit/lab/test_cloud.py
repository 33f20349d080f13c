"""The lab cloud's parts that run without its Debian packages: layout, configs, processes."""

from __future__ import annotations

import configparser
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dcops.core.errors import InputError
from dcops.core.loader import load_site
from dcops.lab.cloud import configs, processes
from dcops.lab.cloud.layout import PORT_BASE_ENV, CloudLayout, cloud_layout
from dcops.lab.cloud.ml2 import DRIVER, install_driver
from dcops.lab.cloud.octavia_vip import DRIVER as VIP_DRIVER
from dcops.lab.cloud.services import services

SECRETS = configs.Secrets("admin-pw", "db-pw", "rabbit-pw", "ca-pw")


@pytest.fixture
def layout(tmp_path: Path) -> CloudLayout:
    return CloudLayout(tmp_path / "lab-cloud", 31000)


def parse(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(text)
    return parser


def test_ports_follow_the_base_and_are_all_different(layout: CloudLayout) -> None:
    ports = [s.port(layout) for s in services(layout) if s.port(layout)]
    assert layout.port("keystone") == 31000
    assert len(set(ports)) == len(ports) == 7
    assert layout.auth_url == "http://127.0.0.1:31000/v3"


@pytest.mark.parametrize("raw", ["80", "abc", "70000", "-1"])
def test_a_bad_port_base_is_refused_with_what_is_allowed(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(PORT_BASE_ENV, raw)
    with pytest.raises(InputError, match="1024 to 65000"):
        cloud_layout(load_site(site_dir))


def test_the_lab_lives_in_the_state_dir(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PORT_BASE_ENV, raising=False)
    layout = cloud_layout(load_site(site_dir))
    assert layout.root == site_dir / ".dcops" / "lab-cloud"
    assert layout.port_base == 25000


def test_neutron_uses_ml2_with_the_lab_driver_router_and_vpnaas(layout: CloudLayout) -> None:
    neutron = parse(configs.render(configs.neutron(layout, SECRETS)))
    assert neutron["DEFAULT"]["service_plugins"] == "router,vpnaas"
    assert neutron["DEFAULT"]["bind_host"] == "127.0.0.1"
    assert "strongswan" in neutron["service_providers"]["service_provider"]
    assert neutron["nova"]["auth_url"] == layout.auth_url  # network deletes authenticate to Nova
    assert neutron.has_section("placement")
    ml2 = parse(configs.render(configs.ml2(layout)))
    assert ml2["ml2"]["mechanism_drivers"] == DRIVER


def test_nova_runs_the_fake_driver_without_waiting_for_vifs(layout: CloudLayout) -> None:
    nova = parse(configs.render(configs.nova(layout, SECRETS, "nova-compute-lab-compute-2")))
    assert nova["DEFAULT"]["host"] == "lab-compute-2"
    assert not nova.has_section("database")  # the compute service goes through the conductor
    nova = parse(configs.render(configs.nova(layout, SECRETS, "nova-conductor")))
    assert nova["DEFAULT"]["compute_driver"] == "fake.FakeDriver"
    assert nova["DEFAULT"]["vif_plugging_is_fatal"] == "false"
    assert nova["DEFAULT"]["vif_plugging_timeout"] == "0"
    assert "db-pw" in nova["database"]["connection"]
    assert str(layout.port("mariadb")) in nova["api_database"]["connection"]


def test_octavia_uses_the_amphora_provider_with_noop_drivers(layout: CloudLayout) -> None:
    octavia = parse(configs.render(configs.octavia(layout, SECRETS)))
    assert octavia["api_settings"]["default_provider_driver"] == "amphora"
    worker = octavia["controller_worker"]
    assert {k: worker[k] for k in configs.OCTAVIA_NOOP} == configs.OCTAVIA_NOOP
    assert worker["network_driver"] == VIP_DRIVER  # VIPs are real Neutron ports
    assert octavia["certificates"]["ca_private_key_passphrase"] == "ca-pw"
    assert worker["client_ca"].endswith("ca.pem")


def test_the_catalog_names_every_api_at_its_loopback_port(layout: CloudLayout) -> None:
    text = configs.catalog(layout)
    for kind in ("identity", "image", "compute", "network", "placement", "load-balancer"):
        assert f"catalog.RegionOne.{kind}.publicURL = http://127.0.0.1:" in text
    assert "http://127.0.0.1:31003/v2.1" in text


def test_config_files_are_private(layout: CloudLayout) -> None:
    path = layout.etc("nova") / "nova.conf"
    configs.write(path, "[DEFAULT]\n")
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_ml2_driver_is_found_by_its_entry_point(tmp_path: Path) -> None:
    install_driver(tmp_path)
    code = (
        "import importlib.metadata as m;"
        "print([e.value for e in m.entry_points(group='neutron.ml2.mechanism_drivers')])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "dcops_lab_ml2:LabMechanismDriver" in out
    compile((tmp_path / "dcops_lab_ml2.py").read_text(), "dcops_lab_ml2.py", "exec")


def test_down_finds_a_process_by_its_marker_even_without_pid_files(layout: CloudLayout) -> None:
    layout.root.mkdir(parents=True)
    pid = processes.launch(
        ["sleep", "300"],
        root=layout.root,
        log=layout.log("sleep"),
        pid_file=layout.pid("sleep"),
        env={},
    )
    assert processes.pid_alive(layout.pid("sleep"), layout.root) == pid
    layout.pid("sleep").unlink()  # as after a crash that lost the run folder
    stopped = processes.stop_all(layout.root)
    assert [p.pid for p in stopped] == [pid]
    time.sleep(0.2)
    assert processes.marked(layout.root) == []


def test_another_labs_processes_are_left_alone(tmp_path: Path) -> None:
    mine, other = CloudLayout(tmp_path / "a", 31000), CloudLayout(tmp_path / "b", 32000)
    for lab in (mine, other):
        lab.root.mkdir()
    pid = processes.launch(
        ["sleep", "300"], root=other.root, log=other.log("s"), pid_file=other.pid("s"), env={}
    )
    try:
        assert processes.stop_all(mine.root) == []
        assert processes.pid_alive(other.pid("s"), other.root) == pid
    finally:
        processes.stop_all(other.root)


def test_a_failing_setup_command_names_its_log(layout: CloudLayout) -> None:
    layout.root.mkdir(parents=True)
    with pytest.raises(Exception, match="exit 3") as error:
        processes.run(
            ["sh", "-c", "echo broken schema; exit 3"],
            root=layout.root,
            log=layout.log("setup"),
            env={},
        )
    assert "broken schema" in str(error.value)


def test_the_octavia_vip_driver_is_found_by_its_entry_point(tmp_path: Path) -> None:
    from dcops.lab.cloud import octavia_vip

    octavia_vip.install_driver(tmp_path)
    code = (
        "import importlib.metadata as m;"
        "print([e.value for e in m.entry_points(group='octavia.network.drivers')])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "dcops_lab_octavia:LabVipNetworkDriver" in out
    compile((tmp_path / "dcops_lab_octavia.py").read_text(), "dcops_lab_octavia.py", "exec")


def test_cinder_keeps_no_data_and_takes_novas_service_token(layout: CloudLayout) -> None:
    volume = parse(configs.render(configs.cinder(layout, SECRETS, "cinder-volume")))
    backend = volume["DEFAULT"]["enabled_backends"]
    assert volume[backend]["volume_driver"] == configs.FAKE_VOLUME_DRIVER
    assert volume["DEFAULT"]["osapi_volume_listen_port"] == str(layout.port("cinder"))
    assert volume["keystone_authtoken"]["service_token_roles"] == "admin"
    assert volume["database"]["connection"].endswith("/cinder?charset=utf8")
    # Without a service token from Nova's compute, Cinder refuses to delete an attachment.
    compute = parse(configs.render(configs.nova(layout, SECRETS, "nova-compute-lab-compute-1")))
    assert compute["service_user"]["send_service_user_token"] == "true"
    assert compute["cinder"]["auth_url"] == layout.auth_url
    catalog = configs.catalog(layout)
    assert f"volumev3.publicURL = {layout.url('cinder')}/v3/$(project_id)s" in catalog


def test_the_volume_service_runs_from_python3_cinder(layout: CloudLayout) -> None:
    names = {s.name: s for s in services(layout)}
    assert {"cinder-api", "cinder-scheduler", "cinder-volume"} <= set(names)
    volume = names["cinder-volume"]
    assert volume.argv[0] == "/usr/bin/python3" and "cinder.cmd.volume" in volume.argv[2]
    assert volume.port(layout) is None and names["cinder-api"].port(layout) == 31010
