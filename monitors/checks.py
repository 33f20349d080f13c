"""Check the monitors with promtool and amtool: rule syntax, rule unit tests, rendered configs."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dcops.core.errors import InvalidInput, MissingDependency, OperationFailed, Problem
from dcops.core.requirements import find_program

INSTALL_HINT = {
    "promtool": "apt-get install -y prometheus",
    "prometheus": "apt-get install -y prometheus",
    "prometheus-alertmanager": "apt-get install -y prometheus-alertmanager",
    "amtool": "apt-get install -y prometheus-alertmanager",
}
_LOCATED = re.compile(r"^\s*(?P<file>\S+\.ya?ml): (?P<line>\d+):\d+: (?P<message>.*)$")
_CHECK_TIMEOUT = 120


@dataclass(frozen=True)
class CheckStep:
    """One check that ran: what it checked and how many items passed."""

    name: str
    target: str
    detail: str


def program(name: str) -> str:
    """The path of a Prometheus tool; MissingDependency with the install command if absent."""
    found = find_program(name)
    if found is None:
        raise MissingDependency(
            f"{name} is not installed; install it with: {INSTALL_HINT[name]} "
            "(or run scripts/install.sh, which installs every Debian package dcops needs)"
        )
    return found


def _run(args: list[str], cwd: Path | None = None) -> tuple[int, str]:
    try:
        done = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=_CHECK_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise OperationFailed(
            f"{Path(args[0]).name} did not finish in {_CHECK_TIMEOUT} s"
        ) from None
    return done.returncode, done.stdout + done.stderr


def failure_problems(output: str, source: str, shown: dict[str, str]) -> list[Problem]:
    """The problems a failed promtool or amtool run reported, with file and line where given."""
    problems: list[Problem] = []
    lines = [line.rstrip() for line in output.splitlines()]
    for i, line in enumerate(lines):
        if "FAILED" not in line:
            continue
        rest = line.split("FAILED:", 1)[1].strip() if "FAILED:" in line else ""
        detail = [rest] if rest else [x.strip() for x in lines[i + 1 : i + 40] if x.strip()]
        detail = [x for x in detail if not x.startswith("amtool: error")]
        problems.extend(_problem(text, source, shown) for text in _collapse(detail))
    if not problems:
        text = " ".join(x.strip() for x in lines if x.strip()) or "failed without a message"
        problems.append(Problem(source, "", text))
    return problems


def _collapse(detail: list[str]) -> list[str]:
    located = [x for x in detail if _LOCATED.match(x)]
    if located:
        return located
    return [" ".join(detail[:12])] if detail else []


def _problem(text: str, source: str, shown: dict[str, str]) -> Problem:
    match = _LOCATED.match(text)
    if match is None:
        return Problem(source, "", text)
    file = match["file"]
    return Problem(shown.get(Path(file).name, file), "", match["message"], int(match["line"]))


def check_rule_files(files: list[Path], shown_dir: str) -> CheckStep:
    """promtool check rules on the given files; InvalidInput naming each broken rule."""
    if not files:
        raise InvalidInput("no rule files", [Problem(shown_dir, "", "no *.yml rule files found")])
    code, output = _run([program("promtool"), "check", "rules", *map(str, files)])
    if code != 0:
        shown = {f.name: f"{shown_dir}/{f.name}" for f in files}
        problems = failure_problems(output, shown_dir, shown)
        raise InvalidInput(f"rule files in {shown_dir} are not valid", problems)
    count = sum(int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", output))
    return CheckStep("rules", shown_dir, f"{len(files)} files, {count} rules")


def run_rule_tests(files: list[Path], shown_dir: str) -> CheckStep:
    """promtool test rules on the unit-test files; InvalidInput naming each failing test file."""
    if not files:
        raise InvalidInput("no rule tests", [Problem(shown_dir, "", "no *.yml test files found")])
    problems = []
    for test in files:
        code, output = _run([program("promtool"), "test", "rules", test.name], cwd=test.parent)
        if code != 0:
            shown = f"{shown_dir}/{test.name}"
            problems.extend(failure_problems(output, shown, {test.name: shown}))
    if problems:
        raise InvalidInput(f"rule unit tests in {shown_dir} failed", problems)
    return CheckStep("rule tests", shown_dir, f"{len(files)} files passed")


def check_prometheus_config(config: Path, shown: str) -> CheckStep:
    """promtool check config on the rendered prometheus.yml (and the rules it loads)."""
    code, output = _run([program("promtool"), "check", "config", str(config)])
    if code != 0:
        problems = failure_problems(output, shown, {config.name: shown})
        raise InvalidInput(f"rendered Prometheus config {shown} is not valid", problems)
    return CheckStep("prometheus config", shown, "valid")


def check_alertmanager_config(config: Path, shown: str) -> CheckStep:
    """amtool check-config on the rendered alertmanager.yml."""
    code, output = _run([program("amtool"), "check-config", str(config)])
    if code != 0:
        problems = failure_problems(output, shown, {config.name: shown})
        raise InvalidInput(f"rendered Alertmanager config {shown} is not valid", problems)
    receivers = re.search(r"- (\d+) receivers", output)
    return CheckStep(
        "alertmanager config", shown, f"{receivers[1] if receivers else '?'} receivers"
    )
