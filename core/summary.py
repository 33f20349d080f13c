"""Counts that describe a site at a glance."""

from __future__ import annotations

from dcops.core.site import Site


def site_counts(site: Site) -> dict[str, int]:
    """How many of each thing the site holds."""
    conf = site.config
    return {
        "rooms": len(site.rooms),
        "rows": sum(len(room.rows) for room in site.rooms),
        "racks": sum(len(room.racks()) for room in site.rooms),
        "devices": len(site.devices),
        "hosts": len(site.hosts.hosts),
        "fabric links": len(site.hosts.fabric_links),
        "departments": len(conf.departments),
        "tiers": len(conf.tiers),
        "address pools": len(conf.pools),
        "people": len(conf.people),
        "flavors": len(conf.catalogue.flavors),
        "images": len(conf.catalogue.images),
    }
