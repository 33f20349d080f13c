"""Where a site keeps its files: the site root, inventory and the state directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SITE_FILE = "dcops.toml"
SITE_ENV = "DCOPS_SITE"
# The system's own folders: state kept in or under them would mix with (or damage) the system.
_SYSTEM_TREES = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
)
# Shared parents: a folder inside them is fine, the parent itself is not.
_SHARED = ("/", "/home", "/opt", "/srv", "/tmp", "/var", "/var/lib", "/var/log", "/var/tmp")


@dataclass(frozen=True)
class SitePaths:
    """Absolute paths of one site's files."""

    root: Path
    state: Path

    @property
    def site_file(self) -> Path:
        """The site's dcops.toml."""
        return self.root / SITE_FILE

    @property
    def inventory(self) -> Path:
        """The site's inventory/ folder."""
        return self.root / "inventory"

    def state_path(self, *parts: str) -> Path:
        """A path inside the state directory, creating the directory (0700) if needed."""
        if not self.state.is_dir():
            self.state.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.state.chmod(0o700)
        return self.state.joinpath(*parts)

    def relative(self, path: Path) -> str:
        """A path as shown to people: relative to the site root where possible."""
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)


def find_site_file(
    explicit: str | os.PathLike[str] | None, start: Path | None = None
) -> Path | None:
    """The dcops.toml to use: the explicit path, else $DCOPS_SITE, else walk up from start."""
    given = explicit or os.environ.get(SITE_ENV)
    if given:
        path = Path(given).expanduser()
        return (path / SITE_FILE if path.is_dir() else path).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / SITE_FILE
        if candidate.is_file():
            return candidate
    return None


def system_folder(state: Path) -> str | None:
    """The system folder that state is (or lies in), if it is one dcops must not write to."""
    for tree in _SYSTEM_TREES:
        if state == Path(tree) or Path(tree) in state.parents:
            return tree
    return str(state) if str(state) in _SHARED else None
