"""The mutation report says what was measured: a score only for what was judged, and CI's verdict."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def mutation() -> ModuleType:
    """scripts/mutation.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location("mutation_script", REPO / "scripts/mutation.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def result(mutation: ModuleType, target: int = 90, **statuses: int) -> object:
    """A module's result with so many mutants of each status (not_checked for 'not checked')."""
    r = mutation.ModuleResult("audit/merkle.py", target, commit="0123456789abcdef")
    for status, count in statuses.items():
        for n in range(count):
            mutant = mutation.Mutant(f"m_{status}_{n}", status.replace("_", " "))
            if status == "equivalent":
                mutant.status, mutant.reason = "survived", "changes nothing"
            r.mutants.append(mutant)
    return r


def test_a_complete_run_shows_its_score_and_whether_it_is_below(mutation: ModuleType) -> None:
    assert result(mutation, killed=19, survived=1).score_text() == "95.0 %"
    assert result(mutation, killed=17, survived=3).score_text() == "85.0 % (below)"
    # equivalent mutants are left out: 9 of 10 judged
    assert result(mutation, killed=9, survived=1, equivalent=5).score_text() == "90.0 %"


def test_a_run_stopped_by_its_budget_shows_a_partial_score_marked_so(
    mutation: ModuleType,
) -> None:
    partial = result(mutation, killed=7, survived=1, not_checked=12)
    assert partial.score_text() == "partial: 87.5 % of 8 judged, 12 not checked"
    assert not partial.complete
    hopeless = result(mutation, killed=2, survived=8, not_checked=5)
    assert hopeless.score_text() == (
        "partial: 20.0 % of 10 judged, 5 not checked (below whatever the rest)"
    )


def test_a_module_with_nothing_judged_is_not_scored(mutation: ModuleType) -> None:
    assert result(mutation, not_checked=273).score_text() == ("not scored (273 not checked)")
    assert result(mutation, not_checked=273).score is None
    row = mutation.table_row(result(mutation, not_checked=273))
    assert "100.0" not in row and "not scored" in row and "`0123456`" in row


def test_a_module_not_run_has_an_empty_row(mutation: ModuleType) -> None:
    r = mutation.ModuleResult("server/context.py", 90, measured=False)
    assert mutation.table_row(r) == "| server/context.py | not run | | | | | | 90 % | |"


def test_a_result_from_code_changed_since_is_marked_stale(mutation: ModuleType) -> None:
    r = result(mutation, killed=10)
    r.stale = True
    assert "`0123456` (stale: changed since)" in mutation.table_row(r)


def test_a_result_whose_commit_git_does_not_know_is_stale(mutation: ModuleType) -> None:
    """A shallow clone or a rewritten history cannot show the code is unchanged: stale."""
    head = mutation.git("rev-parse", "HEAD")
    assert head, "this test needs the git repository of the checkout"
    assert mutation.changed_since(head, ["no/such/module.py"]) is False
    assert mutation.changed_since("f" * 40, ["no/such/module.py"]) is True
    r = result(mutation, killed=10)
    r.commit = "f" * 40
    mutation.mark_stale([r], {"audit/merkle.py": {"tests": ["tests/unit/audit/test_merkle.py"]}})
    assert r.stale and "(stale: changed since)" in mutation.table_row(r)


def test_only_complete_scores_of_the_committed_report_are_kept(mutation: ModuleType) -> None:
    report = "\n".join(
        [
            "| module | mutants | killed | equivalent | survived | no tests | score | target |",
            "|---|---|---|---|---|---|---|---|",
            "| tenancy/ipam.py | 100 | 97 | 3 | 0 | 0 | 100.0 % | 90 % | `88f707c` |",
            "| audit/merkle.py | 440 | 390 | 0 | 50 | 0 | 88.6 % (below) | 90 % | `88f707c` |",
            "| audit/journal.py | 385 | 61 | 0 | 9 | 0 | partial: 87.1 % of 70 judged, "
            "315 not checked | 90 % | `88f707c` |",
            "| dcim/snmp/ber.py | 273 | 0 | 0 | 0 | 0 | not scored (273 not checked: time "
            "budget) | 80 % | `88f707c` |",
            "| server/totp.py | not run | | | | | | 90 % | |",
        ]
    )
    assert mutation.committed_scores(report) == {"tenancy/ipam.py": 100.0, "audit/merkle.py": 88.6}


def test_ci_fails_an_unfinished_module_only_when_it_is_certainly_below(
    mutation: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    could_reach = result(mutation, killed=5, survived=5, not_checked=90)  # best 95 %
    certainly_below = result(mutation, killed=5, survived=15, not_checked=80)  # best 85 %
    certainly_below.path = "tenancy/ipam.py"
    below = mutation.verdicts([could_reach, certainly_below], {})
    assert below == ["tenancy/ipam.py"]
    printed = capsys.readouterr().out
    assert "audit/merkle.py: partial: 50.0 % of 10 judged, 90 not checked" in printed


def test_ci_holds_a_module_below_target_to_its_committed_score(mutation: ModuleType) -> None:
    kept = {"audit/merkle.py": 85.0}
    assert mutation.verdicts([result(mutation, killed=85, survived=15)], kept) == []
    assert mutation.verdicts([result(mutation, killed=84, survived=16)], kept) == [
        "audit/merkle.py"
    ]
    # at or above target is no longer held to the old score: the target is the floor
    assert (
        mutation.verdicts([result(mutation, killed=91, survived=9)], {"audit/merkle.py": 99}) == []
    )
