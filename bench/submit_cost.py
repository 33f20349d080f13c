"""Where one submit's CPU goes: the policy judgement against the rest of the submit, in-process.

In a copy of the example site, submits the example request under 200 names one after another,
as `POST /api/v1/tenancies` does (validation with the store's neighbours, the policies'
judgement with its namespace holders, the store's write and the audit entry), and times each
part in CPU seconds of this process. The rest of the submit is the peer of the judgement: it
shows how much of a submit is the offline plan, and whether the rest grows with the store.
Results go to docs/performance.md (section `server-split`).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from record import record  # noqa: E402

SUBMITS = 200
JUDGED = 20  # judgements timed, after 3 to warm up


def _site(folder: Path) -> Path:
    site = folder / "site"
    site.mkdir()
    for name in ("dcops.toml", "inventory", "playbooks", "monitors"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, site / name)
    return site


def _request(i: int) -> str:
    text = (ROOT / "inventory/requests/fgw-production.yml").read_text(encoding="utf-8")
    text = text.replace("environment: production", f"name: fgw-bench{i}\nenvironment: production")
    text = text.replace("namespace: fgw\n", f"namespace: fgw-bench{i}\n")
    return text.replace("192.168.10.0/24", f"172.{16 + i // 256}.{i % 256}.0/24")


def main() -> None:
    """Run the measurement and record it."""
    from dcops.core.documents import parse_yaml
    from dcops.core.identity import actor_for
    from dcops.core.loader import load_site
    from dcops.stacks.admission import judge_here
    from dcops.stacks.plan import namespace_holders
    from dcops.tenancy.lifecycle import other_namespaces, other_peers, submit
    from dcops.tenancy.request import parse_document, request_limits
    from dcops.tenancy.store import open_store

    with tempfile.TemporaryDirectory(prefix="dcops-submit-cost-") as folder:
        site = load_site(_site(Path(folder)))
        who = actor_for(site, "wanglei", login="wanglei", method="token")

        def parsed(i: int) -> object:
            doc = parse_yaml(_request(i), "request.yml", request_limits(site))
            first = parse_document(doc, site)
            with open_store(site).reading() as db:
                peers, spaces = other_peers(db, first.name), other_namespaces(db, first.name)
            return parse_document(doc, site, other_peers=peers, other_namespaces=spaces)

        judge_times = []
        for i in range(JUDGED + 3):
            request = parsed(10_000 + i)
            started = time.process_time()
            judge_here(site, request)  # type: ignore[arg-type]
            if i >= 3:
                judge_times.append(time.process_time() - started)
        rest = []
        for i in range(SUBMITS):
            started = time.process_time()
            request = parsed(i)
            namespace_holders(site, [])
            submit(site, request, who)  # type: ignore[arg-type]
            rest.append(time.process_time() - started)
    ms = lambda xs: statistics.mean(xs) * 1000  # noqa: E731
    lines = [
        f"CPU of this process, {os.cpu_count()} cores, load average at the end "
        f"{os.getloadavg()[0]:.1f}.",
        "",
        "| part of one submit | CPU ms |",
        "|---|---|",
        f"| the policy judgement (median of {JUDGED}) | {statistics.median(judge_times) * 1000:.0f} |",
        f"| the rest (validation, holders, write, audit), first 50 submits | {ms(rest[:50]):.0f} |",
        f"| the rest, submits 151-200 (150-199 tenancies held) | {ms(rest[150:]):.0f} |",
    ]
    body = "\n".join(lines)
    print(body)
    record("server-split", body)


if __name__ == "__main__":
    main()
