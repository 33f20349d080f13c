"""How a provider scoped to a tenancy's new project logs in: the clouds.yaml entry's user, by hand.

The OpenStack provider ignores every login argument (tenant_id included) once `cloud` names a
clouds.yaml entry: the entry alone decides the login, and so the project. A provider given
`cloud` and `tenant_id` therefore works in the entry's project (admin), not in the tenancy's —
seen against a real Keystone; mocks cannot show it. The scoped provider gets the entry's user
and password as explicit arguments instead, with the new project's ID.

Both the plugin and the Python SDK take defaults from OS_* variables (OS_CLOUD among them): the
scoped provider is given an explicit empty `cloud` (the SDK fills only missing arguments), and
the engine runs with the OS_* variables emptied, except the ones that say where clouds.yaml is.
"""

from __future__ import annotations

import os

from dcops.core.errors import InputError

# Where openstacksdk and the provider find clouds.yaml: the admin provider still needs them.
KEPT_ENV = frozenset({"OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE"})
# clouds.yaml auth keys → the provider's arguments.
AUTH_KEYS = {
    "auth_url": "auth_url",
    "username": "user_name",
    "user_id": "user_id",
    "password": "password",
    "user_domain_name": "user_domain_name",
    "user_domain_id": "user_domain_id",
}
PASSWORD_AUTH = (None, "", "password", "v3password")


def project_login(cloud: str) -> dict[str, str]:
    """The provider arguments that log in as the clouds.yaml entry's user (without a project)."""
    import openstack.config
    import openstack.exceptions

    try:
        entry = openstack.config.OpenStackConfig().get_one(cloud=cloud)
    except openstack.exceptions.ConfigException as exc:
        raise InputError(
            f"clouds.yaml has no entry {cloud!r} ({exc}); set OS_CLOUD to an entry of it, and "
            "OS_CLIENT_CONFIG_FILE to the file if it is not in ./, ~/.config/openstack or /etc/openstack"
        ) from None
    config = entry.config
    if config.get("auth_type") not in PASSWORD_AUTH:
        raise InputError(
            f"clouds.yaml entry {cloud!r} logs in with {config.get('auth_type')!r}; provisioning "
            "a tenancy needs a password login (username and password), which can be scoped to "
            "the project the stack creates"
        )
    auth = config.get("auth") or {}
    login = {arg: str(auth[key]) for key, arg in AUTH_KEYS.items() if auth.get(key)}
    missing = [k for k in ("auth_url", "password") if k not in login]
    if missing or not ({"user_name", "user_id"} & set(login)):
        raise InputError(
            f"clouds.yaml entry {cloud!r} lacks {', '.join(missing) or 'username'} under auth"
        )
    if entry.region_name:
        login["region"] = entry.region_name
    if config.get("interface"):
        login["endpoint_type"] = str(config["interface"])
    if config.get("cacert"):
        login["cacert_file"] = str(config["cacert"])
    if config.get("verify") is False:
        login["insecure"] = "true"
    return login


def engine_environment() -> dict[str, str]:
    """OS_* variables emptied for the engine (an empty one is unset for the provider)."""
    return {k: "" for k in os.environ if k.startswith("OS_") and k not in KEPT_ENV}


def identity_down(cloud: str, timeout: float = 5.0) -> str | None:
    """Why the clouds.yaml entry's Keystone does not answer, or None when it does (or is unknown)."""
    import urllib.error
    import urllib.request

    import openstack.config
    import openstack.exceptions

    try:
        auth_url = str(openstack.config.OpenStackConfig().get_one(cloud=cloud).auth["auth_url"])
    except (openstack.exceptions.ConfigException, KeyError):
        return None
    try:
        with urllib.request.urlopen(auth_url, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # it answered (300 Multiple Choices, 401, ...)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"Keystone at {auth_url} (clouds.yaml entry {cloud!r}) does not answer: {reason}"
