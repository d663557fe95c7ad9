"""The pre-launch checklist as plain text (a terminal, a file) and as Markdown (a job summary); the HTML rendering
is `probe.reporters.html`."""

from __future__ import annotations

import html

from probe.checklist import Checklist, ItemStatus

MARKERS = {
    ItemStatus.FAILED: "✗",
    ItemStatus.ERROR: "!",
    ItemStatus.NOT_RUN: "-",
    ItemStatus.ACCEPTED: "~",
    ItemStatus.PASSED: "✓",
}
_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]|~#"})


def headline(checklist: Checklist) -> str:
    c = checklist
    return (
        f"{c.count(ItemStatus.FAILED)} failed · {c.count(ItemStatus.ERROR)} could not run · "
        f"{c.count(ItemStatus.NOT_RUN)} not run · {c.count(ItemStatus.ACCEPTED)} accepted · "
        f"{c.count(ItemStatus.PASSED)} passed"
    )


def verdict(checklist: Checklist) -> str:
    if checklist.report.interrupted:
        return "INCOMPLETE: the run was interrupted"
    if checklist.ready:
        return f"READY: nothing at {checklist.fail_on.value} or worse"
    blocked = f"NOT READY: failures at {checklist.fail_on.value} or worse"
    return blocked if checklist.allow_errors else blocked + ", or checks that could not run"


def render_text(checklist: Checklist) -> str:
    """Plain text for a terminal or a file: no colour, and every string from the target made printable."""
    report = checklist.report
    lines = [
        f"probe pre-launch checklist · {printable(report.target)} · {report.mode.value} · {report.requests_sent} requests",
        headline(checklist),
    ]
    for section in checklist.sections:
        lines += ["", f"{section.group.title.upper()}: {section.group.question}"]
        for item in section.items:
            lines.append(f"  {MARKERS[item.status]} {item.status.value:<13} {item.info.id}  {item.info.title}")
            for f in item.findings:
                lines.append(f"      at {printable(f.location)}: {printable(f.detail)}")
                if f.suppression:
                    lines.append(f"      accepted: {printable(f.suppression)}")
            if item.status is ItemStatus.FAILED:
                lines.append(f"      fix: {printable(item.findings[0].remediation)}")
            lines += [f"      why: {printable(r)}" for r in item.reasons]
            if item.unlock:
                lines.append(f"      to run it: {item.unlock}")
    lines += ["", *(f"note: {printable(n)}" for n in report.notes), verdict(checklist)]
    return "\n".join(lines) + "\n"


def render_markdown(checklist: Checklist) -> str:
    report = checklist.report
    lines = [
        "# Pre-launch checklist",
        "",
        f"**Target** {_md(report.target)} · **mode** {report.mode.value} · "
        f"**{report.requests_sent}** requests · probe {_md(report.tool_version)}",
        "",
        f"**{verdict(checklist)}** · {headline(checklist)}",
    ]
    for section in checklist.sections:
        lines += ["", f"## {section.group.title}", "", f"_{section.group.question}_", ""]
        for item in section.items:
            box = "x" if item.status in (ItemStatus.PASSED, ItemStatus.ACCEPTED) else " "
            lines.append(f"- [{box}] **{item.status.value}** `{item.info.id}` {_md(item.info.title)}")
            for f in item.findings:
                accepted = f" (accepted: {_md(f.suppression)})" if f.suppression else ""
                lines.append(f"  - {f.severity.value} at {_md(f.location)}: {_md(f.detail)}{accepted}")
            if item.status is ItemStatus.FAILED:
                lines.append(f"  - fix: {_md(item.findings[0].remediation)}")
            lines += [f"  - why: {_md(r)}" for r in item.reasons]
            if item.unlock:
                lines.append(f"  - to run it: {_md(item.unlock)}")
    if report.notes:
        lines += ["", "## Notes", "", *(f"- {_md(n)}" for n in report.notes)]
    return "\n".join(lines) + "\n"


def printable(text: str) -> str:
    """One line with no control characters: a hostile page cannot move the cursor or recolour a terminal."""
    return "".join(ch if ch.isprintable() else " " for ch in " ".join(text.split()))


def _md(text: str) -> str:
    """HTML-escaped (GitHub renders raw HTML in Markdown) and with the characters that open Markdown syntax escaped."""
    return html.escape(printable(text), quote=False).translate(_MD_SPECIAL)
