"""Asking the Alertmanagers of a pair in turn: the next member when one is down, never after a refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import OperationFailed
from dcops.core.monitoring import MonitorsConfig
from dcops.monitors.alertmanager_members import AlertmanagerUnreachable, ask_in_turn

FIRST, SECOND = "http://127.0.0.1:9093", "http://127.0.0.1:9095"


def test_the_second_member_answers_when_the_first_is_down() -> None:
    asked: list[str] = []

    def call(url: str) -> str:
        asked.append(url)
        if url == FIRST:
            raise AlertmanagerUnreachable(f"Alertmanager at {url} did not answer")
        return "silence-1"

    answer = ask_in_turn([FIRST, SECOND], call)
    assert (answer.value, answer.member, asked) == ("silence-1", SECOND, [FIRST, SECOND])


def test_a_refusal_is_not_retried_on_the_other_member() -> None:
    asked: list[str] = []

    def call(url: str) -> str:
        asked.append(url)
        raise OperationFailed(f"Alertmanager at {url} refused POST /api/v2/silences: HTTP 400")

    with pytest.raises(OperationFailed, match="HTTP 400"):
        ask_in_turn([FIRST, SECOND], call)
    assert asked == [FIRST]


def test_none_answering_names_every_member() -> None:
    def call(url: str) -> str:
        raise AlertmanagerUnreachable(f"Alertmanager at {url} did not answer")

    with pytest.raises(OperationFailed) as raised:
        ask_in_turn([FIRST, SECOND], call)
    assert "no Alertmanager of the 2 answered" in str(raised.value)
    assert FIRST in str(raised.value) and SECOND in str(raised.value)
    with pytest.raises(AlertmanagerUnreachable, match=r"^Alertmanager at http://127\.0\.0\.1:9093"):
        ask_in_turn([FIRST], call)


def test_the_pair_member_is_asked_only_while_the_pair_runs(tmp_path: Path) -> None:
    monitors = MonitorsConfig()
    assert monitors.alertmanager_members(tmp_path) == [FIRST]
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "paired").write_text("pair\n")
    assert monitors.alertmanager_members(tmp_path) == [FIRST, SECOND]


def test_an_ack_whose_answer_was_lost_is_not_made_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    from dcops.monitors import acknowledgement
    from dcops.monitors.alertmanager_api import ActiveAlert
    from dcops.monitors.silences import Silence

    labels = {"alertname": "UpsOnBattery", "device": "ups-1"}
    alert = ActiveAlert("UpsOnBattery", "critical", "gdc", "A", "", "ups-1", "active", "", "", "",
                        labels, "f1")  # fmt: skip
    cluster: list[Silence] = []  # what both members hold once gossip has passed it on
    made: list[str] = []

    def create(url: str, matchers: list, starts: object, ends: object, by: str, why: str) -> str:
        made.append(url)
        # Member 1 makes the silence, then its answer is lost (a timeout after the POST).
        cluster.append(Silence("s-1", "active", tuple(reversed(matchers)), "", ends.isoformat(),  # type: ignore[attr-defined]
                               by, why))  # fmt: skip
        raise AlertmanagerUnreachable(f"Alertmanager at {url} did not answer (timed out)")

    monkeypatch.setattr(acknowledgement, "create_silence", create)
    monkeypatch.setattr(acknowledgement, "list_silences", lambda url: list(cluster))
    ack = acknowledgement.acknowledge_in_turn([FIRST, SECOND], alert, "30m", "换电池", "liqiang")
    assert (ack.silence_id, ack.alertmanager, made) == ("s-1", SECOND, [FIRST])
    # Another person's, or another reason's, silence is not taken for this one.
    cluster[0] = Silence("s-1", "active", cluster[0].matchers, "", cluster[0].ends_at, "wangfang",
                         cluster[0].comment)  # fmt: skip
    monkeypatch.setattr(acknowledgement, "create_silence", lambda url, *rest: "s-2")
    ack = acknowledgement.acknowledge_in_turn([FIRST, SECOND], alert, "30m", "换电池", "liqiang")
    assert (ack.silence_id, ack.alertmanager) == ("s-2", FIRST)
