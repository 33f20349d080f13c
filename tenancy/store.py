"""The tenancy store: SQLite (WAL) in the state dir or PostgreSQL by URL, migrated on open."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from dcops.core.errors import InputError, OperationFailed
from dcops.core.site import Site
from dcops.tenancy.location import STORE_FILE
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.records import AllocationRecord, RequestRecord

SCHEMA_REVISION = "0002"
_WRITE = "dcops_write"
_ADVISORY_KEY = 0x64636F7073  # one lock for every write to a PostgreSQL tenancy store
_engines: dict[str, Engine] = {}
_LARGEST_ID = 2**63  # SQL integers end here; a larger ID names no request


def store_url(site: Site) -> str:
    """The SQLAlchemy URL of the site's tenancy store."""
    configured = site.config.backends.tenancy_store
    if configured:
        return configured
    path = site.paths.state_path(STORE_FILE)
    if not path.exists():  # created 0600 whatever the umask; SQLite gives its WAL the same mode
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    return f"sqlite:///{path}"


def engine_for(url: str) -> Engine:
    """An engine for the URL (one per process), set up for safe concurrent writers."""
    if url in _engines:
        return _engines[url]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    elif url.startswith("postgresql"):
        engine = create_engine(url, pool_pre_ping=True)
    else:
        raise InputError(
            f"backends.tenancy_store {url!r} is not supported; "
            "allowed: a sqlite:/// or postgresql+psycopg:// URL"
        )
    _migrate(engine)
    _engines[url] = engine
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A writer takes the database's write lock at BEGIN, so two processes cannot both read
    # the free address space and then allocate the same block.
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _lock_for_write(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})


def _migrate(engine: Engine) -> None:
    try:
        if _revision(engine) == SCHEMA_REVISION:
            return
        with (
            engine.connect().execution_options(**{_WRITE: True}) as connection,
            connection.begin(),
        ):
            _lock_for_write(connection)
            if _revision_on(connection) != SCHEMA_REVISION:
                _upgrade(connection)
    except OperationalError as exc:
        raise OperationFailed(f"cannot open the tenancy store: {exc.orig}") from None


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _revision_on(connection)


def _revision_on(connection: Connection) -> str | None:
    try:
        with connection.begin_nested():
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, ProgrammingError):
        return None
    return str(row[0]) if row else None


def _upgrade(connection: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "dcops.tenancy:migrations")
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@dataclass
class Store:
    """Sessions on the site's tenancy store."""

    engine: Engine

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session."""
        with Session(self.engine) as session, session.begin():
            yield session

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A session holding the store's write lock; commits on success, rolls back on error."""
        with (
            self.engine.connect().execution_options(**{_WRITE: True}) as connection,
            connection.begin(),
        ):
            _lock_for_write(connection)
            with Session(bind=connection) as session:
                yield session
                session.flush()


def open_store(site: Site) -> Store:
    """The site's tenancy store, created and migrated to the current schema if needed."""
    return Store(engine_for(store_url(site)))


def find_request(session: Session, ref: str, states: Sequence[str] = ()) -> RequestRecord:
    """A request by ID (in any state), or the newest of a tenancy by name (in one of states)."""
    which = ""
    number = ref.lstrip("#")
    if number.isascii() and number.isdigit():
        ident = int(number)
        record = session.get(RequestRecord, ident) if ident < _LARGEST_ID else None
    else:
        query = select(RequestRecord).where(RequestRecord.name == ref)
        if states:
            query = query.where(RequestRecord.state.in_(states))
            which = f" in state {' or '.join(states)}"
        record = session.scalars(query.order_by(RequestRecord.id.desc()).limit(1)).first()
    if record is None:
        raise InputError(
            f"no tenancy request {ref!r}{which}; give a request ID or a tenancy name "
            "(dcops tenancy list shows them)"
        )
    return record


def active_allocations(session: Session) -> list[AllocationRecord]:
    """Every address block not yet released."""
    return list(
        session.scalars(
            select(AllocationRecord)
            .where(AllocationRecord.released_at.is_(None))
            .order_by(AllocationRecord.id)
        )
    )


@dataclass(frozen=True)
class ApprovedTenancy:
    """An approved (or provisioned) request as `dcops plan` and `dcops provision` consume it."""

    request_id: int
    state: str
    request: TenancyRequest
    networks: dict[str, str]
    """Allocated CIDR of each network, by network name."""


APPROVED_STATES = ("approved", "provisioned", "expiring", "offboarding")
"""States whose request `dcops plan`, `provision` and `destroy` may act on."""


def approved_request(site: Site, ref: str) -> ApprovedTenancy:
    """The approved request with this ID, or the newest approved one of the tenancy with this name."""
    store = open_store(site)
    with store.reading() as session:
        record = find_request(session, ref, APPROVED_STATES)
        if record.state not in APPROVED_STATES:
            raise InputError(
                f"request #{record.id} ({record.name}) is {record.state}; only an approved "
                "request can be planned, provisioned or destroyed (dcops tenancy approve)"
            )
        networks = {
            a.network: a.cidr for a in active_allocations(session) if a.tenancy == record.name
        }
        return ApprovedTenancy(
            record.id, record.state, TenancyRequest.model_validate(record.spec), networks
        )
