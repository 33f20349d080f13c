"""The collector: contract labels, health series, and stale readings held back."""

from __future__ import annotations

from dcops.dcim.exporter import render
from dcops.dcim.inventory import Target
from dcops.dcim.poller import Poller
from dcops.dcim.profiles import bundled_profile


def _samples(text: str, name: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _poller(clock: Clock) -> Poller:
    target = Target(
        name="env-a01",
        kind="env-sensor",
        room="r301",
        rack="A01",
        protocol="modbus",
        host="127.0.0.1",
        port=1,
        unit=1,
        profile=bundled_profile("env-sensor"),
    )
    return Poller([target], interval=10, clock=clock)


def test_fresh_readings_are_exported_with_contract_labels() -> None:
    clock = Clock()
    poller = _poller(clock)
    state = poller.states["env-a01"]
    state.polled, state.up, state.last_success, state.duration = True, True, 990.0, 0.01
    state.readings[("dcops_dcim_env_temperature_celsius", ())] = (23.5, 995.0)
    state.readings[("dcops_dcim_leak_detected", (("zone", "1"),))] = (0.0, 995.0)
    state.errors["timeout"] = 3
    text = render(poller, "gdc", "9.9").decode()
    base = 'device="env-a01",kind="env-sensor",rack="A01",room="r301",site="gdc"'
    assert f"dcops_dcim_env_temperature_celsius{{{base}}} 23.5" in text
    assert f'dcops_dcim_leak_detected{{{base},zone="1"}} 0.0' in text
    assert f"dcops_dcim_device_up{{{base}}} 1.0" in text
    errors = _samples(text, "dcops_dcim_device_poll_errors_total")
    assert errors["timeout"] == 3.0 and errors["auth"] == 0.0
    assert sorted(errors) == [
        "auth",
        "decode",
        "exception",
        "other",
        "out_of_range",
        "refused",
        "timeout",
    ]
    assert f"dcops_dcim_device_stale_readings{{{base}}} 0.0" in text
    assert (
        'dcops_dcim_exporter_build_info{device="",kind="",rack="",room="",site="",version="9.9"} 1.0'
        in text
    )


def test_readings_older_than_two_intervals_are_not_exported() -> None:
    clock = Clock()
    poller = _poller(clock)
    state = poller.states["env-a01"]
    state.polled, state.up = True, False
    state.readings[("dcops_dcim_env_temperature_celsius", ())] = (
        23.5,
        975.0,
    )  # 25 s old, interval 10
    state.readings[("dcops_dcim_env_humidity_ratio", ())] = (0.4, 985.0)  # 15 s old: still current
    text = render(poller, "gdc", "9.9").decode()
    assert "dcops_dcim_env_temperature_celsius{" not in text
    assert "dcops_dcim_env_humidity_ratio{" in text
    assert (
        'dcops_dcim_device_stale_readings{device="env-a01",kind="env-sensor",rack="A01",room="r301",site="gdc"} 1.0'
        in text
    )
    assert (
        'dcops_dcim_device_up{device="env-a01",kind="env-sensor",rack="A01",room="r301",site="gdc"} 0.0'
        in text
    )


def test_a_device_never_polled_exports_no_health_yet() -> None:
    text = render(_poller(Clock()), "gdc", "9.9").decode()
    assert "dcops_dcim_device_up{" not in text


def test_pdu_rating_comes_from_the_inventory_when_the_device_has_none() -> None:
    from dcops.core.site import Device
    from dcops.dcim.decoding import Reading
    from dcops.dcim.inventory import rated_current_fallback

    device = Device.model_validate(
        {
            "name": "pdu-x",
            "kind": "pdu",
            "room": "r301",
            "thresholds": {"rated_current_amperes": 16},
        }
    )
    target = Target(
        name="pdu-x",
        kind="pdu",
        room="r301",
        rack="",
        protocol="snmp",
        host="127.0.0.1",
        port=1,
        profile=bundled_profile("apc-rack-pdu"),
        device=device,
    )
    current = [
        Reading("dcops_dcim_pdu_phase_current_amperes", (("phase", str(n)),), 5.0) for n in (1, 2)
    ]
    added = rated_current_fallback(target, current)
    assert [(r.labels, r.value) for r in added] == [
        ((("phase", "1"),), 16),
        ((("phase", "2"),), 16),
    ]
    reported = [
        *current,
        Reading("dcops_dcim_pdu_phase_rated_current_amperes", (("phase", "1"),), 32.0),
    ]
    assert rated_current_fallback(target, reported) == []
