"""`dcops serve --cert --key`: the site's certificate from the command line (the dcops_server
role passes it so); half a pair or a missing file is refused before anything listens."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunDcops

pytestmark = pytest.mark.integration


def test_cert_without_key_is_refused(dcops: RunDcops, tmp_path: Path) -> None:
    done = dcops("serve", "--port", "0", "--cert", str(tmp_path / "server.pem"))
    assert done.returncode == 2
    assert "--cert and --key go together" in done.stderr


def test_a_missing_certificate_file_is_named(dcops: RunDcops, tmp_path: Path) -> None:
    missing = tmp_path / "server.pem"
    done = dcops("serve", "--port", "0", "--cert", str(missing), "--key", str(tmp_path / "k"))
    assert done.returncode == 2
    assert f"--cert {missing} does not exist" in done.stderr
