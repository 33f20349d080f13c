"""The DingTalk group robot (钉钉群机器人): markdown messages, signed by timestamp + secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

from dcops.monitors.channel import Notice
from dcops.monitors.posting import check_robot_reply, post_json


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64 of HMAC-SHA256(secret, "<timestamp>\\n<secret>")."""
    text = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), text, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_message(notice: Notice) -> dict[str, object]:
    """A markdown message that @-mentions the recipients by mobile number."""
    phones = [r.phone for r in notice.recipients if r.phone]
    mentions = " ".join(f"@{p}" for p in phones)
    text = f"### {notice.subject}\n\n" + notice.text.replace("\n", "  \n")
    if mentions:
        text += f"\n\n{mentions}"
    return {
        "msgtype": "markdown",
        "markdown": {"title": notice.subject, "text": text},
        "at": {"atMobiles": phones, "isAtAll": False},
    }


class DingtalkChannel:
    """Posts to one robot; the access token and signing secret come from secret references."""

    def __init__(self, name: str, url: str, token: str, secret: str, timeout: float) -> None:
        self.name = name
        self.url = url
        self._token = token
        self._secret = secret
        self.timeout = timeout

    def send(self, notice: Notice) -> None:
        """Sign with the current time and post; errcode 0 is delivered."""
        timestamp = int(time.time() * 1000)
        query = urllib.parse.urlencode(
            {
                "access_token": self._token,
                "timestamp": timestamp,
                "sign": dingtalk_sign(self._secret, timestamp),
            }
        )
        what = f"DingTalk robot {self.name}"
        reply = post_json(
            f"{self.url}?{query}",
            dingtalk_message(notice),
            what=what,
            timeout=self.timeout,
            shown_url=self.url,
        )
        check_robot_reply(reply, what)
