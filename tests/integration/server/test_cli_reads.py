"""The read commands through a real `dcops serve`: the server decides what each person sees.

The people run the CLI in a copy of the site that names the server and holds no state of its
own, so whatever they see came from the server's store and journal.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import copy_site
from tests.integration.server.live_server import LiveServer
from tests.integration.server.test_cli_client import REQUEST, Person, name_server

pytestmark = pytest.mark.integration

ANOTHER = "无权查看其他委办局的申请 / request #{} belongs to another department"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with two departments' people and an auditor; one fgw request submitted."""
    site = copy_site(tmp_path_factory.mktemp("reads") / "site")
    live = LiveServer(site)
    name_server(site, live.url)
    live.start()
    try:
        live.account("wanglei", second_factor=False)
        live.account("lina", second_factor=False)
        live.account("sunli", second_factor=True)
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def elsewhere(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The people's own copy of the site: it names the server and its CA, and has no state."""
    site = copy_site(tmp_path_factory.mktemp("desk") / "site")
    name_server(site, server.url, f'server_ca = "{server.ca}"')
    return site


@pytest.fixture(scope="module")
def people(
    server: LiveServer, elsewhere: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Person]:
    """wanglei (fgw), lina (wjw) and sunli (auditor), each logged in; wanglei has submitted."""
    home = tmp_path_factory.mktemp("homes")
    found = {name: Person(server, name, home / name) for name in ("wanglei", "lina", "sunli")}
    for person in found.values():
        done = person.login(site=elsewhere)
        assert done.returncode == 0, done.stderr
    submitted = found["wanglei"].run("tenancy", "request", str(REQUEST), site=elsewhere)
    assert submitted.returncode == 0, submitted.stderr
    return found


def test_a_department_lists_its_own_requests_from_the_server(
    people: dict[str, Person], elsewhere: Path
) -> None:
    mine = people["wanglei"].run("tenancy", "list", "--output", "json", site=elsewhere)
    assert mine.returncode == 0, mine.stderr
    rows = json.loads(mine.stdout)
    assert [(r["name"], r["department"], r["state"]) for r in rows] == [
        ("fgw-production", "fgw", "submitted")
    ]
    table = people["wanglei"].run("tenancy", "list", site=elsewhere)
    assert table.returncode == 0, table.stderr
    assert "fgw-production" in table.stdout and "submitted" in table.stdout
    assert not (elsewhere / ".dcops" / "tenancy.sqlite").exists()  # nothing read locally

    theirs = people["lina"].run("tenancy", "status", site=elsewhere)
    assert theirs.returncode == 0, theirs.stderr
    assert "no tenancy requests yet" in theirs.stdout and "fgw" not in theirs.stdout


def test_a_department_sees_its_request_in_full(people: dict[str, Person], elsewhere: Path) -> None:
    done = people["wanglei"].run("tenancy", "show", "fgw-production", site=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "request #1 fgw-production — submitted (new tenancy), department fgw" in done.stdout
    assert "requested by wanglei" in done.stdout
    assert "策略检查 / policy checks:" in done.stdout
    status = people["wanglei"].run("tenancy", "status", site=elsewhere)
    assert "#1 fgw-production [fgw]: submitted — waiting for approval" in status.stdout


def test_another_department_is_refused_with_a_bilingual_message(
    server: LiveServer, people: dict[str, Person], elsewhere: Path
) -> None:
    refused = people["lina"].run("tenancy", "show", "1", site=elsewhere)
    assert refused.returncode == 2
    assert ANOTHER.format(1) in refused.stderr
    assert "fgw-production" not in refused.stdout + refused.stderr
    asked = people["lina"].run("tenancy", "list", "--department", "fgw", site=elsewhere)
    assert asked.returncode == 2
    assert "无权查看其他委办局 / user 'lina' may only see department wjw" in asked.stderr
    denied = [
        e for e in server.journal() if e["action"] == "auth.denied" and e["actor"]["user"] == "lina"
    ]
    assert denied, "the refusal is in the journal"


def test_addresses_and_notifications_are_the_servers_to_refuse(
    people: dict[str, Person], elsewhere: Path
) -> None:
    ipam = people["wanglei"].run("ipam", "show", site=elsewhere)
    assert ipam.returncode == 2
    assert "needs the ops or approver or auditor role; user 'wanglei' has department:fgw" in (
        ipam.stderr
    )
    pools = people["sunli"].run("ipam", "show", "--output", "json", site=elsewhere)
    assert pools.returncode == 0, pools.stderr
    assert {p["pool"] for p in json.loads(pools.stdout)["pools"]}
    notes = people["wanglei"].run("tenancy", "notifications", site=elsewhere)
    assert notes.returncode == 2 and "needs the ops or approver role" in notes.stderr
    deliver = people["sunli"].run("tenancy", "notifications", "--deliver", site=elsewhere)
    assert deliver.returncode == 2 and "dcops serve delivers notifications itself" in deliver.stderr


def test_an_auditor_reads_the_servers_journal(people: dict[str, Person], elsewhere: Path) -> None:
    sunli = people["sunli"]
    log = sunli.run("audit", "log", "--action", "tenancy", "--output", "json", site=elsewhere)
    assert log.returncode == 0, log.stderr
    submits = [op for op in json.loads(log.stdout) if op["action"] == "tenancy.submit"]
    assert [(op["user"], op["object"], op["status"]) for op in submits] == [
        ("wanglei", "tenancy/fgw-production", "success")
    ]
    table = sunli.run("audit", "log", "--actor", "wanglei", site=elsewhere)
    assert table.returncode == 0, table.stderr
    assert "tenancy.submit" in table.stdout and "operations" in table.stdout

    verified = sunli.run("audit", "verify", site=elsewhere)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("audit verify: ok — ")

    ident = str(submits[0]["id"])
    shown = sunli.run("audit", "show", ident, "--output", "json", site=elsewhere)
    assert shown.returncode == 0, shown.stderr
    event = json.loads(shown.stdout)["event"]
    assert event["id"] == int(ident) and event["actor"]["user"] == "wanglei"

    report = sunli.run("audit", "report", "--format", "csv", site=elsewhere)
    assert report.returncode == 0, report.stderr
    assert "tenancy.submit" in report.stdout and "fgw-production" in report.stdout

    every = sunli.run("audit", "verify", "--all-signatures", "--output", "json", site=elsewhere)
    assert every.returncode == 0, every.stderr
    assert json.loads(every.stdout)["ok"] is True


def test_an_auditor_proves_the_servers_journal_with_a_kept_checkpoint(
    server: LiveServer, people: dict[str, Person], elsewhere: Path, tmp_path: Path
) -> None:
    sunli = people["sunli"]
    key = tmp_path / "signing.pub"  # the auditor's own copy of the public key
    shutil.copy(server.site / ".dcops" / "audit" / "signing.pub", key)
    signed = sunli.run("audit", "checkpoint", site=elsewhere)
    assert signed.returncode == 0, signed.stderr
    kept = tmp_path / "kept-checkpoint.json"
    kept.write_text(signed.stdout, encoding="utf-8")
    size = json.loads(signed.stdout)["size"]
    assert people["lina"].login(site=elsewhere).returncode == 0  # the journal grows
    newer = sunli.run("audit", "checkpoint", site=elsewhere)
    assert json.loads(newer.stdout)["size"] > size

    done = sunli.run(
        "audit", "verify", "--checkpoint", str(kept), "--key", str(key), site=elsewhere
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("audit verify: ok — ")
    assert f"checked here: kept checkpoint {kept}#1 (size {size}, " in done.stdout
    assert "is consistent with it" in done.stdout
    assert not (elsewhere / ".dcops" / "audit").exists()  # nothing was checked locally

    from dcops.audit.checkpoint import Checkpoint, load_or_create_key, public_pem, sign

    mine = Checkpoint.from_dict(json.loads(signed.stdout), "kept")
    other = load_or_create_key(tmp_path / "other.key")
    impostor = tmp_path / "impostor.json"
    impostor.write_text(
        json.dumps(sign(other, mine.origin, mine.size, mine.root, mine.prev).as_dict()),
        encoding="utf-8",
    )
    forged = sunli.run(
        "audit", "verify", "--checkpoint", str(impostor), "--key", str(key), site=elsewhere
    )
    assert forged.returncode == 1
    assert f"checkpoint {impostor}#1 (size {size}" in forged.stderr
    assert "signed by another key" in forged.stderr
    wrong = tmp_path / "other.pub"
    wrong.write_text(public_pem(other.public_key()), encoding="utf-8")
    distrusted = sunli.run(
        "audit", "verify", "--checkpoint", str(kept), "--key", str(wrong), site=elsewhere
    )
    assert distrusted.returncode == 1
    assert "the server's newest checkpoint" in distrusted.stderr

    broken = tmp_path / "broken.json"
    broken.write_text("not a checkpoint\n", encoding="utf-8")
    bad = sunli.run("audit", "verify", "--checkpoint", str(broken), site=elsewhere)
    assert bad.returncode == 2 and f"{broken}:1: not JSON" in bad.stderr

    proved = sunli.run(
        "audit", "prove", "0", "--checkpoint", str(kept), "--key", str(key), site=elsewhere
    )
    assert proved.returncode == 0, proved.stderr
    assert f"event 0 is leaf 0 of the tree of {size} events" in proved.stdout
    assert f"root: {json.loads(signed.stdout)['root']}" in proved.stdout
    bundle = sunli.run("audit", "prove", "0", "--checkpoint", str(kept), "-o", "json",
                       site=elsewhere)  # fmt: skip
    assert json.loads(bundle.stdout)["tree_size"] == size
    not_signed = sunli.run(
        "audit", "prove", "0", "--checkpoint", str(impostor), "--key", str(key), site=elsewhere
    )
    assert not_signed.returncode == 1
    assert "is not signed by the trusted key" in not_signed.stderr
    distrusting = sunli.run(
        "audit", "prove", "0", "--checkpoint", str(kept), "--key", str(wrong), site=elsewhere
    )
    assert distrusting.returncode == 1 and "forged or from another log" in distrusting.stderr
    beyond = sunli.run("audit", "prove", str(size), "--checkpoint", str(kept), site=elsewhere)
    assert beyond.returncode == 2 and f"newer than the checkpoint of size {size}" in beyond.stderr
    assert not (elsewhere / ".dcops" / "audit").exists()  # proved by the server, checked here
    refused = people["wanglei"].run("audit", "prove", "0", "--checkpoint", str(kept),
                                    site=elsewhere)  # fmt: skip
    assert refused.returncode == 2 and "权限不足 / POST /api/v1/audit/proof/" in refused.stderr


def test_plan_results_come_from_the_server_which_decides_who_sees_them(
    server: LiveServer, people: dict[str, Person], elsewhere: Path
) -> None:
    mine = people["wanglei"].run("plan", "fgw-production", "--output", "json", site=elsewhere)
    assert mine.returncode == 0, mine.stderr
    report = json.loads(mine.stdout)
    [tenancy] = report["tenancies"]
    assert report["ok"] is True and tenancy["tenancy"] == "fgw-production"
    assert tenancy["summary"]["resources"] > 10 and tenancy["verdicts"]
    table = people["sunli"].run("plan", "1", "--tree", site=elsewhere)
    assert table.returncode == 0, table.stderr
    assert "fgw-production" in table.stdout and "plan: 1 stacks, pass" in table.stdout
    assert not (elsewhere / ".dcops" / "stacks").exists()  # nothing planned or saved here

    theirs = people["lina"].run("plan", "fgw-production", site=elsewhere)
    assert theirs.returncode == 2
    assert ANOTHER.format(1) in theirs.stderr and "resources" not in theirs.stdout
    denied = [
        e for e in server.journal()
        if e["action"] == "auth.denied" and e["actor"]["user"] == "lina"
        and "plan" in json.dumps(e, ensure_ascii=False)
    ]  # fmt: skip
    assert denied, "the refusal is in the journal"
    a_file = people["wanglei"].run("plan", str(REQUEST), site=elsewhere)
    assert a_file.returncode == 2 and "dcops tenancy request FILE --dry-run" in a_file.stderr
    approved = people["sunli"].run("plan", "--all", site=elsewhere)  # only a submitted one
    assert approved.returncode == 2
    assert "the server holds no approved request you may see" in approved.stderr


def test_a_department_may_not_read_the_journal(people: dict[str, Person], elsewhere: Path) -> None:
    for args in (("audit", "log"), ("audit", "verify"), ("audit", "show", "0")):
        done = people["wanglei"].run(*args, site=elsewhere)
        assert done.returncode == 2, args
        assert "权限不足 / GET /api/v1/audit/" in done.stderr
        assert "needs the auditor or ops role" in done.stderr


def test_the_site_is_data_for_anyone_logged_in_and_for_nobody_else(
    server: LiveServer, people: dict[str, Person]
) -> None:
    with server.client() as client:
        anonymous = client.get("/api/v1/site")
        assert anonymous.status_code == 401
        token = server.token("lina")
        shown = client.get("/api/v1/site", headers={"Authorization": f"Bearer {token}"})
    assert shown.status_code == 200, shown.text
    site = shown.json()
    assert site["config"]["site"]["name"] == "gdc"
    assert {r["name"] for r in site["rooms"]} and {d["name"] for d in site["devices"]}
