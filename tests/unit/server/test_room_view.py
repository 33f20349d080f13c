"""The room view: rack colours against each sensor's limits, and the banners that say the data
cannot be trusted."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.server.room_view import VIEWS, RackCell, floor, inlet_level
from tests.conftest import REPO


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(REPO)


def _values(**series: dict[str, float]) -> dict[str, dict[str, float]]:
    empty: dict[str, dict[str, float]] = {
        k: {} for k in ("inlet", "humidity", "power", "up", "success")
    }
    return {**empty, **series}


def test_inlet_levels_follow_the_room_limits_and_a_sensors_own(site: Site) -> None:
    a01 = next(d for d in site.devices if d.name == "env-a01")
    c03 = next(d for d in site.devices if d.name == "env-c03")  # its high limit is 25 °C
    assert [inlet_level(a01, t) for t in (14.9, 17.9, 22.0, 27.0, 27.1, 32.0, 32.1)] == [
        "frozen", "cold", "ok", "ok", "warm", "warm", "hot"
    ]  # fmt: skip
    assert inlet_level(c03, 26.0) == "warm" and inlet_level(c03, 30.1) == "hot"
    assert inlet_level(a01, None) == "none"


def test_racks_take_their_sensor_and_pdu_readings(site: Site) -> None:
    values = _values(
        inlet={"env-a01": 33.5}, humidity={"env-a01": 0.5}, power={"pdu-a01": 6500.0},
        up={"ups-1": 1.0, "ups-2": 0.0}, success={"ups-1": 1000.0},
    )  # fmt: skip
    alerts = [{"severity": "critical", "device": "env-a01", "rack": "A01"}]
    seen = floor(site, values, {"127.0.0.1:9": 1.0}, alerts, [], [], now=1010.0)
    cells = {c.name: c for _, row in seen.rooms[0].rows for c in row}
    assert cells["A01"].level == "hot" and cells["A01"].alert == "critical"
    assert cells["A01"].power_kw == pytest.approx(6.5) and cells["A01"].load == pytest.approx(
        6.5 / 8
    )
    assert cells["A02"].level == "none" and cells["A02"].inlet is None
    status = {e.name: e.status for e in seen.rooms[0].equipment}
    assert status["ups-1"] == "up" and status["ups-2"] == "down" and status["crac-1"] == "unknown"
    assert seen.banners == [] and seen.worst == "critical"


def test_a_dead_exporter_and_stale_data_are_said_plainly(site: Site) -> None:
    values = _values(success={"ups-1": 1000.0})
    down = floor(site, values, {"127.0.0.1:9100": 0.0}, [], [], [], now=1001.0)
    assert any("the exporter is down: 127.0.0.1:9100" in b for b in down.banners)
    stale = floor(site, values, {"127.0.0.1:9100": 1.0}, [], [], [], now=1000.0 + 3 * 15 + 11)
    assert any(b.startswith("数据陈旧 / the data is stale") for b in stale.banners)
    fresh = floor(site, values, {"127.0.0.1:9100": 1.0}, [], [], [], now=1000.0 + 3 * 15 + 9)
    assert fresh.banners == []
    nothing = floor(site, _values(), {}, [], [], [], now=0)
    assert any("no exporter has been read" in b for b in nothing.banners)


def test_dew_point_from_temperature_and_humidity() -> None:
    cell = RackCell("A", "A01", 8, inlet=25.0, humidity=0.5)
    assert cell.dew_point == pytest.approx(13.85, abs=0.1)
    assert RackCell("A", "A02", 8, inlet=25.0).dew_point is None


def test_power_is_coloured_by_its_share_of_the_racks_design_power(site: Site) -> None:
    # The same 7 kW: amber in an 8 kW rack (88 %), green in a 12 kW one (58 %); above design
    # power red; C01's PDU sets its own limit of 70 %.
    values = _values(power={"pdu-a01": 7000.0, "pdu-a02": 8500.0, "pdu-b01": 6000.0,
                            "pdu-c01": 7000.0})  # fmt: skip
    room = floor(site, values, {"127.0.0.1:9": 1.0}, [], [], [], now=1.0).rooms[0]
    cells = {c.name: c for _, row in room.rows for c in row}
    assert cells["C01"].design_kw == 12 and cells["C01"].load_high == 0.7
    assert [cells[r].level_in("power") for r in ("A01", "A02", "B01", "C01", "A03")] == [
        "warm", "hot", "ok", "ok", "none"
    ]  # fmt: skip
    assert RackCell("C", "C09", 12, power_kw=8.5, load_high=0.7).level_in("power") == "warm"


def test_humidity_is_coloured_by_the_sensors_limits_and_the_dew_point_band(site: Site) -> None:
    cell = RackCell("A", "A01", 8, inlet=23.0, humidity=0.45)
    assert cell.dew_point == pytest.approx(10.4, abs=0.05) and cell.level_in("humidity") == "ok"
    assert RackCell("A", "A01", 8, inlet=23.0, humidity=0.65).level_in("humidity") == "warm"
    # RH within 20-60 % but the dew point (3.2 °C) below the rule's 5.5 °C
    assert RackCell("A", "A01", 8, inlet=20.0, humidity=0.33).level_in("humidity") == "warm"
    assert RackCell("A", "A02", 8, inlet=23.0).level_in("humidity") == "none"
    assert RackCell("A", "A01", 8, inlet=23.0, level="ok").level_in("temperature") == "ok"


def test_each_view_has_a_legend_of_its_colours(site: Site) -> None:
    room = floor(site, _values(), {}, [], [], [], now=1.0)
    assert room.legend("temperature")[:3] == [("cold", "<18 °C"), ("ok", "18–27 °C"),
                                              ("warm", ">27 °C")]  # fmt: skip
    assert "≤ 80%" in room.legend("power")[0][1] and room.legend("power")[2][0] == "hot"
    assert room.legend("humidity")[0] == ("ok", "相对湿度 RH 20–60%, 露点 dew point 5.5–15 °C")
    assert all(shown[-1] == ("none", "无读数 no reading") for shown in map(room.legend, VIEWS))


def test_the_device_list_keeps_what_needs_a_look_and_counts_the_rest(site: Site) -> None:
    values = _values(up={"ups-1": 1.0, "pdu-a01": 1.0, "pdu-a02": 0.0, "pdu-b01": 1.0})
    alerts = [{"severity": "warning", "device": "pdu-b01", "rack": "B01"}]
    room = floor(site, values, {"127.0.0.1:9": 1.0}, alerts, [], [], now=1.0).rooms[0]
    listed = {e.name for e in room.listed(every=False)}
    assert {"ups-1", "crac-1", "pdu-a02", "pdu-b01"} <= listed  # outside racks, down, alerting
    assert "pdu-a01" not in listed
    racked_fine = [e for e in room.equipment if e.rack and e.status == "up" and not e.alert]
    assert room.quiet == len(racked_fine) >= 1
    assert len(room.listed(every=True)) == len(room.equipment) == len(listed) + room.quiet


def test_the_plan_places_each_kind_with_its_state(site: Site) -> None:
    values = _values(
        up={"crac-1": 1.0, "crac-2": 0.0, "ups-1": 1.0, "pdu-a01": 1.0},
        supply={"crac-1": 18.25}, **{"return": {"crac-1": 24.0}},
        source={"ups-1": 5.0}, charge={"ups-1": 0.8},
        door={"door-1/1": 0.0, "door-1/2": 2.0}, zone={"fire-1/1": 2.0, "fire-1/2": 0.0},
        leak={"leak-1/1": 1.0, "leak-1/2": 0.0},
    )  # fmt: skip
    room = floor(site, values, {"127.0.0.1:9": 1.0}, [], [], [], now=1.0).rooms[0]
    placed = {(p.kind, p.name): p for p in room.placed if p.label}
    crac = placed[("crac", "crac-1")]
    assert (crac.x, crac.y, crac.width, crac.depth, crac.state) == (9, 1, 2, 2, "ok")
    assert crac.text == "送风 supply 18.2 °C · 回风 return 24.0 °C"
    assert placed[("crac", "crac-2")].text == "离线 down"
    assert (
        placed[("ups", "ups-1")].state == "alarm"
        and "电池 battery · 80%" in placed[("ups", "ups-1")].text
    )
    assert placed[("ups", "ups-2")].state == "none"  # not read: no reading, not "ok"
    assert placed[("door", "door-1/1")].text == "关 closed"
    assert placed[("door", "door-1/2")].state == "alarm"
    assert placed[("fire-zone", "fire-1/1")].text == "火警 ALARM"
    assert placed[("fire-zone", "fire-1/2")].state == "ok"
    assert placed[("fire-zone", "fire-1/3")].state == "none"
    rope = [p for p in room.placed if p.name == "leak-1/1"]
    assert [(p.x, p.y, p.width, p.depth) for p in rope] == [(8, 0, 3, 1), (10, 0, 1, 4)]
    assert {p.state for p in rope} == {"alarm"} and [p.label for p in rope] == [True, False]
    cells = {c.name: c for _, row in room.rows for c in row}
    assert (cells["A01"].x, cells["A01"].y, cells["A01"].pdu) == (1, 1, "up")
    assert (cells["C06"].x, cells["C06"].y, cells["A02"].pdu) == (6, 7, "unknown")
    assert cells["A03"].pdu == ""


def test_the_plan_stylesheet_puts_each_place_on_its_tiles(site: Site) -> None:
    from dcops.server.console_room import plan_places

    css = plan_places(site)
    assert "#plan-r301 { grid-template-columns: repeat(11, " in css
    assert '[data-at="9-1-2-2"] { grid-area: 2 / 10 / span 2 / span 2; }' in css  # crac-1
    assert '[data-at="0-0-6-6"] { grid-area: 1 / 1 / span 6 / span 6; }' in css  # fire zone 1
    assert '[data-at="8-7-1-1"] { grid-area: 8 / 9 / span 1 / span 1; }' in css  # rack P01


def test_the_exporters_readings_become_series_by_device_and_part() -> None:
    from dcops.server.room_feed import ExporterReading, parse_metrics
    from dcops.server.room_view import SERIES, readings_by_series

    text = "\n".join([
        "# HELP dcops_dcim_door_state_code Door state.",
        'dcops_dcim_door_state_code{site="gdc",room="r301",device="door-1",door="2"} 2.0',
        'dcops_dcim_env_temperature_celsius{site="gdc",device="env-a01",rack="A01"} 23.5',
        'dcops_dcim_env_temperature_celsius{site="other",device="env-a01"} 99',
        'dcops_dcim_device_poll_duration_seconds{site="gdc",device="env-a01"} 0.1',
        'dcops_dcim_device_up{site="gdc",device="ups-1",model="say \\"hi\\""} 1',
        "dcops_dcim_device_up{broken",
    ])  # fmt: skip
    samples = parse_metrics(text, set(SERIES.values()), "gdc")
    assert [s[0] for s in samples] == [
        "dcops_dcim_door_state_code", "dcops_dcim_env_temperature_celsius", "dcops_dcim_device_up"
    ]  # fmt: skip
    assert samples[2][1]["model"] == 'say "hi"'
    live = ExporterReading("127.0.0.1:9810", samples, read_at=1.0)
    dead = ExporterReading("127.0.0.1:9811", error="connection refused", read_at=1.0)
    values, targets, reasons = readings_by_series([live, dead, ExporterReading("127.0.0.1:1")])
    assert values["door"] == {"door-1/2": 2.0} and values["inlet"] == {"env-a01": 23.5}
    assert values["up"] == {"ups-1": 1.0}
    assert targets == {"127.0.0.1:9810": 1.0, "127.0.0.1:9811": 0.0}  # the unread one is left out
    assert reasons == ["127.0.0.1:9811: connection refused"]


def test_a_prometheus_that_does_not_answer_is_said_plainly(site_dir: Path) -> None:
    import socket

    from dcops.server.console_room import _prometheus_problem

    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    site_file = site_dir / "dcops.toml"
    site_file.write_text(
        site_file.read_text(encoding="utf-8").replace(
            "prometheus_port = 9090", f"prometheus_port = {port}"
        ),
        encoding="utf-8",
    )
    site = load_site(site_dir)
    said = _prometheus_problem(site)
    assert said.startswith(
        f"告警评估不可用 / Prometheus cannot be reached (http://127.0.0.1:{port}: "
    )
    assert "new alerts will not appear" in said
    # With the pair running, its second member evaluating the rules is enough.
    second = http.server.HTTPServer(("127.0.0.1", 0), _Ready)
    threading.Thread(target=second.serve_forever, daemon=True).start()
    try:
        site_file.write_text(
            site_file.read_text(encoding="utf-8").replace(
                f"prometheus_port = {port}",
                f"prometheus_port = {port}\npair_prometheus_port = {second.server_port}",
            ),
            encoding="utf-8",
        )
        site = load_site(site_dir)
        paired = site.paths.state / "monitors" / "paired"
        paired.parent.mkdir(parents=True, exist_ok=True)
        paired.write_text("pair\n")
        assert _prometheus_problem(site) == ""
    finally:
        second.shutdown()
        second.server_close()


class _Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/-/ready" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass
