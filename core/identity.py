"""Who is running a command, and whether their roles allow it."""

from __future__ import annotations

import os
import pwd
import socket
from dataclasses import dataclass

from dcops.core.errors import AccessDenied
from dcops.core.site import Site

USER_ENV = "DCOPS_USER"


@dataclass(frozen=True)
class Actor:
    """The person behind a command: login, display name, host and roles from dcops.toml.

    `login` is the operating-system login of the process (or the server's authenticated
    principal); `method` says how the identity was established (os, override, password, totp,
    ldap, token, session); `source` and `agent` are the client's address and user agent.
    """

    user: str
    name: str
    host: str
    roles: frozenset[str]
    login: str = ""
    method: str = "os"
    source: str = ""
    agent: str = ""

    def has(self, role: str) -> bool:
        """Whether the actor holds the role."""
        return role in self.roles

    @property
    def departments(self) -> list[str]:
        """Codes of the departments the actor speaks for."""
        return sorted(r.partition(":")[2] for r in self.roles if r.startswith("department:"))


def os_login() -> str:
    """The login of the process's real user; under sudo, the user who invoked sudo, not root.

    Environment variables such as USER or LOGNAME are not believed: anyone can set them.
    """
    uid = os.getuid()
    if uid == 0:
        invoker = os.environ.get("SUDO_USER", "")
        if invoker and invoker != "root":
            return invoker  # only root can set this, and root may act as anyone anyway
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


def current_user(site: Site) -> str:
    """The OS login, or $DCOPS_USER where the site allows overrides (demos and labs)."""
    claimed = os.environ.get(USER_ENV, "")
    if claimed and site.config.identity.allow_user_override:
        return claimed
    return os_login()


def current_actor(site: Site) -> Actor:
    """The actor for this process, with roles looked up in the site's people."""
    login = os_login()
    claimed = os.environ.get(USER_ENV, "")
    if claimed and claimed != login and not site.config.identity.allow_user_override:
        raise AccessDenied(
            f"本站点不接受 {USER_ENV} 冒用身份 / {USER_ENV}={claimed!r} is not honoured on this "
            f"site: dcops acts as your login {login!r}. Remove {USER_ENV} from the environment; to act as another "
            f"person, log in as them (dcops login, when the site names a server)"
        )
    user = current_user(site)
    return actor_for(site, user, login=login, method="os" if user == login else "override")


def actor_for(
    site: Site,
    user: str,
    *,
    login: str,
    method: str,
    source: str = "",
    agent: str = "",
    roles: frozenset[str] | None = None,
) -> Actor:
    """An actor for a user, with the site's roles for them unless roles are given (LDAP groups)."""
    person = site.person(user)
    held = roles if roles is not None else frozenset(person.roles) if person else frozenset()
    return Actor(
        user=user,
        name=person.name if person else user,
        host=socket.gethostname(),
        roles=held,
        login=login,
        method=method,
        source=source,
        agent=agent,
    )


def require_role(actor: Actor, *roles: str, action: str) -> None:
    """Refuse unless the actor holds at least one of the roles."""
    if any(actor.has(role) for role in roles):
        return
    held = ", ".join(sorted(actor.roles)) or "no roles (not listed under [[people]] in dcops.toml)"
    needed = " or ".join(roles)
    raise AccessDenied(
        f"权限不足 / {action} needs the {needed} role; user {actor.user!r} has {held}. "
        f"Ask the security administrator to grant the role in dcops.toml, or have someone "
        f"who holds it run this."
    )
