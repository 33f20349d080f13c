"""Tallying ansible-runner events: changed tasks, failures, drill messages and per-host counts."""

from __future__ import annotations

from pathlib import Path

from dcops.lab.playbook import HostTally, RunResult, _Tally


def _event(kind: str, host: str, task: str, **res: object) -> dict[str, object]:
    return {"event": kind, "event_data": {"host": host, "task": task, "res": res}}


def test_events_give_changed_tasks_failures_and_messages() -> None:
    seen: list[str] = []
    tally = _Tally(lambda e: seen.append(str(e["event"])))
    tally.event(_event("runner_on_ok", "srv-1", "Write /etc/hosts", changed=True))
    tally.event(_event("runner_on_ok", "srv-1", "Look for the policy", changed=False))
    tally.event(_event("runner_on_unreachable", "backup-1", "Install", msg="ssh: timed out"))
    drill = _event("runner_on_ok", "srv-1", "Report the drill", msg="restore drill srv-1: ok")
    drill["event_data"]["task_action"] = "ansible.builtin.debug"  # type: ignore[index]
    tally.event(drill)
    assert tally.changed == ["srv-1: Write /etc/hosts"]
    assert tally.failures == ["backup-1: Install: ssh: timed out"]
    assert tally.messages == ["restore drill srv-1: ok"]
    assert len(seen) == 4


def test_host_counts_come_from_the_stats_and_decide_success() -> None:
    stats = {"ok": {"srv-1": 12, "backup-1": 0}, "changed": {"srv-1": 3}, "dark": {"backup-1": 1}}
    hosts = _Tally(None).hosts_from(stats)
    assert hosts["srv-1"] == HostTally(ok=12, changed=3)
    assert hosts["backup-1"].unreachable == 1
    result = RunResult("network", "lab", False, "failed", 4, hosts, [], [], [], Path("x"))
    assert not result.succeeded
    fine = RunResult(
        "network", "lab", False, "successful", 0, {"srv-1": HostTally(ok=3)}, [], [], [], Path("x")
    )
    assert fine.succeeded
