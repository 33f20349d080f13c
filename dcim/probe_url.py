"""Targets given as URLs: snmp://COMMUNITY@HOST:PORT, snmpv3://USER@HOST:PORT?auth=sha&priv=aes,
modbus://HOST:PORT/UNIT."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from dcops.core.errors import InputError
from dcops.dcim.inventory import PROFILE_PROTOCOL, Target
from dcops.dcim.profiles import bundled_profile

AUTH_ENV, PRIV_ENV = "DCOPS_SNMP_AUTH_PASSWORD", "DCOPS_SNMP_PRIV_PASSWORD"
FORMS = (
    "snmp://COMMUNITY@HOST:PORT, snmpv3://USER@HOST:PORT?auth=sha&priv=aes, modbus://HOST:PORT/UNIT"
)


def target_from_url(
    url: str, profile_name: str, timeout: float, retries: int, state: Path | None = None
) -> Target:
    """A one-off poll target; InputError naming the allowed forms if the URL is not one of them."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme not in PROFILE_PROTOCOL or not parts.hostname:
        raise InputError(f"cannot use target {url!r}; allowed forms: {FORMS}")
    try:
        port = parts.port
    except ValueError:
        raise InputError(f"target {url!r} has a bad port; allowed: 1..65535") from None
    profile = bundled_profile(profile_name)
    if profile.protocol != PROFILE_PROTOCOL[scheme]:
        raise InputError(
            f"profile {profile_name} speaks {profile.protocol}, target {url!r} is {scheme}"
        )
    common = {
        "name": parts.hostname,
        "kind": profile.kind,
        "room": "",
        "rack": "",
        "protocol": scheme,
        "host": parts.hostname,
        "profile": profile,
        "timeout": timeout,
        "retries": retries,
    }
    if scheme == "modbus":
        unit_text = parts.path.strip("/") or "1"
        if not unit_text.isdigit() or int(unit_text) > 247:
            raise InputError(
                f"unit {unit_text!r} in {url!r} is not a Modbus unit id; allowed: 0..247"
            )
        host_port = f"{parts.hostname}:{port or 502}"
        return Target(port=port or 502, unit=int(unit_text), endpoint=host_port, **common)  # type: ignore[arg-type]
    if not parts.username:
        what = "community" if scheme == "snmp" else "user"
        raise InputError(f"target {url!r} names no {what}; allowed forms: {FORMS}")
    if scheme == "snmp":
        return Target(port=port or 161, community=unquote(parts.username), **common)  # type: ignore[arg-type]
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if query.get("auth", "sha") != "sha" or query.get("priv", "aes") != "aes":
        raise InputError(f"target {url!r}: allowed auth=sha and priv=aes (SHA-1 and AES-128)")
    auth = _secret(query.get("auth_file"), AUTH_ENV, state, "authentication")
    priv = _secret(query.get("priv_file"), PRIV_ENV, state, "privacy")
    return Target(
        port=port or 161,
        user=unquote(parts.username),
        auth_password=auth,
        priv_password=priv,
        **common,  # type: ignore[arg-type]
    )


def _secret(file: str | None, env: str, state: Path | None, what: str) -> str:
    if file:
        path = Path(file) if Path(file).is_absolute() or state is None else state / file
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError:
            raise InputError(f"the SNMPv3 {what} password file {path} cannot be read") from None
    value = os.environ.get(env)
    if not value:
        raise InputError(
            f"the SNMPv3 {what} password is not set: set {env} or give {what[:4]}_file=PATH"
        )
    return value
