"""A GitHub-flavoured Markdown summary, written for `$GITHUB_STEP_SUMMARY` and pull-request comments.

Every cell is escaped: details and locations come from the scanned site, and an unescaped `|`,
newline or `</details>` from a hostile page would otherwise rewrite the table around it. Each
table has a byte budget so a scan with thousands of results still fits the job summary (GitHub
allows 1 MiB per step) with room left for the steps around it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import escape

from probe.model import Report, Result, Severity, Status, cell_text
from probe.reporters import Measured, docs_url, grouped, measured
from probe.reporters.json import iso_utc

_CELL_LIMIT = 300
_FAILURES_BUDGET = 30_000
_ERRORS_BUDGET = 8_000
_SKIPS_BUDGET = 6_000
_PASSES_BUDGET = 4_000
_SUPPRESSED_BUDGET = 4_000
_NOTES_LIMIT = 20
_TABLES_LIMIT = 10
_TABLE_ROWS_LIMIT = 30
_MARKDOWN_SPECIAL = re.compile(r"[\\`*\[\]|~]")


def render(report: Report, *, fail_on: Severity = Severity.HIGH, allow_errors: bool = False) -> str:
    groups = grouped(report.results)
    failures, errors, skips, passes, suppressed = (
        groups.failures, groups.errors, groups.skips, groups.passes, groups.suppressed
    )
    blocking = report.gate_failures(fail_on, allow_errors)

    lines = [*_headline(report, blocking, fail_on, allow_errors), ""]
    lines += [
        f"**{len(failures)}** failed · **{len(errors)}** errors · **{len(skips)}** skipped · "
        f"**{len(passes)}** passed · **{len(suppressed)}** suppressed by baseline",
        "",
    ]
    if failures:
        lines += [f"### Failures ({len(failures)})", ""]
        lines += _table(
            ("Severity", "Check", "Location", "What was seen"),
            failures,
            lambda r: (_severity(r, fail_on), _check(r), _cell(r.location), _cell(r.detail or r.title)),
            _FAILURES_BUDGET,
        )
    if errors:
        verdict = "allowed by --allow-errors" if allow_errors else "each one fails the gate: it was not tested"
        lines += [f"### Errors ({len(errors)})", "", f"Checks that could not run ({verdict}).", ""]
        lines += _table(
            ("Check", "Location", "What went wrong"),
            errors,
            lambda r: (_check(r), _cell(r.location), _cell(r.detail)),
            _ERRORS_BUDGET,
        )
    if skips or passes or suppressed:
        lines += _details(skips, passes, suppressed, fail_on)
    tables = measured(report.results)
    if tables:
        lines += ["### Measurements", ""]
        for found in tables[:_TABLES_LIMIT]:
            lines += _measurement(found)
    if report.notes:
        lines += ["### Notes", ""]
        lines += [f"- {_cell(note)}" for note in report.notes[:_NOTES_LIMIT]]
        if len(report.notes) > _NOTES_LIMIT:
            lines.append(f"- … {len(report.notes) - _NOTES_LIMIT} more in the JSON report")
        lines.append("")
    lines.append(f"<sub>probe {escape(report.tool_version)} · started {iso_utc(report.started)}</sub>")
    return "\n".join(lines) + "\n"


def _headline(report: Report, blocking: Sequence[Result], fail_on: Severity, allow_errors: bool) -> list[str]:
    verdict = "✅ probe: PASSED" if not blocking else "❌ probe: FAILED"
    if report.interrupted:
        verdict += " (interrupted: incomplete)"
    gate_fails = sum(1 for r in blocking if r.status is Status.FAIL)
    gate_errors = len(blocking) - gate_fails
    gated = f"failures at **{fail_on.value}** or worse" + ("" if allow_errors else " and errors")
    gate = f"Gate: {gated} fail the run."
    if blocking:
        reasons = [f"{n} {what}" for n, what in ((gate_fails, "failure(s)"), (gate_errors, "error(s)")) if n]
        gate += f" Blocking: {', '.join(reasons)}."
    return [
        f"## {verdict}",
        "",
        f"**Target** {_code(report.target)} · **mode** {report.mode.value} · "
        f"**{report.requests_sent}** requests · {report.duration_s:.1f} s",
        "",
        gate,
    ]


def _details(skips: list[Result], passes: list[Result], suppressed: list[Result], fail_on: Severity) -> list[str]:
    summary = f"Skipped ({len(skips)}) · passed ({len(passes)}) · suppressed ({len(suppressed)})"
    # GitHub renders Markdown inside <details> only with a blank line after the summary.
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    if skips:
        lines += [f"#### Skipped ({len(skips)})", ""]
        lines += _table(
            ("Check", "Location", "Why not"),
            skips,
            lambda r: (_check(r), _cell(r.location), _cell(r.detail)),
            _SKIPS_BUDGET,
        )
    if passes:
        lines += [f"#### Passed ({len(passes)})", ""]
        lines += _table(("Check", "Location"), passes, lambda r: (_check(r), _cell(r.location)), _PASSES_BUDGET)
    if suppressed:
        lines += [f"#### Suppressed by baseline ({len(suppressed)})", ""]
        lines += _table(
            ("Severity", "Check", "Location", "What was seen"),
            suppressed,
            lambda r: (_severity(r, fail_on), _check(r), _cell(r.location), _cell(r.detail or r.title)),
            _SUPPRESSED_BUDGET,
        )
    return [*lines, "</details>", ""]


def _measurement(found: Measured) -> list[str]:
    checks = ", ".join(f"[{c}]({docs_url(c)})" for c in found.checks)
    lines = [f"**{_cell(found.table.title)}** · {checks} · {_cell(found.location)}", ""]
    lines += [_row(tuple(_cell(c) for c in found.table.columns)), _row(tuple("---:" for _ in found.table.columns))]
    lines += [_row(tuple(_cell(cell_text(c)) for c in row)) for row in found.table.rows[:_TABLE_ROWS_LIMIT]]
    return [*lines, ""]


def _table(
    header: tuple[str, ...], rows: list[Result], cells: Callable[[Result], tuple[str, ...]], budget: int
) -> list[str]:
    lines = [_row(header), _row(tuple("---" for _ in header))]
    used = 0
    for shown, result in enumerate(rows):
        line = _row(cells(result))
        used += len(line.encode()) + 1
        if used > budget:
            more = (f"… {len(rows) - shown} more (see the JSON report)", *("" for _ in header[1:]))
            lines.append(_row(more))
            break
        lines.append(line)
    return [*lines, ""]


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    """Plain text made safe for a table cell: one line, HTML escaped, and the Markdown characters
    that could end the cell, open a link or start emphasis backslash-escaped. `_` is left alone:
    GitHub does not emphasise inside words, and escaping it would show in URLs and variable names."""
    flat = " ".join(text.split())
    if len(flat) > _CELL_LIMIT:
        flat = flat[: _CELL_LIMIT - 1] + "…"
    return _MARKDOWN_SPECIAL.sub(r"\\\g<0>", escape(flat, quote=False))


def _code(text: str) -> str:
    # Inside a code span HTML escapes would show literally; only the backtick needs care there.
    flat = " ".join(text.split()).replace("`", "'")
    return f"`{flat}`"


def _check(result: Result) -> str:
    return f"[{result.check}]({docs_url(result.check)})"


def _severity(result: Result, fail_on: Severity) -> str:
    # Bold marks the failures that decide the verdict.
    return f"**{result.severity.value}**" if result.severity.rank >= fail_on.rank else result.severity.value
