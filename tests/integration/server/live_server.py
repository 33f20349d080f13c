"""A real `dcops serve` in a subprocess on a free loopback port, with accounts made by the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dcops.server import totp
from tests.conftest import DCOPS, dcops_env

NEW_PASSWORD = "Zq9-longer-Passw0rd!"


def free_port() -> int:
    """A port nobody listens on right now (bound to port 0 and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_cli(site: Path, *args: str, user: str = "zhouqiang") -> subprocess.CompletedProcess[str]:
    """Run the installed dcops in the site as a person (the example site allows DCOPS_USER)."""
    return subprocess.run(
        [str(DCOPS), *args], cwd=site, env=dcops_env(user), text=True,
        capture_output=True, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@dataclass
class LiveServer:
    """One server process and what the tests need to talk to it."""

    site: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        """The generated CA that clients trust."""
        return self.site / ".dcops" / "server" / "tls" / "ca.pem"

    def client(self) -> httpx.Client:
        """An HTTPS client that trusts the site's CA (and nothing is skipped)."""
        trust = ssl.create_default_context(cafile=str(self.ca))
        return httpx.Client(base_url=self.url, verify=trust, timeout=60)

    def start(self) -> None:
        """Start `dcops serve` and wait (generously) until /healthz answers."""
        self.log = self.site / f"serve-{self.port}-{time.monotonic_ns()}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(DCOPS), "serve", "--port", str(self.port)], cwd=self.site,
                env=dcops_env("zhangwei"), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dcops serve exited: {self.log.read_text()}")
            try:
                if self.ca.exists():
                    with self.client() as client:
                        if client.get("/healthz").status_code == 200:
                            return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("dcops serve did not answer /healthz within 120 s")

    def stop(self) -> None:
        """Stop the server process (its group) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def account(self, user: str, *, second_factor: bool) -> None:
        """Create the account with the CLI, enrol TOTP if asked, and set a policy-abiding password."""
        added = run_cli(self.site, "users", "add", user, "--output", "json")
        assert added.returncode == 0, added.stderr
        one_time = json.loads(added.stdout)["one_time_password"]
        self.secrets[f"{user}:one-time"] = one_time
        if second_factor:
            enrolled = run_cli(self.site, "users", "enrol-totp", user, "--output", "json")
            assert enrolled.returncode == 0, enrolled.stderr
            data = json.loads(enrolled.stdout)
            secret = data["otpauth_uri"].split("secret=")[1].split("&")[0]
            self.secrets[f"{user}:totp"] = secret
            self.secrets[f"{user}:recovery"] = data["recovery_codes"][0]
        with self.client() as client:
            changed = client.post(
                "/api/v1/auth/password",
                json={"user": user, "password": one_time, "code": self.code(user),
                      "new_password": NEW_PASSWORD},
            )  # fmt: skip
        assert changed.status_code == 200, changed.text

    def code(self, user: str) -> str:
        """A fresh TOTP code for the user (the next step's, so it has not been used yet)."""
        secret = self.secrets.get(f"{user}:totp")
        if secret is None:
            return ""
        used = int(self.secrets.get(f"{user}:step", "0"))
        step = totp.step_of(time.time())
        if used > step:  # the next step is spent too: wait for a fresh one
            time.sleep(totp.STEP_SECONDS - time.time() % totp.STEP_SECONDS + 0.2)
            step = totp.step_of(time.time())
        if used >= step:
            step = used + 1  # within the accepted drift window
        self.secrets[f"{user}:step"] = str(step)
        return totp.code_at(secret, step)

    def token(self, user: str) -> str:
        """Log in through the API and return a bearer token."""
        with self.client() as client:
            done = client.post(
                "/api/v1/auth/token",
                json={"user": user, "password": NEW_PASSWORD, "code": self.code(user)},
            )
        assert done.status_code == 200, done.text
        token = str(done.json()["token"])
        self.secrets[f"{user}:token:{len(self.secrets)}"] = token
        return token

    def journal(self) -> list[dict[str, Any]]:
        """The audit journal's events as stored."""
        path = self.site / ".dcops" / "audit" / "journal.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
