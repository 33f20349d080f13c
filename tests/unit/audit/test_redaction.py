"""Secrets in parameters never reach the journal."""

from __future__ import annotations

from dcops.audit.redaction import REDACTED, is_secret_key, redact


def test_secret_key_names_are_recognised_and_ordinary_ones_are_not() -> None:
    for name in (
        "psk",
        "vpn_psk",
        "preSharedKey",
        "password",
        "db_passwd",
        "api_token",
        "client_secret",
        "key",
        "ssh-key",
        "private_key",
        "snmp_community",
        "auth.key",
    ):
        assert is_secret_key(name), name
    for name in ("department", "keyboard", "monkey_count", "cidr", "tier", "peer_ip", "keys_total"):
        assert not is_secret_key(name), name


def test_values_under_secret_keys_are_replaced_at_any_depth() -> None:
    params = {
        "department": "fgw",
        "vpn": {"peer": "203.0.113.7", "psk": "s3cr3t-psk-value"},
        "users": [{"name": "ops1", "password": "hunter22"}],
        "token": "abcd1234",
        "empty_password": "",
    }
    out = redact(params)
    assert out["vpn"] == {"peer": "203.0.113.7", "psk": REDACTED}
    assert out["users"] == [{"name": "ops1", "password": REDACTED}]
    assert out["token"] == REDACTED
    assert out["department"] == "fgw"
    assert out["empty_password"] == ""
    assert params["vpn"]["psk"] == "s3cr3t-psk-value"  # the caller's data is left alone


def test_explicit_secret_values_are_removed_wherever_they_appear() -> None:
    out = redact(
        {"command": "ipsec up --secret=Zx9-TopSecret", "note": ["Zx9-TopSecret in a list"]},
        secrets=["Zx9-TopSecret"],
    )
    assert "Zx9-TopSecret" not in str(out)
    assert out["command"] == f"ipsec up --secret={REDACTED}"
