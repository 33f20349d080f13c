"""Pulumi ComponentResources: one per concern, each with an Args dataclass."""

from __future__ import annotations

import pulumi


class Component(pulumi.ComponentResource):
    """A dcops component, registered under its dcops:<area>:<Name> type token."""

    child_opts: pulumi.ResourceOptions
    """Options that parent a resource to this component."""

    def __init__(self, type_token: str, name: str, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_token, name, None, opts)
        self.child_opts = pulumi.ResourceOptions(parent=self)
