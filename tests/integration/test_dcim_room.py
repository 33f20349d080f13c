"""The simulated room end to end: simulate → serve → /metrics, scenarios that start and end,
poll, watch and probe, all through the installed console script on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import RunDcops
from tests.integration.room_scrape import all_devices_up, reading, scrape_until

pytestmark = pytest.mark.integration


def test_every_inventory_device_is_up_with_contract_labels(exporter: int) -> None:
    text = scrape_until(exporter, all_devices_up, "15 devices up")
    for device in ("ups-1", "ups-2", "crac-1", "pdu-a01", "env-a01", "leak-1", "door-1", "fire-1"):
        assert reading(text, "dcops_dcim_device_up", device=device) == 1.0, device
    assert (
        'dcops_dcim_env_temperature_celsius{device="env-a01",kind="env-sensor",rack="A01",room="r301",simulated="true",site="gdc"}'
        in text  # a simulated room says so on every series
    )
    assert (
        reading(text, "dcops_dcim_ups_output_source_code", device="ups-2") == 3.0
    )  # SNMPv3 authPriv
    assert reading(text, "dcops_dcim_ups_battery_runtime_seconds", device="ups-1") == 1800.0
    assert reading(text, "dcops_dcim_pdu_outlet_on", device="pdu-a01", outlet="8") == 0.0
    assert reading(text, "dcops_dcim_crac_running", device="crac-1", component="compressor") == 1.0
    assert reading(text, "dcops_dcim_fire_zone_state_code", device="fire-1", zone="4") == 0.0
    assert (
        reading(text, "dcops_dcim_device_poll_errors_total", device="ups-1", reason="timeout")
        == 0.0
    )
    assert (
        'dcops_dcim_exporter_build_info{device="",kind="",rack="",room="",simulated="true",site="",version="0.1.0"} 1.0'
        in text
    )


def test_scenarios_switch_while_running_and_end(simulated: RunDcops, exporter: int) -> None:
    scrape_until(
        exporter,
        lambda t: reading(t, "dcops_dcim_ups_output_source_code", device="ups-1") == 3.0,
        "ups-1 on mains",
    )
    assert simulated("dcim", "simulate", "set-scenario", "ups-on-battery").returncode == 0
    # The alarm table and the output source are separate requests: wait for a poll with both.
    text = scrape_until(
        exporter,
        lambda t: (
            reading(t, "dcops_dcim_ups_alarm", device="ups-1", alarm="on_battery") == 1.0
            and reading(t, "dcops_dcim_ups_output_source_code", device="ups-1") == 5.0
        ),
        "on_battery alarm with output source battery",
    )
    assert reading(text, "dcops_dcim_ups_output_source_code", device="ups-2") == 3.0
    assert simulated("dcim", "simulate", "set-scenario", "fire-alarm").returncode == 0
    # The fire panel and the UPS are polled independently: wait for both to show the switch.
    scrape_until(
        exporter,
        lambda t: (
            reading(t, "dcops_dcim_fire_zone_state_code", zone="1") == 2.0
            and reading(t, "dcops_dcim_ups_alarm", device="ups-1", alarm="on_battery") == 0.0
        ),
        "fire zone 1 alarm, and ups-1 back on mains",
    )
    assert simulated("dcim", "simulate", "set-scenario", "door-forced").returncode == 0
    scrape_until(
        exporter,
        lambda t: reading(t, "dcops_dcim_door_state_code", door="1") == 2.0,
        "door 1 forced",
    )
    assert simulated("dcim", "simulate", "set-scenario", "normal").returncode == 0
    scrape_until(
        exporter,
        lambda t: reading(t, "dcops_dcim_door_state_code", door="1") == 0.0,
        "door 1 closed again",
    )


def test_overheat_crac_fault_and_leak_show_up(simulated: RunDcops, exporter: int) -> None:
    assert simulated("dcim", "simulate", "set-scenario", "overheat").returncode == 0
    scrape_until(
        exporter,
        lambda t: (reading(t, "dcops_dcim_env_temperature_celsius", device="env-a01") or 0) > 27.5,
        "inlet above 27 °C",
    )
    assert simulated("dcim", "simulate", "set-scenario", "crac-fault").returncode == 0
    scrape_until(
        exporter,
        lambda t: (
            reading(t, "dcops_dcim_crac_alarm", device="crac-1", alarm="compressor_fault") == 1.0
        ),
        "compressor fault",
    )
    assert simulated("dcim", "simulate", "set-scenario", "leak").returncode == 0
    # Devices are polled independently, so the leak may show before crac-1's next poll.
    scrape_until(
        exporter,
        lambda t: (
            reading(t, "dcops_dcim_leak_detected", device="leak-1", zone="1") == 1.0
            and reading(t, "dcops_dcim_crac_alarm", device="crac-1", alarm="compressor_fault")
            == 0.0
        ),
        "leak zone 1, and the compressor fault of the previous scenario cleared",
    )


def test_unknown_scenario_is_refused(simulated: RunDcops) -> None:
    done = simulated("dcim", "simulate", "set-scenario", "earthquake")
    assert done.returncode == 2
    assert "unknown scenario 'earthquake'; allowed: normal, ups-on-battery" in done.stderr


def test_poll_once_lists_problems_first_and_every_device(simulated: RunDcops) -> None:
    calm = simulated("dcim", "poll", "--once", "--output", "json")
    assert calm.returncode == 0, calm.stderr  # no critical problem: exit 0
    simulated("dcim", "simulate", "set-scenario", "fire-alarm")
    time.sleep(0.6)
    done = simulated("dcim", "poll", "--once", "--output", "json")
    assert done.returncode == 1, done.stderr  # a critical problem: exit 1, saying which
    assert "critical problem(s) in the room (simulated): fire-1" in done.stderr
    data = json.loads(done.stdout)
    assert data["simulated"] is True and all(d["simulated"] for d in data["devices"])
    assert data["problems"][0]["severity"] == "critical"
    assert data["problems"][0]["device"] == "fire-1"
    assert {d["device"] for d in data["devices"]} >= {
        "ups-1",
        "ups-2",
        "crac-2",
        "env-c03",
        "door-1",
    }
    assert all(d["up"] for d in data["devices"])
    table = simulated("dcim", "poll", "--once")
    assert table.stdout.startswith("模拟 SIMULATED")
    assert table.stdout.index("FIRE ALARM") < table.stdout.index("机房 room r301")


def test_watch_draws_the_room_headless(simulated: RunDcops) -> None:
    done = simulated("dcim", "watch", "--interval", "0.3", "--iterations", "2", timeout=60)
    assert done.returncode == 0, done.stderr
    for shown in ("rack inlet", "env-a08", "ups-2", "zone 4 normal", "problems"):
        assert shown in done.stdout


def test_probe_reads_snmp_v2c_v3_and_modbus_devices(simulated: RunDcops, site_dir: Path) -> None:
    record = json.loads((site_dir / ".dcops" / "dcim" / "simulation.json").read_text())
    secrets = site_dir / ".dcops"
    ups1, ups2 = record["devices"]["ups-1"], record["devices"]["ups-2"]
    community_file = ups1["community"]["file"]  # relative to the state dir
    # the community never appears in the URL (nor in `ps`): a file, or the device's own secret
    by_secret = simulated(
        "dcim", "probe", f"snmp://127.0.0.1:{ups1['port']}?secret=ups-1", "--profile", "ups-mib"
    )
    assert by_secret.returncode == 0, by_secret.stderr
    done = simulated(
        "dcim",
        "probe",
        f"snmp://127.0.0.1:{ups1['port']}?community_file={community_file}",
        "--profile",
        "ups-mib",
        "--output",
        "json",
    )
    assert done.returncode == 0, done.stderr
    readings = json.loads(done.stdout)
    charge = next(r for r in readings if r["metric"] == "dcops_dcim_ups_battery_charge_ratio")
    assert charge == {
        "metric": "dcops_dcim_ups_battery_charge_ratio",
        "labels": {},
        "value": 1.0,
        "unit": "ratio",
    }
    env = {
        "DCOPS_SNMP_AUTH_PASSWORD": (secrets / ups2["auth_secret"]["file"]).read_text().strip(),
        "DCOPS_SNMP_PRIV_PASSWORD": (secrets / ups2["priv_secret"]["file"]).read_text().strip(),
    }
    url = f"snmpv3://{ups2['user']}@127.0.0.1:{ups2['port']}?auth=sha&priv=aes"
    done = simulated("dcim", "probe", url, "--profile", "ups-mib", env=env)
    assert done.returncode == 0, done.stderr
    assert "dcops_dcim_ups_input_voltage_volts" in done.stdout
    wrong = simulated(
        "dcim",
        "probe",
        url,
        "--profile",
        "ups-mib",
        env={**env, "DCOPS_SNMP_AUTH_PASSWORD": "not-the-password"},
    )
    assert wrong.returncode == 1
    assert "(auth)" in wrong.stderr and "wrong digest" in wrong.stderr
    gateway = record["gateways"]["gw-r301"]
    done = simulated(
        "dcim",
        "probe",
        f"modbus://127.0.0.1:{gateway['port']}/5",
        "--profile",
        "fire-panel",
        "--output",
        "json",
    )
    assert done.returncode == 0, done.stderr
    zones = [r for r in json.loads(done.stdout) if r["metric"] == "dcops_dcim_fire_zone_state_code"]
    assert sorted(r["labels"]["zone"] for r in zones) == ["1", "2", "3", "4"]


def test_probe_of_a_silent_device_fails_within_its_timeout(dcops: RunDcops) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # bound and never read: requests go unanswered
        port = silent.getsockname()[1]
        done = dcops(
            "dcim",
            "probe",
            f"snmp://public@127.0.0.1:{port}",
            "--profile",
            "ups-mib",
            "--timeout",
            "0.5",
            timeout=30,
        )
    assert done.returncode == 1
    assert "did not answer (timeout)" in done.stderr


def test_synthetic_units_share_agents_and_are_all_polled(dcops: RunDcops) -> None:
    started = dcops(
        "dcim", "simulate", "--detach", "--synthetic", "120", "--tick", "0.5", timeout=120
    )
    assert started.returncode == 0, started.stderr
    try:
        assert "simulating 135 devices" in started.stdout
        done = dcops("dcim", "poll", "--once", "--timeout", "5", "--output", "json", timeout=120)
        assert done.returncode == 0, done.stderr
        devices = json.loads(done.stdout)["devices"]
        synthetic = [d for d in devices if d["device"].startswith("sim-ups-")]
        assert len(synthetic) == 120 and all(d["up"] for d in synthetic)
        assert len({d["address"] for d in synthetic}) == 120
    finally:
        assert dcops("dcim", "simulate", "stop", timeout=60).returncode == 0
