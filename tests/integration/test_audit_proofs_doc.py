"""docs/audit-proofs.md: the procedures it shows check a real proof bundle, and catch a bad one."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, RunDcops

PAGE = REPO / "docs" / "audit-proofs.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


@pytest.fixture
def bundle(dcops: RunDcops, site_dir: Path) -> Path:
    for n in range(3):
        done = dcops(
            "audit",
            "record",
            "--action",
            "manual.fix",
            "--object",
            f"host/leaf{n}",
            "--message",
            "by hand",
        )
        assert done.returncode == 0, done.stderr
    done = dcops("audit", "prove", "3", "--output", "json", user="sunli")
    assert done.returncode == 0, done.stderr
    path = site_dir / "proof.json"
    path.write_text(done.stdout, encoding="utf-8")
    shutil.copy(site_dir / ".dcops" / "audit" / "signing.pub", site_dir / "signing.pub")
    return path


def test_the_python_procedure_accepts_a_real_proof_and_rejects_an_altered_event(
    bundle: Path, tmp_path: Path
) -> None:
    (script,) = blocks("python")
    checker = tmp_path / "check_proof.py"
    checker.write_text(script, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(checker), str(bundle)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0 and "inclusion proof holds" in done.stdout, done.stderr
    data = json.loads(bundle.read_text())
    data["event"] = data["event"].replace("leaf1", "leaf8")
    bundle.write_text(json.dumps(data))
    bad = subprocess.run(
        [sys.executable, str(checker), str(bundle)], capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 1 and "FAILS" in bad.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_shell_procedures_give_the_leaf_hash_and_verify_the_signature(bundle: Path) -> None:
    leaf, signature = blocks("sh")
    done = subprocess.run(
        ["bash", "-c", leaf], cwd=bundle.parent, capture_output=True, text=True, timeout=30
    )
    assert done.stdout.split()[0] == json.loads(bundle.read_text())["leaf_hash"], done.stderr
    done = subprocess.run(
        ["bash", "-c", signature], cwd=bundle.parent, capture_output=True, text=True, timeout=30
    )
    assert "Signature Verified Successfully" in done.stdout, done.stderr
    data = json.loads(bundle.read_text())
    data["checkpoint"]["size"] += 1
    bundle.write_text(json.dumps(data))
    done = subprocess.run(
        ["bash", "-c", signature], cwd=bundle.parent, capture_output=True, text=True, timeout=30
    )
    assert "Signature Verified Successfully" not in done.stdout
