"""Where the Pulumi engine is: the `pulumi` CLI and the resource plugins dcops builds.

scripts/install-engine.sh builds them from the Go module proxy and installs them beside dcops'
own interpreter (the venv's bin folder). dcops looks there first, then on PATH; DCOPS_ENGINE_DIR
names another folder (a `bin` folder) to look in instead of the interpreter's. dcops never
downloads an engine or a plugin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CLI = "pulumi"
# Resource plugins by Pulumi package name; the engine runs `pulumi-resource-<name>`.
PLUGINS = ("openstack", "kubernetes")
ENGINE_DIR_ENV = "DCOPS_ENGINE_DIR"
INSTALL_ENGINE = (
    "run scripts/install-engine.sh in the dcops checkout (builds the pulumi CLI and the "
    "OpenStack and Kubernetes plugins from the Go module proxy into the venv; needs Go ≥ 1.26; "
    "a cold build takes about 20 minutes on two cores, a second run seconds)"
)
_VERSION = re.compile(r"v?(\d+\.\d+\.\d+\S*)")


def plugin_program(package: str) -> str:
    """The executable name of a resource plugin: pulumi-resource-<package>."""
    return f"pulumi-resource-{package}"


def engine_dirs() -> list[Path]:
    """The folder searched before PATH: $DCOPS_ENGINE_DIR, else the folder of this interpreter."""
    if os.environ.get(ENGINE_DIR_ENV):
        return [Path(os.environ[ENGINE_DIR_ENV])]
    # Not resolved: a venv's python is a symlink to the system's, and the venv's bin is wanted.
    return [Path(sys.executable).parent]


def find(program: str) -> Path | None:
    """An engine program (the CLI or a plugin): first in engine_dirs(), then on PATH."""
    for folder in engine_dirs():
        candidate = folder / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(program)
    return Path(found) if found else None


@dataclass(frozen=True)
class Found:
    """An engine program as found on this machine."""

    name: str
    path: Path
    version: str | None


def version_of(path: Path) -> str | None:
    """The version a program reports (`pulumi version`, `pulumi-resource-* -version`)."""
    args = [str(path), "version"] if path.name == CLI else [str(path), "-version"]
    env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=20, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.match(done.stdout.strip()) if done.returncode == 0 else None
    return match.group(1) if match else None


def locate(program: str) -> Found | None:
    """An engine program with its version, or None when it is not installed."""
    path = find(program)
    return None if path is None else Found(program, path, version_of(path))


def environment(cli: Path) -> dict[str, str]:
    """Environment for the engine: the folders of the CLI and the plugins first on PATH, no
    update check, and never an automatic plugin download (it cannot work and must not be tried)."""
    folders = [str(cli.parent)]
    for package in PLUGINS:
        plugin = find(plugin_program(package))
        if plugin is not None and str(plugin.parent) not in folders:
            folders.append(str(plugin.parent))
    path = os.pathsep.join([*folders, os.environ.get("PATH", os.defpath)])
    return {
        "PATH": path,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
