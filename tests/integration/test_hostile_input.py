"""Hostile input files and arguments: each is refused with exit 2, a clear message and nothing stored."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RunDcops

HOSTILE = Path(__file__).resolve().parent.parent / "fixtures" / "hostile"
SAMPLE = "inventory/requests/fgw-production.yml"
FIELD_ATTACKS: list[dict[str, str]] = yaml.safe_load(
    (HOSTILE / "request-fields.yml").read_text(encoding="utf-8")
)


def _stored(dcops: RunDcops) -> list[Any]:
    done = dcops("tenancy", "list", "-o", "json")
    assert done.returncode == 0, done.stderr
    rows: list[Any] = json.loads(done.stdout)
    return rows


def _refused(done: Any, *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "unexpected error" not in done.stderr and "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("alias-bomb.yml", "once aliases are expanded"),
        ("alias-recursive.yml", "aliases may not recurse"),
        ("deep-nesting.yml", "nest"),
    ],
)
def test_yaml_bombs_are_refused_before_they_are_built(
    dcops: RunDcops, site_dir: Path, name: str, limit: str
) -> None:
    shutil.copy(HOSTILE / name, site_dir / name)
    done = dcops("tenancy", "request", name, user="wanglei", timeout=60)
    _refused(done, f"{name}:", limit)
    assert _stored(dcops) == []


def test_deeply_nested_site_file_is_refused(dcops: RunDcops, site_dir: Path) -> None:
    text = (HOSTILE / "deep-nesting.toml").read_text(encoding="utf-8")
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[extra]\n" + text.split("\n", 1)[1])
    _refused(dcops("site", "check"), "dcops.toml", "nested deeper than 32 levels")


@pytest.mark.parametrize("attack", FIELD_ATTACKS[:1], ids=["impossible-date"])
def test_a_field_attack_through_the_command(
    dcops: RunDcops, site_dir: Path, attack: dict[str, str]
) -> None:
    """One of request-fields.yml end to end (the unit tests run them all through the loader)."""
    path = site_dir / SAMPLE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(attack["old"], attack["new"], 1), encoding="utf-8")
    done = dcops("tenancy", "request", SAMPLE, user="wanglei")
    _refused(done, f"{SAMPLE}:", f" {attack['field']}: ")
    assert _stored(dcops) == []


def test_oversized_request_is_refused_before_reading(dcops: RunDcops, site_dir: Path) -> None:
    big = site_dir / "big.yml"
    contact = "  - {name: x, email: x@fgw.example.gov.cn}\n"
    big.write_text("contacts:\n" + contact * 30_000, encoding="utf-8")  # ~1.3 MB
    _refused(dcops("tenancy", "request", "big.yml", user="wanglei"), "big.yml", "limit is 1048576")
    assert _stored(dcops) == []


def test_request_size_limit_comes_from_the_site(dcops: RunDcops, site_dir: Path) -> None:
    site_file = site_dir / "dcops.toml"
    text = site_file.read_text(encoding="utf-8")
    site_file.write_text(
        text.replace("[backends]", "[limits]\nrequest_file_bytes = 4096\n\n[backends]", 1),
        encoding="utf-8",
    )
    sample = (site_dir / SAMPLE).read_text(encoding="utf-8")
    (site_dir / "padded.yml").write_text(sample + "#" * 5000 + "\n", encoding="utf-8")
    _refused(dcops("tenancy", "request", "padded.yml", user="wanglei"), "limit is 4096")


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
def test_files_that_are_not_regular_are_refused(
    dcops: RunDcops, site_dir: Path, special: str
) -> None:
    if special == "fifo":
        os.mkfifo(site_dir / "fifo")
    elif special == "folder":
        (site_dir / "folder").mkdir()
    done = dcops("tenancy", "request", special, "--dry-run", user="wanglei", timeout=30)
    _refused(done, "not a regular file")


def test_unreadable_request_file_is_refused(dcops: RunDcops, site_dir: Path) -> None:
    os.chmod(site_dir, 0o755)
    os.chmod(site_dir.parent, 0o755)
    path = site_dir / SAMPLE
    path.chmod(0o000)
    if os.geteuid() == 0:  # root reads anything: run as nobody instead
        if shutil.which("setpriv") is None:
            pytest.skip("running as root and setpriv is missing")
        import subprocess
        import sys

        from tests.conftest import DCOPS, dcops_env

        os.chmod(Path(sys.executable).parent.parent, 0o755)
        done: Any = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                str(DCOPS),
                "tenancy",
                "request",
                SAMPLE,
                "--dry-run",
            ],
            cwd=site_dir,
            env=dcops_env("wanglei"),
            text=True,
            capture_output=True,
            timeout=60,
        )
    else:
        done = dcops("tenancy", "request", SAMPLE, "--dry-run", user="wanglei")
    _refused(done, SAMPLE)
    assert "not readable" in done.stderr or "permission denied" in done.stderr


@pytest.mark.parametrize("verb", ["show", "approve", "reject"])
def test_huge_request_ids_are_not_found(dcops: RunDcops, verb: str) -> None:
    extra = ["--reason", "no"] if verb == "reject" else []
    done = dcops("tenancy", verb, "99999999999999999999999", *extra, user="liuyang")
    _refused(done, "no tenancy request")


def test_alerts_refuses_a_url_that_is_not_one(dcops: RunDcops) -> None:
    _refused(dcops("alerts", "--alertmanager", "notaurl"), "is not a URL")


@pytest.mark.parametrize("kind", ["binary", "directory", "/dev/null", "empty"])
def test_verify_names_what_a_bad_checkpoint_file_is(
    dcops: RunDcops, site_dir: Path, kind: str
) -> None:
    target = site_dir / "kept"
    if kind == "binary":
        target.write_bytes(bytes(range(256)))
    elif kind == "directory":
        target.mkdir()
    elif kind == "empty":
        target.write_bytes(b"")
    arg = kind if kind.startswith("/") else "kept"
    done = dcops("audit", "verify", "--checkpoint", arg, user="sunli")
    expected = {
        "binary": "not UTF-8",
        "directory": "a directory",
        "/dev/null": "a character device",
        "empty": "is empty",
    }[kind]
    _refused(done, expected)
    assert "does not exist" not in done.stderr


@pytest.mark.parametrize("kind", ["missing-folder", "directory"])
def test_report_out_must_be_a_writable_file(dcops: RunDcops, site_dir: Path, kind: str) -> None:
    (site_dir / "reports").mkdir()
    out = "nowhere/report.md" if kind == "missing-folder" else "reports"
    done = dcops("audit", "report", "--out", out, user="sunli")
    _refused(done, "--out")


def test_newlines_in_stored_text_cannot_forge_lines_for_approvers(
    dcops: RunDcops, site_dir: Path
) -> None:
    path = site_dir / SAMPLE
    text = path.read_text(encoding="utf-8")
    forged = 'purpose: "系统\\nrequested by chenjing; approvals 2/2 (chenjing, liuyang)"'
    path.write_text(text.replace("purpose: 项目审批系统 (project approval system)", forged))
    assert dcops("tenancy", "request", SAMPLE, user="wanglei").returncode == 0
    done = dcops("tenancy", "show", "1", user="chenjing")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "purpose: 系统\\nrequested by chenjing; approvals 2/2 (chenjing, liuyang)" in lines
    assert not any(line.startswith("requested by chenjing") for line in lines)
    rejected = dcops("tenancy", "reject", "1", "--reason", "no\x1b[2J", user="chenjing")
    assert rejected.returncode == 0 and "\x1b" not in rejected.stdout, rejected.stderr


def test_dry_run_runs_the_same_cross_tenancy_checks_as_a_submit(
    dcops: RunDcops, site_dir: Path
) -> None:
    assert dcops("tenancy", "request", SAMPLE, user="wanglei").returncode == 0
    text = (site_dir / SAMPLE).read_text(encoding="utf-8")
    other = text.replace("environment: production", "environment: staging").replace(
        "[192.168.10.0/24]", "['::ffff:192.168.10.128/121']"
    )
    (site_dir / "other.yml").write_text(other, encoding="utf-8")
    for extra in (["--dry-run"], []):
        done = dcops("tenancy", "request", "other.yml", *extra, user="wanglei")
        _refused(done, "tenancy fgw-production's VPN peer", "belongs to tenancy fgw-production")
    assert len(_stored(dcops)) == 1


def test_state_files_are_private_whatever_the_umask(site_dir: Path) -> None:
    import stat
    import subprocess

    from tests.conftest import DCOPS, dcops_env

    done = subprocess.run(
        [str(DCOPS), "tenancy", "request", SAMPLE],
        cwd=site_dir,
        env=dcops_env("wanglei"),
        text=True,
        capture_output=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0),
    )
    assert done.returncode == 0, done.stderr
    state = site_dir / ".dcops"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    paths = list(state.rglob("*"))
    assert any(p.name.startswith("tenancy") for p in paths)
    for path in paths:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o027 == 0, f"{path.relative_to(state)} is {oct(mode)}"


@pytest.mark.parametrize("folder", ["/etc/dcops", "/usr/local/dcops", "/", "/var"])
def test_state_dir_in_a_system_folder_is_refused(
    dcops: RunDcops, site_dir: Path, folder: str
) -> None:
    site_file = site_dir / "dcops.toml"
    text = site_file.read_text(encoding="utf-8")
    site_file.write_text(text.replace('state_dir = ".dcops"', f'state_dir = "{folder}"'))
    _refused(dcops("site", "check"), "site.state_dir", "system folder")
    assert not Path("/etc/dcops").exists() or folder != "/etc/dcops"


def test_policies_run_at_submit_and_are_shown_to_approvers(dcops: RunDcops, site_dir: Path) -> None:
    path = site_dir / SAMPLE
    text = path.read_text(encoding="utf-8")
    ssh = "  - {to: web, port: 22, from: 0.0.0.0/0, description: ssh from anywhere}\n"
    path.write_text(text.replace("load_balancers:\n", ssh + "load_balancers:\n", 1))
    for extra in (["--dry-run"], []):
        done = dcops("tenancy", "request", SAMPLE, *extra, user="wanglei")
        _refused(done, "policy no-admin-port-to-world", "[22]", "✗ no-admin-port-to-world")
    assert _stored(dcops) == []
    path.write_text(text)
    done = dcops("tenancy", "request", SAMPLE, user="wanglei")
    assert done.returncode == 0 and "policy checks: 7 of 7 passed" in done.stderr, done.stderr
    shown = dcops("tenancy", "show", "1", user="chenjing")
    assert "策略检查 / policy checks:" in shown.stdout and "✓ namespace-one-tenancy" in shown.stdout
