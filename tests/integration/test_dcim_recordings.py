"""The UPS-MIB and APC PDU profiles against recordings of real devices (snmpsim-data), served by
snmpsim: every reading equals the recorded value after scaling."""

from __future__ import annotations

import asyncio
import bz2
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from dcops.dcim.catalogue import valid_range
from dcops.dcim.poller import DeviceState, Poller
from dcops.dcim.profiles import Profile, bundled_profile
from dcops.dcim.simulation.simulator import free_port
from dcops.dcim.snmp.client import CommunityClient
from tests.integration.dcim_fleet import loopback_target

pytestmark = pytest.mark.integration

RECORDINGS = {
    "eaton-93e": ("UPS/eaton-93e-80.snmprec.bz2", "ups-mib"),
    "huawei-gse200m": ("UPS/huawei-gse200m.snmprec.bz2", "ups-mib"),
    "apc-7902b": ("UPS/apc-7902b.snmprec", "apc-rack-pdu"),
    "apc-8932": ("UPS/apc-8932.snmprec", "apc-rack-pdu"),
}
NUMERIC_TAGS = {"2", "65", "66", "67", "70"}


def _recording(name: str) -> str:
    data = resources.files("snmpsim_data") / "data" / name
    raw = data.read_bytes()
    return (bz2.decompress(raw) if name.endswith(".bz2") else raw).decode("utf-8", "replace")


def _recorded(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        parts = line.split("|", 2)
        if len(parts) == 3:
            oid, tag, value = parts
            values[oid] = value if tag in NUMERIC_TAGS or tag == "6" else f"<{tag}>"
    return values


@pytest.fixture(scope="module")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """snmpsim serving each recording under its own community, on a free loopback port."""
    folder = tmp_path_factory.mktemp("recordings")
    data = folder / "data"
    data.mkdir()
    for community, (name, _) in RECORDINGS.items():
        (data / f"{community}.snmprec").write_text(_recording(name), encoding="utf-8")
    port = free_port()
    responder = Path(sys.executable).parent / "snmpsim-command-responder"
    process = subprocess.Popen(
        [
            str(responder),
            f"--data-dir={data}",
            f"--agent-udpv4-endpoint=127.0.0.1:{port}",
            f"--cache-dir={folder / 'cache'}",
        ],
        env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"},
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "snmpsim.log", "wb"),  # noqa: SIM115 - closed when the process ends
    )
    try:
        _wait_ready(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    async def ask() -> bool:
        client = CommunityClient("127.0.0.1", port, "eaton-93e", timeout=1, retries=0)
        try:
            await client.get(["1.3.6.1.2.1.33.1.2.1.0"])
            return True
        except Exception:
            return False
        finally:
            client.close()

    for _ in range(60):
        assert process.poll() is None, "snmpsim exited"
        if asyncio.run(ask()):
            return
        time.sleep(0.5)
    raise AssertionError("snmpsim did not answer within 30 s")


def _poll(port: int, community: str, profile: Profile) -> DeviceState:
    target = loopback_target(community, port, profile, timeout=10, community=community)

    async def run() -> DeviceState:
        poller = Poller([target], interval=60)
        try:
            return (await poller.poll_all())[0]
        finally:
            await poller.close()

    return asyncio.run(run())


Key = tuple[str, tuple[tuple[str, str], ...]]


def _expected(profile: Profile, recorded: dict[str, str]) -> tuple[dict[Key, float], set[Key]]:
    """What the poll must export, and what it must drop because the device's value cannot be
    true (outside the metric's valid range, e.g. a runtime of -1 minutes meaning "unknown")."""
    expected: dict[Key, float] = {}
    impossible: set[Key] = set()

    def keep(key: Key, value: float, valid: tuple[float, float] | None) -> None:
        low, high = valid or valid_range(key[0]) or (-math.inf, math.inf)
        if low <= value <= high:
            expected[key] = value
        else:
            impossible.add(key)

    for obj in profile.scalars:
        if obj.oid in recorded and not obj.spread_over:
            keep((obj.metric, ()), int(recorded[obj.oid]) * obj.scale, obj.valid)
    for table in profile.tables:
        for column in table.columns:
            if column.names is not None:
                continue
            for oid, value in recorded.items():
                if oid.startswith(column.oid + "."):
                    index = oid[len(column.oid) + 1 :]
                    raw = int(value)
                    number = column.map[raw] if column.map is not None else raw * column.scale
                    keep((column.metric, ((table.index_label, index),)), number, column.valid)
    return expected, impossible


@pytest.mark.parametrize("community", sorted(RECORDINGS))
def test_readings_equal_the_recording_after_scaling(snmpsim: int, community: str) -> None:
    name, profile_name = RECORDINGS[community]
    profile = bundled_profile(profile_name)
    recorded = _recorded(_recording(name))
    state = _poll(snmpsim, community, profile)
    assert state.up, state.last_error
    got = {(m, labels): value for (m, labels), (value, _) in state.readings.items()}
    expected, impossible = _expected(profile, recorded)
    assert len(expected) >= 5, f"{name} holds too little of {profile_name} to compare"
    for key, value in expected.items():
        assert got.get(key) == pytest.approx(value), key
    for key in impossible:
        assert key not in got, f"{key} cannot be true and must not be exported"
        assert any(problem.startswith(key[0]) for problem in state.problems), (key, state.problems)
    assert state.errors["out_of_range"] == len(impossible)


def test_eaton_ups_in_base_units(snmpsim: int) -> None:
    state = _poll(snmpsim, "eaton-93e", bundled_profile("ups-mib"))
    got = {(m, labels): value for (m, labels), (value, _) in state.readings.items()}
    assert got[("dcops_dcim_ups_battery_runtime_seconds", ())] == 1092 * 60
    assert got[("dcops_dcim_ups_battery_voltage_volts", ())] == pytest.approx(521.0)
    assert got[("dcops_dcim_ups_input_frequency_hertz", (("line", "3"),))] == pytest.approx(50.0)
    assert got[("dcops_dcim_ups_output_current_amperes", (("line", "1"),))] == pytest.approx(27.0)
    assert got[("dcops_dcim_ups_output_load_ratio", (("line", "1"),))] == pytest.approx(0.21)
    assert got[("dcops_dcim_ups_alarm", (("alarm", "on_battery"),))] == 0.0
    assert got[("dcops_dcim_ups_alarms_present", ())] == 0.0


def test_apc_pdu_rating_is_spread_over_its_phases(snmpsim: int) -> None:
    state = _poll(snmpsim, "apc-7902b", bundled_profile("apc-rack-pdu"))
    got = {(m, labels): value for (m, labels), (value, _) in state.readings.items()}
    assert got[("dcops_dcim_pdu_power_watts", ())] == 192
    assert got[("dcops_dcim_pdu_phase_current_amperes", (("phase", "1"),))] == pytest.approx(1.6)
    assert {labels for (m, labels) in got if m == "dcops_dcim_pdu_phase_rated_current_amperes"} == {
        (("phase", "1"),),
        (("phase", "2"),),
        (("phase", "3"),),
    }
    assert got[("dcops_dcim_pdu_outlet_on", (("outlet", "16"),))] == 1.0
    assert got[("dcops_dcim_pdu_outlet_on", (("outlet", "3"),))] == 0.0
