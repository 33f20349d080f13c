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

import pytest

from dcops.core.requirements import find_program
from tests.conftest import REPO, copy_site
from tests.integration.test_configure_lab import Lab, _changed, _why_not

pytestmark = pytest.mark.integration

MGMT = "10.10.0.10"
UNITS = ("dcops-server", "dcops-traps", "dcops-shift-log", "dcops-exporter-1")
MONITORS = ("dcops-prometheus", "dcops-alertmanager")


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
    assert any("Prometheus and Alertmanager are not started in the lab" in m
               for m in report["messages"])  # fmt: skip
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


def test_the_hosts_own_state_is_backed_up_and_proved_whole_on_the_lab(lab: Lab) -> None:
    dcops = "DCOPS_SITE=/var/lib/dcops /opt/dcops/venv/bin/dcops"
    restic = (
        "RESTIC_REPOSITORY=/var/tmp/restic-self RESTIC_PASSWORD_FILE=/root/restic-self.pass "
        "RESTIC_CACHE_DIR=/var/tmp/restic-cache"
    )
    lab.on("mgmt-1", f"runuser -u dcops -- env {dcops} audit record --action drill "
                     "--object host/mgmt-1 --message 'backup drill'")  # fmt: skip
    lab.on("mgmt-1", f"{dcops} backup export")
    lab.on(
        "mgmt-1",
        "echo lab-restic-pass > /root/restic-self.pass && chmod 600 /root/restic-self.pass",
    )
    lab.on(
        "mgmt-1", f"{restic} restic init -q && {restic} restic backup -q /var/backups/dcops/self"
    )
    done = lab.on("mgmt-1", f"{restic} {dcops} backup verify-self --restic /usr/bin/restic -o json")
    report = json.loads(done.stdout)
    checks = {c["check"]: c for c in report["checks"]}
    assert report["ok"], report
    assert checks["database state/server/accounts.sqlite"]["ok"]
    assert "verify against the witness" in checks["audit journal"]["detail"]
