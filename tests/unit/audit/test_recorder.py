"""The recording API: intent before the change, result after it, then a signed checkpoint."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dcops.audit.checkpoint import load_public_key, read_checkpoints, signature_ok
from dcops.audit.journal import Journal
from dcops.audit.merkle import leaf_hash
from dcops.audit.recorder import audited
from dcops.audit.verification import trusted_key, verify
from dcops.core.errors import InputError
from dcops.core.identity import Actor
from dcops.core.site import Site


def chain_is_intact(journal: Journal) -> bool:
    previous = bytes(32)
    for position, line in enumerate(journal.raw_lines()):
        event = json.loads(line)
        if event["id"] != position or event["prev"] != previous.hex():
            return False
        previous = leaf_hash(line.rstrip(b"\n"))
    return True


def test_a_successful_change_records_intent_result_and_a_checkpoint(
    site: Site, actor: Actor, journal: Journal
) -> None:
    seen_before_change: list[dict[str, object]] = []
    with audited(
        site, actor, action="tenancy.approve", target="tenancy/fgw", parameters={"tier": "standard"}
    ) as op:
        seen_before_change.extend(journal.events())
        op.attach(diff="+ approved", links={"plan": "plans/fgw.json"}, details={"approvers": 2})
    intent, result = list(journal.events())
    assert seen_before_change == [intent]
    assert intent["phase"] == "intent" and intent["result"]["status"] == "pending"
    assert result["phase"] == "result" and result["result"] == {"status": "success", "error": None}
    assert result["correlation"] == intent["correlation"]
    assert result["object"] == {"type": "tenancy", "id": "fgw"}
    assert result["actor"]["user"] == "liuyang" and result["actor"]["roles"] == ["approver", "ops"]
    assert result["diff"] == "+ approved"
    assert result["links"] == {"plan": "plans/fgw.json"}
    assert result["details"]["approvers"] == 2
    assert result["time"]["utc"].endswith("Z") and result["time"]["local"].endswith("+08:00")
    assert chain_is_intact(journal)
    (checkpoint,) = read_checkpoints(journal.checkpoints)
    assert checkpoint.size == 2
    assert checkpoint.root == journal.scan().compact.root()
    assert signature_ok(checkpoint, load_public_key(journal.public_key))
    assert journal.key.stat().st_mode & 0o777 == 0o600


def test_a_failed_change_is_recorded_with_its_error_and_re_raised(
    site: Site, actor: Actor, journal: Journal
) -> None:
    with (
        pytest.raises(RuntimeError, match="pulumi up failed"),
        audited(site, actor, action="stack.provision", target="stack/fgw-production"),
    ):
        raise RuntimeError("pulumi up failed: quota exceeded")
    result = list(journal.events())[-1]
    assert result["result"]["status"] == "failure"
    assert result["result"]["error"] == "RuntimeError: pulumi up failed: quota exceeded"
    assert [c.size for c in read_checkpoints(journal.checkpoints)] == [2]


def test_secrets_never_reach_the_journal(site: Site, actor: Actor, journal: Journal) -> None:
    with audited(
        site,
        actor,
        action="tenancy.request",
        target="tenancy/wjw",
        parameters={
            "vpn": {"peer": "203.0.113.9", "psk": "PSK-very-secret-1"},
            "admin_password": "Pa55word!x",
            "note": "token is T0k3n-abc",
        },
        secrets=["T0k3n-abc"],
    ) as op:
        generated = "generated-Secret-99"
        op.add_secrets(generated)
        op.attach(diff=f"set password {generated}", details={"api_token": "zzzz-1111"})
    text = journal.path.read_text(encoding="utf-8")
    for secret in (
        "PSK-very-secret-1",
        "Pa55word!x",
        "T0k3n-abc",
        "generated-Secret-99",
        "zzzz-1111",
    ):
        assert secret not in text
    assert "203.0.113.9" in text and "[REDACTED]" in text


def test_a_crash_between_intent_and_result_leaves_the_intent_alone(
    site: Site, actor: Actor, journal: Journal
) -> None:
    code = textwrap.dedent(
        f"""
        import os
        from dcops.audit.recorder import audited
        from dcops.core.identity import Actor
        from dcops.core.loader import load_site
        site = load_site({str(site.paths.root)!r})
        actor = Actor("zhangwei", "张伟", "h", frozenset({{"ops"}}))
        with audited(site, actor, action="configure.run", target="host/leaf1"):
            os._exit(9)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 9, done.stderr
    (intent,) = journal.events()
    assert intent["phase"] == "intent"
    with audited(site, actor, action="configure.run", target="host/leaf1"):
        pass
    assert chain_is_intact(journal) and len(list(journal.events())) == 3


def test_a_torn_last_line_is_cut_and_the_cut_recorded(
    site: Site, actor: Actor, journal: Journal
) -> None:
    with audited(site, actor, action="monitors.reload", target="alert-rules"):
        pass
    with journal.path.open("ab") as handle:
        handle.write(b'{"half-written')
    with audited(site, actor, action="monitors.reload", target="alert-rules"):
        pass
    actions = [e["action"] for e in journal.events()]
    assert actions[2] == "audit.repair"
    assert chain_is_intact(journal)


def test_the_repair_of_a_torn_line_is_a_complete_audit_event(
    site: Site, actor: Actor, journal: Journal
) -> None:
    with audited(site, actor, action="monitors.reload", target="alert-rules"):
        pass
    torn = b'{"half-written'
    with journal.path.open("ab") as handle:
        handle.write(torn)
    with audited(site, actor, action="monitors.reload", target="alert-rules"):
        pass
    repair = list(journal.events())[2]
    time = repair.pop("time")
    assert time["utc"].endswith("Z") and time["timezone"] == "UTC"
    repair["actor"].pop("host")
    assert repair == {
        "v": 1,
        "phase": "record",
        "action": "audit.repair",
        "object": {"type": "audit-journal", "id": journal.path.name},
        "actor": {"user": "dcops", "name": "dcops", "roles": []},
        "parameters": {},
        "correlation": "",
        "result": {"status": "success", "error": None},
        "links": {},
        "details": {"torn_bytes": len(torn), "torn_sha256": hashlib.sha256(torn).hexdigest()},
        "id": 2,
        "prev": leaf_hash(journal.path.read_bytes().splitlines()[1]).hex(),
    }
    assert verify(journal, (), trusted_key(journal, None)).ok


def test_a_second_crash_after_a_repair_is_repaired_too(
    site: Site, actor: Actor, journal: Journal
) -> None:
    with audited(site, actor, action="monitors.reload", target="alert-rules"):
        pass
    first = next(iter(journal.events()))
    again = {k: v for k, v in first.items() if k not in ("id", "prev")}
    for torn in (b'{"half-written', b"{"):
        with journal.path.open("ab") as handle:
            handle.write(torn)
        journal.append(again)  # each crash right after the event before it was written
    actions = [e["action"] for e in journal.events()]
    assert actions.count("audit.repair") == 2
    assert chain_is_intact(journal)
    assert verify(journal, (), trusted_key(journal, None)).ok


WRITER = """
import sys
from dcops.audit.recorder import audited
from dcops.core.errors import InputError
from dcops.core.identity import Actor
from dcops.core.loader import load_site
site = load_site(sys.argv[1])
actor = Actor(sys.argv[2], sys.argv[2], "h", frozenset({"ops"}))
for i in range(int(sys.argv[3])):
    with audited(site, actor, action="test.write", target=f"host/{sys.argv[2]}-{i}"):
        pass
"""


def test_concurrent_writers_in_separate_processes_lose_nothing(
    site: Site, journal: Journal, tmp_path: Path
) -> None:
    writers, each = 4, 15
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(site.paths.root), f"w{n}", str(each)],
            stderr=subprocess.PIPE,
        )
        for n in range(writers)
    ]
    readings = 0
    while any(proc.poll() is None for proc in procs) and readings < 200:
        if journal.checkpoints.exists():  # a reader in the middle of the writes sees a valid log
            during = verify(journal, (), trusted_key(journal, None))
            assert during.ok, during.findings
            readings += 1
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    events = list(journal.events())
    assert len(events) == writers * each * 2
    targets = {e["object"]["id"] for e in events if e["phase"] == "result"}
    assert targets == {f"w{n}-{i}" for n in range(writers) for i in range(each)}
    assert chain_is_intact(journal)
    journal.forget_cache()
    root = journal.scan().compact.root()
    checkpoints = list(read_checkpoints(journal.checkpoints))
    assert len(checkpoints) == writers * each
    assert max(c.size for c in checkpoints) == len(events)
    assert {c.root for c in checkpoints if c.size == len(events)} == {root}


def test_a_key_others_can_read_stops_the_change_before_it_starts(
    site: Site, actor: Actor, journal: Journal
) -> None:
    with audited(site, actor, action="monitors.reload", target="alert-rules"):
        pass
    journal.key.chmod(0o644)
    ran = []
    with (
        pytest.raises(InputError, match="chmod 600"),
        audited(site, actor, action="monitors.reload", target="alert-rules"),
    ):
        ran.append(True)
    assert not ran and len(list(journal.events())) == 2
