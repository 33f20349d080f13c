"""The token `dcops login` keeps: one file per server, 0600, in the user's config dir."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from dcops.core.errors import InputError, NotAuthenticated

MAX_FILE_BYTES = 4096


@dataclass(frozen=True)
class SavedLogin:
    """What the server gave at login: the bearer token, who it is for and until when."""

    server: str
    user: str
    token: str
    id: str
    method: str
    expires: float


def config_dir() -> Path:
    """$XDG_CONFIG_HOME/dcops, else ~/.config/dcops."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base.startswith("/") else Path.home() / ".config"
    return root / "dcops"


def token_path(server: str) -> Path:
    """Where the token for this server lives (one file per server address)."""
    digest = hashlib.sha256(server.encode("utf-8")).hexdigest()[:16]
    return config_dir() / "tokens" / f"{digest}.json"


def save(login: SavedLogin) -> Path:
    """Write the login 0600 (its folder 0700), replacing any earlier one atomically."""
    path = token_path(login.server)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(login), out)
    partial.replace(path)
    return path


def load(server: str, now: float | None = None) -> SavedLogin:
    """The saved login for this server; NotAuthenticated if there is none or it has expired."""
    path = token_path(server)
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise NotAuthenticated(
            f"未登录 / not logged in to {server}; run: dcops login --user NAME"
        ) from None
    _check_private(path, info)
    data = _read(path, info)
    when = time.time() if now is None else now
    if data.expires <= when:
        path.unlink(missing_ok=True)
        moment = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data.expires))
        raise NotAuthenticated(
            f"登录已过期 / your login to {server} expired at {moment}; run: dcops login"
        )
    return data


def forget(server: str) -> bool:
    """Remove the saved login for this server; whether there was one."""
    path = token_path(server)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def _check_private(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        raise InputError(
            f"令牌文件不可信 / {path} is not a regular file of yours; remove it and run dcops login"
        )
    if info.st_mode & 0o077:
        raise InputError(
            f"令牌文件权限过宽 / {path} has mode {stat.S_IMODE(info.st_mode):04o}: others could "
            "read your token; allowed: 0600. Remove it (dcops logout) and log in again"
        )


def _read(path: Path, info: os.stat_result) -> SavedLogin:
    broken = InputError(
        f"令牌文件已损坏 / {path} is not a token file dcops wrote; remove it and run dcops login"
    )
    if info.st_size > MAX_FILE_BYTES:
        raise broken
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return SavedLogin(
            server=str(raw["server"]),
            user=str(raw["user"]),
            token=str(raw["token"]),
            id=str(raw["id"]),
            method=str(raw["method"]),
            expires=float(raw["expires"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise broken from None
