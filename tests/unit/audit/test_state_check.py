"""The checks of a restored export that need no restic: Pulumi stack checkpoints and the manifest."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from dcops.audit.state_check import check_export


def _stack(folder: Path, name: str, data: bytes) -> None:
    stacks = folder / "state" / "pulumi" / "state" / ".pulumi" / "stacks" / "dcops"
    stacks.mkdir(parents=True, exist_ok=True)
    (stacks / name).write_bytes(data)


def _export(folder: Path) -> Path:
    folder.mkdir()
    (folder / "MANIFEST.json").write_text(json.dumps({"format": 1, "files": {}, "site": "gdc"}))
    return folder


def _checks(folder: Path) -> dict[str, tuple[bool, str]]:
    return {c.name: (c.ok, c.detail) for c in check_export(folder)}


def test_stack_checkpoints_plain_and_gzipped_are_readable(tmp_path: Path) -> None:
    export = _export(tmp_path / "export")
    stack = json.dumps({"version": 3, "checkpoint": {"stack": "fgw-production"}}).encode()
    _stack(export, "fgw-production.json", stack)
    _stack(export, "platform.json.gz", gzip.compress(stack))
    assert _checks(export)["pulumi state"] == (True, "2 stack checkpoints readable")


def test_a_truncated_or_foreign_stack_file_fails_its_check(tmp_path: Path) -> None:
    export = _export(tmp_path / "export")
    _stack(export, "fgw-production.json", b'{"version": 3, "checkp')
    ok, detail = _checks(export)["pulumi state"]
    assert not ok and detail.startswith("fgw-production.json: not readable")
    _stack(export, "fgw-production.json", b'{"version": 3}')
    assert _checks(export)["pulumi state"] == (False, "fgw-production.json: no checkpoint in it")


def test_a_folder_without_a_manifest_is_not_an_export(tmp_path: Path) -> None:
    checks = check_export(tmp_path)
    assert [(c.name, c.ok) for c in checks] == [("manifest", False)]
    assert "not a dcops state export" in checks[0].detail
    (tmp_path / "MANIFEST.json").write_text('{"format": 99, "files": {}}')
    assert "format is not 1" in check_export(tmp_path)[0].detail


def test_a_manifest_entry_that_climbs_out_of_the_export_counts_as_missing(tmp_path: Path) -> None:
    export = _export(tmp_path / "export")
    (tmp_path / "outside").write_text("x")
    manifest = {"format": 1, "site": "gdc", "files": {"../outside": "0" * 64}}
    (export / "MANIFEST.json").write_text(json.dumps(manifest))
    assert _checks(export)["files"] == (False, "missing: ../outside")
