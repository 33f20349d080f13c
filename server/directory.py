"""LDAP / Active Directory: check a password by binding as the user, then read their groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dcops.core.errors import OperationFailed

if TYPE_CHECKING:
    from dcops.core.access import LdapSettings

# Attributes that say a directory account is switched off: OpenLDAP's password policy lock
# and Active Directory's userAccountControl (bit 2, ACCOUNTDISABLE).
DISABLED_ATTRIBUTES = ["pwdAccountLockedTime", "userAccountControl"]
AD_ACCOUNT_DISABLED = 2


class DirectoryError(OperationFailed):
    """The directory could not be reached or answered with an error."""


@dataclass(frozen=True)
class DirectoryEntry:
    """What the directory says of a user now: whether they exist, are switched off, their groups."""

    found: bool
    disabled: bool
    groups: tuple[str, ...]


def _escape_dn_value(value: str) -> str:
    """Escape a value for a DN (RFC 4514)."""
    out = []
    for i, char in enumerate(value):
        if (
            char in ',+"\\<>;='
            or (char in " #" and i == 0)
            or (char == " " and i == len(value) - 1)
        ):
            out.append("\\" + char)
        elif ord(char) < 32:
            out.append(f"\\{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def user_dn(settings: LdapSettings, user: str) -> str:
    """The user's DN from the site's template, with the name escaped."""
    return settings.user_dn.format(user=_escape_dn_value(user))


def _connection(settings: LdapSettings, dn: str, password: str) -> Any:
    """A bound connection (TLS verified against the site's CA); raises ldap3's errors."""
    import ssl

    import ldap3

    tls = None
    if settings.ca_file or settings.url.startswith("ldaps://") or settings.start_tls:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)
    # No schema read: ldap3 would refuse to ask for an attribute the directory does not define
    # (userAccountControl on OpenLDAP), and a missing attribute simply comes back empty.
    server = ldap3.Server(
        settings.url, connect_timeout=settings.timeout_s, tls=tls, get_info=ldap3.NONE
    )
    connection = ldap3.Connection(
        server, user=dn, password=password, receive_timeout=settings.timeout_s,
        raise_exceptions=True,
    )  # fmt: skip
    if settings.start_tls:
        connection.open()
        connection.start_tls()
    connection.bind()
    return connection


def bind_and_groups(settings: LdapSettings, user: str, password: str) -> DirectoryEntry | None:
    """The user's entry and groups after binding as them; None when the directory refuses."""
    from ldap3.core.exceptions import LDAPBindError, LDAPException

    if not password:
        return None  # an empty password would be an anonymous bind, which always "succeeds"
    dn = user_dn(settings, user)
    try:
        connection = _connection(settings, dn, password)
    except LDAPBindError:
        return None
    except LDAPException as exc:
        if "invalidCredentials" in str(exc) or "invalid credentials" in str(exc).lower():
            return None
        raise DirectoryError(f"LDAP {settings.url}: {type(exc).__name__}") from None
    try:
        return _entry(connection, settings, user, dn)
    finally:
        connection.unbind()


def look_up(settings: LdapSettings, user: str, lookup_password: str) -> DirectoryEntry:
    """The user's entry and groups now, read with the site's lookup account (no user password)."""
    from ldap3.core.exceptions import LDAPException

    assert settings.lookup_dn is not None
    try:
        connection = _connection(settings, settings.lookup_dn, lookup_password)
    except LDAPException as exc:
        raise DirectoryError(f"LDAP {settings.url} lookup bind: {type(exc).__name__}") from None
    try:
        return _entry(connection, settings, user, user_dn(settings, user))
    finally:
        connection.unbind()


def _entry(connection: Any, settings: LdapSettings, user: str, dn: str) -> DirectoryEntry:
    from ldap3 import BASE
    from ldap3.core.exceptions import LDAPException, LDAPNoSuchObjectResult
    from ldap3.utils.conv import escape_filter_chars

    try:
        try:
            connection.search(
                dn, "(objectClass=*)", search_scope=BASE, attributes=DISABLED_ATTRIBUTES
            )
        except LDAPNoSuchObjectResult:
            return DirectoryEntry(found=False, disabled=False, groups=())
        if not connection.entries:
            return DirectoryEntry(found=False, disabled=False, groups=())
        disabled = _disabled(connection.entries[0])
        wanted = escape_filter_chars(dn)
        connection.search(
            settings.group_base,
            f"(|(member={wanted})(uniqueMember={wanted})(memberUid={escape_filter_chars(user)}))",
            attributes=["cn"],
            size_limit=500,
        )
        groups = tuple(sorted(str(entry.cn.value) for entry in connection.entries))
    except LDAPException as exc:
        raise DirectoryError(f"LDAP {settings.url} search: {type(exc).__name__}") from None
    return DirectoryEntry(found=True, disabled=disabled, groups=groups)


def _disabled(entry: Any) -> bool:
    values = entry.entry_attributes_as_dict
    if values.get("pwdAccountLockedTime"):
        return True
    control = values.get("userAccountControl") or [0]
    try:
        return bool(int(control[0]) & AD_ACCOUNT_DISABLED)
    except (TypeError, ValueError):
        return True  # a value we cannot read is not proof the account is on
