"""Lab set-up that needs no root: names, mirror discovery, the refusal without privileges."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InputError, MissingDependency
from dcops.core.loader import load_site
from dcops.core.requirements import PRIVILEGES
from dcops.lab import base, lifecycle
from dcops.lab.topology import PREFIX_ENV, lab_prefix, topology


def test_topology_follows_the_inventory(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PREFIX_ENV, "dtunit")
    topo = topology(load_site(site_dir))
    assert topo.switch == "dtunit-sw"
    assert topo.mgmt.name == "mgmt-1" and topo.mgmt.namespace == "dtunit-mgmt-1"
    assert topo.host("srv-1").address == "10.10.0.31"
    assert {(link.a, link.b) for link in topo.links} == {
        ("leaf-1", "spine-1"),
        ("leaf-1", "spine-2"),
        ("leaf-2", "spine-1"),
        ("leaf-2", "spine-2"),
    }
    with pytest.raises(InputError, match="no lab host 'srv-9'; allowed: spine-1"):
        topo.host("srv-9")


def test_prefix_is_stable_per_state_dir_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PREFIX_ENV, raising=False)
    assert lab_prefix(tmp_path / "a") == lab_prefix(tmp_path / "a")
    assert lab_prefix(tmp_path / "a") != lab_prefix(tmp_path / "b")
    monkeypatch.setenv(PREFIX_ENV, "Bad-Prefix")
    with pytest.raises(InputError, match="not a lab prefix"):
        lab_prefix(tmp_path)


def test_mirror_is_read_from_apt_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(base.MIRROR_ENV, raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm\n",
        encoding="utf-8",
    )
    assert base.mirror(tmp_path) == "http://mirror.invalid/debian"
    with pytest.raises(InputError, match="no Debian mirror"):
        base.mirror(tmp_path / "none")


def test_lab_refuses_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PRIVILEGES, "root", lambda: False)
    with pytest.raises(MissingDependency, match="needs root"):
        lifecycle.ensure_capable()


def test_lab_refuses_without_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PRIVILEGES, "root", lambda: True)
    monkeypatch.setitem(PRIVILEGES, "netns", lambda: False)
    with pytest.raises(MissingDependency, match="cannot make network namespaces"):
        lifecycle.ensure_capable()


def test_a_rebuilt_host_is_waited_for_from_mgmt_whichever_it_is(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(PREFIX_ENV, "dtunit")
    topo = topology(load_site(site_dir))
    probes: list[tuple[str, str]] = []

    def port_open(probed: object, address: str, port: int) -> bool:
        probes.append((probed.mgmt.namespace, address))  # type: ignore[attr-defined]
        return True

    monkeypatch.setattr(lifecycle, "_port_open", port_open)
    lifecycle._wait_ready(tmp_path, topo, (topo.host("srv-1"),))
    assert probes == [("dtunit-mgmt-1", "10.10.0.31")]  # only the rebuilt host, probed from mgmt
