"""Who is running a command, and whether their roles allow it."""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass

from dcops.core.errors import AccessDenied
from dcops.core.site import Site

USER_ENV = "DCOPS_USER"


@dataclass(frozen=True)
class Actor:
    """The person behind a command: login, display name, host and roles from dcops.toml."""

    user: str
    name: str
    host: str
    roles: frozenset[str]

    def has(self, role: str) -> bool:
        """Whether the actor holds the role."""
        return role in self.roles

    @property
    def departments(self) -> list[str]:
        """Codes of the departments the actor speaks for."""
        return sorted(r.partition(":")[2] for r in self.roles if r.startswith("department:"))


def current_user() -> str:
    """$DCOPS_USER, else the operating-system login."""
    return os.environ.get(USER_ENV) or getpass.getuser()


def current_actor(site: Site) -> Actor:
    """The actor for this process, with roles looked up in the site's people."""
    user = current_user()
    person = site.person(user)
    return Actor(
        user=user,
        name=person.name if person else user,
        host=socket.gethostname(),
        roles=frozenset(person.roles) if person else frozenset(),
    )


def require_role(actor: Actor, *roles: str, action: str) -> None:
    """Refuse unless the actor holds at least one of the roles."""
    if any(actor.has(role) for role in roles):
        return
    held = ", ".join(sorted(actor.roles)) or "no roles (not listed under [[people]] in dcops.toml)"
    needed = " or ".join(roles)
    raise AccessDenied(
        f"{action} needs the {needed} role; user {actor.user!r} has {held}. "
        f"Ask an administrator to add the role in dcops.toml, or run as someone who has it "
        f"(set {USER_ENV})."
    )
