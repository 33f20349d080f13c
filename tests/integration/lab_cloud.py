"""One lab cloud per test session, for every live test that needs OpenStack.

Started with `dcops lab cloud up` in a private copy of the example site on its own ports,
always torn down with `dcops lab cloud down`. Where the machine cannot run it (not root, or
the Debian packages are absent) the tests skip, saying so loudly; a skip is never a pass.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dcops.lab.cloud import processes
from dcops.lab.cloud.services import missing_programs
from tests.conftest import DCOPS, copy_site, dcops_env

# Its own ports; DCOPS_TEST_LAB_CLOUD_PORT_BASE moves them when another lab uses these.
PORT_BASE = os.environ.get("DCOPS_TEST_LAB_CLOUD_PORT_BASE", "27100")
KEPT_SITE = "DCOPS_TEST_LAB_CLOUD_SITE"
"""A site whose lab cloud is already up: the tests use it and leave it up."""
UP_TIMEOUT = 1800.0  # a loaded two-core machine needs up to ~12 minutes


def why_not() -> str | None:
    """Why this machine cannot run the lab cloud, or None."""
    if os.geteuid() != 0:
        return "LIVE TEST SKIPPED: the lab cloud needs root (CI runs as root)"
    missing = missing_programs()
    if missing:
        return (
            f"LIVE TEST SKIPPED: the lab cloud's Debian packages are absent ({missing[0]}, ...); "
            "run scripts/install-lab-cloud.sh"
        )
    return None


@dataclass
class LabCloud:
    """The session's lab cloud: its site copy and a way to run dcops there."""

    site: Path
    up_stdout: str

    @property
    def env(self) -> dict[str, str]:
        """The environment that points dcops, Pulumi and openstacksdk at the lab."""
        return dcops_env(
            "zhangwei",
            {
                "DCOPS_LAB_CLOUD_PORT_BASE": PORT_BASE,
                "OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml),
                "OS_CLOUD": "dcops-lab",
            },
        )

    @property
    def clouds_yaml(self) -> Path:
        return self.site / ".dcops" / "lab-cloud" / "clouds.yaml"

    def dcops(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DCOPS), *args],
            cwd=self.site,
            env=self.env,
            text=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )

    def connect(self) -> Any:
        """openstacksdk as the lab's admin, from the lab's clouds.yaml."""
        import openstack

        config = openstack.config.OpenStackConfig(config_files=[str(self.clouds_yaml)])
        return openstack.connection.Connection(config=config.get_one("dcops-lab"))

    def status(self) -> list[dict[str, Any]]:
        done = self.dcops("lab", "cloud", "status", "--output", "json", timeout=120)
        return list(json.loads(done.stdout))


@pytest.fixture(scope="session")
def lab_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCloud]:
    """The session's lab cloud, up with the catalogue's flavors; torn down at the end."""
    reason = why_not()
    if reason:
        pytest.skip(reason)
    kept = os.environ.get(KEPT_SITE, "")
    if kept:  # a developer's running lab (its ports in DCOPS_TEST_LAB_CLOUD_PORT_BASE): left up
        yield LabCloud(Path(kept), "")
        return
    site = copy_site(tmp_path_factory.mktemp("lab-cloud") / "site")
    cloud = LabCloud(site, "")
    try:
        up = cloud.dcops("lab", "cloud", "up", "--flavors", timeout=UP_TIMEOUT)
        assert up.returncode == 0, up.stdout + up.stderr
        cloud.up_stdout = up.stdout
        yield cloud
    finally:
        down = cloud.dcops("lab", "cloud", "down", "--yes", timeout=300)
        root = site / ".dcops" / "lab-cloud"
        assert down.returncode == 0, down.stdout + down.stderr
        assert processes.marked(root) == [], "lab cloud down left processes running"
        assert not root.exists(), "lab cloud down left its folder"
