"""LDAP / Active Directory: check a password by binding as the user, then read their groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dcops.core.errors import OperationFailed

if TYPE_CHECKING:
    from dcops.core.access import LdapSettings


class DirectoryError(OperationFailed):
    """The directory could not be reached or answered with an error."""


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


def bind_and_groups(settings: LdapSettings, user: str, password: str) -> list[str] | None:
    """The cn of each group holding the user, or None when the directory refuses the password."""
    import ldap3
    from ldap3.core.exceptions import LDAPBindError, LDAPException
    from ldap3.utils.conv import escape_filter_chars

    if not password:
        return None  # an empty password would be an anonymous bind, which always "succeeds"
    user_dn = settings.user_dn.format(user=_escape_dn_value(user))
    tls = None
    if settings.ca_file or settings.url.startswith("ldaps://") or settings.start_tls:
        import ssl

        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)
    server = ldap3.Server(settings.url, connect_timeout=settings.timeout_s, tls=tls)
    try:
        connection = ldap3.Connection(
            server,
            user=user_dn,
            password=password,
            receive_timeout=settings.timeout_s,
            raise_exceptions=True,
        )
        if settings.start_tls:
            connection.open()
            connection.start_tls()
        connection.bind()
    except LDAPBindError:
        return None
    except LDAPException as exc:
        if "invalidCredentials" in str(exc) or "invalid credentials" in str(exc).lower():
            return None
        raise DirectoryError(f"LDAP {settings.url}: {type(exc).__name__}") from None
    try:
        wanted = escape_filter_chars(user_dn)
        connection.search(
            settings.group_base,
            f"(|(member={wanted})(uniqueMember={wanted})(memberUid={escape_filter_chars(user)}))",
            attributes=["cn"],
            size_limit=500,
        )
        return sorted(str(entry.cn.value) for entry in connection.entries)
    except LDAPException as exc:
        raise DirectoryError(f"LDAP {settings.url} group search: {type(exc).__name__}") from None
    finally:
        connection.unbind()
