"""The site model: what dcops.toml and inventory/ describe, as validated pydantic types."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveInt

from dcops.core.access import IdentitySettings, ServerSettings
from dcops.core.hosts import HostInventory
from dcops.core.monitoring import MonitorsConfig
from dcops.core.paths import SitePaths
from dcops.core.secrets import SecretRef
from dcops.core.strict import Strict

NAME_RULE = "lowercase a-z, 0-9 and '-', starting with a letter or digit, at most 63 characters"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

ROLES = ("ops", "approver", "facility", "auditor", "security", "backup")
DEVICE_KINDS = (
    "ups",
    "crac",
    "pdu",
    "ats",
    "env-sensor",
    "leak-sensor",
    "door-controller",
    "fire-panel",
)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a valid name; allowed: {NAME_RULE}")
    return value


def _network(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a network address ({exc}); allowed: a CIDR such as 192.168.10.0/24"
        ) from None
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; allowed: an IANA name such as Asia/Shanghai"
        ) from None
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address; allowed: name@domain")
    return value


def _role(value: str) -> str:
    if value in ROLES or re.match(r"^department:[a-z0-9][a-z0-9-]*$", value):
        return value
    allowed = ", ".join(ROLES)
    raise ValueError(f"unknown role {value!r}; allowed: {allowed}, department:<code>")


def _keystone_name(value: str) -> str:
    if re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", value):
        return value
    raise ValueError(
        f"{value!r} is not a Keystone role or domain name; allowed: letters, digits, '_', '.', "
        "'-', starting with a letter or digit, at most 64 characters"
    )


Name = Annotated[str, AfterValidator(_name)]
KeystoneName = Annotated[str, AfterValidator(_keystone_name)]
Cidr = Annotated[str, AfterValidator(_network)]
Role = Annotated[str, AfterValidator(_role)]
Email = Annotated[str, AfterValidator(_email)]


class SiteInfo(Strict):
    """Who the site is: code, title, time zone and where state is kept."""

    name: Name
    title: str
    timezone: Annotated[str, AfterValidator(_timezone)] = "Asia/Shanghai"
    state_dir: str = ".dcops"


class Backends(Strict):
    """Where state lives beyond the embedded defaults in the state directory."""

    tenancy_store: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in the state dir"
    )
    pulumi_backend: str | None = Field(
        default=None, description="Pulumi backend URL; default a file backend in the state dir"
    )


class KubernetesCluster(Strict):
    """A Kubernetes cluster that tenancies' namespaces are made in: a kubeconfig and its context."""

    kubeconfig: str = Field(min_length=1, description="kubeconfig file, relative to dcops.toml")
    context: str = Field(default="", description="context in it; empty: its current context")


class OpenStackCloud(Strict):
    """An OpenStack cloud dcops reads and provisions: a clouds.yaml and the entry in it."""

    clouds_yaml: str = Field(min_length=1, description="clouds.yaml file, relative to dcops.toml")
    cloud: str = Field(min_length=1, description="the entry in it (admin credentials)")
    platform_projects: list[Name] = Field(
        default=["admin", "service"],
        description="the cloud's own projects, which belong to no tenancy and are not reported unowned",
    )
    department_roles: list[KeystoneName] = Field(
        default=["member"],
        min_length=1,
        description="Keystone roles each department's group gets in the department's projects",
    )
    people_domain: KeystoneName = Field(
        default="Default",
        description="Keystone domain of the people's users and of the departments' groups",
    )


class Clusters(Strict):
    """The clusters tenancies are provisioned into; without [clusters.kubernetes], the lab's."""

    kubernetes: KubernetesCluster | None = None
    openstack: OpenStackCloud | None = None


class AuditSettings(Strict):
    """Where the audit journal and its signing key live, and how long events are kept."""

    journal: str = Field(
        default="audit/journal.jsonl", description="journal file, relative to the state dir"
    )
    key: str = Field(
        default="audit/signing.key",
        description="Ed25519 checkpoint signing key (kept 0600), relative to the state dir",
    )
    retention_days: int = Field(
        default=180, ge=180, description="events younger than this cannot be pruned (>= 180)"
    )
    witness: str = Field(
        default="",
        description=(
            "a file outside the state dir (another file system or host's mount) that receives a "
            "copy of every checkpoint, relative to the site folder; empty: no witness"
        ),
    )


class AddressPool(Strict):
    """A block of addresses that dcops allocates from or must keep clear of."""

    name: Name
    cidr: Cidr
    use: Literal["tenant", "management", "fabric", "facility", "public"]
    environment: Literal["production", "staging", "development"] | None = None
    description: str = ""

    @property
    def network(self) -> Network:
        """The pool as an ipaddress network."""
        return ipaddress.ip_network(self.cidr)


class DepartmentCaps(Strict):
    """Caps on what all of a department's pending and live tenancies hold together."""

    vcpus: PositiveInt | None = None
    ram_gb: PositiveInt | None = None
    volume_gb: PositiveInt | None = None
    instances: PositiveInt | None = None
    load_balancers: int | None = Field(default=None, ge=0)
    k8s_cpu: int | None = Field(default=None, ge=0)
    k8s_memory_gb: int | None = Field(default=None, ge=0)
    k8s_pods: int | None = Field(default=None, ge=0)


class Tier(Strict):
    """Caps for departments of one tier, and when a request needs two approvers."""

    title: str
    vcpus: PositiveInt
    ram_gb: PositiveInt
    volume_gb: PositiveInt
    instances: PositiveInt
    networks: PositiveInt
    load_balancers: int = Field(ge=0)
    vpn_peers: int = Field(ge=0)
    k8s_cpu: int = Field(ge=0)
    k8s_memory_gb: int = Field(ge=0)
    k8s_pods: int = Field(ge=0)
    max_period_days: PositiveInt
    two_approvers_above_vcpus: PositiveInt
    department_caps: DepartmentCaps = DepartmentCaps()
    """Department-wide caps; a cap left out does not apply."""


class Department(Strict):
    """A government department (委办局) that holds cloud tenancies."""

    code: Name
    name: str
    tier: str


class Person(Strict):
    """Someone who runs dcops, with the roles that decide what they may do."""

    user: str = Field(min_length=1)
    name: str
    email: Email
    roles: list[Role] = Field(min_length=1)
    phone: str | None = Field(
        default=None, pattern=r"^\+?[0-9]{5,15}$", description="mobile number for SMS and robots' @"
    )


class Flavor(Strict):
    """A compute flavor offered to tenancies."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]{0,62}$")
    vcpus: PositiveInt
    ram_gb: PositiveInt
    disk_gb: PositiveInt


class Image(Strict):
    """An operating-system image offered to tenancies."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]{0,62}$")
    os: str
    min_disk_gb: PositiveInt


class Catalogue(Strict):
    """What tenancies may be built from: the external network, flavors and images."""

    external_network: str
    flavors: list[Flavor]
    images: list[Image]


class SmtpSettings(Strict):
    """The mail relay that tenancy notifications go through."""

    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    sender: Email
    starttls: bool = False
    username: str | None = None
    password_env: str | None = Field(
        default=None, description="environment variable holding the SMTP password"
    )
    timeout_s: float = Field(default=10, gt=0)


class WebhookSettings(Strict):
    """An HTTP endpoint that receives every tenancy transition as JSON."""

    url: str = Field(pattern=r"^https?://[^\s]+$")
    secret_env: str | None = Field(
        default=None, description="environment variable holding the HMAC-SHA256 signing key"
    )
    timeout_s: float = Field(default=10, gt=0)


class Notifications(Strict):
    """Where notifications go and how hard dcops tries to deliver them."""

    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None
    channels: list[str] = Field(
        default=[],
        description="names of [[monitors.channels]] that tenancy events also go to "
        "(DingTalk, WeCom, SMS, e-mail, webhook)",
    )
    attempts: int = Field(
        default=8, ge=1, le=50, description="tries of one notification before it is given up"
    )
    retry_delay_s: float = Field(
        default=30.0, ge=0, le=3600, description="pause after the first failed try; doubles"
    )
    expiring_days: int = Field(default=30, ge=1, le=365)


class InputLimits(Strict):
    """How large a file people hand to dcops may be (a tenancy request is read before it is checked)."""

    request_file_bytes: int = Field(
        default=1024 * 1024,
        ge=4096,
        le=64 * 1024 * 1024,
        description="largest tenancy request file read, in bytes (default 1 MiB)",
    )


class SiteConfig(Strict):
    """Everything dcops.toml holds."""

    site: SiteInfo
    limits: InputLimits = InputLimits()
    backends: Backends = Backends()
    clusters: Clusters = Clusters()
    audit: AuditSettings = AuditSettings()
    pools: list[AddressPool]
    tiers: dict[str, Tier]
    departments: list[Department]
    people: list[Person]
    catalogue: Catalogue
    monitors: MonitorsConfig = MonitorsConfig()
    notifications: Notifications = Notifications()
    identity: IdentitySettings = IdentitySettings()
    server: ServerSettings = ServerSettings()


class Rack(Strict):
    """A rack in a row, with its height and power budget."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9\-]{0,31}$")
    units: PositiveInt = 42
    power_kw: float = Field(gt=0)


# The floor plan counts in tiles of the raised floor, a rack's width each (x eastwards from the
# room's west wall, y southwards from its north wall). The bounds keep a hostile file small.
PLAN_TILES = 200  # the widest and deepest room, in tiles
PLAN_ITEMS = 256  # the most equipment, doors, fire zones or leak ropes of one kind in a room
ROPE_POINTS = 32  # the most corners of one leak rope
PLACED_KINDS = ("ups", "crac", "pdu", "ats")  # free-standing equipment drawn on the plan
Tile = Annotated[int, Field(ge=0, lt=PLAN_TILES)]
Span = Annotated[int, Field(ge=1, le=PLAN_TILES)]
ZoneCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")]


class Row(Strict):
    """A row of racks (one cold aisle side); its racks stand side by side eastwards from x, y."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9\-]{0,31}$")
    x: Tile | None = None
    y: Tile | None = None
    racks: list[Rack]


class Point(Strict):
    """A tile of the floor plan."""

    x: Tile
    y: Tile


class Placement(Strict):
    """A free-standing device (UPS, CRAC, floor PDU, ATS) on the floor plan: its tiles."""

    device: Name
    x: Tile
    y: Tile
    width: Span = 1
    depth: Span = 1


class DoorPlacement(Strict):
    """A door in the room's wall, by its access controller and the door's number there."""

    device: Name
    door: ZoneCode
    x: Tile
    y: Tile


class FireZonePlacement(Strict):
    """The floor area a fire panel's zone covers."""

    device: Name
    zone: ZoneCode
    x: Tile
    y: Tile
    width: Span = 1
    depth: Span = 1


class LeakRopePlacement(Strict):
    """Where a leak detector's rope runs: corner to corner, each stretch straight along x or y."""

    device: Name
    zone: ZoneCode
    path: list[Point] = Field(min_length=2, max_length=ROPE_POINTS)


class Room(Strict):
    """A machine room (机房) with its rows and, when it has a size, what stands where."""

    name: Name
    title: str
    floor: int = 1
    width: Span | None = None
    depth: Span | None = None
    rows: list[Row] = Field(max_length=PLAN_TILES)
    equipment: list[Placement] = Field(default=[], max_length=PLAN_ITEMS)
    doors: list[DoorPlacement] = Field(default=[], max_length=PLAN_ITEMS)
    fire_zones: list[FireZonePlacement] = Field(default=[], max_length=PLAN_ITEMS)
    leak_ropes: list[LeakRopePlacement] = Field(default=[], max_length=PLAN_ITEMS)

    def racks(self) -> list[tuple[Row, Rack]]:
        """Every rack of the room with its row."""
        return [(row, rack) for row in self.rows for rack in row.racks]

    def row_origin(self, index: int) -> tuple[int, int]:
        """Where row `index` starts: as placed, or (for a room without a size) every other line."""
        row = self.rows[index]
        if row.x is not None and row.y is not None:
            return row.x, row.y
        return 0, 2 * index

    def size(self) -> tuple[int, int]:
        """The plan's width and depth in tiles: as given, or just enough for the rows."""
        if self.width is not None and self.depth is not None:
            return self.width, self.depth
        widest = max((len(row.racks) for row in self.rows), default=1)
        return max(1, widest), max(1, 2 * len(self.rows) - 1)


class RoomsFile(Strict):
    """inventory/rooms.yml."""

    rooms: list[Room]


class Thresholds(Strict):
    """Per-device limits that override the defaults (GB 50174 class A/B room figures)."""

    temperature_high_celsius: float | None = None
    temperature_low_celsius: float | None = None
    humidity_high_ratio: float | None = Field(default=None, ge=0, le=1)
    humidity_low_ratio: float | None = Field(default=None, ge=0, le=1)
    battery_charge_low_ratio: float | None = Field(default=None, ge=0, le=1)
    battery_runtime_low_seconds: float | None = Field(default=None, ge=0)
    load_high_ratio: float | None = Field(default=None, ge=0, le=2)
    rated_current_amperes: float | None = Field(default=None, gt=0)


# The room's limits where a device sets none: GB 50174-2017 class A/B rack inlet 18-27 °C,
# RH ≤ 60 %. The alert rules in monitors/rules use the same figures (a test holds them together).
ROOM_LIMITS = Thresholds(
    temperature_high_celsius=27.0,
    temperature_low_celsius=18.0,
    humidity_high_ratio=0.6,
    humidity_low_ratio=0.2,
    battery_charge_low_ratio=0.2,
    battery_runtime_low_seconds=600,
    load_high_ratio=0.8,
)
INLET_CRITICAL_MARGIN = (5.0, 3.0)  # critical above high + 5 °C (32) and below low - 3 °C (15)


def device_limits(device: Device) -> Thresholds:
    """A device's thresholds: its overrides over the room's limits."""
    return ROOM_LIMITS.model_copy(update=device.thresholds.model_dump(exclude_none=True))


class Gateway(Strict):
    """A Modbus TCP gateway in front of an RS-485 bus; its units share one link."""

    name: Name
    address: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    connections: int = Field(default=1, ge=1, le=16)


class Device(Strict):
    """A facility device (UPS, precision AC, PDU, sensor, door or fire panel) and where it is."""

    name: Name
    kind: Literal[
        "ups", "crac", "pdu", "ats", "env-sensor", "leak-sensor", "door-controller", "fire-panel"
    ]
    room: str
    rack: str | None = None
    position: PositiveInt | None = None
    model: str = ""
    protocol: Literal["snmp", "snmpv3", "modbus"] | None = None
    address: str | None = Field(default=None, min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    unit: int | None = Field(default=None, ge=0, le=247)
    gateway: str | None = None
    profile: str | None = None
    community: SecretRef | None = None
    user: str | None = Field(default=None, min_length=1)
    auth: Literal["sha"] = "sha"
    priv: Literal["aes"] = "aes"
    auth_secret: SecretRef | None = None
    priv_secret: SecretRef | None = None
    timeout: float | None = Field(default=None, gt=0, le=60)
    retries: int | None = Field(default=None, ge=0, le=5)
    thresholds: Thresholds = Thresholds()


class DevicesFile(Strict):
    """inventory/devices.yml."""

    gateways: list[Gateway] = []
    devices: list[Device]


class Site(BaseModel):
    """A loaded, validated site: dcops.toml plus inventory/."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    config: SiteConfig
    rooms: list[Room]
    devices: list[Device]
    hosts: HostInventory = HostInventory()
    paths: SitePaths
    gateways: list[Gateway] = []

    @property
    def name(self) -> str:
        """The site's code name."""
        return self.config.site.name

    def person(self, user: str) -> Person | None:
        """The person with this login, if the site knows them."""
        return next((p for p in self.config.people if p.user == user), None)

    def department(self, code: str) -> Department | None:
        """The department with this code, if any."""
        return next((d for d in self.config.departments if d.code == code), None)

    def tier_of(self, code: str) -> Tier | None:
        """The tier whose caps apply to a department."""
        department = self.department(code)
        return self.config.tiers.get(department.tier) if department else None
