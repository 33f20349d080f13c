"""Per-invocation state shared by commands: global options, the site and the actor."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from dcops.cli.remote.client import ApiClient
    from dcops.core.identity import Actor
    from dcops.core.site import Site


class OutputFormat(enum.StrEnum):
    """How listings and reports are printed."""

    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"
    html = "html"


@dataclass
class Session:
    """Global options plus the lazily loaded site and actor."""

    output: OutputFormat = OutputFormat.table
    site_path: str | None = None
    debug: bool = False
    _site: Site | None = field(default=None, repr=False)
    _remote: ApiClient | None = field(default=None, repr=False)

    @property
    def json(self) -> bool:
        """Whether --output json was asked for."""
        return self.output is OutputFormat.json

    @property
    def markdown(self) -> bool:
        """Whether --output markdown was asked for (commands without a Markdown form print tables)."""
        return self.output is OutputFormat.markdown

    @property
    def html(self) -> bool:
        """Whether --output html was asked for (only the auditors' reports have an HTML form)."""
        return self.output is OutputFormat.html

    @property
    def csv(self) -> bool:
        """Whether --output csv was asked for (commands without a CSV form print tables)."""
        return self.output is OutputFormat.csv

    @property
    def site(self) -> Site:
        """The site, loaded and validated on first use."""
        if self._site is None:
            from dcops.core.loader import load_site

            self._site = load_site(self.site_path)
        return self._site

    @property
    def remote(self) -> ApiClient | None:
        """The site's server with the saved login, when dcops.toml names one (else None)."""
        if self.site.config.identity.server is None:
            return None
        if self._remote is None:
            from dcops.cli.remote.client import ApiClient

            self._remote = ApiClient.for_site(self.site)
        return self._remote

    @property
    def actor(self) -> Actor:
        """Who runs this command."""
        from dcops.core.identity import current_actor

        return current_actor(self.site)

    def require(self, *roles: str, action: str) -> Actor:
        """The actor, if they hold one of the roles; else AccessDenied (exit 2)."""
        from dcops.core.identity import require_role

        actor = self.actor
        require_role(actor, *roles, action=action)
        return actor

    def crash_dir(self) -> Path:
        """Where tracebacks of unexpected errors go: the site's state dir if it can be found."""
        if self._site is not None:
            return self._site.paths.state
        try:
            return self.site.paths.state
        except Exception:  # the site itself may be what is broken
            return Path(os.environ.get("DCOPS_STATE_DIR", ".dcops")).resolve()


def session(ctx: typer.Context) -> Session:
    """The Session of the running command."""
    root = ctx.find_root()
    if not isinstance(root.obj, Session):
        root.obj = Session()
    return root.obj
