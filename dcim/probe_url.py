"""Targets given as URLs: snmp://HOST:PORT (community from a file, the environment or a device's
secret reference), snmpv3://USER@HOST:PORT?auth=sha&priv=aes, modbus://HOST:PORT/UNIT."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from dcops.core.errors import InputError
from dcops.dcim.inventory import PROFILE_PROTOCOL, Target
from dcops.dcim.profiles import bundled_profile

AUTH_ENV, PRIV_ENV = "DCOPS_SNMP_AUTH_PASSWORD", "DCOPS_SNMP_PRIV_PASSWORD"
COMMUNITY_ENV = "DCOPS_SNMP_COMMUNITY"
FORMS = (
    "snmp://HOST:PORT (community from community_file=PATH, secret=DEVICE or "
    f"${COMMUNITY_ENV}), snmp://COMMUNITY@HOST:PORT, snmpv3://USER@HOST:PORT?auth=sha&priv=aes, "
    "modbus://HOST:PORT/UNIT"
)


def target_from_url(
    url: str,
    profile_name: str,
    timeout: float,
    retries: int,
    state: Path | None = None,
    *,
    secret: Callable[[str], str] | None = None,
    files: bool = True,
) -> Target:
    """A one-off poll target; InputError naming the allowed forms if the URL is not one of them.

    `secret` resolves `secret=DEVICE` to that inventory device's community; `files` allows
    `community_file=` and the SNMPv3 password files (never for URLs that come over HTTP).
    """
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
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if scheme == "snmp":
        community = unquote(parts.username or "") or _community(url, query, state, secret, files)
        return Target(port=port or 161, community=community, **common)  # type: ignore[arg-type]
    if not parts.username:
        raise InputError(f"target {url!r} names no user; allowed forms: {FORMS}")
    if not files and ("auth_file" in query or "priv_file" in query):
        raise InputError(f"target {url!r}: password files cannot be named in a probe over HTTP")
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


def _community(
    url: str,
    query: dict[str, str],
    state: Path | None,
    secret: Callable[[str], str] | None,
    files: bool,
) -> str:
    """The v2c community of a URL without one: a file, a device's secret reference, or the env."""
    if "community_file" in query:
        if not files:
            raise InputError(
                f"target {url!r}: a community file cannot be named in a probe over HTTP; "
                "use secret=DEVICE"
            )
        return _read_secret(query["community_file"], state, "SNMP community")
    if "secret" in query:
        if secret is None:
            raise InputError(
                f"target {url!r}: secret={query['secret']} needs the site's inventory "
                "(run inside the site, or give --site)"
            )
        return secret(query["secret"])
    value = os.environ.get(COMMUNITY_ENV)
    if not value:
        raise InputError(
            f"target {url!r} names no community; give community_file=PATH, secret=DEVICE "
            f"(a device of inventory/devices.yml) or set {COMMUNITY_ENV}"
        )
    return value


def _read_secret(file: str, state: Path | None, what: str) -> str:
    path = Path(file) if Path(file).is_absolute() or state is None else state / file
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError:
        raise InputError(f"the {what} file {path} cannot be read") from None
    if not value:
        raise InputError(f"the {what} file {path} is empty")
    return value


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
