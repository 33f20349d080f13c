"""Verify the journal: recompute the tree, check the event chain and every checkpoint.

The event pass streams the file once with hashlib only (no JSON parsing per event), so a
journal of a million events verifies in seconds. Checkpoints are chained: each records the
hash of the one before it, so the signature on the latest authenticates all earlier ones.
"""

from __future__ import annotations

import json
from binascii import Error as binascii_error
from binascii import a2b_base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dcops.audit import witness
from dcops.audit.checkpoint import (
    ZERO_HEX,
    Checkpoint,
    key_id,
    load_public_key,
    public_raw,
    read_checkpoints,
    signature_ok,
)
from dcops.audit.journal import Journal, read_base
from dcops.audit.merkle import EMPTY_ROOT
from dcops.core.errors import DcopsError, InputError, OperationFailed

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

_PREV = b'"prev":"'


@dataclass(frozen=True)
class Finding:
    """One sign of tampering: the first event it implicates (if any) and what was seen."""

    message: str
    event: int | None = None
    line: int | None = None
    exact: bool = True  # False when the event is only the first of a range that may hold it

    def __str__(self) -> str:
        where = f"event {self.event} (journal line {self.line}): " if self.event is not None else ""
        return where + self.message


@dataclass(slots=True)
class CheckpointResult:
    """How one checkpoint fared: its source, whether it holds, and why not."""

    source: str
    checkpoint: Checkpoint
    ok: bool = True
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for `--output json`."""
        return {
            "source": self.source,
            "size": self.checkpoint.size,
            "root": self.checkpoint.root.hex(),
            "time": self.checkpoint.time,
            "ok": self.ok,
            "note": self.note,
        }


@dataclass
class Verification:
    """The outcome of one verification run."""

    size: int = 0
    root: bytes = EMPTY_ROOT
    pruned: int = 0
    findings: list[Finding] = field(default_factory=list)
    checkpoints: list[CheckpointResult] = field(default_factory=list)
    witness: str | None = None  # the witness checked against, None when the site has none
    witness_size: int | None = None  # the size of the witness's newest checkpoint
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.findings

    @property
    def first_bad(self) -> Finding | None:
        """The finding that names the earliest event, else the first finding."""
        named = [f for f in self.findings if f.event is not None and f.exact]
        named = named or [f for f in self.findings if f.event is not None]
        if named:
            return min(named, key=lambda f: f.event if f.event is not None else 0)
        return self.findings[0] if self.findings else None

    @property
    def latest(self) -> Checkpoint | None:
        """The largest checkpoint that holds."""
        good = [c.checkpoint for c in self.checkpoints if c.ok]
        return max(good, key=lambda c: (c.size, c.time)) if good else None

    @property
    def unsigned(self) -> int:
        """Events after the latest good checkpoint."""
        latest = self.latest
        return self.size - (latest.size if latest else self.pruned)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for `--output json`."""
        latest = self.latest
        first = self.first_bad
        return {
            "ok": self.ok,
            "events": self.size - self.pruned,
            "tree_size": self.size,
            "pruned": self.pruned,
            "root": self.root.hex(),
            "first_bad_event": first.event if first else None,
            "first_bad": str(first) if first else None,
            "findings": [str(f) for f in self.findings],
            "latest_checkpoint": latest.as_dict() if latest else None,
            "unsigned_events": self.unsigned,
            "checkpoints_checked": len(self.checkpoints),
            "checkpoints_failed": [c.as_dict() for c in self.checkpoints if not c.ok],
            "witness": (
                {"path": self.witness, "size": self.witness_size} if self.witness else None
            ),
            "warnings": self.warnings,
        }


class Tampered(OperationFailed):
    """The journal or its checkpoints do not verify (exit 1); details list every finding."""

    def __init__(self, report: dict[str, Any]) -> None:
        """From a verification's plain data (`Verification.as_dict`, or the API's answer)."""
        self.findings = [str(f) for f in report["findings"]]
        super().__init__(f"audit journal does not verify; first bad: {report['first_bad']}")

    def details(self) -> list[str]:
        """Every finding, one a line."""
        return list(self.findings)


def trusted_key(journal: Journal, given: Path | None) -> Ed25519PublicKey | None:
    """The key checkpoints must be signed with: the auditor's copy if given, else the site's."""
    if given is not None:
        return load_public_key(given)
    for path in (journal.public_key, journal.key):
        if path.is_file():
            return load_public_key(path)
    return None


class Kept(NamedTuple):
    """Checkpoints an auditor kept elsewhere, and where they came from (a file's name)."""

    source: str
    checkpoints: list[Checkpoint]

    @classmethod
    def read(cls, path: Path) -> Kept:
        """The checkpoints of a file kept elsewhere."""
        return cls(str(path), list(read_checkpoints(path)))


def verify(
    journal: Journal,
    external: Iterable[Path | Kept] = (),
    key: Ed25519PublicKey | None = None,
    every_signature: bool = False,
) -> Verification:
    """Check the journal and its checkpoints (plus any the auditor kept); never raises on tampering."""
    result = Verification()
    trusted = key_id(public_raw(key)) if key is not None else None
    with journal.reading():  # a checkpoint written meanwhile must not look like a cut
        length, checkpoint_file = journal.snapshot()
        witnessed = _witness(journal, length, bool(checkpoint_file), key, trusted, result)
    state_checks = _state_checkpoints(
        journal, checkpoint_file, key, trusted, every_signature, result
    )
    kept = [given if isinstance(given, Kept) else Kept.read(given) for given in external]
    outside = [_external(group, key, trusted, result) for group in kept]
    checks = state_checks + [c for group in outside for c in group]
    known = {c.checkpoint for c in state_checks}
    witnessed = [c for c in witnessed if c.checkpoint not in known]  # a copy adds nothing
    if (checks or witnessed) and key is None:
        result.findings.append(
            Finding(f"no public key to check checkpoints with ({journal.public_key} is missing)")
        )
    _archive(journal, key, result)
    _walk(journal, length, checks + witnessed, result)
    if not checks and result.size > result.pruned:
        result.findings.append(
            Finding(
                "no checkpoint covers the journal: nothing is signed (run `dcops audit checkpoint`)"
            )
        )
    result.checkpoints = checks
    return result


def _state_checkpoints(
    journal: Journal,
    data: bytes,
    key: Ed25519PublicKey | None,
    trusted: str | None,
    every_signature: bool,
    result: Verification,
) -> list[CheckpointResult]:
    """The state dir's checkpoints, chain and key checked; signatures of the last (or all)."""
    path = journal.checkpoints
    checks: list[CheckpointResult] = []
    previous: bytes = b""
    lines = data.splitlines()
    parsed = _parse_all(lines)
    for number, raw in enumerate(lines, start=1):
        where = f"{path.name}:{number}"
        try:
            data = parsed[number - 1] if parsed is not None else json.loads(raw)
            checkpoint = _parse_checkpoint(data, where)
        except (ValueError, InputError) as exc:
            result.findings.append(Finding(f"{where}: damaged checkpoint ({exc})"))
            previous = raw
            continue
        check = CheckpointResult(where, checkpoint)
        checks.append(check)
        expected = sha256(previous).hexdigest() if previous else ZERO_HEX
        last = number == len(lines)
        if trusted is not None and checkpoint.key_id != trusted:
            _fail(check, result, f"signed by another key ({checkpoint.key_id}, not {trusted})")
        elif key is not None and (last or every_signature) and not signature_ok(checkpoint, key):
            _fail(check, result, "forged: its signature does not verify")
        elif checkpoint.prev != expected:
            _chain_break(check, checks, key, result)
        previous = raw
    return checks


def _parse_all(lines: list[bytes]) -> list[Any] | None:
    """Every line parsed in one call (fast); None if any line is not JSON."""
    try:
        parsed = json.loads(b"[" + b",".join(lines) + b"]")
    except ValueError:
        return None
    return parsed if isinstance(parsed, list) and len(parsed) == len(lines) else None


def _parse_checkpoint(data: Any, where: str) -> Checkpoint:
    """A parsed checkpoint line: a fast path for well-formed ones, the careful parser for the rest."""
    try:
        checkpoint = Checkpoint(
            data["origin"],
            data["size"],
            bytes.fromhex(data["root"]),
            data["time"],
            data["key"],
            a2b_base64(data["signature"]),
            data["prev"],
        )
    except (KeyError, ValueError, TypeError, binascii_error):
        return Checkpoint.from_dict(data, where)
    if type(checkpoint.size) is not int or len(checkpoint.root) != 32 or len(checkpoint.prev) != 64:
        return Checkpoint.from_dict(data, where)
    return checkpoint


def _chain_break(
    check: CheckpointResult,
    checks: list[CheckpointResult],
    key: Ed25519PublicKey | None,
    result: Verification,
) -> None:
    """Say which checkpoint broke the chain: a forged one before it, or one removed."""
    before = checks[-2] if len(checks) > 1 else None
    if key is not None and not signature_ok(check.checkpoint, key):
        _fail(check, result, "forged: its signature does not verify")
    elif (
        before is not None
        and before.ok
        and key is not None
        and not signature_ok(before.checkpoint, key)
    ):
        _fail(before, result, "forged: its signature does not verify")
    else:
        _fail(
            check, result, "does not chain to the checkpoint before it (one was removed or altered)"
        )


def _fail(check: CheckpointResult, result: Verification, note: str) -> None:
    check.ok, check.note = False, note
    cp = check.checkpoint
    result.findings.append(
        Finding(f"checkpoint {check.source} (size {cp.size}, {cp.time}): {note}")
    )


def _external(
    kept: Kept, key: Ed25519PublicKey | None, trusted: str | None, result: Verification
) -> list[CheckpointResult]:
    checks = []
    for number, checkpoint in enumerate(kept.checkpoints, start=1):
        check = CheckpointResult(f"{kept.source}#{number}", checkpoint)
        checks.append(check)
        if trusted is not None and checkpoint.key_id != trusted:
            _fail(check, result, f"signed by another key ({checkpoint.key_id}, not {trusted})")
        elif key is not None and not signature_ok(checkpoint, key):
            _fail(check, result, "forged: its signature does not verify")
    return checks


NO_WITNESS = (
    "未配置见证：日志末尾连同其检查点被截去时无法发现 "
    "no witness is configured: cutting the newest events together with the checkpoints that "
    "cover them cannot be detected (set [audit] witness in dcops.toml)"
)


def _witness(
    journal: Journal,
    length: int,
    signed: bool,
    key: Ed25519PublicKey | None,
    trusted: str | None,
    result: Verification,
) -> list[CheckpointResult]:
    """The witness's newest checkpoint, checked like a kept one; a missing witness is a finding."""
    path = journal.witness
    if path is None:
        result.warnings.append(NO_WITNESS)
        return []
    result.witness = str(path)
    if not path.exists():
        if length or signed or journal.base().size:
            result.findings.append(
                Finding(
                    f"the audit witness {path} is missing while the journal holds events: "
                    "it was removed, or the witness is not mounted"
                )
            )
        return []
    try:
        line = witness.latest_line(path)
    except OSError as exc:
        result.findings.append(Finding(f"the audit witness {path} cannot be read ({exc.strerror})"))
        return []
    if line is None:
        if length or signed:
            result.findings.append(Finding(f"the audit witness {path} holds no checkpoint"))
        return []
    where = f"witness {path}"
    try:
        checkpoint = Checkpoint.from_dict(json.loads(line), where)
    except (ValueError, InputError) as exc:
        result.findings.append(Finding(f"{where}: damaged checkpoint ({exc})"))
        return []
    result.witness_size = checkpoint.size
    check = CheckpointResult(where, checkpoint)
    if trusted is not None and checkpoint.key_id != trusted:
        _fail(check, result, f"signed by another key ({checkpoint.key_id}, not {trusted})")
    elif key is not None and not signature_ok(checkpoint, key):
        _fail(check, result, "forged: its signature does not verify")
    return [check]


def _archive(journal: Journal, key: Ed25519PublicKey | None, result: Verification) -> None:
    """Check each archived segment on its own and that the segments join up with the journal."""
    if not journal.archive.is_dir():
        return
    end: tuple[int, list[bytes]] | None = None
    for segment in sorted(journal.archive.glob("segment-*.jsonl")):
        stem = segment.with_suffix("")
        name = segment.name
        try:
            base = read_base(stem.with_suffix(".base.json"))
            (checkpoint,) = list(read_checkpoints(stem.with_suffix(".checkpoint.json")))
        except (DcopsError, ValueError) as exc:
            result.findings.append(Finding(f"archive {name}: cannot be checked ({exc})"))
            continue
        if end is not None and end != (base.size, base.compact.hashes):
            result.findings.append(
                Finding(f"archive {name}: does not continue the segment before it", base.size)
            )
        compact, prev, size = base.compact.copy(), base.last_leaf, base.size
        for line in segment.read_bytes().splitlines():
            at = line.rfind(_PREV)
            if at < 0 or line[at + 8 : at + 72] != prev.hex().encode():
                result.findings.append(
                    Finding(f"archive {name}: event {size} was altered, removed or moved", size)
                )
                break
            prev = sha256(b"\x00" + line).digest()
            compact.append(prev)
            size += 1
        if checkpoint.size != size or checkpoint.root != compact.root():
            result.findings.append(
                Finding(
                    f"archive {name}: events do not match the segment's checkpoint",
                    base.size,
                    exact=False,
                )
            )
        elif key is not None and not signature_ok(checkpoint, key):
            result.findings.append(Finding(f"archive {name}: its checkpoint is forged"))
        end = (size, compact.hashes)
    live = journal.base()
    if end is not None and end != (live.size, live.compact.hashes):
        result.findings.append(
            Finding(
                "the journal's base file does not continue the last archived segment", live.size
            )
        )


def _walk(
    journal: Journal, length: int, checks: list[CheckpointResult], result: Verification
) -> None:
    """Stream the journal: chain links, ids where the chain breaks, roots at checkpoint sizes."""
    base = journal.base()
    result.pruned = base.size
    wanted: dict[int, list[CheckpointResult]] = {}
    for check in checks:
        if check.ok:
            wanted.setdefault(check.checkpoint.size, []).append(check)
    for size in [s for s in wanted if s < base.size]:
        for check in wanted.pop(size):
            check.note = "covers archived events only: signature checked, root not recomputed"
    if base.size in wanted:
        _compare(wanted.pop(base.size), base.compact.root(), result, base.size, base.size)
    hashes = list(base.compact.hashes)
    size = base.size
    prev_hex = base.last_leaf.hex().encode()
    last_good = base.size  # events before this are proven by a good checkpoint
    chain_broken = False
    previous_line = b""
    digest = sha256
    for number, line in enumerate(journal.raw_lines(length), start=1):
        if not line.endswith(b"\n"):
            result.findings.append(
                Finding("the last line is cut short: the file was truncated", size, number)
            )
            break
        data = line[:-1]
        if not chain_broken:
            at = data.rfind(_PREV)
            if at < 0 or data[at + 8 : at + 72] != prev_hex:
                chain_broken = True
                result.findings.append(_diagnose(data, previous_line, size, number))
        leaf = digest(b"\x00" + data).digest()
        node, count = leaf, size
        while count & 1:
            node = digest(b"\x01" + hashes.pop() + node).digest()
            count >>= 1
        hashes.append(node)
        size += 1
        prev_hex = leaf.hex().encode()
        previous_line = data
        if size in wanted:
            root = _fold(hashes)
            if _compare(wanted.pop(size), root, result, size, last_good):
                last_good = size
    result.size = size
    result.root = _fold(hashes)
    for missing in sorted(wanted):
        for check in wanted[missing]:
            _fail(check, result, f"signed {missing} events but the journal holds {size}")
        result.findings.append(
            Finding(f"events {size} to {missing - 1} are missing: the journal was truncated", size)
        )


def _fold(hashes: list[bytes]) -> bytes:
    if not hashes:
        return EMPTY_ROOT
    digest = sha256
    node = hashes[-1]
    for left in reversed(hashes[:-1]):
        node = digest(b"\x01" + left + node).digest()
    return node


def _compare(
    checks: list[CheckpointResult], root: bytes, result: Verification, size: int, last_good: int
) -> bool:
    good = True
    for check in checks:
        if check.checkpoint.root == root:
            continue
        good = False
        _fail(check, result, "its root differs from the journal's tree at that size")
        last = size - 1
        first = min(last_good, last)
        scope = (
            f" (if its links were rewritten too, the change may be anywhere in events {first}-{last})"
            if first < last
            else ""
        )
        result.findings.append(
            Finding(
                f"does not match the checkpoint of size {size} signed {check.checkpoint.time}: "
                f"it was altered{scope}",
                last,
                last - result.pruned + 1,
                exact=False,
            )
        )
    return good


def _diagnose(data: bytes, previous: bytes, position: int, line: int) -> Finding:
    """Name what broke the chain at this position: a change, a deletion, an insertion."""
    try:
        event = json.loads(data)
        ident = event.get("id") if isinstance(event, dict) else None
    except ValueError:
        return Finding("the line is not a JSON event: it was altered", position, line)
    if ident == position:
        if not previous:
            return Finding(
                "its link to the pruned part does not match the base file", position, line
            )
        return Finding(
            f"altered: event {position} recorded a different hash for it",
            position - 1,
            line - 1,
        )
    if isinstance(ident, int) and ident > position:
        return Finding(
            f"the journal holds event {ident} here: event {position} was deleted or moved",
            position,
            line,
        )
    return Finding(
        f"the journal holds event {ident} here: an event was inserted or moved", position, line
    )
