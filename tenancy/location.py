"""Where the tenancy store lives, answerable without loading the database layer."""

from __future__ import annotations

from dcops.core.site import Site

STORE_FILE = "tenancy.db"


def store_in_use(site: Site) -> bool:
    """Whether the site has a tenancy store (configured, or the embedded one already created)."""
    return bool(site.config.backends.tenancy_store) or (site.paths.state / STORE_FILE).is_file()
