"""`dcops cloud` against the lab OpenStack and the lab Kubernetes, with reality made by hand.

One tenancy (`fgw-truth`) is requested and approved in a site of the module's own; its project
and namespace are made with openstacksdk and the kubernetes client as dcops would make them, plus
out-of-band changes (cloud_reality.py). Skips loudly where either lab cannot run here.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import signal
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DCOPS, copy_site, dcops_env
from tests.integration import cloud_reality as reality
from tests.integration.lab_cloud import LabCloud

pytestmark = [pytest.mark.integration, pytest.mark.live]


def _k8s_missing() -> str | None:
    from dcops.core.errors import MissingDependency
    from dcops.lab import k8s_processes

    for name in ("etcd", "kube-apiserver", "kube-controller-manager"):
        try:
            k8s_processes.binary(name)
        except MissingDependency:
            return (
                f"LIVE TEST SKIPPED: the lab cluster needs {name} "
                "(scripts/install-k8s.sh builds kube-*, apt-get install etcd-server gives etcd)"
            )
    return None


@dataclass
class Truth:
    """The module's site, pointed at the session's lab cloud and its own lab cluster."""

    site: Path
    env: dict[str, str]
    seeded: reality.Seeded

    def dcops(self, *args: str, user: str = "zhangwei", site: Path | None = None) -> Any:
        env = {**self.env, "DCOPS_USER": user}
        return subprocess.run(
            [str(DCOPS), *args],
            cwd=site or self.site,
            env=env,
            text=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )

    def json(self, *args: str, user: str = "zhangwei") -> Any:
        done = self.dcops(*args, "--output", "json", user=user)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        return json.loads(done.stdout)


def _point_at_cloud(site: Path, clouds_yaml: Path) -> None:
    with (site / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[clusters.openstack]\nclouds_yaml = "{clouds_yaml}"\ncloud = "dcops-lab"\n')


@pytest.fixture(scope="module")
def truth(lab_cloud: LabCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Truth]:
    """The module's site with its tenancy approved and its cloud reality seeded."""
    reason = _k8s_missing()
    if reason:
        pytest.skip(reason)
    from tests.integration.test_lab_k8s import free_base_port

    site = copy_site(tmp_path_factory.mktemp("truth") / "site")
    _point_at_cloud(site, lab_cloud.clouds_yaml)
    env = dcops_env("zhangwei", {"DCOPS_LAB_K8S_PORT": str(free_base_port())})
    seeded = reality.Seeded()
    result = Truth(site, env, seeded)
    admin = lab_cloud.connect()
    try:
        up = result.dcops("lab", "k8s", "up")
        assert up.returncode == 0, up.stdout + up.stderr
        request = site / "fgw-truth.yml"
        request.write_text(reality.REQUEST, encoding="utf-8")
        submitted = result.dcops("tenancy", "request", str(request))
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr
        approved = result.dcops("tenancy", "approve", reality.TENANCY, user="liuyang")
        assert approved.returncode == 0, approved.stdout + approved.stderr
        result.seeded = reality.seed_openstack(admin)
        from kubernetes import config

        kubeconfig = site / ".dcops" / "lab-k8s" / "kubeconfig" / "ops.yaml"
        reality.seed_kubernetes(
            config.new_client_from_config(config_file=str(kubeconfig)), result.seeded
        )
        yield result
    finally:
        reality.clear_openstack(admin)
        down = result.dcops("lab", "k8s", "down", "--yes")
        assert down.returncode == 0, down.stdout + down.stderr


def _scopes(inventory: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["cloud"], s["name"]): s for s in inventory["scopes"]}


def test_inventory_names_each_scope_owner_and_what_it_holds(truth: Truth) -> None:
    inventory = truth.json("cloud", "inventory")
    scopes = _scopes(inventory)
    project = scopes[("openstack", reality.TENANCY)]
    assert (project["tenancy"], project["department"]) == (reality.TENANCY, "fgw")
    servers = {r["name"] for r in project["resources"] if r["kind"] == "server"}
    assert servers == {f"{reality.TENANCY}-vm-app-1", "debug-box"}
    ips = [r for r in project["resources"] if r["kind"] == "floating_ip"]
    assert [ip["id"] for ip in ips] == [truth.seeded.orphan_ip]
    assert ips[0]["port"] == ""
    rules = {r["id"] for r in project["resources"] if r["kind"] == "security_group_rule"}
    assert truth.seeded.widened_rule in rules
    namespace = scopes[("kubernetes", reality.NAMESPACE)]
    assert namespace["tenancy"] == reality.TENANCY
    assert namespace["counts"] == {
        "namespace": 1,
        "resource_quota": 1,
        "limit_range": 1,
        "network_policy": 1,
    }
    assert scopes[("openstack", reality.SHADOW_PROJECT)]["department"] == "unowned"
    assert scopes[("kubernetes", reality.SHADOW_NAMESPACE)]["department"] == "unowned"
    assert scopes[("kubernetes", "kube-system")]["department"] == "platform"
    fgw = next(d for d in inventory["departments"] if d["department"] == "fgw")
    assert (fgw["projects"], fgw["namespaces"], fgw["vcpus"], fgw["ram_mb"]) == (1, 1, 4, 8192)
    assert fgw["counts"]["server"] == 2
    assert inventory["api_calls"]["openstack"] > 0 and inventory["api_calls"]["kubernetes"] > 0


def test_inventory_table_and_one_department(truth: Truth) -> None:
    done = truth.dcops("cloud", "inventory")
    assert done.returncode == 0, done.stderr
    assert "按部门合计 totals per department" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 100
    mine = truth.json("cloud", "inventory", "--department", "fgw", user="wanglei")
    assert {s["department"] for s in mine["scopes"]} == {"fgw"}
    assert {(s["cloud"], s["name"]) for s in mine["scopes"]} >= {
        ("openstack", reality.TENANCY),
        ("kubernetes", reality.NAMESPACE),
    }
    refused = truth.dcops("cloud", "inventory", "--department", "wjw", user="wanglei")
    assert refused.returncode == 2
    assert "may read department fgw only" in refused.stderr


def test_inventory_csv_has_a_row_per_scope(truth: Truth) -> None:
    done = truth.dcops("cloud", "inventory", "--output", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    project = next(r for r in rows if r["cloud"] == "openstack" and r["scope"] == reality.TENANCY)
    assert (project["department"], project["server"], project["floating_ip"]) == ("fgw", "2", "1")


def test_an_unreachable_service_is_reported_and_the_rest_still_shown(
    truth: Truth, lab_cloud: LabCloud, tmp_path: Path
) -> None:
    clouds = yaml.safe_load(lab_cloud.clouds_yaml.read_text(encoding="utf-8"))
    # Nothing listens on port 9 of loopback: the load-balancer API is unreachable.
    clouds["clouds"]["dcops-lab"]["load_balancer_endpoint_override"] = "http://127.0.0.1:9/"
    dead = tmp_path / "clouds.yaml"
    dead.write_text(yaml.safe_dump(clouds), encoding="utf-8")
    os.chmod(dead, 0o600)
    site = copy_site(tmp_path / "site")
    _point_at_cloud(site, dead)
    kubeconfig = truth.site / ".dcops" / "lab-k8s" / "kubeconfig" / "ops.yaml"
    with (site / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[clusters.kubernetes]\nkubeconfig = "{kubeconfig}"\n')
    done = truth.dcops("cloud", "inventory", "--output", "json", site=site)
    assert done.returncode == 0, done.stderr
    inventory = json.loads(done.stdout)
    failures = {f["service"]: f["reason"] for f in inventory["unreachable"]}
    assert "load-balancer/load_balancer" in failures, failures
    assert "onnect" in failures["load-balancer/load_balancer"]
    scopes = _scopes(inventory)
    assert ("openstack", reality.SHADOW_PROJECT) in scopes
    assert ("kubernetes", reality.SHADOW_NAMESPACE) in scopes
    table = truth.dcops("cloud", "inventory", site=site)
    assert "未能读取 not read (the rest is shown)" in table.stdout
    assert "load-balancer/load_balancer" in table.stdout


def _journal(site: Path, action: str) -> list[dict[str, Any]]:
    path = site / ".dcops" / "audit" / "journal.jsonl"
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [e for e in events if e["action"] == action]


def test_scan_finds_each_out_of_band_change_and_nothing_else(truth: Truth) -> None:
    before = len(_journal(truth.site, "cloud.scan.finding"))
    done = truth.dcops("cloud", "scan", "--output", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    ours = {reality.TENANCY, reality.SHADOW_PROJECT, reality.SHADOW_NAMESPACE}
    found = {
        (f["rule"], f["cloud"], f["scope"], f["id"])
        for f in report["findings"]
        if f["scope"] in ours
    }
    seeded = truth.seeded
    assert found == {
        ("no-admin-port-to-world", "openstack", reality.TENANCY, seeded.widened_rule),
        ("sg-rule-description", "openstack", reality.TENANCY, seeded.widened_rule),
        ("department-tag", "openstack", reality.TENANCY, seeded.hand_server),
        ("floating-ip-unattached", "openstack", reality.TENANCY, seeded.orphan_ip),
        ("scope-without-tenancy", "openstack", reality.SHADOW_PROJECT, seeded.shadow_project),
        ("scope-without-tenancy", "kubernetes", reality.SHADOW_NAMESPACE, seeded.shadow_namespace),
        ("namespace-fenced", "kubernetes", reality.SHADOW_NAMESPACE, seeded.shadow_namespace),
    }
    recorded = _journal(truth.site, "cloud.scan.finding")[before:]
    assert len(recorded) == len(report["findings"])
    assert {(e["object"]["id"], e["parameters"]["rule"]) for e in recorded} >= {
        (seeded.widened_rule, "no-admin-port-to-world"),
        (seeded.orphan_ip, "floating-ip-unattached"),
    }
    assert all(e["phase"] == "record" and e["actor"]["user"] == "zhangwei" for e in recorded)


def test_scan_table_and_markdown_say_where_what_and_how_to_fix(truth: Truth) -> None:
    table = truth.dcops("cloud", "scan", "--department", "fgw")
    assert table.returncode == 1
    assert f"[critical] no-admin-port-to-world — openstack {reality.TENANCY}" in table.stdout
    assert (
        "管理端口 [22] 向全网开放 / administrative port(s) [22] open to the world" in table.stdout
    )
    assert "修复 fix: 删除该规则" in table.stdout
    assert reality.SHADOW_PROJECT not in table.stdout
    markdown = truth.dcops("cloud", "scan", "--output", "markdown")
    assert markdown.returncode == 1
    assert "| severity | rule | scope | resource | finding | fix |" in markdown.stdout
    assert f"| high | scope-without-tenancy | {reality.SHADOW_PROJECT} |" in markdown.stdout


def test_scan_html_is_the_auditors_report_and_cloud_names_cannot_inject_markup(
    truth: Truth,
) -> None:
    done = truth.dcops("cloud", "scan", "--output", "html")
    assert done.returncode == 1, done.stderr
    page = done.stdout
    assert page.startswith("<!DOCTYPE html>") and "<h1>云上合规检查 Cloud compliance scan" in page
    assert "<h2>全部发现 Every finding</h2>" in page and "no-admin-port-to-world" in page
    assert html.escape(reality.HOSTILE_PROJECT) in page
    assert reality.HOSTILE_PROJECT not in page and "<script" not in page and "<img" not in page
    tags = _Tags()
    tags.feed(page)
    assert "script" not in tags.seen and "img" not in tags.seen
    assert tags.cells.count(reality.HOSTILE_PROJECT) >= 1  # shown as text, as it was named


class _Tags(HTMLParser):
    """The start tags of a page, and the text of its table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)
        self._in_cell = tag == "td"

    def handle_endtag(self, tag: str) -> None:
        self._in_cell = False if tag == "td" else self._in_cell

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells.append(data)


def test_usage_sets_use_against_quota_grant_and_tier(truth: Truth) -> None:
    report = truth.json("cloud", "usage", "--department", "fgw")
    lines = {line["metric"]: line for line in report["lines"] if line["department"] == "fgw"}
    vcpus = lines["vcpus"]
    # Two c2.m4 servers run where the request granted one: the hand-made one is over the grant.
    assert (vcpus["used"], vcpus["granted"], vcpus["tier"]) == (4.0, 2.0, 64.0)
    assert vcpus["quota"] is not None and vcpus["quota"] > 0
    assert vcpus["over"] is True and vcpus["percent"] == 200.0
    assert (lines["instances"]["used"], lines["instances"]["granted"]) == (2.0, 1.0)
    assert lines["floating_ips"]["used"] == 1.0
    cpu = lines["k8s_cpu"]
    # The namespace's quota was edited to 3 CPUs; 2 were granted; nothing runs yet.
    assert (cpu["quota"], cpu["granted"], cpu["used"], cpu["over"]) == (3.0, 2.0, 0.0, False)
    table = truth.dcops("cloud", "usage", "--department", "fgw")
    assert table.returncode == 0, table.stderr
    assert "配额使用 usage against quotas" in table.stdout
    assert "超限 OVER" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 100


def test_drift_names_what_differs_from_the_request(truth: Truth) -> None:
    done = truth.dcops("cloud", "drift", reality.TENANCY, "--output", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    findings = json.loads(done.stdout)["findings"]
    found = {(f["rule"], f["kind"], f["id"]) for f in findings}
    quotas = {f[2] for f in found if f[1] == "resource_quota"}
    text = {f["id"]: f["message"] for f in findings}
    # No stack state here (the project was made by hand): the request against the cloud.
    assert all("hard limits.cpu 2 → 3" in text[q] for q in quotas)
    rule = f"{reality.TENANCY}-sg-app ingress tcp 22 from 0.0.0.0/0"
    assert (
        f"{rule!r} is in the cloud, not in the approved request" in text[truth.seeded.widened_rule]
    )
    assert found == {
        ("drift-extra", "server", truth.seeded.hand_server),
        ("drift-extra", "security_group_rule", truth.seeded.widened_rule),
        *(("drift-changed", "resource_quota", q) for q in quotas),
    }
    assert len(quotas) == 1
    recorded = _journal(truth.site, "cloud.drift.finding")
    assert {e["object"]["id"] for e in recorded} >= {truth.seeded.hand_server}


def _query(port: int, promql: str) -> list[dict[str, Any]]:
    """The instant vector Prometheus answers for a query (empty while it has none)."""
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return list(json.loads(answer.read())["data"]["result"])
    except OSError:
        return []


def test_prometheus_scrapes_the_cloud_exporter_as_a_job_of_its_own(truth: Truth) -> None:
    from tests.integration.monitors_stack import free_port, set_monitors, wait_for

    port = free_port()
    ports = set_monitors(
        truth.site,
        cloud_exporters=[f"127.0.0.1:{port}"],
        scrape_interval="2s",
        evaluation_interval="2s",
        max_for="6s",  # CloudExporterDown's 10 minutes, shortened for the test
    )
    env = {**truth.env, "DCOPS_USER": "zhangwei"}
    exporter = subprocess.Popen(
        [str(DCOPS), "cloud", "exporter", "--listen", f"127.0.0.1:{port}", "--interval", "600"],
        cwd=truth.site,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The exporter serves once its first reading of the clouds is done.
        wait_for("the cloud exporter's /metrics", lambda: _query_metrics(port), timeout=600)
        up = truth.dcops("monitors", "up")
        assert up.returncode == 0, up.stdout + up.stderr
        try:
            vcpus = 'dcops_cloud_usage_used{department="fgw",resource="vcpus"}'
            [sample] = wait_for(
                "Prometheus to scrape the cloud exporter",
                lambda: _query(ports["prometheus_port"], vcpus),
                timeout=180,
            )
            # Two c2.m4 servers run in fgw-truth (one asked for, one made by hand).
            assert sample["value"][1] == "4"
            assert (sample["metric"]["job"], sample["metric"]["site"]) == ("dcops-cloud", "gdc")
            [target] = _query(ports["prometheus_port"], 'up{job="dcops-cloud"}')
            assert target["value"][1] == "1"
            assert not _query(ports["prometheus_port"], _EXPORTER_DOWN)
            _stop(exporter)  # the exporter goes away: its own alert must say so
            [alert] = wait_for(
                "CloudExporterDown to fire",
                lambda: _query(ports["prometheus_port"], _EXPORTER_DOWN),
                timeout=180,
            )
            assert alert["metric"]["instance"] == f"127.0.0.1:{port}"
            assert (alert["metric"]["site"], alert["metric"]["severity"]) == ("gdc", "warning")
        finally:
            down = truth.dcops("monitors", "down")
            assert down.returncode == 0, down.stdout + down.stderr
    finally:
        _stop(exporter)


_EXPORTER_DOWN = 'ALERTS{alertname="CloudExporterDown",alertstate="firing"}'


def _stop(exporter: subprocess.Popen[bytes]) -> None:
    if exporter.poll() is not None:
        return
    exporter.send_signal(signal.SIGINT)
    try:
        exporter.wait(timeout=60)
    except subprocess.TimeoutExpired:
        exporter.kill()
        exporter.wait(timeout=30)


def _query_metrics(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            return b"dcops_cloud_usage_used" in answer.read()
    except OSError:
        return False
