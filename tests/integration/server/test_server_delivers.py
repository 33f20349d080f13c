"""`dcops serve` delivers the notifications that tenancy commands queue, with no timer running."""

from __future__ import annotations

import email
import email.policy
import time
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import copy_site
from tests.integration.server.live_server import LiveServer, free_port, run_cli
from tests.integration.tenancy.conftest import SAMPLE

pytestmark = pytest.mark.integration


class Mailbox:
    """An aiosmtpd handler that keeps the subject of every message it receives."""

    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.subjects.append(str(message["Subject"]))
        return "250 OK"


def test_the_server_mails_a_submitted_request_without_a_timer(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    site = copy_site(tmp_path_factory.mktemp("delivers") / "site")
    box = Mailbox()
    relay = Controller(box, hostname="127.0.0.1", port=free_port())
    relay.start()
    toml = site / "dcops.toml"
    text = toml.read_text(encoding="utf-8").replace(
        "port = 8443\n", "port = 8443\ndeliver_every_s = 1\n", 1
    )
    toml.write_text(
        text + "[notifications.smtp]\n"
        f'host = "127.0.0.1"\nport = {relay.port}\nsender = "dcops@gdc.example.gov.cn"\n',
        encoding="utf-8",
    )
    server = LiveServer(site)
    server.start()
    try:
        submitted = run_cli(site, "tenancy", "request", str(SAMPLE), user="wanglei")
        assert submitted.returncode == 0, submitted.stderr
        assert "notifications queued for smtp" in submitted.stdout
        deadline = time.monotonic() + 90
        while not box.subjects and time.monotonic() < deadline:
            time.sleep(0.5)
        assert box.subjects == ["[dcops] 租户申请 #1 fgw-production: 已提交 submitted"]
        left = run_cli(site, "tenancy", "notifications", user="liuyang")
        assert "all notifications delivered" in left.stdout, left.stdout
    finally:
        server.stop()
        relay.stop()
    assert box.subjects == ["[dcops] 租户申请 #1 fgw-production: 已提交 submitted"]  # sent once
