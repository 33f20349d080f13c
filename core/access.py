"""The [identity] and [server] sections of dcops.toml: who may claim a name, how people log in."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from dcops.core.strict import Strict

# Roles whose people must log in with a second factor when the site runs a server.
SECOND_FACTOR_ROLES = ("ops", "approver", "auditor", "security")


def _url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or len(value) > 300 or " " in value:
        raise ValueError(
            f"{value!r} is not a server address; allowed: https://HOST:PORT "
            "(http:// only for loopback)"
        )
    return value.rstrip("/")


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address; allowed: e.g. 127.0.0.1") from None
    return value


def _ldap_url(value: str) -> str:
    if not value.startswith(("ldap://", "ldaps://")) or len(value) > 300:
        raise ValueError(f"{value!r} is not an LDAP URL; allowed: ldaps://HOST:PORT or ldap://")
    return value


class SeparationOfDuties(Strict):
    """三权分立: system, security and audit administration held by different people."""

    strict: bool = Field(
        default=False,
        description="refuse the site (not only warn) when one person holds roles kept apart",
    )


class PasswordPolicy(Strict):
    """What a local password must look like and how long it lives."""

    min_length: int = Field(default=12, ge=8, le=128)
    classes: int = Field(
        default=3, ge=1, le=4, description="of lower case, upper case, digits, other characters"
    )
    history: int = Field(default=5, ge=0, le=24, description="earlier passwords refused again")
    max_age_days: int = Field(default=90, ge=1, le=3650)


class Lockout(Strict):
    """How many failed logins in a row lock an account, and for how long."""

    failures: int = Field(default=5, ge=1, le=100)
    minutes: int = Field(default=15, ge=1, le=1440)


class SessionLimits(Strict):
    """How long sessions and the CLI's tokens live."""

    idle_minutes: int = Field(default=15, ge=1, le=1440)
    lifetime_hours: int = Field(default=8, ge=1, le=72)
    cli_token_hours: int = Field(default=8, ge=1, le=72)
    max_token_days: int = Field(default=90, ge=1, le=366, description="longest API token")


class LdapSettings(Strict):
    """A directory (OpenLDAP or Active Directory) that checks passwords and gives roles by group."""

    url: Annotated[str, AfterValidator(_ldap_url)]
    user_dn: str = Field(
        min_length=1,
        description="DN template with {user}, e.g. uid={user},ou=people,dc=gdc,dc=example",
    )
    group_base: str = Field(min_length=1, description="where groups are searched")
    group_roles: dict[str, list[str]] = Field(
        default_factory=dict, description="group cn → dcops roles"
    )
    start_tls: bool = Field(default=False, description="StartTLS on an ldap:// URL")
    ca_file: str | None = Field(
        default=None, description="PEM CA the directory's certificate is checked against"
    )
    timeout_s: float = Field(default=5, gt=0, le=60)
    lookup_dn: str | None = Field(
        default=None,
        description="a read-only account the server binds as to re-check directory logins",
    )
    lookup_password_file: str | None = Field(
        default=None, description="file holding lookup_dn's password (relative to dcops.toml; 0600)"
    )
    recheck_seconds: int = Field(
        default=300,
        ge=0,
        le=86400,
        description="how often a directory login is checked again: removed, disabled or "
        "regrouped users lose their tokens",
    )

    @model_validator(mode="after")
    def _safe(self) -> LdapSettings:
        if self.url.startswith("ldap://") and not self.start_tls:
            raise ValueError(
                f"{self.url}: passwords would cross the network in the clear; allowed: an "
                "ldaps:// URL, or start_tls = true"
            )
        if (self.lookup_dn is None) != (self.lookup_password_file is None):
            raise ValueError("lookup_dn and lookup_password_file go together; give both or neither")
        return self


class IdentitySettings(Strict):
    """Who dcops believes a caller is, and the rules for accounts."""

    allow_user_override: bool = Field(
        default=False,
        description="honour DCOPS_USER in local mode (demos and labs only); audit keeps the OS login",
    )
    server: Annotated[str, AfterValidator(_url)] | None = Field(
        default=None,
        description="the dcops server the CLI goes through, e.g. https://127.0.0.1:8443",
    )
    server_ca: str | None = Field(
        default=None,
        max_length=300,
        description="PEM CA file the CLI trusts for the server (relative to dcops.toml); "
        "default the CA that `dcops serve` generated in the state dir, else the system's",
    )
    separation: SeparationOfDuties = SeparationOfDuties()
    passwords: PasswordPolicy = PasswordPolicy()
    lockout: Lockout = Lockout()
    sessions: SessionLimits = SessionLimits()
    ldap: LdapSettings | None = None


class ServerSettings(Strict):
    """Where `dcops serve` listens and with which certificate."""

    listen_host: Annotated[str, AfterValidator(_ip)] = "127.0.0.1"
    port: int = Field(default=8443, ge=0, le=65535)
    http: bool = Field(
        default=False, description="plain HTTP instead of HTTPS; allowed on loopback only"
    )
    cert: str | None = Field(
        default=None,
        description="PEM certificate; default a loopback one generated in the state dir",
    )
    key: str | None = Field(default=None, description="PEM private key of the certificate")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=67_108_864)
    deliver_every_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="how often the server delivers queued notifications; 0: a timer does it",
    )
