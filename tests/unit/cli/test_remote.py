"""The CLI's side of the server: problem details become the CLI's errors; the saved login file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from dcops.cli.remote import credentials
from dcops.cli.remote.client import CodeRequired, ServerError, error_from
from dcops.core.errors import (
    AccessDenied,
    InputError,
    InvalidInput,
    NotAuthenticated,
    OperationFailed,
)

SERVER = "https://127.0.0.1:8443"


@pytest.mark.parametrize(
    ("status", "kind", "exit_code"),
    [
        (401, NotAuthenticated, 2),
        (403, AccessDenied, 2),
        (400, InputError, 2),
        (413, InputError, 2),
        (502, OperationFailed, 1),
        (409, ServerError, 1),
        (500, ServerError, 1),
    ],
)
def test_statuses_become_the_clis_errors(status: int, kind: type, exit_code: int) -> None:
    error = error_from(status, {"detail": "权限不足 / the message"})
    assert type(error) is kind and error.exit_code == exit_code
    assert str(error) == "权限不足 / the message"


def test_a_missing_code_is_told_apart_from_a_wrong_password() -> None:
    assert isinstance(
        error_from(401, {"title": "one-time code required", "detail": "x"}), CodeRequired
    )
    assert not isinstance(error_from(401, {"title": "not authenticated"}), CodeRequired)


def test_invalid_input_keeps_each_problem_and_the_summary() -> None:
    body = {
        "detail": "tenancy request a.yml is not valid: 2 problems",
        "problems": [
            {"source": "a.yml", "line": 3, "field": "environment", "message": "not allowed"},
            {"source": "a.yml", "line": None, "field": "", "message": "other"},
        ],
    }
    error = error_from(422, body)
    assert isinstance(error, InvalidInput)
    assert str(error) == "tenancy request a.yml is not valid: 2 problems"
    assert error.details() == ["a.yml:3: environment: not allowed", "a.yml: other"]


def test_a_body_that_is_not_problem_details_still_gives_a_message() -> None:
    assert str(error_from(404, None)) == "the server answered 404"


def _saved(expires: float) -> credentials.SavedLogin:
    return credentials.SavedLogin(SERVER, "wanglei", "dcops_ab.cd", "ab", "password", expires)


def test_a_saved_login_is_private_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = credentials.save(_saved(2e9))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert credentials.load(SERVER, now=1e9) == _saved(2e9)
    assert credentials.forget(SERVER) and not path.exists()


def test_expired_loose_or_damaged_files_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(NotAuthenticated, match="not logged in"):
        credentials.load(SERVER)
    path = credentials.save(_saved(1000.0))
    with pytest.raises(NotAuthenticated, match="expired"):
        credentials.load(SERVER, now=2000.0)
    assert not path.exists()
    path = credentials.save(_saved(2e9))
    path.chmod(0o640)
    with pytest.raises(InputError, match="0640"):
        credentials.load(SERVER, now=1e9)
    path.chmod(0o600)
    path.write_text(json.dumps({"server": SERVER}), encoding="utf-8")
    with pytest.raises(InputError, match="not a token file"):
        credentials.load(SERVER, now=1e9)
