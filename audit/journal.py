"""The append-only journal file: locked, durable appends and streaming reads of its events."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcops.audit.event import canonical, timestamps
from dcops.audit.merkle import CompactRange, hashes_from_hex, hashes_hex, leaf_hash
from dcops.core.errors import InputError, OperationFailed

if TYPE_CHECKING:
    from dcops.core.site import Site

ZERO_HASH = bytes(32)


@dataclass
class TreeState:
    """Where the journal stands: events so far, the compact range over them, the last leaf."""

    size: int
    compact: CompactRange
    last_leaf: bytes
    length: int  # bytes of the journal file these figures cover

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the cache file."""
        return {
            "size": self.size,
            "range": hashes_hex(self.compact.hashes),
            "last": self.last_leaf.hex(),
            "bytes": self.length,
        }


@dataclass(frozen=True)
class Base:
    """The pruned prefix of the log: how many events were archived and their compact range."""

    size: int
    compact: CompactRange
    last_leaf: bytes

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the base file."""
        return {
            "size": self.size,
            "range": hashes_hex(self.compact.hashes),
            "last": self.last_leaf.hex(),
        }


EMPTY_BASE = Base(0, CompactRange(), ZERO_HASH)


class Journal:
    """One site's audit journal and the files kept beside it."""

    def __init__(
        self,
        path: Path,
        key: Path | None = None,
        origin: str = "dcops",
        witness: Path | None = None,
    ) -> None:
        self.path = path
        self.folder = path.parent
        self.key = key or self.folder / "signing.key"
        self.origin = origin
        self.witness = witness  # a copy of every checkpoint, kept outside the state dir
        self._held = -1  # the lock file's descriptor while the lock is held

    @classmethod
    def of(cls, site: Site) -> Journal:
        """The journal configured for a site ([audit] in dcops.toml, default in the state dir)."""
        settings = site.config.audit
        state = site.paths.state
        witness = None
        if settings.witness:
            witness = (site.paths.root / settings.witness).resolve()
            if witness.is_relative_to(state.resolve()):
                raise InputError(
                    f"{site.paths.site_file}: [audit] witness = {settings.witness!r} lies inside "
                    f"the state dir {state}; a witness must be kept elsewhere (another folder, "
                    "file system or host), or the tail of the journal can be cut with it"
                )
        return cls(
            state / settings.journal,
            state / settings.key,
            origin=f"dcops/{site.name}",
            witness=witness,
        )

    @property
    def checkpoints(self) -> Path:
        """The file of signed checkpoints, one JSON object a line."""
        return self.folder / "checkpoints.jsonl"

    @property
    def archive(self) -> Path:
        """Where pruned segments and their checkpoints are kept."""
        return self.folder / "archive"

    @property
    def base_file(self) -> Path:
        """The description of the pruned prefix, present once anything was pruned."""
        return self.folder / (self.path.name + ".base.json")

    @property
    def public_key(self) -> Path:
        """The public half of the signing key, for auditors to keep."""
        return self.key.with_suffix(".pub")

    @property
    def _lock_file(self) -> Path:
        """The lock file; it also holds the tree state cache (JSON), so appends touch no other file."""
        return self.folder / (self.path.name + ".lock")

    def _ensure_folder(self) -> None:
        if not self.folder.is_dir():
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the journal's exclusive lock (shared by every dcops process of the site).

        Re-entrant for this object: a holder may call code that locks again (prune verifies).
        """
        if self._held >= 0:
            yield
            return
        self._ensure_folder()
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._held = fd
            yield
        finally:
            self._held = -1
            os.close(fd)  # closing releases the lock

    def append(self, draft: Mapping[str, Any]) -> dict[str, Any]:
        """Give the event its id and chain link, write it durably and return it."""
        with self.locked():
            state = self.tail()
            event = {**draft, "id": state.size, "prev": state.last_leaf.hex()}
            line = canonical(event)
            self._write(line + b"\n")
            leaf = leaf_hash(line)
            state.compact.append(leaf)
            state.size += 1
            state.last_leaf = leaf
            state.length += len(line) + 1
            self._save_cache(state)
        return event

    def _write(self, data: bytes) -> None:
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_folder(self.folder)

    def base(self) -> Base:
        """The pruned prefix (empty when nothing was pruned)."""
        return read_base(self.base_file) if self.base_file.exists() else EMPTY_BASE

    def tail(self) -> TreeState:
        """The tree state at the end of the journal; call with the lock held."""
        length = self.path.stat().st_size if self.path.exists() else 0
        cached = self._load_cache()
        if cached is not None and cached.length == length:
            return cached
        state = self.scan()
        if state.length != length:
            state = self._drop_torn_tail(state)
        self._save_cache(state)
        return state

    def scan(self) -> TreeState:
        """Recompute the tree state from the whole journal (complete lines only)."""
        base = self.base()
        compact, last, size, length = base.compact.copy(), base.last_leaf, base.size, 0
        for line in self.raw_lines():
            if not line.endswith(b"\n"):
                break
            last = leaf_hash(line[:-1])
            compact.append(last)
            size += 1
            length += len(line)
        return TreeState(size, compact, last, length)

    def _drop_torn_tail(self, state: TreeState) -> TreeState:
        """Cut a line that a crash left half-written, and record that it was cut."""
        with self.path.open("rb") as handle:
            handle.seek(state.length)
            torn = handle.read()
        os.truncate(self.path, state.length)
        note = {
            "v": 1,
            "phase": "record",
            "action": "audit.repair",
            "object": {"type": "audit-journal", "id": self.path.name},
            "actor": {"user": "dcops", "name": "dcops", "host": os.uname().nodename, "roles": []},
            "parameters": {},
            "correlation": "",
            "time": timestamps("UTC"),
            "result": {"status": "success", "error": None},
            "links": {},
            "details": {"torn_bytes": len(torn), "torn_sha256": sha256(torn).hexdigest()},
            "id": state.size,
            "prev": state.last_leaf.hex(),
        }
        line = canonical(note)
        self._write(line + b"\n")
        state.compact.append(leaf_hash(line))
        state.last_leaf = leaf_hash(line)
        state.size += 1
        state.length += len(line) + 1
        return state

    def _load_cache(self) -> TreeState | None:
        try:
            size_on_disk = os.fstat(self._held).st_size
            data = json.loads(os.pread(self._held, size_on_disk, 0))
            size = int(data["size"])
            hashes = hashes_from_hex(data["range"], str)
            base = self.base()
            if size < base.size or len(hashes) != size.bit_count():
                return None
            last = hashes_from_hex([data["last"]], str)[0]
            return TreeState(size, CompactRange(size, hashes), last, int(data["bytes"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_cache(self, state: TreeState) -> None:
        # Overwritten in place, never fsynced: a torn cache fails to parse and is rebuilt.
        # Padded to whole pages so that the file's size (metadata) rarely changes.
        data = json.dumps(state.as_dict()).encode()
        data = data.ljust(-(-len(data) // 4096) * 4096)
        os.pwrite(self._held, data, 0)
        if os.fstat(self._held).st_size != len(data):
            os.ftruncate(self._held, len(data))

    def forget_cache(self) -> None:
        """Drop the tree cache, so the next append rescans the journal."""
        if self._lock_file.exists():
            os.truncate(self._lock_file, 0)

    def raw_lines(self, limit: int | None = None) -> Iterator[bytes]:
        """The journal's lines as bytes, newline included, without parsing; up to limit bytes."""
        if not self.path.exists():
            return
        with self.path.open("rb", buffering=1 << 20) as handle:
            if limit is None:
                yield from handle
                return
            left = limit
            for line in handle:
                if left <= 0:
                    return
                yield line[:left]
                left -= len(line)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the lock while reading several files as one moment.

        Readers that cannot write the lock file (an auditor's read-only copy) read without it.
        """
        with contextlib.ExitStack() as stack:
            with contextlib.suppress(OSError):  # no write access to the lock file: read as is
                stack.enter_context(self.locked())
            yield

    def snapshot(self) -> tuple[int, bytes]:
        """The journal's length and the checkpoints file, taken together (call while `reading`)."""
        length = self.path.stat().st_size if self.path.exists() else 0
        checkpoints = self.checkpoints.read_bytes() if self.checkpoints.exists() else b""
        return length, checkpoints

    def events(self) -> Iterator[dict[str, Any]]:
        """The journal's events, parsed; OperationFailed naming the line of one that is not JSON."""
        for number, line in enumerate(self.raw_lines(), start=1):
            try:
                event = json.loads(line)
            except ValueError as exc:
                raise OperationFailed(
                    f"{self.path}:{number}: not a JSON audit event ({exc}); "
                    "run `dcops audit verify` to see what was changed"
                ) from None
            if not isinstance(event, dict):
                raise OperationFailed(f"{self.path}:{number}: not a JSON object")
            yield event


def read_base(path: Path) -> Base:
    """A base file (the live one, or the one beside an archived segment)."""
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        size = int(data["size"])
        hashes = hashes_from_hex(data["range"], lambda i: f"{where}: range[{i}]")
        last = hashes_from_hex([data["last"]], lambda _: f"{where}: last")[0]
        return Base(size, CompactRange(size, hashes), last)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OperationFailed(f"audit base file {where} is damaged: {exc}") from None


def fsync_folder(folder: Path) -> None:
    """fsync a folder, so that a file just created in it survives a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
