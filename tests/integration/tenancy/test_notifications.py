"""Notifications reach a real SMTP server (aiosmtpd) and a webhook; failures are kept and retried."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import RunDcops
from tests.integration.tenancy.conftest import SAMPLE, free_port

SECRET = "webhook-signing-key-for-tests"


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"


class Hook:
    """A webhook receiver that fails the first `failures` posts with HTTP 500."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, Any], str]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.failures > 0:
                    hook.failures -= 1
                    self.send_response(500)
                else:
                    hook.received.append((json.loads(body), self.headers["X-Dcops-Signature"]))
                    hook.bodies.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.bodies: list[bytes] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/dcops"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, Controller]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller
    controller.stop()


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook(failures=1)
    yield receiver
    receiver.close()


def _configure(site_dir: Path, smtp_port: int, hook_url: str) -> None:
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            "retry_delay_s = 0.05\n"
            "[notifications.smtp]\n"
            f'host = "127.0.0.1"\nport = {smtp_port}\nsender = "dcops@gdc.example.gov.cn"\n'
            "timeout_s = 5\n"
            f'[notifications.webhook]\nurl = "{hook_url}"\nsecret_env = "DCOPS_HOOK_KEY"\n'
        )


@pytest.mark.integration
def test_every_transition_is_mailed_and_posted(
    dcops: RunDcops, site_dir: Path, mailbox: tuple[Mailbox, Controller], hook: Hook
) -> None:
    box, controller = mailbox
    _configure(site_dir, controller.port, hook.url)
    env = {"DCOPS_HOOK_KEY": SECRET}
    submitted = dcops("tenancy", "request", SAMPLE, user="wanglei", env=env)
    assert submitted.returncode == 0, submitted.stderr
    # the webhook failed once and was retried within the same run
    assert "notification by webhook: delivered" in submitted.stdout
    assert "notification by smtp: delivered" in submitted.stdout
    approved = dcops("tenancy", "approve", "1", user="chenjing", env=env)
    assert approved.returncode == 0, approved.stderr

    assert [m["Subject"] for _, m in box.messages] == [
        "[dcops] 租户申请 #1 fgw-production: 已提交 submitted",
        "[dcops] 租户申请 #1 fgw-production: 已批准 approved",
    ]
    recipients, approval = box.messages[1]
    assert set(recipients) == {
        "wanglei@fgw.example.gov.cn",
        "liuyang@dsj.example.gov.cn",
        "chenjing@dsj.example.gov.cn",
    }
    body = approval.get_content()
    assert body.index("状态变为：已批准 approved") < body.index("is now approved")
    assert [(p["state"], p["actor"]) for p, _ in hook.received] == [
        ("submitted", "wanglei"),
        ("approved", "chenjing"),
    ]
    for body_bytes, (_, signature) in zip(hook.bodies, hook.received, strict=True):
        expected = hmac.new(SECRET.encode(), body_bytes, hashlib.sha256).hexdigest()
        assert signature == f"sha256={expected}"


@pytest.mark.integration
def test_a_mail_server_outage_is_reported_kept_and_retried(
    dcops: RunDcops, site_dir: Path, hook: Hook
) -> None:
    box = Mailbox()
    port = free_port()
    _configure(site_dir, port, hook.url)
    submitted = dcops("tenancy", "request", SAMPLE, user="wanglei")
    assert submitted.returncode == 0, submitted.stderr
    assert "notification by smtp: FAILED after 3 tries (ConnectionRefusedError" in submitted.stdout
    assert "dcops tenancy notifications --retry" in submitted.stdout
    rejected = dcops("tenancy", "reject", "1", "--reason", "请补充等保测评报告", user="chenjing")
    assert rejected.returncode == 0 and "submitted → rejected" in rejected.stdout
    waiting = json.loads(dcops("tenancy", "notifications", "-o", "json").stdout)
    assert [(w["request"], w["channel"]) for w in waiting] == [(1, "smtp"), (1, "smtp")]
    assert all(w["attempts"] >= 3 and "ConnectionRefused" in w["error"] for w in waiting)

    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        retried = dcops("tenancy", "notifications", "--retry")
    finally:
        controller.stop()
    assert retried.returncode == 0, retried.stderr
    assert "delivered 2, failed 0" in retried.stdout
    assert "all notifications delivered" in retried.stdout
    subjects = [m["Subject"] for _, m in box.messages]
    assert subjects == [
        "[dcops] 租户申请 #1 fgw-production: 已提交 submitted",
        "[dcops] 租户申请 #1 fgw-production: 已驳回 rejected",
    ]
    assert "请补充等保测评报告" in box.messages[1][1].get_content()
