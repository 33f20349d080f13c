"""The playbooks for real: one lab (namespaces, sshd, FRR, nftables, snmpd, restic) shared by these
tests, in order; every effect is checked from another namespace or on the host's own files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dcops.core.requirements import PRIVILEGES, find_program
from tests.conftest import DCOPS, copy_site, dcops_env

pytestmark = pytest.mark.integration

CACHE = Path(os.environ.get("DCOPS_LAB_CACHE", "/var/tmp/dcops-lab-cache"))
SNMP_USER = ("dcim-poller", "lab-auth-pass-1", "lab-priv-pass-1")
SYSNAME_OID = "1.3.6.1.2.1.1.5.0"


def _why_not() -> str | None:
    if not PRIVILEGES["root"]():
        return "the lab needs root (CI runs as root); skipped on this machine"
    if not PRIVILEGES["netns"]():
        return "this machine cannot make network namespaces; skipped"
    missing = [
        p for p in ("debootstrap", "ip", "nc", "ssh", "snmpget", "git") if not find_program(p)
    ]
    if missing:
        return f"missing programs {missing}: run scripts/install.sh (scripts/apt-packages.txt)"
    return None


@dataclass
class Lab:
    """The shared lab: its site copy, name prefix and a way to run dcops there."""

    site: Path
    prefix: str

    def dcops(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DCOPS), *args],
            cwd=self.site,
            env=dcops_env(
                "zhangwei", {"DCOPS_LAB_PREFIX": self.prefix, "DCOPS_LAB_CACHE": str(CACHE)}
            ),
            text=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def on(self, host: str, command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a shell command on a lab host over ssh (`dcops lab ssh`)."""
        done = self.dcops("lab", "ssh", host, "--", command, timeout=120)
        if check:
            assert done.returncode == 0, f"{host}: {command}\n{done.stdout}{done.stderr}"
        return done

    def root(self, host: str) -> Path:
        """The host's root filesystem as seen from the machine (its overlay mount)."""
        return self.site / ".dcops" / "lab" / "hosts" / host / "root"

    def probe(self, source: str, address: str, port: int) -> str:
        """TCP connect from one host's namespace: open, refused or dropped."""
        code = (
            "import socket,sys\n"
            "s=socket.socket(); s.settimeout(2)\n"
            "try:\n s.connect((sys.argv[1], int(sys.argv[2]))); print('open')\n"
            "except ConnectionRefusedError: print('refused')\n"
            "except OSError: print('dropped')\n"
        )
        done = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.ns(source),
                sys.executable,
                "-c",
                code,
                address,
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout.strip()

    def snmpget(
        self, source: str, address: str, auth: str, priv: str
    ) -> subprocess.CompletedProcess[str]:
        user = SNMP_USER[0]
        return subprocess.run(
            ["ip", "netns", "exec", self.ns(source), "snmpget", "-v3", "-l", "authPriv",
             "-u", user, "-a", "SHA", "-A", auth, "-x", "AES", "-X", priv,
             "-t", "2", "-r", "0", "-On", address, SYSNAME_OID],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip


def _tally(stdout: str) -> dict[str, dict[str, int]]:
    return {h: t for h, t in json.loads(stdout)["hosts"].items()}


def _changed(stdout: str) -> int:
    return sum(t["changed"] for t in _tally(stdout).values())


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    the_lab = Lab(copy_site(tmp_path_factory.mktemp("lab") / "site"), f"dt{secrets.token_hex(3)}")
    try:
        up = the_lab.dcops("lab", "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "up, 7 hosts" in up.stdout
        yield the_lab
    finally:
        down = the_lab.dcops("lab", "down", "--yes")
        assert down.returncode == 0, down.stderr
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert the_lab.prefix not in left
        assert str(the_lab.site) not in Path("/proc/self/mountinfo").read_text()


def test_lab_up_again_changes_nothing_and_status_shows_every_host(lab: Lab) -> None:
    again = lab.dcops("lab", "up")
    assert again.returncode == 0 and "already up, 7 hosts — nothing to do" in again.stdout
    status = lab.dcops("lab", "status", "-o", "json")
    rows = json.loads(status.stdout)
    assert {r["name"] for r in rows if r["ssh"]} == {
        "spine-1", "spine-2", "leaf-1", "leaf-2", "srv-1", "backup-1", "mgmt-1",
    }  # fmt: skip
    assert lab.on("leaf-1", "hostname").stdout.strip() == "leaf-1"
    # A host is a machine with a machine's modes, whatever umask dcops keeps for its own state:
    # daemons that drop to their own user (chronyd, snmpd) must reach / and run programs.
    assert lab.on("leaf-1", "stat -c %a /").stdout.strip() == "755"
    assert lab.on("leaf-1", "su -s /bin/sh nobody -c 'echo ran'").stdout.strip() == "ran"


def test_check_mode_reports_changes_but_makes_none(lab: Lab) -> None:
    done = lab.dcops("configure", "network", "--lab", "--check", "-o", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _changed(done.stdout) > 0
    assert not (lab.root("srv-1") / "etc" / "chrony" / "chrony.conf").read_text().count("ntp1.gdc")
    assert lab.probe("backup-1", "10.10.0.31", 22) == "open"  # no firewall yet


def test_network_playbook_applies_and_its_effects_show(lab: Lab) -> None:
    done = lab.dcops("configure", "network", "--lab", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "configure network on the lab: ok" in done.stdout
    chrony = (lab.root("srv-1") / "etc" / "chrony" / "chrony.conf").read_text()
    assert "server ntp1.gdc.example.gov.cn iburst" in chrony
    assert "server ntp2.gdc.example.gov.cn iburst" in chrony
    resolv = (lab.root("leaf-2") / "etc" / "resolv.conf").read_text().splitlines()
    assert "nameserver 10.10.0.53" in resolv and "search gdc.example.gov.cn" in resolv
    assert (
        "10.10.0.41 backup-1.gdc.example.gov.cn backup-1"
        in (lab.root("mgmt-1") / "etc" / "hosts").read_text()
    )


def test_firewall_allows_only_the_declared_sources_and_ports(lab: Lab) -> None:
    assert lab.probe("mgmt-1", "10.10.0.31", 22) == "open"  # ssh from management
    assert lab.probe("backup-1", "10.10.0.31", 22) == "dropped"  # ssh from elsewhere
    assert lab.probe("srv-1", "10.10.0.41", 22) == "open"  # sftp from the servers to backup
    assert lab.probe("mgmt-1", "10.10.0.21", 179) == "dropped"  # bgp only from the fabric
    assert lab.probe("spine-1", "10.255.0.1", 22) == "dropped"  # ssh not from the fabric
    # bgp from the fabric is allowed: the sessions come up (next test); a bare probe of port
    # 179 gets no answer because the peers sign their TCP segments (BGP password, RFC 2385)


def test_bgp_sessions_establish_and_loopbacks_are_reachable(lab: Lab) -> None:
    deadline = time.monotonic() + 60
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        out = lab.on("leaf-1", "vtysh -c 'show bgp ipv4 unicast summary json'").stdout
        summary = json.loads(out)
        peers = summary.get("peers") or summary.get("ipv4Unicast", {}).get("peers", {})
        states = {p: v.get("state", "") for p, v in peers.items()}
        routes = lab.on("leaf-1", "ip route show 10.255.3.12").stdout
        if states and set(states.values()) == {"Established"} and routes.strip():
            break
        time.sleep(1)
    assert states == {"10.255.0.0": "Established", "10.255.0.2": "Established"}
    ping = lab.on("leaf-1", "ping -c 2 -W 2 -I 10.255.3.11 10.255.3.12", check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert (
        lab.on("spine-2", "ping -c 1 -W 2 -I 10.255.3.2 10.255.3.11", check=False).returncode == 0
    )


def test_snmpv3_answers_the_right_credentials_only(lab: Lab) -> None:
    _, auth, priv = SNMP_USER
    right = lab.snmpget("mgmt-1", "10.10.0.31", auth, priv)
    assert right.returncode == 0, right.stderr
    assert 'STRING: "srv-1"' in right.stdout
    wrong = lab.snmpget("mgmt-1", "10.10.0.31", auth, "not-the-priv-pass")
    assert wrong.returncode != 0 and "srv-1" not in wrong.stdout
    elsewhere = lab.snmpget("backup-1", "10.10.0.31", auth, priv)  # not the monitoring source
    assert elsewhere.returncode != 0


def test_second_network_run_changes_nothing(lab: Lab) -> None:
    done = lab.dcops("configure", "network", "--lab", "--yes", "-o", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _changed(done.stdout) == 0, json.loads(done.stdout)["changed_tasks"]
    assert json.loads(done.stdout)["succeeded"] is True


def test_collect_configs_scrubs_secrets_and_shows_a_change_as_diff(lab: Lab) -> None:
    first = lab.dcops("configure", "collect-configs", "--lab", "-o", "json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert {d["host"]: d["status"] for d in report["devices"]} == {
        "spine-1": "new", "spine-2": "new", "leaf-1": "new", "leaf-2": "new",
    }  # fmt: skip
    repo = lab.site / ".dcops" / "configs"
    stored = (repo / "leaf-1.conf").read_text()
    assert "neighbor 10.255.0.0 password <removed>" in stored
    assert "lab-bgp-secret" not in "".join(p.read_text() for p in repo.glob("*.conf"))
    lab.on("leaf-2", "vtysh -c 'conf t' -c 'ip prefix-list DRILL seq 5 permit 10.20.0.0/16'")
    second = lab.dcops("configure", "collect-configs", "--lab")
    assert second.returncode == 0, second.stderr
    assert "│ leaf-2  │ changed   │ 2" in second.stdout
    assert "+ip prefix-list DRILL seq 5 permit 10.20.0.0/16" in second.stdout
    assert "collect-configs: 4 devices, 1 changed" in second.stdout
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--oneline"], capture_output=True, text=True
    ).stdout
    assert len(log.splitlines()) == 2


def test_backup_then_restore_drill_brings_back_the_right_contents(lab: Lab) -> None:
    done = lab.dcops("configure", "backup", "--lab", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (lab.root("backup-1") / "srv" / "restic" / "srv-1" / "config").is_file()
    cron = (lab.root("srv-1") / "etc" / "cron.d" / "dcops-backup").read_text()
    assert "30 2 * * * root /usr/local/sbin/dcops-backup" in cron
    lab.on("srv-1", "mkdir -p /srv/data && echo 'first version' > /srv/data/report.txt")
    lab.on(
        "srv-1",
        "sqlite3 /srv/data/app.db 'create table permits(id); insert into permits values(42)'",
    )
    lab.on("srv-1", "/usr/local/sbin/dcops-backup")
    lab.on("srv-1", "echo 'second version' > /srv/data/report.txt")
    lab.on("srv-1", "/usr/local/sbin/dcops-backup")
    dump = lab.root("srv-1") / "var" / "backups" / "dcops" / "app.sql"
    assert "INSERT INTO permits VALUES(42);" in dump.read_text()  # the pre-backup hook ran
    drill = lab.dcops("configure", "backup-verify", "--lab", "--yes")
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert (
        "restore drill srv-1: snapshot" in drill.stdout
        and "checksums ok, restic check ok" in drill.stdout
    )
    restored = (
        lab.root("srv-1") / "var" / "tmp" / "dcops-restore-drill" / "srv" / "data" / "report.txt"
    )
    expected = hashlib.sha256(b"second version\n").hexdigest()
    assert hashlib.sha256(restored.read_bytes()).hexdigest() == expected
    snapshots = json.loads(lab.on("srv-1", "/usr/local/sbin/dcops-restic snapshots --json").stdout)
    assert len(snapshots) == 1  # keep-daily: two backups of the same day keep one snapshot


def test_restore_drill_fails_when_a_restored_file_differs(lab: Lab) -> None:
    manifest = "/var/lib/dcops-backup/manifest.sha256"
    lab.on("srv-1", f"sed -i '1s/^......../deadbeef/' {manifest}")  # as if a file came back wrong
    lab.on(
        "srv-1",
        "/usr/local/sbin/dcops-restic backup --quiet --tag dcops --files-from "
        "/etc/dcops-backup/include --exclude-file /etc/dcops-backup/exclude",
    )
    drill = lab.dcops("configure", "backup-verify", "--lab", "--yes")
    lab.on("srv-1", "/usr/local/sbin/dcops-backup")  # a good snapshot again
    assert drill.returncode == 1
    assert "FAILED srv-1: Compare checksums" in drill.stdout


def test_second_backup_run_changes_nothing(lab: Lab) -> None:
    done = lab.dcops("configure", "backup", "--lab", "--yes", "-o", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _changed(done.stdout) == 0, json.loads(done.stdout)["changed_tasks"]


def test_a_backup_run_limited_to_the_backup_host_keeps_the_servers_keys(lab: Lab) -> None:
    allowed = lab.root("backup-1") / "srv" / "restic" / ".ssh" / "authorized_keys"
    before = allowed.read_text()
    assert before.count("backup-srv-1") == 1
    done = lab.dcops("configure", "backup", "--lab", "--yes", "--limit", "backup-1", "-o", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(_tally(done.stdout)) == {"backup-1"}
    assert _changed(done.stdout) == 0, json.loads(done.stdout)["changed_tasks"]
    assert allowed.read_text() == before
    lab.on("srv-1", "/usr/local/sbin/dcops-backup")  # srv-1 still reaches its repository


def test_lab_changes_and_config_collections_are_in_the_audit_journal(lab: Lab) -> None:
    log = json.loads(lab.dcops("audit", "log", "-o", "json").stdout)
    actions = [op["action"] for op in log]
    assert actions[0] == "lab.up" and log[0]["object"] == f"lab/{lab.prefix}"
    assert log[0]["details"]["hosts"] and log[0]["status"] == "success"
    collections = [op for op in log if op["action"] == "configure.collect-configs"]
    assert len(collections) == 2 and collections[1]["details"]["changed"] == 1
    assert "configure.backup" in actions and "configure.network" in actions


def test_unreachable_host_is_reported_while_the_others_complete(lab: Lab) -> None:
    pids = subprocess.run(
        ["ip", "netns", "pids", lab.ns("backup-1")], capture_output=True, text=True
    ).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a short-lived process already gone
            os.kill(int(pid), 9)
    done = lab.dcops(
        "configure", "network", "--lab", "--yes", "--limit", "srv-1,backup-1", "-o", "json"
    )
    assert done.returncode == 1
    hosts = _tally(done.stdout)
    assert hosts["backup-1"]["unreachable"] == 1
    assert hosts["srv-1"]["failed"] == 0 and hosts["srv-1"]["ok"] > 10
    artifacts = Path(json.loads(done.stdout)["artifacts"])
    assert (artifacts / "artifacts").is_dir()
