"""What audit records name: one object id per thing, and the actions a person may record by hand."""

from __future__ import annotations

import re

from dcops.core.errors import InputError

# The kinds of object a record names, as `TYPE/ID`; every command uses these forms.
OBJECT_TYPES = (
    "tenancy",  # tenancy/NAME (a request and its stack, whatever its ID)
    "stack",  # stack/platform
    "host",  # host/NAME of inventory/hosts.yml
    "device",  # device/NAME of inventory/devices.yml
    "room",  # room/NAME
    "rack",  # rack/ROOM-RACK
    "network",  # network/NAME or a CIDR
    "lab",  # lab/PREFIX
    "monitors",  # monitors/alerting
    "audit",  # audit/journal
)
MANUAL = "manual."
_ID = re.compile(r"^[^\s/\x00-\x1f\x7f][^\s\x00-\x1f\x7f]{0,199}$")
_ACTION = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$")


def manual_action(action: str) -> str:
    """An action recorded by hand, always under manual.* so it never poses as a command's own."""
    name = action.strip()
    if not _ACTION.fullmatch(name) or len(name) > 100:
        raise InputError(
            f"--action {action!r} is not an action name; allowed: lower-case words joined by "
            "dots and dashes, e.g. manual.power-cycle"
        )
    return name if name.startswith(MANUAL) else MANUAL + name


def manual_object(obj: str) -> str:
    """An object named by hand: TYPE/ID with a known type and a non-empty ID."""
    kind, slash, ident = obj.strip().partition("/")
    if not slash or kind not in OBJECT_TYPES or not _ID.fullmatch(ident):
        raise InputError(
            f"--object {obj!r} is not an object; allowed: TYPE/ID with TYPE one of "
            f"{', '.join(OBJECT_TYPES)} (e.g. host/leaf1, device/ups-1)"
        )
    return f"{kind}/{ident}"
