"""Finding the Pulumi engine: beside dcops' interpreter first, then on PATH; versions; environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dcops.core import engine
from dcops.core.requirements import REQUIREMENTS

FAKE = """#!/bin/sh
case "$1" in
  version) echo "v3.274.1" ;;
  -version) echo "{version}" ;;
  *) exit 3 ;;
esac
"""


def fake(folder: Path, name: str, version: str = "5.5.3") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(FAKE.format(version=version))
    path.chmod(0o755)
    return path


@pytest.fixture
def dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Path]:
    """An engine dir (in place of the venv's bin) and a PATH folder, both empty."""
    engine_dir, on_path = tmp_path / "venv" / "bin", tmp_path / "path"
    engine_dir.mkdir(parents=True)
    on_path.mkdir()
    monkeypatch.setenv(engine.ENGINE_DIR_ENV, str(engine_dir))
    monkeypatch.setenv("PATH", str(on_path))
    return engine_dir, on_path


def test_the_interpreters_folder_is_searched_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(engine.ENGINE_DIR_ENV, raising=False)
    assert engine.engine_dirs() == [Path(os.sys.executable).parent]


def test_beside_the_interpreter_wins_over_path(dirs: tuple[Path, Path]) -> None:
    engine_dir, on_path = dirs
    assert engine.find("pulumi") is None
    fake(on_path, "pulumi")
    assert engine.find("pulumi") == on_path / "pulumi"
    fake(engine_dir, "pulumi")
    assert engine.find("pulumi") == engine_dir / "pulumi"


def test_versions_of_the_cli_and_a_plugin(dirs: tuple[Path, Path]) -> None:
    engine_dir, _ = dirs
    cli = engine.locate("pulumi")
    assert cli is None
    fake(engine_dir, "pulumi")
    fake(engine_dir, "pulumi-resource-openstack", "5.5.3")
    assert engine.locate("pulumi") == engine.Found("pulumi", engine_dir / "pulumi", "3.274.1")
    plugin = engine.locate("pulumi-resource-openstack")
    assert plugin is not None and plugin.version == "5.5.3"
    broken = engine_dir / "pulumi-resource-kubernetes"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    assert engine.locate("pulumi-resource-kubernetes") == engine.Found(
        "pulumi-resource-kubernetes", broken, None
    )


def test_the_engine_never_downloads_and_finds_plugins_on_its_path(
    dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    engine_dir, on_path = dirs
    cli = fake(engine_dir, "pulumi")
    fake(on_path, "pulumi-resource-kubernetes", "4.25.0")
    env = engine.environment(cli)
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    folders = env["PATH"].split(os.pathsep)
    assert folders[0] == str(engine_dir)
    assert str(on_path) in folders


def test_doctor_lists_the_cli_and_each_plugin_with_the_build_script() -> None:
    engine_rows = [r for r in REQUIREMENTS if r.kind == "engine"]
    assert [r.name for r in engine_rows] == [
        "pulumi",
        "pulumi-resource-openstack",
        "pulumi-resource-kubernetes",
    ]
    assert all("scripts/install-engine.sh" in r.fix for r in engine_rows)


def test_doctor_detail_compares_a_plugin_with_its_sdk(dirs: tuple[Path, Path]) -> None:
    from importlib import metadata

    from dcops.cli.doctor import _status

    engine_dir, _ = dirs
    plugin = next(r for r in REQUIREMENTS if r.name == "pulumi-resource-kubernetes")
    assert not plugin.found()
    assert plugin.detail()["version"] is None
    fake(engine_dir, "pulumi-resource-kubernetes", "4.20.0")
    detail = plugin.detail()
    assert plugin.found() and detail["version"] == "4.20.0"
    assert detail["sdk_version"] == metadata.version("pulumi-kubernetes")
    assert "rebuild with scripts/install-engine.sh" in _status(True, detail)
    assert _status(True, {**detail, "version": detail["sdk_version"]}).startswith("found 4.")
    assert _status(False, detail) == "MISSING"
