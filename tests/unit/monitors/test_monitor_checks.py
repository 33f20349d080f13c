"""Reading promtool's and amtool's failure output into problems that name file and line."""

from __future__ import annotations

from dcops.monitors.checks import failure_problems

PROMTOOL_BROKEN_RULE = """Checking /tmp/x/power.yml
  FAILED:
/tmp/x/power.yml: 12:15: group "dcops-power", rule 3, "UpsRuntimeLow": could not parse expression: 1:5: parse error: unexpected <op:>>
"""

AMTOOL_UNKNOWN_RECEIVER = """Checking '/tmp/x/alertmanager.yml'  FAILED: undefined receiver "nope" used in route

amtool: error: failed to validate 1 file(s)
"""


def test_a_broken_rule_expression_names_file_line_and_rule() -> None:
    [problem] = failure_problems(
        PROMTOOL_BROKEN_RULE, "monitors/rules", {"power.yml": "monitors/rules/power.yml"}
    )
    assert problem.source == "monitors/rules/power.yml"
    assert problem.line == 12
    assert "UpsRuntimeLow" in problem.message and "could not parse expression" in problem.message


def test_an_unknown_receiver_is_named() -> None:
    [problem] = failure_problems(AMTOOL_UNKNOWN_RECEIVER, "rendered/alertmanager.yml", {})
    assert problem.message == 'undefined receiver "nope" used in route'


def test_output_without_a_failed_marker_still_gives_one_problem() -> None:
    [problem] = failure_problems("error: something odd\n", "x.yml", {})
    assert problem.message == "error: something odd"
