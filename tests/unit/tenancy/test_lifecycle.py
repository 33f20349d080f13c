"""The lifecycle on the embedded SQLite store: approval rules, allocation, changes, offboarding."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dcops.core.errors import AccessDenied, InputError, InvalidInput
from dcops.core.identity import Actor
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.tenancy import lifecycle
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.records import AllocationRecord, HistoryRecord, OutboxRecord
from dcops.tenancy.store import approved_request, find_request, open_store

Person = Callable[[str], Actor]
MakeRequest = Callable[..., TenancyRequest]
BIG = [{"name": "web", "flavor": "c4.m8", "image": "kylin-v10-sp3", "count": 10}]


def test_requester_cannot_approve_and_roles_are_enforced(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    submitted = lifecycle.submit(site, make_request(), person("liuyang"))
    assert submitted.to_state == "submitted"
    with pytest.raises(AccessDenied, match="submitted request #1 and cannot approve it"):
        lifecycle.approve(site, "1", person("liuyang"))
    for user in ("zhangwei", "wanglei", "sunli"):
        with pytest.raises(AccessDenied, match="needs the approver role"):
            lifecycle.approve(site, "1", person(user))
    approved = lifecycle.approve(site, "fgw-production", person("chenjing"))
    assert approved.to_state == "approved"
    assert approved.allocations == [("app", "10.20.0.0/24")]


def test_department_staff_submit_only_for_their_department(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    with pytest.raises(AccessDenied, match="department:fgw or ops role"):
        lifecycle.submit(site, make_request(), person("lina"))
    assert lifecycle.submit(site, make_request(), person("wanglei")).request_id == 1


def test_above_the_tier_threshold_two_distinct_approvers_are_needed(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    lifecycle.submit(
        site, make_request(compute=BIG, ingress=[], load_balancers=[]), person("wanglei")
    )
    first = lifecycle.approve(site, "1", person("chenjing"))
    assert (first.to_state, first.allocations) == ("submitted", [])
    assert first.message == "approval 1 of 2 by chenjing"
    with pytest.raises(AccessDenied, match="already approved request #1"):
        lifecycle.approve(site, "1", person("chenjing"))
    second = lifecycle.approve(site, "1", person("liuyang"))
    assert second.to_state == "approved" and second.allocations


def test_rejection_needs_a_reason_and_is_final(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    lifecycle.submit(site, make_request(), person("wanglei"))
    with pytest.raises(InputError, match="needs a reason"):
        lifecycle.reject(site, "1", person("chenjing"), " ")
    rejected = lifecycle.reject(site, "1", person("chenjing"), "数据库规格过大 db too large")
    assert rejected.to_state == "rejected"
    with pytest.raises(InputError, match="is rejected, not submitted"):
        lifecycle.approve(site, "1", person("liuyang"))
    # a rejected tenancy may be requested again
    assert lifecycle.submit(site, make_request(), person("wanglei")).request_id == 2


def test_whole_lifecycle_releases_addresses_for_reuse(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    ops = person("zhangwei")
    lifecycle.submit(site, make_request(), person("wanglei"))
    with pytest.raises(InputError, match="only an approved request can be planned"):
        approved_request(site, "1")
    lifecycle.approve(site, "1", person("chenjing"))
    planned = approved_request(site, "fgw-production")
    assert planned.request.name == "fgw-production" and planned.networks == {"app": "10.20.0.0/24"}
    assert lifecycle.mark_provisioned(site, "fgw-production", ops).to_state == "provisioned"
    assert lifecycle.expire(site, ops, today=datetime.date(2027, 1, 1)) == []
    [expiring] = lifecycle.expire(site, ops, today=datetime.date(2027, 12, 10))
    assert expiring.to_state == "expiring" and "in 21 days" in expiring.message
    assert lifecycle.expire(site, ops, today=datetime.date(2027, 12, 11)) == []  # idempotent
    offboarding = lifecycle.offboard(site, "fgw-production", ops)
    assert offboarding.to_state == "offboarding" and "dcops destroy" in offboarding.message
    assert approved_request(site, "1").networks == {"app": "10.20.0.0/24"}
    done = lifecycle.mark_destroyed(site, "fgw-production", ops)
    assert done.allocations == [("app", "10.20.0.0/24")]
    with pytest.raises(
        InputError, match="in state approved or provisioned or expiring or offboarding"
    ):
        approved_request(site, "fgw-production")
    lifecycle.submit(site, make_request(), person("wanglei"))
    assert lifecycle.approve(site, "2", person("chenjing")).allocations == [("app", "10.20.0.0/24")]
    with open_store(site).reading() as db:
        history = db.scalars(
            select(HistoryRecord.to_state).where(HistoryRecord.request_id == 1)
        ).all()
    assert history == [
        "submitted",
        "approved",
        "provisioned",
        "expiring",
        "offboarding",
        "offboarded",
    ]


def test_a_quota_change_goes_through_approval_and_keeps_the_addresses(
    site: Site, person: Person, make_request: MakeRequest, sample: dict[str, Any]
) -> None:
    ops = person("zhangwei")
    lifecycle.submit(site, make_request(), person("wanglei"))
    lifecycle.approve(site, "1", person("chenjing"))
    lifecycle.mark_provisioned(site, "1", ops)
    bigger = make_request(
        kubernetes={"namespace": "fgw", "quota": {"cpu": 24, "memory": "96Gi", "pods": 150}},
        networks=[*sample["networks"], {"name": "data", "size": 26}],
    )
    change = lifecycle.submit(site, bigger, person("wanglei"))
    with open_store(site).reading() as db:
        record = find_request(db, str(change.request_id))
        assert (record.kind, record.changes) == ("change", 1)
    with pytest.raises(InputError, match="already submitted"):
        lifecycle.submit(site, bigger, person("wanglei"))
    approved = lifecycle.approve(site, "fgw-production", person("chenjing"))
    assert approved.allocations == [("data", "10.20.1.0/26")]
    assert approved_request(site, "fgw-production").networks == {
        "app": "10.20.0.0/24",
        "data": "10.20.1.0/26",
    }
    lifecycle.mark_provisioned(site, "fgw-production", ops)
    with open_store(site).reading() as db:
        assert find_request(db, "1").state == "superseded"
        assert find_request(db, "2").state == "provisioned"
    with pytest.raises(InvalidInput) as caught:
        lifecycle.submit(
            site, make_request(networks=[{"name": "app", "size": 25}]), person("wanglei")
        )
    assert "network app (/24) of #2 must stay as it is" in str(caught.value.problems[0])


def test_vpn_peers_of_other_tenancies_are_refused(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    lifecycle.submit(site, make_request(), person("wanglei"))
    other = make_request(
        name="fgw-hq2",
        kubernetes=None,
        vpn=[
            {
                "name": "hq",
                "peer_address": "203.0.113.11",
                "peer_cidrs": ["192.168.10.128/25"],
                "psk_secret": "x",
            }
        ],
    )
    with pytest.raises(InvalidInput) as caught:
        lifecycle.submit(site, other, person("wanglei"))
    [problem] = caught.value.problems
    assert problem.field == "vpn[0].peer_cidrs[0]"
    assert "tenancy fgw-production's VPN peer" in problem.message


class _Refusing:
    """A channel whose server is down."""

    def __init__(self) -> None:
        self.tries = 0

    def send(self, message: OutboxRecord) -> None:
        self.tries += 1
        raise ConnectionRefusedError("relay down")


class _Collecting:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message: OutboxRecord) -> None:
        self.sent.append(message.subject)


def _with_notifications(site_dir: Path) -> Site:
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            'retry_delay_s = 0\n[notifications.smtp]\nhost = "127.0.0.1"\nport = 9\n'
            'sender = "dcops@gdc.example.gov.cn"\n'
            '[notifications.webhook]\nurl = "http://127.0.0.1:9/hook"\n'
        )
    return load_site(site_dir)


def test_a_failed_notification_never_loses_the_transition(
    site_dir: Path, person: Person, make_request: MakeRequest
) -> None:
    from dcops.tenancy.notifications import deliver_pending

    site = _with_notifications(site_dir)
    mail, hook = _Refusing(), _Collecting()
    channels = {"smtp": mail, "webhook": hook}
    lifecycle.submit(site, make_request(), person("wanglei"))
    approved = lifecycle.approve(site, "1", person("chenjing"))
    assert approved.to_state == "approved"
    assert approved.queued == ["smtp", "webhook"]  # queued, not sent by the command
    assert mail.tries == 0 and hook.sent == []
    outcomes = deliver_pending(site, open_store(site), channels)
    failed = [d for d in outcomes if not d.delivered]
    assert {d.channel for d in failed} == {"smtp"} and "relay down" in (failed[0].error or "")
    assert mail.tries == 2  # one try per message per round
    assert len(hook.sent) == 2 and "approved" in hook.sent[1]
    with open_store(site).reading() as db:
        waiting = db.scalar(
            select(func.count())
            .select_from(OutboxRecord)
            .where(OutboxRecord.delivered_at.is_(None))
        )
        assert find_request(db, "1").state == "approved"
    assert waiting == 2
    fixed = _Collecting()
    outcomes = deliver_pending(site, open_store(site), {"smtp": fixed, "webhook": hook})
    assert [d.delivered for d in outcomes] == [True, True]
    assert len(fixed.sent) == 2


def test_delivery_backs_off_and_gives_up_after_its_attempts(
    site_dir: Path, person: Person, make_request: MakeRequest
) -> None:
    from dcops.tenancy.notifications import backoff, deliver_pending

    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            'attempts = 3\nretry_delay_s = 1000\n[notifications.smtp]\nhost = "127.0.0.1"\n'
            'port = 9\nsender = "dcops@gdc.example.gov.cn"\n'
        )
    site = load_site(site_dir)
    settings = site.config.notifications
    assert [backoff(settings, n).total_seconds() for n in (1, 2, 3, 4, 5)] == [
        1000,
        2000,
        3600,
        3600,
        3600,
    ]
    mail = _Refusing()
    lifecycle.submit(site, make_request(), person("wanglei"))
    store = open_store(site)
    assert len(deliver_pending(site, store, {"smtp": mail})) == 1
    assert deliver_pending(site, store, {"smtp": mail}) == []  # waiting out its pause
    for _ in range(3):  # an operator's retry ignores the pause
        deliver_pending(site, store, {"smtp": mail}, everything=True)
    assert mail.tries == 4
    with store.writing() as db:  # the pause is over, but its tries are spent
        db.execute(OutboxRecord.__table__.update().values(next_attempt_at=None))
    assert deliver_pending(site, store, {"smtp": mail}) == []
    assert mail.tries == 4


def test_allocations_are_unique_in_the_database(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    from sqlalchemy.exc import IntegrityError

    lifecycle.submit(site, make_request(), person("wanglei"))
    lifecycle.approve(site, "1", person("chenjing"))
    with pytest.raises(IntegrityError), open_store(site).writing() as db:
        original = db.scalars(select(AllocationRecord)).one()
        db.add(
            AllocationRecord(
                tenancy="x",
                request_id=1,
                department="fgw",
                network="app",
                pool=original.pool,
                cidr=original.cidr,
                allocated_at=original.allocated_at,
            )
        )
        db.flush()


def test_the_store_is_at_the_newest_migration(site: Site) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from dcops.tenancy.store import SCHEMA_REVISION

    config = Config()
    config.set_main_option("script_location", "dcops.tenancy:migrations")
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION
    store = open_store(site)
    with store.reading() as db:
        assert db.scalar(select(func.count()).select_from(HistoryRecord)) == 0
    assert (site.paths.state / "tenancy.db").exists()
    assert (site.paths.state / "tenancy.db-wal").exists()


def test_every_transition_names_the_tenancy_by_name_in_the_audit_record(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    from dcops.audit.history import operations
    from dcops.audit.journal import Journal

    submitted = lifecycle.submit(site, make_request(), person("wanglei"))
    lifecycle.approve(site, str(submitted.request_id), person("chenjing"))  # by ID
    lifecycle.offboard(site, submitted.name, person("zhangwei"))  # by name
    objects = {op.object for op in operations(Journal.of(site).events())}
    assert objects == {f"tenancy/{submitted.name}"}


def test_a_claim_lasts_as_long_as_its_batch_may_take_on_the_slowest_channel(
    site_dir: Path, person: Person, make_request: MakeRequest
) -> None:
    from dcops.tenancy.notifications import LEASE_S, deliver_pending

    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            'channels = ["duty-sms"]\n[[monitors.channels]]\nname = "duty-sms"\nkind = "sms"\n'
            'url = "https://sms.example.gov.cn/send"\ntoken = {env = "SMS_TOKEN"}\ntimeout_s = 45\n'
        )
    site = load_site(site_dir)
    lifecycle.submit(site, make_request(), person("wanglei"))
    store = open_store(site)
    seen: list[tuple[int, float]] = []

    class Watching:
        def send(self, message: OutboxRecord) -> None:
            with store.reading() as db:
                rows = db.scalars(select(OutboxRecord)).all()
                held = [r.claimed_until for r in rows if r.claimed_by is not None]
            until = max(u for u in held if u is not None)
            left = until.replace(tzinfo=datetime.UTC) - datetime.datetime.now(datetime.UTC)
            seen.append((len(held), left.total_seconds()))

    started = datetime.datetime.now(datetime.UTC)
    outcomes = deliver_pending(site, store, {"duty-sms": Watching(), "smtp": Watching()})
    assert outcomes and seen, "nothing was queued for the channel"
    held, left = seen[0]
    elapsed = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
    # Sent one after another, each up to 45 s: the lease covers them all, not just one.
    assert LEASE_S + held * 45 - elapsed - 1 <= left <= LEASE_S + held * 45 + 1
