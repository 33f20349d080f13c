"""The WeCom group robot (企业微信群机器人): text messages that @-mention the recipients by mobile."""

from __future__ import annotations

import urllib.parse

from dcops.monitors.channel import Notice
from dcops.monitors.posting import check_robot_reply, post_json

MAX_TEXT_BYTES = 2048


def wecom_message(notice: Notice) -> dict[str, object]:
    """A text message (at most 2048 bytes of UTF-8, WeCom's limit) with mentioned mobiles."""
    content = f"{notice.subject}\n{notice.text}"
    encoded = content.encode()
    if len(encoded) > MAX_TEXT_BYTES:
        content = encoded[: MAX_TEXT_BYTES - 3].decode(errors="ignore") + "…"
    return {
        "msgtype": "text",
        "text": {
            "content": content,
            "mentioned_mobile_list": [r.phone for r in notice.recipients if r.phone],
        },
    }


class WecomChannel:
    """Posts to one robot; its key comes from a secret reference."""

    def __init__(self, name: str, url: str, key: str, timeout: float) -> None:
        self.name = name
        self.url = url
        self._key = key
        self.timeout = timeout

    def send(self, notice: Notice) -> None:
        """Post the message; errcode 0 is delivered."""
        what = f"WeCom robot {self.name}"
        query = urllib.parse.urlencode({"key": self._key})
        reply = post_json(
            f"{self.url}?{query}",
            wecom_message(notice),
            what=what,
            timeout=self.timeout,
            shown_url=self.url,
        )
        check_robot_reply(reply, what)
