"""The human report: what failed and how to fix it first, then what could not be tested and why.

Everything from the scanned site goes in as `rich.text.Text`, never as markup, so a page that
says "[bold red]" is printed as those characters. Secret values were masked by the engine; this
module shows only the request line and status of evidence, never bodies.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table as Grid
from rich.text import Text

from probe.model import Report, Result, Severity, Status, cell_text
from probe.reporters import Measured, grouped, measured

WIDTH = 100

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def renderable(
    report: Report, *, fail_on: Severity = Severity.HIGH, allow_errors: bool = False, verbose: bool = False
) -> RenderableType:
    groups = grouped(report.results)
    failures, errors, skips, passes, suppressed = (
        groups.failures, groups.errors, groups.skips, groups.passes, groups.suppressed
    )

    parts: list[RenderableType] = [_header(report)]
    if failures:
        parts.append(_heading(f"Failed ({len(failures)})", "bold red"))
        parts += [_failure(r, verbose) for r in failures]
    if errors:
        parts.append(_heading(f"Could not run ({len(errors)})", "bold magenta"))
        parts += [_line("!", "magenta", r, r.detail) for r in errors]
    if skips:
        parts.append(_heading(f"Skipped ({len(skips)})", "bold"))
        parts += [_line("-", "dim", r, r.detail) for r in skips]
    if suppressed:
        parts.append(_heading(f"Suppressed by baseline ({len(suppressed)})", "bold"))
        parts += [_line("~", "dim", r, r.title) for r in suppressed]
    if passes:
        parts.append(_heading(f"Passed ({len(passes)})", "bold green"))
        if verbose:
            parts += [_line("✓", "green", r, r.detail) for r in passes]
        else:
            checks = len({r.check for r in passes})
            parts.append(Padding(Text(f"{len(passes)} results from {checks} checks (--verbose lists them)"), (0, 2)))
    tables = measured(report.results)
    if tables:
        parts.append(_heading("Measurements", "bold"))
        parts += [_measurement(m) for m in tables]
    if report.notes:
        parts.append(_heading("Notes", "bold"))
        parts += [Padding(Text(f"• {note}", overflow="fold"), (0, 2)) for note in report.notes]
    parts.append(Text())
    parts += _verdict(report, fail_on, allow_errors)
    return Group(*parts)


def render(
    report: Report, *, fail_on: Severity = Severity.HIGH, allow_errors: bool = False, verbose: bool = False
) -> str:
    """Plain text for `--format console=PATH`: the same report with no colour or control codes."""
    console = Console(
        file=io.StringIO(), record=True, width=WIDTH, color_system=None, highlight=False, emoji=False, soft_wrap=False
    )
    console.print(renderable(report, fail_on=fail_on, allow_errors=allow_errors, verbose=verbose))
    # Padding fills lines to the console width; in a file that is only trailing whitespace.
    return "\n".join(line.rstrip() for line in console.export_text(styles=False).splitlines()) + "\n"


def _header(report: Report) -> Text:
    text = Text.assemble(("probe ", "bold"), report.tool_version, " · ", (report.target, "bold"))
    text.append(f" · {report.mode.value} · {report.requests_sent} requests · {report.duration_s:.1f} s")
    if report.interrupted:
        text.append(" · interrupted: incomplete", style="bold yellow")
    return text


def _heading(title: str, style: str) -> Text:
    return Text.assemble("\n", (title, style))


def _failure(result: Result, verbose: bool) -> RenderableType:
    head = Text.assemble(
        ("✗ ", "red"),
        (f"{result.severity.value.upper():<8}", _SEVERITY_STYLE[result.severity]),
        " ",
        (result.check, "bold"),
        "  ",
        result.title,
    )
    body = [Text.assemble(("at   ", "dim"), result.location, overflow="fold")]
    if result.file is not None:
        where = result.file.path + (f":{result.file.line}" if result.file.line else "")
        body.append(Text.assemble(("file ", "dim"), where, overflow="fold"))
    if result.detail:
        body.append(Text(result.detail, overflow="fold"))
    if result.remediation:
        body.append(Text.assemble(("fix  ", "bold green"), result.remediation, overflow="fold"))
    if verbose:
        body += [Text.assemble(("seen ", "dim"), line, overflow="fold") for line in _exchange(result.evidence)]
    return Group(head, Padding(Group(*body), (0, 0, 0, 4)))


def _measurement(found: Measured) -> RenderableType:
    title = Text.assemble((found.table.title, "bold"), " · ", ", ".join(found.checks), " · ", found.location,
                          overflow="fold")
    grid = Grid(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    for column in found.table.columns:
        grid.add_column(Text(column), justify="right")
    for row in found.table.rows:
        grid.add_row(*(Text(cell_text(cell)) for cell in row))
    return Padding(Group(title, grid), (0, 2))


def _exchange(evidence: Mapping[str, Any]) -> list[str]:
    """The request line and status from `HttpResponse.evidence()`, and nothing else from it."""
    request, response = evidence.get("request"), evidence.get("response")
    lines = []
    if isinstance(request, Mapping) and request.get("url"):
        line = f"{request.get('method', 'GET')} {request['url']}"
        if isinstance(response, Mapping) and response.get("status") is not None:
            line += f" → {response['status']}"
        lines.append(line)
    return lines


def _line(marker: str, style: str, result: Result, why: str) -> Text:
    text = Text.assemble("  ", (f"{marker} ", style), (result.check, "bold"), "  ", result.location)
    if why:
        text.append(f": {why}")
    text.overflow = "fold"
    return text


def _verdict(report: Report, fail_on: Severity, allow_errors: bool) -> list[Text]:
    """The counts and request total, then the verdict as the very last line: what CI logs show."""
    blocking = report.gate_failures(fail_on, allow_errors)
    summary = report.summary
    counts = f"{summary.fail} failed, {summary.error} errors, {summary.skip} skipped, {summary.pass_} passed"
    if summary.suppressed:
        counts += f", {summary.suppressed} suppressed"
    totals = Text(f"{counts} · {report.requests_sent} requests sent")
    if not blocking:
        return [totals, Text.assemble(("PASSED", "bold black on green"), f"  nothing at {fail_on.value} or worse")]
    fails = sum(1 for r in blocking if r.status is Status.FAIL)
    why = f"{fails} failure(s) at {fail_on.value} or worse"
    if len(blocking) > fails:
        why += f", {len(blocking) - fails} check(s) could not run"
    return [totals, Text.assemble(("FAILED", "bold white on red"), f"  {why}")]
