"""Signed checkpoints (tree heads): the Ed25519 key, signing, reading and checking them."""

from __future__ import annotations

import base64
import json
import os
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dcops.audit import witness
from dcops.audit.event import canonical
from dcops.audit.journal import Journal, fsync_folder
from dcops.core.documents import Limits, read_text
from dcops.core.errors import InputError, MissingDependency

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

ZERO_HEX = "0" * 64
INSTALL = "pip install 'dcops[audit]'  (or: apt-get install -y python3-cryptography)"


class Checkpoint(NamedTuple):
    """A signed tree head: the log had `size` events with this `root` at `time`."""

    origin: str
    size: int
    root: bytes
    time: str
    key_id: str
    signature: bytes
    prev: str = ZERO_HEX

    def body(self) -> bytes:
        """The exact bytes that are signed."""
        return signed_body(self.origin, self.size, self.root, self.time, self.key_id, self.prev)

    def line(self) -> bytes:
        """The checkpoint as one canonical JSON line (without the newline)."""
        return canonical(self.as_dict())

    def chain_hash(self) -> str:
        """The hash the next checkpoint records as its `prev`."""
        return sha256(self.line()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        """Plain data, as kept in checkpoints.jsonl and shown to auditors."""
        return {
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex(),
            "time": self.time,
            "key": self.key_id,
            "prev": self.prev,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Checkpoint:
        """A checkpoint from plain data; InputError naming the bad field."""
        if not isinstance(data, dict):
            raise InputError(f"{where}: a checkpoint is a JSON object")
        try:
            root = bytes.fromhex(str(data["root"]))
            signature = base64.b64decode(str(data["signature"]), validate=True)
            size = data["size"]
            prev = str(data.get("prev", ZERO_HEX))
            if not isinstance(size, int) or size < 0 or len(root) != 32 or len(prev) != 64:
                raise ValueError("size must be a whole number >= 0, root and prev 64 hex digits")
            return cls(
                str(data["origin"]),
                size,
                root,
                str(data["time"]),
                str(data["key"]),
                signature,
                prev,
            )
        except KeyError as exc:
            raise InputError(
                f"{where}: checkpoint lacks {exc}; fields: origin, size, root, time, key, signature"
            ) from None
        except ValueError as exc:
            raise InputError(f"{where}: not a valid checkpoint ({exc})") from None


def signed_body(origin: str, size: int, root: bytes, time: str, key_id: str, prev: str) -> bytes:
    """Canonical JSON of the signed fields (all but the signature)."""
    return canonical(
        {
            "origin": origin,
            "size": size,
            "root": root.hex(),
            "time": time,
            "key": key_id,
            "prev": prev,
        }
    )


def key_id(public_raw: bytes) -> str:
    """A short name for a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return sha256(public_raw).hexdigest()[:16]


def require_signing() -> None:
    """MissingDependency now, before a change, if checkpoints could not be signed later."""
    import importlib.util

    if importlib.util.find_spec("cryptography") is None:
        raise MissingDependency(
            f"signing audit checkpoints needs the Python package cryptography; install it: {INSTALL}"
        )


def check_key_mode(path: Path) -> None:
    """InputError if the signing key exists and others may read it."""
    if not path.exists():
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise InputError(
            f"audit signing key {path} is readable by others (mode {mode:o}); "
            f"fix it: chmod 600 {path}"
        )


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key at path, created (mode 0600) with its .pub beside it if missing."""
    require_signing()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    if path.exists():
        check_key_mode(path)
        try:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except OSError as exc:
            raise InputError(
                f"audit signing key {path} cannot be read ({exc.strerror}); checkpoints cannot "
                "be signed, so no change is made"
            ) from None
        except (ValueError, TypeError) as exc:
            raise InputError(
                f"audit signing key {path} is not a PEM private key ({exc}); restore it from "
                "the backup, so that checkpoints can be signed"
            ) from None
        if not isinstance(loaded, ed25519.Ed25519PrivateKey):
            raise InputError(f"{path} is not an Ed25519 private key")
        return loaded
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    temporary = path.with_suffix(".pub.tmp")
    temporary.write_bytes(public)
    os.replace(temporary, path.with_suffix(".pub"))  # readers never see half a key
    fsync_folder(path.parent)
    return key


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    public = key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey) else key
    raw: bytes = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key (the .pub auditors keep) or the private key it belongs to."""
    require_signing()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    if not path.is_file():
        raise InputError(f"public key file {path} does not exist")
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except ValueError as exc:
            raise InputError(f"{path} is not a PEM key ({exc})") from None
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise InputError(f"{path} is not an Ed25519 key")
        return private.public_key()
    return public_key_from_pem(data, str(path))


def public_key_from_pem(data: bytes, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its PEM text; InputError naming where it came from."""
    require_signing()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise InputError(f"{where} is not a PEM public key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise InputError(f"{where} is not an Ed25519 public key")
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    """The PEM text of a public key (what `signing.pub` holds)."""
    from cryptography.hazmat.primitives import serialization

    pem: bytes = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def sign(
    key: Ed25519PrivateKey,
    origin: str,
    size: int,
    root: bytes,
    prev: str = ZERO_HEX,
    now: datetime | None = None,
) -> Checkpoint:
    """A checkpoint for the tree of size leaves with this root, chained to prev, signed now."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    time = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    ident = key_id(public_raw(key))
    signature = key.sign(signed_body(origin, size, root, time, ident, prev))
    return Checkpoint(origin, size, root, time, ident, signature, prev)


def signature_ok(checkpoint: Checkpoint, public: Ed25519PublicKey) -> bool:
    """Whether the checkpoint was signed by this key."""
    from cryptography.exceptions import InvalidSignature

    try:
        public.verify(checkpoint.signature, checkpoint.body())
    except InvalidSignature:
        return False
    return True


def write_checkpoint(journal: Journal) -> Checkpoint:
    """Sign the journal's current tree head and append it durably to checkpoints.jsonl."""
    with journal.locked():
        key = load_or_create_key(journal.key)
        state = journal.tail()
        before = last_line(journal.checkpoints)
        prev = sha256(before).hexdigest() if before else ZERO_HEX
        checkpoint = sign(key, journal.origin, state.size, state.compact.root(), prev)
        append_line(journal.checkpoints, checkpoint.line())
        if journal.witness is not None:
            witness.append(journal.witness, checkpoint.line())
    return checkpoint


def last_line(path: Path) -> bytes:
    """The last complete line of a file, without its newline (b"" if none)."""
    if not path.exists():
        return b""
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        step, data = 4096, b""
        while True:
            start = max(0, end - step)
            handle.seek(start)
            data = handle.read(end - start)
            lines = data.rstrip(b"\n").split(b"\n")
            if len(lines) > 1 or start == 0:
                return lines[-1]
            step *= 2


def append_line(path: Path, line: bytes) -> None:
    """Append one line and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def read_checkpoints(path: Path) -> Iterator[Checkpoint]:
    """The checkpoints of a file: JSON lines, or one JSON object as `audit checkpoint` prints."""
    if not path.exists():
        raise InputError(f"checkpoint file {path} does not exist")
    text, problem = read_text(path, str(path), Limits(file_bytes=256 * 1024 * 1024))
    if text is None:
        raise InputError(f"checkpoint file {problem}")
    stripped = text.strip()
    if not stripped:
        raise InputError(f"checkpoint file {path} is empty; it holds no checkpoint")
    if stripped.startswith("{") and "\n{" not in stripped:
        yield Checkpoint.from_dict(_json(stripped, str(path)), str(path))
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            where = f"{path}:{number}"
            yield Checkpoint.from_dict(_json(line, where), where)


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"{where}: not JSON ({exc})") from None


def checkpoint_now(journal: Journal) -> Checkpoint:
    """The newest checkpoint, signed afresh first if the journal has grown past it."""
    current = latest(journal)
    with journal.locked():
        size = journal.tail().size
    if current is None or current.size != size:
        current = write_checkpoint(journal)
    return current


def latest(journal: Journal) -> Checkpoint | None:
    """The most recent checkpoint in the state dir, if any."""
    if not journal.checkpoints.exists():
        return None
    # read_checkpoints refuses a file that holds no checkpoint, so there is always a last one
    return deque(read_checkpoints(journal.checkpoints), maxlen=1)[0]
