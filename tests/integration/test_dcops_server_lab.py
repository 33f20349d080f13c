"""dcops deployed by its own playbook on the lab's management host: installed from a wheelhouse
without any package index, run as its own user, answering over HTTPS with the site's certificate."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dcops.core.requirements import find_program
from tests.conftest import REPO, copy_site
from tests.integration.test_configure_lab import Lab, _changed, _why_not

pytestmark = pytest.mark.integration

MGMT = "10.10.0.10"
UNITS = ("dcops-server", "dcops-traps", "dcops-shift-log", "dcops-exporter-1")
MONITORS = ("dcops-prometheus", "dcops-alertmanager")
_GET = "import sys,urllib.request\nprint(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"


def _site_certificate(folder: Path) -> None:
    """A CA and a certificate for the management address, as a site would get from its CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gdc lab CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - day).not_valid_after(now + day)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mgmt-1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - day).not_valid_after(now + day)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(MGMT))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    folder.mkdir(parents=True)
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(cert.public_bytes(pem))
    (folder / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    site = copy_site(tmp_path_factory.mktemp("dcops-server") / "site")
    built = subprocess.run(
        [str(REPO / "scripts" / "wheelhouse.sh"), str(site / "wheelhouse" / "dcops-wheelhouse.tar")],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHON": sys.executable},
    )  # fmt: skip
    if built.returncode != 0:
        pytest.skip(f"cannot build the wheelhouse (no package index reachable?): {built.stderr}")
    _site_certificate(site / "tls")
    (site / "inventory" / "host_vars" / "mgmt-1.yml").write_text(
        'dcops_server_tls_cert: "{{ playbook_dir }}/../tls/server.pem"\n'
        'dcops_server_tls_key: "{{ playbook_dir }}/../tls/server.key"\n',
        encoding="utf-8",
    )
    the_lab = Lab(site, f"ds{secrets.token_hex(3)}")
    try:
        up = the_lab.dcops("lab", "up")
        assert up.returncode == 0, up.stdout + up.stderr
        yield the_lab
    finally:
        down = the_lab.dcops("lab", "down", "--yes")
        assert down.returncode == 0, down.stderr


def _in_namespace(lab: Lab, host: str, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", lab.ns(host), sys.executable, "-c", code, *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


_HEALTHZ = (
    "import ssl,sys,urllib.request\n"
    "ctx=ssl.create_default_context(cafile=sys.argv[1])\n"
    "with urllib.request.urlopen(sys.argv[2], context=ctx, timeout=10) as r:\n"
    " print(r.status, r.read().decode())\n"
)


def test_the_playbook_deploys_dcops_and_the_server_answers_over_https(lab: Lab) -> None:
    done = lab.dcops("configure", "dcops-server", "--lab", "--yes", "-o", "json", timeout=1500)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["succeeded"] is True
    ca = str(lab.site / "tls" / "ca.pem")
    for source in ("mgmt-1", "srv-1"):
        # the server may still be binding after its restart: a few tries
        for _ in range(30):
            got = _in_namespace(lab, source, _HEALTHZ, ca, f"https://{MGMT}:8443/healthz")
            if got.returncode == 0:
                break
            subprocess.run(["sleep", "1"], check=True)
        assert got.returncode == 0, got.stderr
        assert got.stdout.startswith("200 ")


def test_only_the_allowed_networks_reach_the_https_port(lab: Lab) -> None:
    assert lab.probe("srv-1", MGMT, 8443) == "open"  # operators (srv-1 stands in for a desk)
    assert lab.probe("backup-1", MGMT, 8443) == "dropped"  # in no allowed network
    assert lab.probe("backup-1", MGMT, 22) == "open"  # the host itself is reachable from there
    table = lab.on("mgmt-1", "nft list table inet dcops_server").stdout
    assert "10.10.0.10" in table and "10.10.0.31" in table


def test_the_service_runs_as_its_own_user_with_a_private_state_dir(lab: Lab) -> None:
    root = lab.root("mgmt-1")
    users = {
        line.split(":")[0]: int(line.split(":")[2])
        for line in (root / "etc" / "passwd").read_text().splitlines()
    }
    state = (root / "var" / "lib" / "dcops" / ".dcops").stat()
    assert state.st_uid == users["dcops"] and oct(state.st_mode & 0o777) == "0o700"
    site_file = (root / "var" / "lib" / "dcops" / "dcops.toml").stat()
    assert site_file.st_uid == 0 and oct(site_file.st_mode & 0o777) == "0o640"
    key = (root / "etc" / "dcops" / "tls" / "server.key").stat()
    assert key.st_uid == 0 and oct(key.st_mode & 0o777) == "0o640"
    for unit in UNITS:
        owner = lab.on("mgmt-1", f"ps -o user= -p $(cat /run/dcops/{unit}.pid)").stdout.strip()
        assert owner == "dcops", unit
    installed = lab.on("mgmt-1", "/opt/dcops/venv/bin/dcops --version").stdout
    assert "dcops" in installed


def test_the_exporter_and_the_trap_receiver_answer_on_the_host(lab: Lab) -> None:
    metrics = _in_namespace(
        lab, "mgmt-1",
        "import urllib.request\n"
        "print(urllib.request.urlopen('http://127.0.0.1:9810/metrics', timeout=10).read().decode())",
    )  # fmt: skip
    assert metrics.returncode == 0, metrics.stderr
    assert "dcops_dcim_" in metrics.stdout
    sockets = lab.on("mgmt-1", "ss -Hlun").stdout
    assert f"{MGMT}:9162" in sockets


def _get_json(lab: Lab, url: str) -> Any:
    got = _in_namespace(lab, "mgmt-1", _GET, url)
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def test_prometheus_and_alertmanager_run_on_the_host_with_the_rules_dcops_renders(
    lab: Lab,
) -> None:
    import yaml

    rendered = lab.root("mgmt-1") / "var" / "lib" / "dcops" / ".dcops" / "monitors" / "rules"
    names = {
        rule.get("alert") or rule.get("record")
        for path in rendered.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
    assert {"UpsOnBattery", "InletTemperatureHigh"} <= names
    groups = _get_json(lab, "http://127.0.0.1:9090/api/v1/rules")["data"]["groups"]
    assert {rule["name"] for group in groups for rule in group["rules"]} == names
    exporter = "http://127.0.0.1:9810/metrics"
    for _ in range(60):  # the first scrape of the exporter comes within one interval
        targets = _get_json(lab, "http://127.0.0.1:9090/api/v1/targets")["data"]["activeTargets"]
        up = [t["scrapeUrl"] for t in targets if t["health"] == "up"]
        if exporter in up:
            break
        subprocess.run(["sleep", "2"], check=True)
    assert exporter in up, targets
    status = _get_json(lab, "http://127.0.0.1:9093/api/v2/status")
    assert "shift-log" in status["config"]["original"]
    for unit in MONITORS:
        owner = lab.on("mgmt-1", f"ps -o user= -p $(cat /run/dcops/{unit}.pid)").stdout.strip()
        assert owner == "dcops", unit


def test_the_units_pass_systemd_analyze_verify(lab: Lab, tmp_path: Path) -> None:
    analyze = find_program("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd); cannot verify")
    root = lab.root("mgmt-1")
    units = [root / "etc" / "systemd" / "system" / f"{u}.service" for u in (*UNITS, *MONITORS)]
    # verify resolves ExecStart= on this machine: give it the host's dcops and stand-ins for
    # Prometheus and Alertmanager at the paths the units name, inside a root of its own
    check_root = tmp_path / "root"
    (check_root / "etc" / "systemd" / "system").mkdir(parents=True)
    shutil.copytree(root / "opt" / "dcops" / "venv" / "bin", check_root / "opt/dcops/venv/bin",
                    symlinks=True)  # fmt: skip
    shutil.copytree("/usr/lib/systemd/system", check_root / "usr/lib/systemd/system",
                    symlinks=True)  # fmt: skip
    (check_root / "usr" / "bin").mkdir(parents=True)
    for name in ("prometheus", "prometheus-alertmanager"):
        stand_in = check_root / "usr" / "bin" / name
        stand_in.write_text("#!/bin/sh\n")
        stand_in.chmod(0o755)
    for unit in units:
        shutil.copy(unit, check_root / "etc" / "systemd" / "system" / unit.name)
    done = subprocess.run(
        [analyze, "verify", f"--root={check_root}",
         *(f"/etc/systemd/system/{u.name}" for u in units)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    server = units[0].read_text()
    assert "User=dcops" in server and "ProtectSystem=strict" in server
    assert "NoNewPrivileges=yes" in server and "CapabilityBoundingSet=\n" in server
    assert "--cert /etc/dcops/tls/server.pem" in server
    traps = units[1].read_text()  # 9162 in the lab; 162 in the room gets CAP_NET_BIND_SERVICE
    assert f"--listen {MGMT}:9162" in traps and "AmbientCapabilities" not in traps


def test_a_second_run_changes_nothing(lab: Lab) -> None:
    done = lab.dcops("configure", "dcops-server", "--lab", "--yes", "-o", "json", timeout=1500)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _changed(done.stdout) == 0, json.loads(done.stdout)["changed_tasks"]


DCOPS_ON_HOST = "DCOPS_SITE=/var/lib/dcops /opt/dcops/venv/bin/dcops"


def _verify_self(lab: Lab) -> tuple[int, dict[str, Any]]:
    """verify-self on the host with the backup role's wrapper: restic from backup-1 over sftp."""
    done = lab.on("mgmt-1", f"{DCOPS_ON_HOST} backup verify-self -o json", check=False)
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_the_playbook_schedules_the_export_and_it_comes_back_whole_from_the_backup_host(
    lab: Lab,
) -> None:
    # the playbook's first run made mgmt-1's repository on backup-1 and took a first backup
    assert (lab.root("backup-1") / "srv" / "restic" / "mgmt-1" / "config").is_file()
    cron = (lab.root("mgmt-1") / "etc" / "cron.d" / "dcops-backup").read_text()
    assert "15 2 * * * root /usr/local/sbin/dcops-backup" in cron
    # an audited change after that backup: the scheduled run must carry it to the backup host
    lab.on("mgmt-1", f"runuser -u dcops -- env {DCOPS_ON_HOST} audit record --action drill "
                     "--object host/mgmt-1 --message 'backup drill'")  # fmt: skip
    lab.on("mgmt-1", "/usr/local/sbin/dcops-backup")  # what cron runs
    journal = lab.root("mgmt-1") / "var" / "lib" / "dcops" / ".dcops" / "audit" / "journal.jsonl"
    events = len(journal.read_bytes().splitlines())
    strangers = lab.on("mgmt-1", "find /var/lib/dcops/.dcops ! -user dcops").stdout
    assert strangers == "", strangers  # the export ran as the service user
    rc, report = _verify_self(lab)
    checks = {c["check"]: c for c in report["checks"]}
    assert rc == 0 and report["ok"], report
    assert checks["database state/server/accounts.sqlite"]["ok"]
    assert checks["audit journal"]["detail"].startswith(f"{events} events, ")
    assert "verify against the witness" in checks["audit journal"]["detail"]
    snapshots = lab.on("mgmt-1", "/usr/local/sbin/dcops-restic snapshots --json").stdout
    assert len(json.loads(snapshots)) == 1  # retention: two backups of one day keep one


def test_verify_self_fails_when_the_backed_up_export_is_corrupt(lab: Lab) -> None:
    export = "/var/backups/dcops/self/state/audit/journal.jsonl"
    lab.on("mgmt-1", f"sed -i '1s/.$/ /' {export}")  # the first event's closing brace
    lab.on(
        "mgmt-1",  # a backup of the damaged export, without the hook that would re-export
        "/usr/local/sbin/dcops-restic backup --quiet --tag dcops "
        "--files-from /etc/dcops-backup/include",
    )
    rc, report = _verify_self(lab)
    lab.on("mgmt-1", "/usr/local/sbin/dcops-backup")  # a good backup again
    checks = {c["check"]: c for c in report["checks"]}
    assert rc == 1 and not report["ok"]
    assert not checks["files"]["ok"] and "state/audit/journal.jsonl" in checks["files"]["detail"]
    assert not checks["audit journal"]["ok"]


def _drill(lab: Lab) -> subprocess.CompletedProcess[str]:
    """The restore drill playbook on the management host only (srv-1 has no backup here)."""
    return lab.dcops("configure", "backup-verify", "--lab", "--yes", "--limit", "mgmt-1")


def test_the_restore_drill_restores_and_checks_dcops_own_state(lab: Lab) -> None:
    lab.on("mgmt-1", "/usr/local/sbin/dcops-backup")  # the newest snapshot, as cron takes it
    listed = lab.on("mgmt-1", "/usr/local/sbin/dcops-restic snapshots --json").stdout
    newest = max(json.loads(listed), key=lambda s: s["time"])["short_id"]
    scratch = lab.root("mgmt-1") / "var" / "tmp"
    before = set(scratch.iterdir())
    drill = _drill(lab)
    assert drill.returncode == 0, drill.stdout + drill.stderr
    said = f"restore drill mgmt-1: dcops' own state, snapshot {newest}, "
    assert said in drill.stdout, drill.stdout
    line = drill.stdout[drill.stdout.index(said) :].split("\n")[0]
    assert "audit journal" in line and "database state/server/accounts.sqlite" in line
    assert set(scratch.iterdir()) == before  # restored into a scratch folder, removed after
    # the drill runs verify-self as root: it leaves nothing of root's in the service's state dir
    strangers = lab.on("mgmt-1", "find /var/lib/dcops/.dcops ! -user dcops").stdout
    assert strangers == "", strangers


def test_the_restore_drill_fails_when_dcops_own_backup_is_corrupt(lab: Lab) -> None:
    export = "/var/backups/dcops/self/state/audit/journal.jsonl"
    lab.on("mgmt-1", f"sed -i '1s/.$/ /' {export}")
    lab.on(
        "mgmt-1",  # a backup of the damaged export, without the hook that would re-export
        "/usr/local/sbin/dcops-restic backup --quiet --tag dcops "
        "--files-from /etc/dcops-backup/include",
    )
    drill = _drill(lab)
    lab.on("mgmt-1", "/usr/local/sbin/dcops-backup")  # a good backup again
    assert drill.returncode == 1, drill.stdout + drill.stderr
    failed = [line for line in drill.stdout.splitlines() if line.startswith("FAILED mgmt-1:")]
    assert failed and "did not come back whole" in failed[0], drill.stdout
    assert "files" in failed[0] and "audit journal" in failed[0]
