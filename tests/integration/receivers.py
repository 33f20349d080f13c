"""Real receivers on loopback for the notifier's channels: an SMTP relay with STARTTLS and login,
and HTTP servers that check each robot's signature and message format the way the services do."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test relay")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "relay.crt", folder / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Relay:
    """What the SMTP relay received: messages, and whether each came over TLS after a login."""

    user: str
    password: str
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        assert session.ssl is not None, "mail arrived without STARTTLS"
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.messages.append(mail)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.user
            and auth_data.password.decode() == self.password
        )
        self.logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)

    def keys(self) -> list[str]:
        """The delivery keys of the received mails, in order."""
        return [str(m["X-Dcops-Delivery"]) for m in self.messages]


@contextmanager
def smtp_relay(
    folder: Path, port: int, user: str, password: str, starttls: bool = True
) -> Iterator[tuple[Relay, Path]]:
    """An aiosmtpd relay that demands STARTTLS before login and mail; yields it and its CA file."""
    cert, key = self_signed(folder)
    relay = Relay(user, password)
    kwargs: dict[str, Any] = {"authenticator": relay.authenticate, "auth_require_tls": True}
    if starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs |= {"tls_context": context, "require_starttls": True}
    else:
        kwargs["auth_require_tls"] = False
    controller = Controller(relay, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield relay, cert
    finally:
        controller.stop()


@dataclass
class Received:
    """Messages an HTTP receiver accepted (with their delivery keys) and what it refused."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _dingtalk_check(secret: str, token: str, query: dict[str, str], body: dict[str, Any]) -> str:
    if query.get("access_token") != token:
        return "token"
    stamp = query.get("timestamp", "")
    if not stamp.isdigit() or abs(int(stamp) - time.time() * 1000) > 3_600_000:
        return "timestamp"
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    if query.get("sign") != expected:
        return "sign not match"
    markdown = body.get("markdown") or {}
    if body.get("msgtype") != "markdown" or not markdown.get("title") or not markdown.get("text"):
        return "markdown"
    if not isinstance((body.get("at") or {}).get("atMobiles"), list):
        return "at"
    return ""


def _wecom_check(key: str, query: dict[str, str], body: dict[str, Any]) -> str:
    if query.get("key") != key:
        return "invalid webhook url"
    text = body.get("text") or {}
    content = text.get("content")
    if body.get("msgtype") != "text" or not isinstance(content, str) or not content:
        return "text"
    if len(content.encode()) > 2048:
        return "content exceed max length"
    if not isinstance(text.get("mentioned_mobile_list"), list):
        return "mentioned_mobile_list"
    return ""


def _sms_check(token: str, headers: Any, body: dict[str, Any]) -> str:
    if headers.get("Authorization") != f"Bearer {token}":
        return "unauthorised"
    phones = body.get("phones")
    if not isinstance(phones, list) or not phones or not all(str(p).isdigit() for p in phones):
        return "phones"
    if not isinstance(body.get("text"), str) or not body["text"] or not body.get("id"):
        return "text"
    return ""


def _webhook_check(key: str, headers: Any, raw: bytes) -> str:
    stamp = headers.get("X-Dcops-Timestamp", "")
    expected = hmac.new(key.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    if headers.get("X-Dcops-Signature") != f"sha256={expected}":
        return "signature"
    return ""


def robot_server(
    kind: str, port: int, secrets: dict[str, str]
) -> tuple[ThreadingHTTPServer, Received]:
    """A bound HTTP receiver of one kind (dingtalk, wecom, sms, webhook) checking what it gets."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with received.lock:
                if received.fail_next > 0:
                    received.fail_next -= 1
                    self._reply(503, {"error": "busy"})
                    return
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                self._refuse("not json", 400)
                return
            if kind == "dingtalk":
                problem = _dingtalk_check(secrets["secret"], secrets["token"], query, body)
            elif kind == "wecom":
                problem = _wecom_check(secrets["key"], query, body)
            elif kind == "sms":
                problem = _sms_check(secrets["token"], self.headers, body)
            else:
                problem = _webhook_check(secrets["secret"], self.headers, raw)
            if problem:
                self._refuse(problem, 401 if kind in ("sms", "webhook") else 200)
                return
            with received.lock:
                received.accepted.append(
                    {
                        "body": body,
                        "key": self.headers.get("X-Dcops-Delivery") or body.get("id"),
                        "at": time.time(),
                    }
                )
            self._reply(200, {"errcode": 0, "errmsg": "ok"})

        def _refuse(self, problem: str, code: int) -> None:
            with received.lock:
                received.refused.append(problem)
            self._reply(code, {"errcode": 310000, "errmsg": problem})

        def _reply(self, code: int, data: dict[str, Any]) -> None:
            body = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler), received


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    """Serve in a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def robot_channels(ports: dict[str, int]) -> str:
    """TOML for the DingTalk, WeCom and SMS channels (ding, wecom, sms) on these loopback ports.

    Their secrets are read from DCOPS_TEST_DING_TOKEN, DCOPS_TEST_DING_SECRET,
    DCOPS_TEST_WECOM_KEY and DCOPS_TEST_SMS_TOKEN.
    """
    return f"""
[[monitors.channels]]
name = "ding"
kind = "dingtalk"
url = "http://127.0.0.1:{ports["dingtalk"]}/robot/send"
token = {{env = "DCOPS_TEST_DING_TOKEN"}}
secret = {{env = "DCOPS_TEST_DING_SECRET"}}
timeout_s = 5

[[monitors.channels]]
name = "wecom"
kind = "wecom"
url = "http://127.0.0.1:{ports["wecom"]}/cgi-bin/webhook/send"
key = {{env = "DCOPS_TEST_WECOM_KEY"}}
timeout_s = 5

[[monitors.channels]]
name = "sms"
kind = "sms"
url = "http://127.0.0.1:{ports["sms"]}/send"
token = {{env = "DCOPS_TEST_SMS_TOKEN"}}
timeout_s = 5
"""
