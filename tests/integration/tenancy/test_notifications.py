"""Notifications reach a real SMTP server (aiosmtpd) and a webhook; failures are kept and retried."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import DCOPS, RunDcops, dcops_env
from tests.integration.receivers import robot_channels, robot_server, serving
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
        self.delay = 0.0
        self.received: list[tuple[dict[str, Any], str]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(hook.delay)
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
    assert "notifications queued for smtp, webhook" in submitted.stdout
    approved = dcops("tenancy", "approve", "1", user="chenjing", env=env)
    assert approved.returncode == 0, approved.stderr
    assert box.messages == [] and hook.received == []  # commands only enqueue
    first = dcops("tenancy", "notifications", "--deliver", env=env)
    assert first.returncode == 0, first.stderr
    assert "delivered 3, failed 1" in first.stdout  # the webhook failed once
    assert "waiting" in first.stdout and "HTTP 500" in first.stdout
    second = dcops("tenancy", "notifications", "--deliver", env=env)  # its 0.05 s pause is over
    assert (
        "delivered 1, failed 0" in second.stdout and "all notifications delivered" in second.stdout
    )

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
    assert sorted((p["state"], p["actor"]) for p, _ in hook.received) == [
        ("approved", "chenjing"),
        ("submitted", "wanglei"),
    ]
    for body_bytes, (_, signature) in zip(hook.bodies, hook.received, strict=True):
        expected = hmac.new(SECRET.encode(), body_bytes, hashlib.sha256).hexdigest()
        assert signature == f"sha256={expected}"


@pytest.mark.integration
def test_commands_only_enqueue_while_the_channels_are_down_and_retry_delivers(
    dcops: RunDcops, site_dir: Path, hook: Hook
) -> None:
    box = Mailbox()
    port = free_port()
    _configure(site_dir, port, hook.url)
    hook.failures = 1000  # the webhook is down too
    submitted = dcops("tenancy", "request", SAMPLE, user="wanglei")
    assert submitted.returncode == 0, submitted.stderr
    assert "notifications queued for smtp, webhook" in submitted.stdout
    rejected = dcops("tenancy", "reject", "1", "--reason", "请补充等保测评报告", user="chenjing")
    assert rejected.returncode == 0 and "submitted → rejected" in rejected.stdout
    assert hook.failures == 1000  # no command tried to post
    waiting = json.loads(dcops("tenancy", "notifications", "-o", "json").stdout)
    assert [(w["request"], w["channel"], w["attempts"]) for w in waiting] == [
        (1, "smtp", 0),
        (1, "webhook", 0),
        (1, "smtp", 0),
        (1, "webhook", 0),
    ]
    failed = dcops("tenancy", "notifications", "--deliver")
    assert "delivered 0, failed 4" in failed.stdout
    waiting = json.loads(dcops("tenancy", "notifications", "-o", "json").stdout)
    assert all(w["attempts"] == 1 and w["next_attempt"] for w in waiting)
    assert "ConnectionRefused" in waiting[0]["error"] and "HTTP 500" in waiting[1]["error"]

    hook.failures = 0
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        retried = dcops("tenancy", "notifications", "--retry")
    finally:
        controller.stop()
    assert retried.returncode == 0, retried.stderr
    assert "delivered 4, failed 0" in retried.stdout
    assert "all notifications delivered" in retried.stdout
    subjects = [m["Subject"] for _, m in box.messages]
    assert subjects == [
        "[dcops] 租户申请 #1 fgw-production: 已提交 submitted",
        "[dcops] 租户申请 #1 fgw-production: 已驳回 rejected",
    ]
    assert "请补充等保测评报告" in box.messages[1][1].get_content()


@pytest.mark.integration
def test_concurrent_deliverers_post_each_message_once(
    dcops: RunDcops, site_dir: Path, hook: Hook
) -> None:
    hook.failures = 0
    hook.delay = 0.2  # slow posts widen the window in which deliverers overlap
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'[notifications.webhook]\nurl = "{hook.url}"\n')
    submitted = dcops("tenancy", "request", SAMPLE, user="wanglei")
    assert submitted.returncode == 0, submitted.stderr
    assert (
        dcops("tenancy", "reject", "1", "--reason", "重复 duplicate", user="chenjing").returncode
        == 0
    )
    runs = [
        subprocess.Popen(
            [str(DCOPS), "tenancy", "notifications", flag],
            cwd=site_dir,
            env=dcops_env("zhangwei"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ("--retry", "--deliver", "--retry", "--deliver")
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    states = sorted(p["state"] for p, _ in hook.received)
    assert states == ["rejected", "submitted"]  # each posted exactly once


@pytest.mark.integration
def test_without_a_channel_nothing_is_queued_and_it_says_so(dcops: RunDcops) -> None:
    submitted = dcops("tenancy", "request", SAMPLE, user="wanglei")
    assert submitted.returncode == 0 and "queued" not in submitted.stdout
    listed = dcops("tenancy", "notifications", "--deliver")
    assert listed.returncode == 0
    assert "no notification channel is configured" in listed.stdout
    assert "all notifications delivered" not in listed.stdout


ROBOT_SECRETS = {
    "DCOPS_TEST_DING_TOKEN": "ding-token",
    "DCOPS_TEST_DING_SECRET": "SECding-secret",
    "DCOPS_TEST_WECOM_KEY": "wecom-key",
    "DCOPS_TEST_SMS_TOKEN": "sms-token",
}


def _robots(ports: dict[str, int]) -> str:
    return 'retry_delay_s = 600\nchannels = ["ding", "wecom", "sms"]\n' + robot_channels(ports)


@pytest.mark.integration
def test_tenancy_events_reach_the_robots_and_sms_and_a_robot_that_was_down_gets_each_once(
    dcops: RunDcops, site_dir: Path
) -> None:
    ports = {kind: free_port() for kind in ("dingtalk", "wecom", "sms")}
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write(_robots(ports))
    ding_server, ding = robot_server(
        "dingtalk", ports["dingtalk"], {"token": "ding-token", "secret": "SECding-secret"}
    )
    sms_server, sms = robot_server("sms", ports["sms"], {"token": "sms-token"})
    env = dict(ROBOT_SECRETS)
    with serving(ding_server), serving(sms_server):  # the WeCom robot is down for now
        submitted = dcops("tenancy", "request", SAMPLE, user="wanglei", env=env)
        assert submitted.returncode == 0, submitted.stderr
        assert "notifications queued for ding, sms, wecom" in submitted.stdout
        approved = dcops("tenancy", "approve", "1", user="chenjing", env=env)
        assert approved.returncode == 0, approved.stderr
        first = dcops("tenancy", "notifications", "--deliver", env=env)
        assert first.returncode == 0, first.stderr
        assert "delivered 4, failed 2" in first.stdout
        waiting = json.loads(dcops("tenancy", "notifications", "-o", "json", env=env).stdout)
        assert [(w["channel"], w["attempts"]) for w in waiting] == [("wecom", 1), ("wecom", 1)]
        assert all("did not answer" in w["error"] and w["next_attempt"] for w in waiting)
        early = dcops("tenancy", "notifications", "--deliver", env=env)
        assert "delivered 0, failed 0" in early.stdout  # still in its back-off pause

        wecom_server, wecom = robot_server("wecom", ports["wecom"], {"key": "wecom-key"})
        with serving(wecom_server):
            # The robot is back; the operator does not wait out the pause (a timer would).
            later = dcops("tenancy", "notifications", "--retry", env=env)
            assert later.returncode == 0, later.stderr
            assert "delivered 2, failed 0" in later.stdout
            assert "all notifications delivered" in later.stdout
            again = dcops("tenancy", "notifications", "--deliver", env=env)
            assert "delivered 0, failed 0" in again.stdout
    for robot in (ding, sms, wecom):
        assert robot.refused == []
        assert len(robot.accepted) == 2, "each transition once, none twice"
    states = ("已提交 submitted", "已批准 approved")
    for state, message in zip(states, ding.accepted, strict=True):
        markdown = message["body"]["markdown"]
        assert markdown["title"] == f"[dcops] 租户申请 #1 fgw-production: {state}"
        assert markdown["text"].index("状态变为") < markdown["text"].index("is now")
        assert message["body"]["at"]["atMobiles"] == ["13800000003"]
    for state, message in zip(states, sms.accepted, strict=True):
        assert message["body"]["text"] == f"[dcops] 租户申请 #1 fgw-production: {state}"
        assert message["body"]["phones"] == ["13800000003"]  # the landline contact gets none
    keys = [m["key"] for m in sms.accepted]
    assert len(set(keys)) == 2 and all(k.startswith("dcops-tenancy-") for k in keys)
    content = wecom.accepted[1]["body"]["text"]["content"]
    assert content.index("已批准 approved") < content.index("is now approved")
