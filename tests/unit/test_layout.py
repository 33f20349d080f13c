"""The import direction of docs/architecture.md: cli → areas → core, no cycles between areas."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AREAS = ("core", "cli", "audit", "tenancy", "stacks", "dcim", "monitors", "lab", "cloud")
# What each area may import besides itself (docs/architecture.md, "Areas and where they live").
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "audit": {"core"},
    "dcim": {"core"},
    "monitors": {"core"},
    "lab": {"core"},
    # tenancy events reach people through the monitors' channels (robots, SMS), one transport each.
    "tenancy": {"core", "audit", "monitors"},
    "stacks": {"core", "tenancy"},
    "server": {"core", "audit", "tenancy", "stacks", "monitors"},
    # cloud reads what runs: owners from tenancy, the stacks' policies, observations to audit.
    "cloud": {"core", "audit", "tenancy", "stacks"},
    "cli": {"core", "audit", "tenancy", "stacks", "dcim", "monitors", "lab", "server", "cloud"},
}


def imported_areas(source: Path) -> Iterator[tuple[str, int]]:
    """Each dcops area a module imports (also inside functions), with the line of the import."""
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "dcops" and len(parts) > 1:
                yield parts[1], node.lineno


def area_imports() -> dict[str, dict[str, list[str]]]:
    """area → imported area → the places (file:line) that import it."""
    found: dict[str, dict[str, list[str]]] = {area: {} for area in AREAS}
    for area in AREAS:
        for source in sorted((ROOT / area).rglob("*.py")):
            for other, line in imported_areas(source):
                if other != area:
                    place = f"{source.relative_to(ROOT)}:{line}"
                    found[area].setdefault(other, []).append(place)
    return found


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle in the graph, as the areas along it, or None."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


@pytest.mark.parametrize("area", [a for a in AREAS if a != "cli"])
def test_no_area_imports_the_cli(area: str) -> None:
    assert "cli" not in area_imports()[area], area_imports()[area].get("cli")


@pytest.mark.parametrize("area", AREAS)
def test_each_area_imports_only_what_the_design_allows(area: str) -> None:
    unexpected = {
        other: places
        for other, places in area_imports()[area].items()
        if other not in ALLOWED[area] and other != area
    }
    assert unexpected == {}


def test_areas_form_no_cycle() -> None:
    edges = {area: set(others) for area, others in area_imports().items()}
    assert cycle(edges) is None


def test_the_cycle_finder_finds_one() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_scanner_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from dcops.cli.app import main\n", encoding="utf-8")
    assert list(imported_areas(source)) == [("cli", 2)]


def test_cli_top_level_lists_command_groups_only() -> None:
    """Every module at the top of cli/ is a command group the app registers; helpers are in views/."""
    app = (ROOT / "cli" / "app.py").read_text(encoding="utf-8")
    unregistered = [
        p.stem
        for p in (ROOT / "cli").glob("*.py")
        if p.stem not in {"__init__", "app", "reference"} and f"({p.stem}." not in app
    ]
    assert unregistered == []
