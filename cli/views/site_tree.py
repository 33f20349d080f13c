"""The site drawn as a Rich tree for `dcops site show`."""

from __future__ import annotations

from rich.text import Text
from rich.tree import Tree

from dcops.core.site import Room, Site


def site_tree(site: Site) -> Tree:
    """Rooms with rows, racks and devices, then departments, pools and people."""
    conf = site.config
    top = Tree(Text(f"{site.name} — {conf.site.title} ({conf.site.timezone})"))
    rooms = top.add("rooms")
    for room in site.rooms:
        _room(rooms, room, site)
    unplaced = [d for d in site.devices if d.rack is None]
    if unplaced:
        branch = top.add("devices outside racks")
        for device in unplaced:
            branch.add(Text(f"{device.name} [{device.kind}] room {device.room}"))
    departments = top.add("departments")
    for dept in conf.departments:
        departments.add(Text(f"{dept.code} — {dept.name} (tier {dept.tier})"))
    pools = top.add("address pools")
    for pool in conf.pools:
        env = f", {pool.environment}" if pool.environment else ""
        pools.add(Text(f"{pool.name} {pool.cidr} ({pool.use}{env})"))
    people = top.add("people")
    for person in conf.people:
        people.add(Text(f"{person.user} — {person.name}: {', '.join(person.roles)}"))
    return top


def _room(parent: Tree, room: Room, site: Site) -> None:
    node = parent.add(Text(f"{room.name} — {room.title}, floor {room.floor}"))
    for row in room.rows:
        row_node = node.add(Text(f"row {row.name}"))
        for rack in row.racks:
            rack_node = row_node.add(
                Text(f"rack {rack.name} ({rack.units}U, {rack.power_kw:g} kW)")
            )
            devices = [d for d in site.devices if d.room == room.name and d.rack == rack.name]
            for device in sorted(devices, key=lambda d: -(d.position or 0)):
                where = f"U{device.position} " if device.position else ""
                model = f" {device.model}" if device.model else ""
                rack_node.add(Text(f"{where}{device.name} [{device.kind}]{model}"))
