"""Where Pulumi keeps stack state and how secrets are protected: backend URL, passphrase, secrets."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dcops.core import engine
from dcops.core.errors import InputError, MissingDependency
from dcops.core.site import Site

if TYPE_CHECKING:
    from pulumi.automation import PulumiCommand

PROJECT = "dcops"
"""The Pulumi project of every dcops stack (the stacks are named after the tenancies)."""
SECRETS_DIR = "secrets"
SECRET_ENV = "DCOPS_SECRET_"
INSTALL_CLI = (
    f"{engine.INSTALL_ENGINE}; `dcops plan` works without it (offline, with Pulumi's mocks)"
)


@dataclass(frozen=True)
class Backend:
    """The state backend, the passphrase file of the secrets provider and Pulumi's home."""

    url: str
    passphrase_file: Path
    home: Path

    def env(self, cli: Path | None = None) -> dict[str, str]:
        """Environment for the pulumi CLI: never the passphrase itself, only where to read it;
        with the CLI's path, also a PATH that finds the plugins beside it, and no plugin download."""
        from dcops.stacks.cloud_login import engine_environment

        return {
            **engine_environment(),
            **(engine.environment(cli) if cli is not None else {}),
            "PULUMI_BACKEND_URL": self.url,
            "PULUMI_CONFIG_PASSPHRASE_FILE": str(self.passphrase_file),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_HOME": str(self.home),
        }


def backend_url(site: Site) -> str:
    """The site's state backend URL: dcops.toml's pulumi_backend, else a file backend in the
    state dir (nothing is created: readers of the state call this too)."""
    return site.config.backends.pulumi_backend or f"file://{site.paths.state / 'pulumi' / 'state'}"


def backend_of(site: Site) -> Backend:
    """The site's backend: dcops.toml's pulumi_backend, else a file backend in the state dir."""
    root = site.paths.state_path("pulumi")
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    url = backend_url(site)
    if url.startswith("file://"):
        Path(url.removeprefix("file://")).mkdir(mode=0o700, parents=True, exist_ok=True)
    return Backend(url=url, passphrase_file=passphrase_file(root), home=root / "home")


def passphrase_file(root: Path) -> Path:
    """The passphrase file (0600), created with a random passphrase on first use."""
    path = root / "passphrase"
    if path.exists():
        _require_private(path, "the Pulumi secrets passphrase file")
        return path
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
    return path


def read_secret(site: Site, name: str) -> str:
    """A named secret: $DCOPS_SECRET_<NAME> or the 0600 file <state dir>/secrets/<name>."""
    env = SECRET_ENV + re.sub(r"[^A-Z0-9]", "_", name.upper())
    if os.environ.get(env):
        return os.environ[env]
    path = site.paths.state / SECRETS_DIR / name
    if not path.is_file():
        raise InputError(
            f"secret {name!r} is not set; put it in {path} (mode 0600, e.g. "
            f"`install -m 600 /dev/stdin {path}`) or in the environment as {env}"
        )
    _require_private(path, f"secret {name!r}")
    return path.read_text(encoding="utf-8").strip()


def _require_private(path: Path, what: str) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise InputError(
            f"{what} {path} is readable by others (mode {mode:o}); fix: chmod 600 {path}"
        )


def require_cli() -> Path:
    """The pulumi CLI dcops runs (beside its interpreter, else on PATH), or MissingDependency
    saying how to build it."""
    found = engine.find(engine.CLI)
    if found is None:
        raise MissingDependency(
            f"the `pulumi` CLI is neither in {engine.engine_dirs()[-1]} nor on PATH; {INSTALL_CLI}"
        )
    return found


def pulumi_command(cli: Path) -> PulumiCommand:
    """The Automation API's handle on this CLI (never `PulumiCommand.install()`, which downloads)."""
    from pulumi import automation as auto

    if cli.parent.name == "bin":
        return auto.PulumiCommand(root=str(cli.parent.parent))
    return auto.PulumiCommand()
