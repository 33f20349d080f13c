"""The CLI as a client of a real `dcops serve`: logins, tokens, and the server deciding who acts."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcops.server.certificates import loopback_certificate
from tests.conftest import DCOPS, REPO, copy_site, dcops_env
from tests.integration.server.live_server import NEW_PASSWORD, LiveServer

pytestmark = pytest.mark.integration

REQUEST = REPO / "inventory/requests/fgw-production.yml"
# Large enough that the fgw tier wants two approvers.
TWO_APPROVERS = REQUEST.read_text(encoding="utf-8").replace(
    "flavor: c2.m4, image: kylin-v10-sp3, count: 2",
    "flavor: c16.m64, image: kylin-v10-sp3, count: 2",
)
# Everyone runs with DCOPS_USER naming the ops engineer: the server must not believe it.
CLAIMED = "zhangwei"


def name_server(site: Path, url: str, extra: str = "") -> None:
    """Make the site's dcops.toml name the server (and anything else given) under [identity]."""
    toml = site / "dcops.toml"
    text = toml.read_text(encoding="utf-8")
    marker = '# server = "https://127.0.0.1:8443"'
    assert marker in text
    toml.write_text(text.replace(marker, f'server = "{url}"\n{extra}'), encoding="utf-8")


class Person:
    """One person at their own terminal: their own config dir, so their own saved login."""

    def __init__(self, server: LiveServer, user: str, home: Path) -> None:
        self.server, self.user, self.home = server, user, home
        home.mkdir(parents=True, exist_ok=True)

    def run(
        self, *args: str, stdin: str | None = None, site: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed dcops as this person (with a misleading DCOPS_USER)."""
        return subprocess.run(
            [str(DCOPS), *args], cwd=site or self.server.site, input=stdin or "",
            env=dcops_env(CLAIMED, {"XDG_CONFIG_HOME": str(self.home)}),
            text=True, capture_output=True, timeout=180,
        )  # fmt: skip

    def login(self, *, site: Path | None = None) -> subprocess.CompletedProcess[str]:
        """`dcops login` with the password on stdin and, where the account has TOTP, a fresh code."""
        code = self.server.code(self.user)
        extra = ["--code", code] if code else []
        return self.run(
            "login", "--user", self.user, "--password-stdin", *extra, "--output", "json",
            stdin=NEW_PASSWORD + "\n", site=site,
        )  # fmt: skip

    def token_file(self) -> Path:
        """The one file `dcops login` saved for this person."""
        found = list((self.home / "dcops" / "tokens").glob("*.json"))
        assert len(found) == 1, found
        return found[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose site names it, with accounts for a department, two approvers and facility."""
    site = copy_site(tmp_path_factory.mktemp("client") / "site")
    live = LiveServer(site)
    name_server(site, live.url)
    live.start()
    try:
        live.account("wanglei", second_factor=False)
        live.account("chenjing", second_factor=True)
        live.account("liuyang", second_factor=True)
        live.account("zhaomin", second_factor=False)
        yield live
    finally:
        live.stop()


@pytest.fixture
def people(server: LiveServer, tmp_path: Path) -> dict[str, Person]:
    """Each person with a config dir of their own for this test."""
    names = ("wanglei", "chenjing", "liuyang", "zhaomin")
    return {name: Person(server, name, tmp_path / name) for name in names}


def test_without_a_login_the_cli_refuses_and_says_how(people: dict[str, Person]) -> None:
    done = people["chenjing"].run("tenancy", "approve", "1")
    assert done.returncode == 2
    assert "not logged in" in done.stderr and "dcops login" in done.stderr
    assert "DCOPS_USER" not in done.stderr


def test_login_keeps_a_private_token_and_the_server_says_who_you_are(
    people: dict[str, Person],
) -> None:
    wanglei = people["wanglei"]
    done = wanglei.login()
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["user"] == "wanglei" and shown["method"] == "password"
    path = wanglei.token_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    token = json.loads(path.read_text(encoding="utf-8"))["token"]
    assert token not in done.stdout + done.stderr
    me = wanglei.run("whoami", "--output", "json")
    assert me.returncode == 0, me.stderr
    data = json.loads(me.stdout)
    assert data["user"] == "wanglei" and data["roles"] == ["department:fgw"]  # not zhangwei


def test_a_wrong_password_is_refused_and_nothing_is_kept(people: dict[str, Person]) -> None:
    wanglei = people["wanglei"]
    done = wanglei.run("login", "--user", "wanglei", "--password-stdin", stdin="Wrong-pass-123\n")
    assert done.returncode == 2
    assert "wrong user name, password or code" in done.stderr
    assert "Wrong-pass-123" not in done.stderr
    assert not (wanglei.home / "dcops" / "tokens").exists()


def test_an_approver_needs_the_one_time_code(people: dict[str, Person]) -> None:
    chenjing = people["chenjing"]
    bare = chenjing.run("login", "--user", "chenjing", "--password-stdin", stdin=NEW_PASSWORD)
    assert bare.returncode == 2 and "one-time code" in bare.stderr
    done = chenjing.login()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["method"] == "password+totp"


def test_two_people_approve_through_the_server_and_the_journal_names_them(
    server: LiveServer, people: dict[str, Person], tmp_path: Path
) -> None:
    for person in people.values():
        assert person.login().returncode == 0
    request = tmp_path / "fgw-production.yml"
    request.write_text(TWO_APPROVERS, encoding="utf-8")
    submitted = people["wanglei"].run("tenancy", "request", str(request), "--output", "json")
    assert submitted.returncode == 0, submitted.stderr
    ident = str(json.loads(submitted.stdout)[0]["request_id"])

    refused = people["wanglei"].run("tenancy", "approve", ident)
    assert refused.returncode == 2 and "needs the approver role" in refused.stderr

    first = people["chenjing"].run("tenancy", "approve", ident, "--comment", "ok")
    assert first.returncode == 0, first.stderr
    assert f"request #{ident} fgw-production" in first.stdout

    twice = people["chenjing"].run("tenancy", "approve", ident)
    assert twice.returncode == 2
    assert f"chenjing has already approved request #{ident}" in twice.stderr

    second = people["liuyang"].run("tenancy", "approve", ident, "--output", "json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)[0]["to_state"] == "approved"

    gone = people["liuyang"].run("tenancy", "offboard", ident, "--yes", "--reason", "test over")
    assert gone.returncode == 0, gone.stderr
    assert "offboarded" in gone.stdout

    ours = [
        e for e in server.journal()
        if e["object"] == {"type": "tenancy", "id": "fgw-production"} and e["phase"] == "result"
        and e["result"]["status"] == "success"
    ]  # fmt: skip
    who = {(e["action"], e["actor"]["user"]) for e in ours}
    assert {
        ("tenancy.submit", "wanglei"),
        ("tenancy.approve", "chenjing"),
        ("tenancy.approve", "liuyang"),
        ("tenancy.offboard", "liuyang"),
    } <= who
    assert CLAIMED not in {user for _, user in who}
    approvals = [e for e in ours if e["action"] == "tenancy.approve"]
    assert all(e["actor"]["method"] == "password+totp" for e in approvals)


def test_bad_input_comes_back_with_the_file_the_line_and_exit_2(
    people: dict[str, Person], tmp_path: Path
) -> None:
    wanglei = people["wanglei"]
    assert wanglei.login().returncode == 0
    broken = tmp_path / "broken.yml"
    broken.write_text(
        REQUEST.read_text(encoding="utf-8").replace("environment: production", "environment: moon"),
        encoding="utf-8",
    )
    done = wanglei.run("tenancy", "request", str(broken))
    assert done.returncode == 2
    assert re.search(r"broken\.yml:\d+: environment:", done.stderr), done.stderr
    chenjing = people["chenjing"]
    assert chenjing.login().returncode == 0
    missing = chenjing.run("tenancy", "reject", "no-such-tenancy", "--reason", "x")
    assert missing.returncode == 2 and "no-such-tenancy" in missing.stderr


def test_facility_records_a_manual_change_under_their_own_name(
    server: LiveServer, people: dict[str, Person]
) -> None:
    zhaomin = people["zhaomin"]
    assert zhaomin.login().returncode == 0
    done = zhaomin.run(
        "audit", "record", "--action", "power-cycle", "--object", "device/ups-1",
        "--message", "UPS 1 重启 / restarted by the vendor",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "recorded manual.power-cycle on device/ups-1" in done.stdout
    events = [e for e in server.journal() if e["action"] == "manual.power-cycle"]
    assert events and {e["actor"]["user"] for e in events} == {"zhaomin"}


def test_an_expired_login_is_not_sent(people: dict[str, Person]) -> None:
    wanglei = people["wanglei"]
    assert wanglei.login().returncode == 0
    path = wanglei.token_file()
    saved = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**saved, "expires": 1000.0}), encoding="utf-8")
    done = wanglei.run("whoami")
    assert done.returncode == 2 and "expired" in done.stderr and "dcops login" in done.stderr
    assert not path.exists()


def test_a_token_file_others_can_read_is_refused(people: dict[str, Person]) -> None:
    wanglei = people["wanglei"]
    assert wanglei.login().returncode == 0
    wanglei.token_file().chmod(0o644)
    done = wanglei.run("whoami")
    assert done.returncode == 2 and "0644" in done.stderr and "0600" in done.stderr


def test_logout_revokes_the_token_on_the_server(
    server: LiveServer, people: dict[str, Person]
) -> None:
    wanglei = people["wanglei"]
    assert wanglei.login().returncode == 0
    token = json.loads(wanglei.token_file().read_text(encoding="utf-8"))["token"]
    done = wanglei.run("logout")
    assert done.returncode == 0, done.stderr
    assert "logged out" in done.stdout
    assert not list((wanglei.home / "dcops" / "tokens").glob("*.json"))
    with server.client() as client:
        refused = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    again = wanglei.run("logout")
    assert again.returncode == 0 and "not logged in" in again.stdout


def test_a_server_certificate_from_another_ca_is_not_trusted(
    server: LiveServer, people: dict[str, Person], tmp_path: Path
) -> None:
    other = loopback_certificate(tmp_path / "other-ca", "127.0.0.1")
    site = copy_site(tmp_path / "site")
    assert other.ca is not None
    name_server(site, server.url, f'server_ca = "{other.ca}"')
    done = people["wanglei"].login(site=site)
    assert done.returncode == 1
    assert "not trusted" in done.stderr and "server_ca" in done.stderr
    assert NEW_PASSWORD not in done.stderr


def test_without_a_server_login_says_there_is_nothing_to_log_in_to(tmp_path: Path) -> None:
    site = copy_site(tmp_path / "site")
    done = subprocess.run(
        [str(DCOPS), "login", "--password-stdin"], cwd=site, input="x\n",
        env=dcops_env(CLAIMED, {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}),
        text=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "names no server" in done.stderr


def test_the_server_refuses_a_token_after_the_account_is_disabled(
    server: LiveServer, people: dict[str, Person]
) -> None:
    zhaomin = people["zhaomin"]
    assert zhaomin.login().returncode == 0
    token = json.loads(zhaomin.token_file().read_text(encoding="utf-8"))["token"]
    disabled = subprocess.run(
        [str(DCOPS), "users", "disable", "zhaomin"], cwd=server.site,
        env=dcops_env("zhouqiang"), text=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert disabled.returncode == 0, disabled.stderr
    done = zhaomin.run("audit", "record", "--action", "x", "--object", "device/ups-1",
                       "--message", "m")  # fmt: skip
    assert done.returncode == 2 and "not logged in" in done.stderr
    with server.client() as client:
        refused = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401


def test_expiring_tenancies_is_the_servers_and_needs_ops(
    server: LiveServer, people: dict[str, Person]
) -> None:
    ops, department = people["liuyang"], people["wanglei"]
    assert ops.login().returncode == 0 and department.login().returncode == 0
    done = ops.run("tenancy", "expire", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []  # nothing provisioned here is near its expiry
    refused = department.run("tenancy", "expire")
    assert refused.returncode == 2
    assert "权限不足 / expiring tenancies needs the ops role; user 'wanglei'" in refused.stderr
    denied = [
        e for e in server.journal()
        if e["action"] == "auth.denied" and e["actor"]["user"] == "wanglei"
        and e["details"]["request"] == "POST /api/v1/tenancies/expire"
    ]  # fmt: skip
    assert denied, "the refusal is in the journal"
    dated = ops.run("tenancy", "expire", "--today", "2030-01-01")
    assert dated.returncode == 2 and "the server expires tenancies by its own date" in dated.stderr
