"""Why Nova put a server in ERROR, read back when the engine only says that it did.

The OpenStack provider reports a failed boot as "Error waiting for instance (ID) to become
ready: unexpected state 'ERROR'" and nothing more; Nova keeps the reason in the server's
`fault` (for example "No valid host was found"). dcops looks it up with the same
clouds.yaml entry so that ops see the cause without opening Horizon.
"""

from __future__ import annotations

import re
from typing import Any

FAILED_BOOT = re.compile(r"Error waiting for instance \(([0-9a-f-]{36})\) to become ready")
MAX_FAULT = 300  # characters of Nova's message kept in dcops' own


def failed_servers(text: str) -> list[str]:
    """The IDs of the servers the engine's output says went to ERROR, in order, once each."""
    return list(dict.fromkeys(FAILED_BOOT.findall(text)))


def describe_faults(cloud: str, text: str) -> list[str]:
    """One line per failed server: its name and Nova's fault; empty when none is known."""
    ids = failed_servers(text)
    if not ids:
        return []
    import openstack
    import openstack.exceptions

    try:
        conn = openstack.connect(cloud=cloud)
        return [_line(conn, server_id) for server_id in ids]
    except openstack.exceptions.SDKException as exc:
        return [f"Nova 的故障原因无法读取 / Nova's fault could not be read: {exc}"]


def _line(conn: Any, server_id: str) -> str:
    server = conn.compute.get_server(server_id)
    fault = getattr(server, "fault", None) or {}
    message = str(fault.get("message") or "no fault recorded")[:MAX_FAULT]
    code = fault.get("code")
    where = f" (HTTP {code})" if code else ""
    return (
        f"服务器 {server.name} 启动失败 / server {server.name} ({server_id}) went to ERROR: "
        f"Nova says{where}: {message}"
    )
