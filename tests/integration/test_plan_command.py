"""`dcops plan` and `dcops provision` end to end through the installed console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunDcops

SAMPLE = "inventory/requests/fgw-production.yml"


def test_plan_all_passes_and_second_run_shows_no_changes(dcops: RunDcops, site_dir: Path) -> None:
    first = dcops("plan", "--all")
    assert first.returncode == 0, first.stderr
    assert (
        "Plan fgw-production — inventory/requests/fgw-production.yml\n"
        "60 resources: 51 cloud resources in 9 components" in first.stdout
    )
    assert "changes: first plan of fgw-production; 60 to add" in first.stdout  # counts agree
    assert "offline allocation, for planning only" in first.stdout
    assert "changes: first plan of wjw-staging" in first.stdout
    assert "policies: 7 of 7 pass" in first.stdout
    assert "└──" not in first.stdout and "(--tree lists each one)" in first.stdout
    assert first.stdout.rstrip().endswith("plan: 2 stacks, pass")
    again = dcops("plan", "--all", "--output", "json")
    data = json.loads(again.stdout)
    assert data["ok"] is True
    assert [t["tenancy"] for t in data["tenancies"]] == ["fgw-production", "wjw-staging"]
    assert all(
        t["diff"]["against"] == "planned" and not t["diff"]["added"] for t in data["tenancies"]
    )
    fgw = data["tenancies"][0]
    assert fgw["allocation"] == "offline"
    connection = next(
        r for r in fgw["resources"] if r["name"] == "fgw-production-vpn-hq-connection"
    )
    assert connection["inputs"]["psk"] == "[secret]"
    journal = list((site_dir / ".dcops").rglob("*journal*"))
    assert journal, "the plan is recorded in the audit journal"


def test_plan_markdown_for_a_change_ticket(dcops: RunDcops) -> None:
    done = dcops("plan", "fgw-production", "-o", "markdown")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("## Plan `fgw-production` (fgw)")
    assert "| vpn-crypto-minimum | pass |  |" in done.stdout


def test_policy_violation_exits_1_and_names_the_rule(dcops: RunDcops, site_dir: Path) -> None:
    sample = site_dir / SAMPLE
    text = sample.read_text()
    sample.write_text(text.replace("port: 22, from: 10.10.0.0/16", "port: 22, from: 0.0.0.0/0"))
    done = dcops("plan", SAMPLE)
    assert done.returncode == 1, done.stderr
    assert "no-admin-port-to-world │ FAIL" in done.stdout
    assert "administrative port(s) [22] open to the world" in done.stdout
    assert "plan: 1 stacks, FAIL" in done.stdout
    logged = json.loads(
        dcops("audit", "log", "--object", "tenancy/fgw-production", "-o", "json").stdout
    )
    (planned,) = [op for op in logged if op["action"] == "plan"]
    assert planned["status"] == "failure"  # a plan that breaks a policy is not a success
    assert planned["error"] == "policy violations: fgw-production: no-admin-port-to-world"


def test_bad_request_exits_2_naming_the_field_and_keeps_state(
    dcops: RunDcops, site_dir: Path
) -> None:
    sample = site_dir / SAMPLE
    sample.write_text(sample.read_text().replace("flavor: c2.m4", "flavor: c99.m1"))
    done = dcops("plan", SAMPLE)
    assert done.returncode == 2
    assert "compute[0].flavor" in done.stderr and "c99.m1" in done.stderr
    assert not (site_dir / ".dcops" / "stacks").exists()
    unknown = dcops("plan", "nosuch")
    assert unknown.returncode == 2
    assert "no request file or tenancy named 'nosuch'" in unknown.stderr
    assert dcops("plan").returncode == 2


def test_provision_needs_ops_and_the_pulumi_cli(
    dcops: RunDcops, site_dir: Path, tmp_path: Path
) -> None:
    denied = dcops("provision", "fgw-production", user="wanglei")
    assert denied.returncode == 2
    assert "dcops provision needs the ops role" in denied.stderr
    empty = tmp_path / "no-pulumi"
    empty.mkdir()
    # No engine beside the interpreter (DCOPS_ENGINE_DIR replaces the venv's bin) nor on PATH.
    no_cli = {"PATH": f"{empty}:/usr/bin:/bin", "DCOPS_ENGINE_DIR": str(empty)}
    missing = dcops("provision", "fgw-production", "--yes", env=no_cli)
    assert missing.returncode == 2, missing.stderr
    assert "the `pulumi` CLI is neither in" in missing.stderr
    assert "scripts/install-engine.sh" in missing.stderr
    assert "`dcops plan` works without it" in missing.stderr
    for argv in (
        ("destroy", "fgw-production", "--yes"),
        ("refresh", "fgw-production"),
        ("provision", "--platform", "--yes"),
        ("refresh", "--platform"),
    ):
        done = dcops(*argv, env=no_cli)
        assert done.returncode == 2, (argv, done.stderr)
        assert "the `pulumi` CLI is neither in" in done.stderr, argv
    assert not (site_dir / ".dcops" / "stacks").exists()


def test_provision_names_one_stack(dcops: RunDcops) -> None:
    for argv in (("provision",), ("provision", "--platform", "fgw-production"), ("destroy",)):
        done = dcops(*argv)
        assert done.returncode == 2, argv
        assert "name one stack: a REQUEST (file, ID or tenancy name), or --platform" in done.stderr


def test_the_platform_is_not_destroyed_under_live_tenancies(
    dcops: RunDcops, site_dir: Path
) -> None:
    from dcops.core.loader import load_site
    from dcops.stacks import snapshot

    site = load_site(site_dir)
    live = {"urn:pulumi:fgw-production::dcops::dcops:stack:Tenancy::fgw-production": {}}
    snapshot.save(site, "fgw-production", snapshot.APPLIED, live)
    snapshot.save(site, "wjw-staging", snapshot.APPLIED, {})  # provisioned, then destroyed
    assert snapshot.live_stacks(site) == ["fgw-production"]
    done = dcops("destroy", "--platform", "--yes")
    assert done.returncode == 2, done.stderr
    assert "shared by 1 provisioned tenancy stacks (fgw-production)" in done.stderr
    assert "destroy those first" in done.stderr
