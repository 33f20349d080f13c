"""Fixtures for tenancy integration tests: many requests in a store, and a real PostgreSQL."""

from __future__ import annotations

import copy
import datetime
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dcops.core.identity import Actor
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.tenancy import lifecycle
from dcops.tenancy.request import parse_request

SAMPLE = "inventory/requests/fgw-production.yml"


def actor_of(site: Site, user: str) -> Actor:
    """The actor of a person in the site's dcops.toml."""
    person = site.person(user)
    assert person is not None
    return Actor(user=user, name=person.name, host="test", roles=frozenset(person.roles))


def submit_many(site: Site, count: int, prefix: str = "t") -> list[int]:
    """Submit count small requests with different network sizes; return their IDs."""
    data: dict[str, Any] = yaml.safe_load((site.paths.root / SAMPLE).read_text(encoding="utf-8"))
    ids = []
    for i in range(count):
        request = copy.deepcopy(data)
        request["name"] = f"fgw-{prefix}{i}"
        request["vpn"] = []
        request["kubernetes"] = None
        request["networks"] = [
            {"name": "app", "size": 24 + i % 4},
            {"name": "data", "size": 26 + i % 3},
        ]
        parsed = parse_request(request, site, today=datetime.date(2026, 11, 25))
        ids.append(lifecycle.submit(site, parsed, actor_of(site, "wanglei")).request_id)
    return ids


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of Debian's package, started for the tests on a loopback port."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL path NOT TESTED: Debian's postgresql is not installed "
            "(apt-get install -y postgresql)"
        )
    root = Path(tempfile.mkdtemp(prefix="dcops-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    run = lambda *cmd: subprocess.run(  # noqa: E731 - a local shorthand
        [*as_user, *cmd], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    init = run(str(bindir / "initdb"), "-D", str(data), "-U", "dcops", "--auth=trust", "-E", "UTF8")
    assert init.returncode == 0, f"initdb failed, PostgreSQL path not tested:\n{init.stderr}"
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
    start = run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(root / "log"),
        "-w",
        "start",
    )
    assert start.returncode == 0, f"PostgreSQL did not start, path not tested:\n{start.stderr}"
    try:
        created = run(
            str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "dcops", "dcops"
        )
        assert created.returncode == 0, created.stderr
        yield f"postgresql+psycopg://dcops@127.0.0.1:{port}/dcops"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


def use_store(site_dir: Path, url: str) -> Site:
    """Point the site copy at another tenancy store."""
    toml = site_dir / "dcops.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("[backends]\n", f'[backends]\ntenancy_store = "{url}"\n', 1))
    return load_site(site_dir)
