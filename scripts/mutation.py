#!/usr/bin/env python3
"""Mutation testing of the modules listed in scripts/mutation.toml, with mutmut, and its report.

Usage: scripts/mutation.py [--all] [--base REF] [--check] [--budget SECONDS] [--report PATH] [MODULE ...]

mutmut expects a package laid out as src/<package>/, while dcops maps `dcops.core` to core/ and
so on. This script is the adapter: it lays the code out as build/mutation/src/dcops/ (a copy),
puts the tests and the site's data beside it, runs mutmut there with the unit tests and one
worker, and writes a report (score per module, survivors with file:line) in Markdown.

Without --all or MODULE arguments it tests the listed modules changed since a base: --base, or
$MUTATION_BASE, or the commit the committed report (docs/mutation-report.md) was made at; with
no base it tests them all. --check fails (exit 1) when a tested module scores below its target.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGE = REPO / "build" / "mutation"
SETTINGS = REPO / "scripts" / "mutation.toml"
COMMITTED_REPORT = REPO / "docs" / "mutation-report.md"
SKIPPED_TOP_LEVEL = {".git", ".venv", "build", "site", ".dcops", "mutants", "pyproject.toml"}
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


@dataclass
class Mutant:
    """One mutant of a module: its name, what mutmut found, and where it changes the code."""

    name: str
    status: str
    line: int = 0
    removed: str = ""
    added: str = ""
    reason: str = ""


@dataclass
class ModuleResult:
    """The mutants of one listed module and its target score."""

    path: str
    target: int
    mutants: list[Mutant] = field(default_factory=list)
    measured: bool = True

    def counts(self) -> Counter[str]:
        """Mutants by outcome: killed, equivalent, survived, no tests, not checked."""
        tally: Counter[str] = Counter()
        for m in self.mutants:
            if m.reason:
                tally["equivalent"] += 1
            elif m.status in KILLED:
                tally["killed"] += 1
            elif m.status in ("no tests", "not checked"):
                tally[m.status] += 1
            else:
                tally["survived"] += 1
        return tally

    @property
    def complete(self) -> bool:
        """Whether every mutant was run (a run stopped by its time budget leaves some unchecked)."""
        return self.counts()["not checked"] == 0

    @property
    def score(self) -> float:
        """Killed mutants as a percentage of all that are not equivalent."""
        tally = self.counts()
        judged = len(self.mutants) - tally["equivalent"] - tally["not checked"]
        return 100.0 if judged == 0 else 100.0 * tally["killed"] / judged

    def certainly_below(self, floor: float) -> bool:
        """Whether the module scores below floor even if every unchecked mutant were caught."""
        tally = self.counts()
        judged = len(self.mutants) - tally["equivalent"]
        best = 100.0 if judged == 0 else 100.0 * (tally["killed"] + tally["not checked"]) / judged
        return best < floor

    def survivors(self) -> list[Mutant]:
        """Mutants that no test noticed, in line order."""
        return sorted(
            (m for m in self.mutants if not m.reason and m.status not in KILLED | {"not checked"}),
            key=lambda m: (m.line, m.name),
        )


def package_dirs() -> dict[str, str]:
    """Import package → folder, as pyproject.toml maps them (`dcops.core` → `core`)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    mapping: dict[str, str] = project["tool"]["setuptools"]["package-dir"]
    return mapping


def staged_path(module: str) -> str:
    """Where a listed module (tenancy/ipam.py) lives in the staged src/ layout."""
    for package, folder in package_dirs().items():
        if module.startswith(folder + "/"):
            return "src/" + package.replace(".", "/") + module[len(folder) :]
    raise SystemExit(f"{module}: not inside a package folder of pyproject.toml")


def git(*args: str) -> str:
    """Output of a git command in the repository ('' when it fails)."""
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def committed_scores() -> dict[str, float]:
    """Each module's score in the committed report (modules not yet at target keep at least it)."""
    if not COMMITTED_REPORT.exists():
        return {}
    rows = re.findall(
        r"^\| (\S+\.py) \| \d+ \|.*?\| ([0-9.]+) %", COMMITTED_REPORT.read_text(), re.M
    )
    return {module: float(score) for module, score in rows}


def report_base() -> str:
    """The commit the committed report was made at, if this history holds it."""
    if not COMMITTED_REPORT.exists():
        return ""
    found = re.search(r"at commit `([0-9a-f]{7,40})`", COMMITTED_REPORT.read_text())
    if not found:
        return ""
    ancestor = ["git", "merge-base", "--is-ancestor", found.group(1), "HEAD"]
    done = subprocess.run(ancestor, cwd=REPO, capture_output=True, check=False)
    if done.returncode == 0:
        return found.group(1)
    # the commit was rebased away: measure from the commit that brought the report
    return git("log", "-1", "--format=%H", "--", str(COMMITTED_REPORT.relative_to(REPO)))


def changed_modules(listed: list[str], base: str) -> list[str]:
    """Listed modules that differ between base and the working tree."""
    changed = set(git("diff", "--name-only", base).splitlines())
    return [m for m in listed if m in changed]


def stage(modules: list[str], tests: list[str]) -> None:
    """Lay out build/mutation: src/dcops/ copied, the rest of the repository linked, mutmut's settings."""
    if STAGE.exists():
        shutil.rmtree(STAGE)
    (STAGE / "src" / "dcops").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package, folder in package_dirs().items():
        shutil.copytree(REPO / folder, STAGE / "src" / package.replace(".", "/"), ignore=ignore)
    linked = []
    for entry in sorted(REPO.iterdir()):
        if entry.name in SKIPPED_TOP_LEVEL or entry.name.endswith(".egg-info"):
            continue
        (STAGE / entry.name).symlink_to(entry)
        linked.append(entry.name)
    settings = {
        "source_paths": ["src"],
        "only_mutate": [staged_path(m) for m in modules],
        "also_copy": linked,
        "pytest_add_cli_args_test_selection": tests,
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]"]
    for key, value in settings.items():
        rendered = str(value).lower() if isinstance(value, bool) else _toml_list(value)
        lines.append(f"{key} = {rendered}")
    text = (REPO / "pyproject.toml").read_text() + "\n".join(lines) + "\n"
    (STAGE / "pyproject.toml").write_text(text)
    (STAGE / "commit").write_text(git("rev-parse", "HEAD") + "\n")


def _toml_list(values: object) -> str:
    assert isinstance(values, list)
    return (
        "["
        + ", ".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "]"
    )


def run_mutmut(selection: list[str], budget: float, deadline: float) -> bool:
    """Run mutmut on the selected mutants with one worker; False when the budget ran out first.

    The budget counts from the first mutant: making the mutants and learning which tests call
    which function (done once, by the first module's run) is bounded only by the deadline.
    """
    log = (STAGE / "mutmut.log").open("a")
    start = log.tell()
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", "1", *selection]
    if shutil.which("eatmydata"):
        # fsync as a no-op: the tests' files are thrown away, and syncing them was most of the
        # time a login test took (SQLite and the audit journal sync every write)
        command = ["eatmydata", *command]
    process = subprocess.Popen(
        command, cwd=STAGE, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        _wait_until_prepared(process, start, deadline)
        process.wait(timeout=max(min(budget, deadline - time.monotonic()), 1.0))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        return False
    finally:
        log.close()
    if process.returncode != 0:
        tail = (STAGE / "mutmut.log").read_text(errors="replace").splitlines()[-30:]
        raise SystemExit("mutmut failed:\n" + "\n".join(tail))
    return True


def _wait_until_prepared(process: subprocess.Popen[bytes], start: int, deadline: float) -> None:
    log = STAGE / "mutmut.log"
    while process.poll() is None and b"Running mutation testing" not in log.read_bytes()[start:]:
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(process.args, 0)
        time.sleep(1)


def run_modules(modules: list[str], budget: float) -> bool:
    """Run the modules one after another, each with an equal share of what is left of the budget."""
    deadline = time.monotonic() + budget
    finished = True
    for done, module in enumerate(modules):
        share = (deadline - time.monotonic()) / (len(modules) - done)
        print(f"mutation: {module} (up to {share:.0f} s)", flush=True)
        pattern = staged_path(module).removeprefix("src/").removesuffix(".py").replace("/", ".")
        finished = run_mutmut([pattern + ".*"], share, deadline) and finished
    return finished


def collect(modules: list[str], targets: dict[str, int]) -> list[ModuleResult]:
    """Read mutmut's results for each module from the stage, with lines and changes of survivors."""
    os.chdir(STAGE)
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    marks = {m["mutant"]: m for m in tomllib.loads(SETTINGS.read_text()).get("equivalent", [])}
    results = []
    for module in modules:
        data = SourceFileMutationData(path=staged_path(module))
        data.load()
        result = ModuleResult(module, targets[module], measured=data.meta_path.exists())
        source = (REPO / module).read_text()
        for name, code in sorted(data.exit_code_by_key.items()):
            mutant = Mutant(name, status_by_exit_code[code])
            if mutant.status not in KILLED | {"not checked"}:
                diff = get_diff_for_mutant(name, path=staged_path(module))
                mutant.removed, mutant.added = _changed_lines(diff)
                mutant.line = _line_of(source, name, mutant.removed)
                mark = marks.get(name)
                if mark and mark["change"].strip() == mutant.added:
                    mutant.reason = mark["reason"]
                elif mark:
                    mutant.reason = ""
                    mutant.status = "survived (stale equivalent mark)"
            result.mutants.append(mutant)
        results.append(result)
    os.chdir(REPO)
    return results


def _changed_lines(diff: str) -> tuple[str, str]:
    removed = [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]
    added = [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    return (removed[0] if removed else ""), (added[0] if added else "")


def _line_of(source: str, mutant: str, removed: str) -> int:
    """The line of the original module that a mutant changes (its function's line if unclear)."""
    function = mutant.rsplit(".", 1)[-1].partition("__mutmut_")[0]
    parts = [p for p in function.removeprefix("x_").removeprefix("xǁ").split("ǁ") if p]
    wanted = parts[-1]
    owner = parts[0] if len(parts) > 1 else None
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and owner and node.name != owner:
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and child.name == wanted:
                if owner is None and not isinstance(node, ast.Module):
                    continue
                end = child.end_lineno or child.lineno
                for number in range(child.lineno, end + 1):
                    if removed and lines[number - 1].strip() == removed:
                        return number
                return child.lineno
    return 0


def write_report(results: list[ModuleResult], path: Path, scope: str) -> None:
    """The report: a score table, then survivors and equivalent mutants with file:line."""
    head = git("rev-parse", "--short", "HEAD")
    from importlib.metadata import version

    out = [
        "# Mutation testing report",
        "",
        f"Made by `scripts/mutation.py` ({scope}) at commit `{head}` with mutmut "
        f"{version('mutmut')}, against the unit tests. How to run it and read it: "
        "docs/mutation.md.",
        "",
        "| module | mutants | killed | equivalent | survived | no tests | score | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c = r.counts()
        if not r.measured:
            out.append(f"| {r.path} | not run | | | | | | {r.target} % |")
            continue
        verdict = "" if r.score >= r.target else " (below)"
        if not r.complete:
            verdict += f" ({c['not checked']} not checked: time budget)"
        out.append(
            f"| {r.path} | {len(r.mutants)} | {c['killed']} | {c['equivalent']} | {c['survived']} "
            f"| {c['no tests']} | {r.score:.1f} %{verdict} | {r.target} % |"
        )
    out += ["", "## Surviving mutants", ""]
    survivors = [(r, m) for r in results for m in r.survivors()]
    if not survivors:
        out.append("None.")
    for r, m in survivors:
        out.append(
            f"- `{r.path}:{m.line}` {m.status}: `{m.removed}` → `{m.added}` ({_short(m.name)})"
        )
    out += ["", "## Equivalent mutants", ""]
    equivalents = [(r, m) for r in results for m in r.mutants if m.reason]
    if not equivalents:
        out.append("None.")
    for r, m in equivalents:
        out.append(
            f"- `{r.path}:{m.line}` `{m.removed}` → `{m.added}`: {m.reason} ({_short(m.name)})"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def main() -> int:
    global STAGE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="listed modules to test (default: changed ones)")
    parser.add_argument("--all", action="store_true", help="test every listed module")
    parser.add_argument(
        "--base", default=os.environ.get("MUTATION_BASE", ""), help="compare with REF"
    )
    parser.add_argument("--check", action="store_true", help="fail when a module is below target")
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds for the mutmut run")
    parser.add_argument("--report", type=Path, default=STAGE.parent / "mutation-report.md")
    parser.add_argument(
        "--report-only", action="store_true", help="report on the last run, do not run mutmut"
    )
    parser.add_argument(
        "--rerun-survivors",
        action="store_true",
        help="run the last run's survivors again (after adding tests), keeping its other results",
    )
    parser.add_argument("--work", type=Path, default=STAGE, help="folder for mutmut's run")
    args = parser.parse_args()
    STAGE = args.work.resolve()

    settings = tomllib.loads(SETTINGS.read_text())["modules"]
    targets: dict[str, int] = {module: entry["target"] for module, entry in settings.items()}
    listed = list(targets)
    unknown = [m for m in args.modules if m not in targets]
    if unknown:
        parser.error(f"not listed in scripts/mutation.toml: {', '.join(unknown)}")
    if args.all or args.modules:
        modules, scope = (
            (listed, "all listed modules") if args.all else (args.modules, "chosen modules")
        )
    else:
        base = args.base or report_base()
        if base:
            modules, scope = changed_modules(listed, base), f"modules changed since `{base[:12]}`"
        else:
            modules, scope = listed, "all listed modules (no base)"
    if not modules:
        print(f"mutation: no listed module changed ({scope})")
        return 0

    print(f"mutation: {', '.join(modules)}", flush=True)
    tests = sorted({path for module in modules for path in settings[module]["tests"]})
    finished = True
    if args.rerun_survivors:
        names = [m.name for r in collect(modules, targets) for m in r.survivors()]
        if names:
            finished = run_mutmut(names, args.budget, time.monotonic() + args.budget)
    elif not args.report_only:
        stage(modules, tests)
        finished = run_modules(modules, args.budget)
    results = collect(modules, targets)
    write_report(results, args.report, scope)
    below = []
    kept = committed_scores()
    for r in results:
        c = r.counts()
        if not r.measured or (kept and r.path not in kept):
            print(f"mutation: {r.path}: not in the committed report yet, so not held to a score")
            continue
        state = "" if r.complete else f", {c['not checked']} not checked"
        print(
            f"mutation: {r.path}: {r.score:.1f} % (target {r.target} %, {c['survived'] + c['no tests']} survived{state})"
        )
        floor = min(r.target, kept.get(r.path, r.target) - 0.05)
        if (r.complete and r.score < floor) or r.certainly_below(floor):
            below.append(r.path)
    if not finished:
        print(
            f"mutation: the run reached its budget of {args.budget:.0f} s; unchecked mutants are not scored"
        )
    print(
        f"mutation: report in {args.report.relative_to(REPO) if args.report.is_relative_to(REPO) else args.report}"
    )
    if args.check and below:
        print(f"mutation: below target: {', '.join(below)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
