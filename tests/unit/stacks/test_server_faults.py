"""Reading the engine's report of servers that went to ERROR."""

from __future__ import annotations

from dcops.stacks.server_faults import describe_faults, failed_servers

ONE = "0f8e9c1a-1111-4a2b-9c3d-123456789abc"
TWO = "7a6b5c4d-2222-4e3f-8a9b-abcdefabcdef"


def said(server_id: str) -> str:
    return (
        f"* Error waiting for instance ({server_id}) to become ready: unexpected state "
        "'ERROR', wanted target 'ACTIVE'. last error: %!s(<nil>)"
    )


def test_each_failed_server_is_found_once_in_order() -> None:
    text = "\n".join([said(TWO), "Resources: + 42 created", said(ONE), said(TWO)])
    assert failed_servers(text) == [TWO, ONE]


def test_other_failures_name_no_server_and_need_no_cloud() -> None:
    assert failed_servers("error: quota exceeded for security_group_rule") == []
    assert describe_faults("no-such-cloud-entry", "error: quota exceeded") == []
