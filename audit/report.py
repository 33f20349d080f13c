"""The auditors' report: every change, failures and incomplete ones, counts, integrity, 等保 mapping."""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dcops.audit.compliance import MLPS_LEVEL3_AUDIT
from dcops.audit.history import Operation
from dcops.audit.verification import Verification

FORMATS = ("markdown", "html", "csv")
CSV_COLUMNS = (
    "id",
    "time_utc",
    "time_local",
    "user",
    "name",
    "host",
    "action",
    "object",
    "status",
    "error",
    "result_id",
    "correlation",
    "diff",
)


@dataclass(frozen=True)
class Report:
    """What a report says, before it is rendered."""

    site: str
    title: str
    period: str
    generated: str
    auditor: str
    operations: list[Operation]
    verification: Verification

    def counts(self, key: Callable[[Operation], str]) -> list[tuple[str, int, int, int, int]]:
        """Per key: total, success, failure, incomplete; most active first."""
        rows: dict[str, Counter[str]] = {}
        for op in self.operations:
            rows.setdefault(key(op), Counter())[op.status] += 1
        table = [
            (name, sum(c.values()), c["success"], c["failure"], c["incomplete"])
            for name, c in rows.items()
        ]
        return sorted(table, key=lambda row: (-row[1], row[0]))

    @property
    def problems(self) -> list[Operation]:
        """Failed and incomplete operations."""
        return [op for op in self.operations if op.status in ("failure", "incomplete")]

    def integrity(self) -> list[str]:
        """Sentences on the journal's integrity and the checkpoint it was verified against."""
        check = self.verification
        latest = check.latest
        lines = []
        if check.ok:
            lines.append(
                f"完整性校验通过 Integrity verified: {check.size - check.pruned} events in the "
                f"journal ({check.pruned} pruned into the archive) match the signed checkpoints."
            )
        else:
            first = check.first_bad
            lines.append(f"完整性校验失败 INTEGRITY CHECK FAILED: {first}")
            lines.extend(f"- {finding}" for finding in check.findings[1:10])
        if latest is not None:
            lines.append(
                f"Verified against checkpoint: size {latest.size}, root {latest.root.hex()}, "
                f"signed {latest.time} with key {latest.key_id}."
            )
        if check.unsigned:
            lines.append(f"{check.unsigned} newest events are not yet covered by a checkpoint.")
        return lines


def render(report: Report, form: str) -> str:
    """The report as markdown, html or csv."""
    return {"markdown": markdown, "html": html_page, "csv": csv_rows}[form](report)


def _status(op: Operation) -> str:
    return {
        "success": "成功 success",
        "failure": "失败 failure",
        "incomplete": "未完成 incomplete",
    }.get(op.status, op.status)


def _md_cell(value: Any) -> str:
    return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")


def _md_table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out.extend("| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows)
    return out


def _change_rows(ops: list[Operation]) -> list[list[Any]]:
    return [
        [
            op.id,
            op.time_local,
            f"{op.user} ({op.name})",
            op.host,
            op.action,
            op.object,
            _status(op),
            op.error or "",
        ]
        for op in ops
    ]


_CHANGE_HEAD = [
    "id",
    "time 时间",
    "who 用户",
    "host",
    "action 操作",
    "object 对象",
    "result 结果",
    "error",
]
_COUNT_HEAD = ["total", "success", "failure", "incomplete"]


def markdown(report: Report) -> str:
    """The report as Markdown."""
    out = [
        f"# 审计报告 Audit report — {report.title}",
        "",
        f"- site: {report.site}",
        f"- period 时段: {report.period}",
        f"- generated 生成: {report.generated} by {report.auditor}",
        "",
        "## 完整性 Integrity",
        "",
        *report.integrity(),
        "",
        "## 统计 Counts",
        "",
        *_md_table(
            ["actor 用户", *_COUNT_HEAD], [list(r) for r in report.counts(lambda o: o.user)]
        ),
        "",
        *_md_table(
            ["action 操作", *_COUNT_HEAD], [list(r) for r in report.counts(lambda o: o.action)]
        ),
        "",
        "## 失败与未完成 Failed and incomplete operations",
        "",
    ]
    out += (
        _md_table(_CHANGE_HEAD, _change_rows(report.problems))
        if report.problems
        else ["None. 无。"]
    )
    out += ["", "## 全部变更 Every change", ""]
    out += (
        _md_table(_CHANGE_HEAD, _change_rows(report.operations))
        if report.operations
        else ["None. 无。"]
    )
    for op in report.operations:
        if op.diff:
            out += [
                "",
                f"### Diff of operation {op.id} ({op.action} {op.object})",
                "",
                "```diff",
                op.diff,
                "```",
            ]
    out += ["", "## 等保2.0 三级 安全审计 (GB/T 22239-2019 8.1.4.3)", ""]
    out += _md_table(
        ["clause 条款", "requirement 要求", "how dcops meets it 实现方式"],
        [[r.clause, r.requirement, r.how] for r in MLPS_LEVEL3_AUDIT],
    )
    return "\n".join(out) + "\n"


PAGE_STYLE = (
    "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}"
    ".ok{color:#060}.bad{color:#b00;font-weight:bold}pre{background:#f4f4f4;padding:.5em}</style>"
)
"""The look of the reports auditors read (this one, and the cloud scan's)."""


def html_table(head: list[str], rows: list[list[Any]]) -> str:
    """A table with every header and cell escaped."""
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str('' if v is None else v))}</td>" for v in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def html_page(report: Report) -> str:
    """The report as one self-contained HTML page."""
    esc = html.escape
    diffs = "".join(
        f"<details><summary>Diff of operation {op.id} ({esc(op.action)} {esc(op.object)})</summary>"
        f"<pre>{esc(op.diff)}</pre></details>"
        for op in report.operations
        if op.diff
    )
    state = "ok" if report.verification.ok else "bad"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>审计报告 Audit report — {esc(report.site)}</title>",
        PAGE_STYLE,
        "</head><body>",
        f"<h1>审计报告 Audit report — {esc(report.title)}</h1>",
        f"<p>site {esc(report.site)} · period 时段 {esc(report.period)} · generated 生成 "
        f"{esc(report.generated)} by {esc(report.auditor)}</p>",
        "<h2>完整性 Integrity</h2>",
        "".join(f'<p class="{state}">{esc(line)}</p>' for line in report.integrity()),
        "<h2>统计 Counts</h2>",
        html_table(
            ["actor 用户", *_COUNT_HEAD], [list(r) for r in report.counts(lambda o: o.user)]
        ),
        html_table(
            ["action 操作", *_COUNT_HEAD], [list(r) for r in report.counts(lambda o: o.action)]
        ),
        "<h2>失败与未完成 Failed and incomplete operations</h2>",
        html_table(_CHANGE_HEAD, _change_rows(report.problems))
        if report.problems
        else "<p>None. 无。</p>",
        "<h2>全部变更 Every change</h2>",
        html_table(_CHANGE_HEAD, _change_rows(report.operations)),
        diffs,
        "<h2>等保2.0 三级 安全审计 (GB/T 22239-2019 8.1.4.3)</h2>",
        html_table(
            ["clause 条款", "requirement 要求", "how dcops meets it 实现方式"],
            [[r.clause, r.requirement, r.how] for r in MLPS_LEVEL3_AUDIT],
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def csv_rows(report: Report) -> str:
    """Every operation as one CSV row (for spreadsheets); integrity is in the other formats."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for op in report.operations:
        data = op.as_dict()
        writer.writerow(["" if data[c] is None else data[c] for c in CSV_COLUMNS])
    return buffer.getvalue()
