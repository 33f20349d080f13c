"""Line tracking in YAML and TOML documents."""

from __future__ import annotations

from pathlib import Path

from dcops.core.documents import dotted, read_toml, read_yaml


def test_yaml_lines_follow_nested_lists(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text("rooms:\n  - name: a\n    rows:\n      - name: A\n        racks: []\n")
    doc = read_yaml(path, "x.yml")
    assert doc.data == {"rooms": [{"name": "a", "rows": [{"name": "A", "racks": []}]}]}
    assert doc.line_of(("rooms", 0, "rows", 0, "name")) == 4
    assert doc.line_of(("rooms", 0, "rows", 0, "racks", 3, "name")) == 5


def test_toml_lines_count_arrays_of_tables(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(
        '[site]\nname = "a"\n\n[[pools]]\nname = "p0"\n\n[[pools]]\nname = "p1"\ncidr = "x"\n'
        "\n[tiers.gold]\nvcpus = 1\n[[catalogue.flavors]]\nname = 'f'\n"
    )
    doc = read_toml(path, "x.toml")
    assert doc.line_of(("pools", 1, "cidr")) == 9
    assert doc.line_of(("pools", 0, "name")) == 5
    assert doc.line_of(("tiers", "gold", "vcpus")) == 12
    assert doc.line_of(("catalogue", "flavors", 0, "name")) == 14


def test_dotted_paths_read_like_the_files() -> None:
    assert dotted(("people", 2, "roles", 0)) == "people[2].roles[0]"
