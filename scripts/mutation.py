#!/usr/bin/env python3
"""Mutation testing of the modules listed in scripts/mutation.toml, with mutmut, and its report.

Usage: scripts/mutation.py [--all] [--base REF] [--check] [--budget SECONDS] [--report PATH] [MODULE ...]

mutmut expects a package laid out as src/<package>/, while dcops maps `dcops.core` to core/ and
so on. This script is the adapter: for each module it lays the code out as
build/mutation/<module>/src/dcops/ (a copy), puts the tests and the site's data beside it, runs
mutmut there with that module's unit tests and one worker, and writes a report (score per
module, survivors with file:line) in Markdown. Each module keeps its own stage, so modules can
be run at different times (--resume goes on with the mutants a stopped run left unchecked) and
one report reads them all.

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
WORK = REPO / "build" / "mutation"
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
    commit: str = ""
    stale: bool = False

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
    def judged(self) -> int:
        """Mutants run and not equivalent: the ones the score is made of."""
        tally = self.counts()
        return len(self.mutants) - tally["equivalent"] - tally["not checked"]

    @property
    def score(self) -> float | None:
        """Killed mutants as a percentage of those judged (None when none was judged)."""
        if self.judged == 0:
            return None
        return 100.0 * self.counts()["killed"] / self.judged

    def score_text(self) -> str:
        """The score as the report shows it: measured, partial (marked so) or not scored."""
        tally = self.counts()
        unchecked = tally["not checked"]
        if self.score is None:
            if unchecked:
                return f"not scored ({unchecked} not checked)"
            return "not scored (no mutants)"
        if self.complete:
            return f"{self.score:.1f} %" + (" (below)" if self.score < self.target else "")
        text = f"partial: {self.score:.1f} % of {self.judged} judged, {unchecked} not checked"
        return text + (" (below whatever the rest)" if self.certainly_below(self.target) else "")

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


def stage_of(module: str) -> Path:
    """The folder where a module's mutants are made and run (build/mutation/tenancy_ipam_py)."""
    return WORK / module.replace("/", "_").replace(".", "_")


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


def changed_since(commit: str, paths: list[str]) -> bool:
    """Whether any of the paths changed since the commit; True when git cannot tell."""
    done = subprocess.run(
        ["git", "diff", "--name-only", commit, "--", *paths],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.returncode != 0 or bool(done.stdout.strip())


def committed_scores(text: str | None = None) -> dict[str, float]:
    """Each module's complete score in the committed report (a module below target keeps it).

    Partial and unscored rows give no score: what a stopped run judged is no floor to keep.
    """
    if text is None:
        text = COMMITTED_REPORT.read_text() if COMMITTED_REPORT.exists() else ""
    scores = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 7 or not cells[0].endswith(".py"):
            continue
        found = re.fullmatch(r"([0-9]+\.[0-9]) %( \(below\))?", cells[6])
        if found:
            scores[cells[0]] = float(found.group(1))
    return scores


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


def stage(module: str, tests: list[str]) -> Path:
    """Lay out a module's stage: src/dcops/ copied, the rest linked, mutmut's settings."""
    stage_dir = stage_of(module)
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    (stage_dir / "src" / "dcops").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package, folder in package_dirs().items():
        shutil.copytree(REPO / folder, stage_dir / "src" / package.replace(".", "/"), ignore=ignore)
    linked = []
    for entry in sorted(REPO.iterdir()):
        if entry.name in SKIPPED_TOP_LEVEL or entry.name.endswith(".egg-info"):
            continue
        (stage_dir / entry.name).symlink_to(entry)
        linked.append(entry.name)
    settings = {
        "source_paths": ["src"],
        "only_mutate": [staged_path(module)],
        "also_copy": linked,
        "pytest_add_cli_args_test_selection": tests,
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]"]
    for key, value in settings.items():
        rendered = str(value).lower() if isinstance(value, bool) else _toml_list(value)
        lines.append(f"{key} = {rendered}")
    text = (REPO / "pyproject.toml").read_text() + "\n".join(lines) + "\n"
    (stage_dir / "pyproject.toml").write_text(text)
    (stage_dir / "commit").write_text(git("rev-parse", "HEAD") + "\n")
    return stage_dir


def _toml_list(values: object) -> str:
    assert isinstance(values, list)
    return (
        "["
        + ", ".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "]"
    )


def run_mutmut(stage_dir: Path, selection: list[str], budget: float, deadline: float) -> bool:
    """Run mutmut on the selected mutants with one worker; False when the budget ran out first.

    The budget counts from the first mutant: making the mutants and learning which tests call
    which function (done once, by the first module's run) is bounded only by the deadline.
    """
    log = (stage_dir / "mutmut.log").open("a")
    start = log.tell()
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", "1", *selection]
    if shutil.which("eatmydata"):
        # fsync as a no-op: the tests' files are thrown away, and syncing them was most of the
        # time a login test took (SQLite and the audit journal sync every write)
        command = ["eatmydata", *command]
    process = subprocess.Popen(
        command, cwd=stage_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        _wait_until_prepared(stage_dir, process, start, deadline)
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
        tail = (stage_dir / "mutmut.log").read_text(errors="replace").splitlines()[-30:]
        raise SystemExit("mutmut failed:\n" + "\n".join(tail))
    return True


def _wait_until_prepared(
    stage_dir: Path, process: subprocess.Popen[bytes], start: int, deadline: float
) -> None:
    log = stage_dir / "mutmut.log"
    while process.poll() is None and b"Running mutation testing" not in log.read_bytes()[start:]:
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(process.args, 0)
        time.sleep(1)


def run_modules(
    modules: list[str], settings: dict[str, dict[str, object]], budget: float, resume: bool
) -> bool:
    """Run the modules one after another, each with an equal share of what is left of the budget.

    With resume, a module already staged goes on with the mutants its last run left unchecked.
    """
    deadline = time.monotonic() + budget
    finished = True
    for done, module in enumerate(modules):
        share = (deadline - time.monotonic()) / (len(modules) - done)
        print(f"mutation: {module} (up to {share:.0f} s)", flush=True)
        pattern = staged_path(module).removeprefix("src/").removesuffix(".py").replace("/", ".")
        selection = [pattern + ".*"]
        if resume and (stage_of(module) / "mutants").exists():
            selection = unchecked(module)
            if not selection:
                continue
        else:
            tests = settings[module]["tests"]
            assert isinstance(tests, list)
            stage(module, [str(t) for t in tests])
        finished = run_mutmut(stage_of(module), selection, share, deadline) and finished
    return finished


def unchecked(module: str) -> list[str]:
    """The mutants of a staged module that its last run did not reach."""
    return [m.name for m in collect_module(module, 0).mutants if m.status == "not checked"]


def collect(modules: list[str], targets: dict[str, int]) -> list[ModuleResult]:
    """Each module's results from its stage, with lines and changes of survivors."""
    return [collect_module(module, targets[module]) for module in modules]


def collect_module(module: str, target: int) -> ModuleResult:
    """Read mutmut's results for one module from its stage."""
    stage_dir = stage_of(module)
    result = ModuleResult(module, target, measured=False)
    if not (stage_dir / "mutants").exists():
        return result
    here = Path.cwd()
    os.chdir(stage_dir)
    try:
        from mutmut.mutation.data import SourceFileMutationData
        from mutmut.mutation.diff_apply import get_diff_for_mutant
        from mutmut.stats import status_by_exit_code

        marks = {m["mutant"]: m for m in tomllib.loads(SETTINGS.read_text()).get("equivalent", [])}
        data = SourceFileMutationData(path=staged_path(module))
        data.load()
        result.measured = data.meta_path.exists()
        commit_file = stage_dir / "commit"
        result.commit = commit_file.read_text().strip() if commit_file.exists() else ""
        source = (stage_dir / staged_path(module)).read_text()
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
                    mutant.status = "survived (stale equivalent mark)"
            result.mutants.append(mutant)
    finally:
        os.chdir(here)
    return result


def mark_stale(results: list[ModuleResult], settings: dict[str, dict[str, object]]) -> None:
    """Flag the results whose module or tests changed since the commit they were run at."""
    for r in results:
        if not r.measured:
            continue
        tests = settings[r.path]["tests"]
        assert isinstance(tests, list)
        paths = [r.path, *(str(t) for t in tests), "tests/conftest.py"]
        # a result from uncommitted code, or from code changed since, says nothing of the head
        r.stale = not r.commit or changed_since(r.commit, paths)


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
    from importlib.metadata import version

    head = git("rev-parse", "--short", "HEAD")
    out = [
        "# Mutation testing report",
        "",
        f"Made by `scripts/mutation.py` ({scope}) at commit `{head}` with mutmut "
        f"{version('mutmut')}, against the unit tests. How to run it and read it: "
        "docs/mutation.md.",
        "",
        "| module | mutants | killed | equivalent | survived | no tests | score | target | run at |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    out += [table_row(r) for r in results]
    incomplete = [r.path for r in results if r.measured and not r.complete]
    unrun = [r.path for r in results if not r.measured]
    out += [
        "",
        f"Run to completion: {len(results) - len(incomplete) - len(unrun)} of {len(results)}"
        " modules."
        + (f" Not finished: {', '.join(incomplete)}." if incomplete else "")
        + (f" Not run: {', '.join(unrun)}." if unrun else ""),
        "A partial score is that of the mutants judged so far; it is no measure of the module.",
    ]
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


def table_row(r: ModuleResult) -> str:
    """A module's line of the score table."""
    if not r.measured:
        return f"| {r.path} | not run | | | | | | {r.target} % | |"
    c = r.counts()
    run_at = f"`{r.commit[:7]}`" + (" (stale: changed since)" if r.stale else "")
    return (
        f"| {r.path} | {len(r.mutants)} | {c['killed']} | {c['equivalent']} | {c['survived']} "
        f"| {c['no tests']} | {r.score_text()} | {r.target} % | {run_at} |"
    )


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def main() -> int:
    global WORK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="listed modules to test (default: changed ones)")
    parser.add_argument("--all", action="store_true", help="test every listed module")
    parser.add_argument(
        "--base", default=os.environ.get("MUTATION_BASE", ""), help="compare with REF"
    )
    parser.add_argument("--check", action="store_true", help="fail when a module is below target")
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds for the mutmut run")
    parser.add_argument("--report", type=Path, default=WORK.parent / "mutation-report.md")
    parser.add_argument(
        "--report-only", action="store_true", help="report on the last runs, do not run mutmut"
    )
    parser.add_argument(
        "--resume", action="store_true", help="go on with the mutants the last run left unchecked"
    )
    parser.add_argument(
        "--rerun-survivors",
        action="store_true",
        help="run the last run's survivors again (after adding tests), keeping its other results",
    )
    parser.add_argument("--work", type=Path, default=WORK, help="folder of the modules' stages")
    args = parser.parse_args()
    WORK = args.work.resolve()

    settings: dict[str, dict[str, object]] = tomllib.loads(SETTINGS.read_text())["modules"]
    targets = {module: int(str(entry["target"])) for module, entry in settings.items()}
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
    finished = True
    if args.rerun_survivors:
        for r in collect(modules, targets):
            names = [m.name for m in r.survivors()]
            if names:
                deadline = time.monotonic() + args.budget
                finished = run_mutmut(stage_of(r.path), names, args.budget, deadline) and finished
            if r.commit and not changed_since(r.commit, [r.path]):
                # the module is as it was run; tests added since can only catch more mutants
                (stage_of(r.path) / "commit").write_text(git("rev-parse", "HEAD") + "\n")
    elif not args.report_only:
        finished = run_modules(modules, settings, args.budget, args.resume)
    results = collect(modules, targets)
    mark_stale(results, settings)
    write_report(results, args.report, scope)
    below = verdicts(results, committed_scores())
    if not finished:
        print(
            f"mutation: the run reached its budget of {args.budget:.0f} s; unchecked mutants are not scored"
        )
    shown = args.report.relative_to(REPO) if args.report.is_relative_to(REPO) else args.report
    print(f"mutation: report in {shown}")
    if args.check and below:
        print(f"mutation: below target: {', '.join(below)}")
        return 1
    return 0


def verdicts(results: list[ModuleResult], kept: dict[str, float]) -> list[str]:
    """Print each module's score; the modules certainly below their floor.

    The floor is the target, or for a module whose complete score in the committed report is
    below target, that score. A module not finished is below only if it would stay below were
    every unchecked mutant caught.
    """
    below = []
    for r in results:
        if not r.measured:
            print(f"mutation: {r.path}: not run")
            continue
        c = r.counts()
        print(
            f"mutation: {r.path}: {r.score_text()} (target {r.target} %, "
            f"{c['survived'] + c['no tests']} survived)"
        )
        floor = min(float(r.target), kept.get(r.path, float(r.target)) - 0.05)
        if r.certainly_below(floor):
            below.append(r.path)
    return below


if __name__ == "__main__":
    sys.exit(main())
