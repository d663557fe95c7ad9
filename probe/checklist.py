"""The pre-launch checklist: every known check, grouped by the launch risk it guards against, each marked
failed / accepted / could not run / not run / passed, with the exact reason and what unlocks it.

Built from a finished `Report` plus the check metadata to list (the whole registry for `probe checklist`,
`report.checks` for a report rendered on its own). Groups come from the plain tables below: a family maps
to a group, a few single ids are placed elsewhere, and a family no table names lands in "Other checks",
so a family added later shows up without touching this file.
"""

from __future__ import annotations

import html
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType
from typing import Any

from probe.model import CheckInfo, Report, Result, Severity, Status, sort_key

if typing.TYPE_CHECKING:
    from probe.registry import Registry


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    question: str


# The seeds of launch risk, in the order a founder should read them.
GROUPS = (
    Group("configuration", "Configuration and secrets", "Does production run with real settings, and is no key leaked?"),
    Group("errors", "Error pages and bad input", "Does an error show a stack trace, a debugger or the app's internals?"),
    Group("cross-origin", "Cross-origin and browser protections", "Can another site read your users' data or frame your pages?"),
    Group("abuse", "Abuse and brute force", "Can a script hammer log-in, password-reset and OTP endpoints?"),
    Group("authorization", "Authentication and authorization", "Can a stranger or another user reach someone's data?"),
    Group("webhooks", "Webhooks", "Does a webhook receiver accept events nobody signed?"),
    Group("transport", "HTTPS and transport", "Is every visit encrypted with a valid certificate?"),
    Group("dns", "DNS and email", "Can someone take over a subdomain or send mail as you?"),
)
OTHER = Group("other", "Other checks", "Checks from families this checklist does not group yet.")

FAMILY_GROUPS: Mapping[str, str] = {
    "env": "configuration",
    "secrets": "configuration",
    "debug": "errors",
    "input": "errors",
    "cors": "cross-origin",
    "headers": "cross-origin",
    "ratelimit": "abuse",
    "auth": "authorization",
    "idor": "authorization",
    "baas": "authorization",
    "webhook": "webhooks",
    "tls": "transport",
    "dns": "dns",
}
# Checks whose family sits in one group but whose risk belongs to another.
CHECK_GROUPS: Mapping[str, str] = {
    "headers.hsts": "transport",
    "headers.version-disclosure": "configuration",
}

# What to add to probe.toml (or which flag to give) so a family's checks can run. A family missing here
# gets a hint derived from the config sections its module declares.
UNLOCKS: Mapping[str, str] = {
    "env": "set [env] manifest (your .env.example) and deployed (dotenv:PATH, process, vercel:APP, heroku:APP ...)",
    "secrets": "scan the deployed site (the page, its scripts and source maps are what is checked)",
    "auth": "add [login] and an [accounts.NAME] with a control request, so signed-in routes can be compared",
    "idor": "add two [accounts.NAME] (with [login]) and [[resources]] with a path containing {id} to test IDOR",
    "ratelimit": "add [[rate_limit]] with your log-in path and run with --mode active (staging, or with consent)",
    "webhook": 'add [[webhooks]] with path, provider and secret = "${..._WEBHOOK_SECRET}", and run with --mode active',
    "cors": "set [cors] trusted_origins to the https:// origins of your own front ends",
    "tls": "scan the https:// address users visit (a plain-HTTP or loopback target has no certificate to check)",
    "dns": "scan your real host name (a loopback or IP target has no DNS records to check)",
}
NOT_SELECTED = "not selected for this run (--only, --skip or --profile left it out)"
NO_RESULT = "no result: the run ended before this check finished (see the notes)"
MAX_REASONS = 5
_NAMES_CONFIG = re.compile(r"\[\[?[a-z_]+[.\]]|--[a-z]")


class ItemStatus(StrEnum):
    FAILED = "failed"
    ERROR = "could not run"
    NOT_RUN = "not run"
    ACCEPTED = "accepted risk"
    PASSED = "passed"


@dataclass(frozen=True)
class Finding:
    location: str
    detail: str
    severity: Severity
    remediation: str
    suppression: str = ""


@dataclass(frozen=True)
class Item:
    info: CheckInfo
    status: ItemStatus
    # Why it did not run, could not run, or was only partly tested: the checks' own words, deduplicated.
    reasons: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    unlock: str = ""


@dataclass(frozen=True)
class Section:
    group: Group
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Checklist:
    report: Report
    sections: tuple[Section, ...]
    fail_on: Severity
    allow_errors: bool

    def count(self, status: ItemStatus) -> int:
        return sum(1 for s in self.sections for i in s.items if i.status is status)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(i for s in self.sections for i in s.items)

    @property
    def ready(self) -> bool:
        """The same verdict as the scan's exit code."""
        return not self.report.gate_failures(self.fail_on, self.allow_errors)


def group_of(check_id: str) -> str:
    return CHECK_GROUPS.get(check_id) or FAMILY_GROUPS.get(check_id.split(".", 1)[0], OTHER.key)


def section_hints(registry: Registry) -> dict[str, str]:
    """A hint per check id from the config sections its module declares: `[[webhooks]]`, `[cors]`."""
    modules = {m.__name__: m for m in registry.modules}
    out: dict[str, str] = {}
    for spec in registry.specs:
        tables = _tables(modules.get(spec.module))
        if tables:
            out[spec.id] = f"configure {' and '.join(tables)} in probe.toml (see `probe explain {spec.id}`)"
    return out


def _tables(module: ModuleType | None) -> list[str]:
    declared: Mapping[str, Any] = getattr(module, "CONFIG_SECTIONS", {}) if module else {}
    out = []
    for name, annotation in declared.items():
        origin = typing.get_origin(annotation)
        out.append(f"[[{name}]]" if origin in (list, tuple) else f"[{name}.NAME]" if origin is dict else f"[{name}]")
    return out


def build(
    report: Report,
    infos: Iterable[CheckInfo] | None = None,
    *,
    hints: Mapping[str, str] | None = None,
    fail_on: Severity = Severity.HIGH,
    allow_errors: bool = False,
) -> Checklist:
    """The checklist of `infos` (default: the checks the report ran). `hints` adds per-id unlock hints
    (see `section_hints`) for families `UNLOCKS` does not cover."""
    listed = {i.id: i for i in (report.checks if infos is None else infos)}
    for info in report.checks:
        listed.setdefault(info.id, info)
    selected = {c.id for c in report.checks}
    by_check: dict[str, list[Result]] = {}
    for result in report.results:
        by_check.setdefault(result.check, []).append(result)
    items: dict[str, list[Item]] = {}
    for check_id in sorted(listed):
        info = listed[check_id]
        item = _item(info, sorted(by_check.get(check_id, []), key=sort_key), check_id in selected, hints or {})
        items.setdefault(group_of(check_id), []).append(item)
    sections = tuple(
        Section(group, tuple(sorted(items[group.key], key=_item_order)))
        for group in (*GROUPS, OTHER)
        if items.get(group.key)
    )
    return Checklist(report=report, sections=sections, fail_on=fail_on, allow_errors=allow_errors)


_ITEM_ORDER = {s: n for n, s in enumerate(ItemStatus)}


def _item_order(item: Item) -> tuple[int, int, str]:
    return (_ITEM_ORDER[item.status], -item.info.severity.rank, item.info.id)


def _item(info: CheckInfo, results: Sequence[Result], selected: bool, hints: Mapping[str, str]) -> Item:
    unlock = UNLOCKS.get(info.family) or hints.get(info.id, "")
    if not selected:
        return Item(info, ItemStatus.NOT_RUN, (NOT_SELECTED,))
    if not results:
        return Item(info, ItemStatus.NOT_RUN, (NO_RESULT,), unlock=unlock)
    fails = [r for r in results if r.status is Status.FAIL]
    live = [r for r in fails if not r.suppressed]
    errors = [r for r in results if r.status is Status.ERROR]
    skips = [r for r in results if r.status is Status.SKIP]
    passes = sum(1 for r in results if r.status is Status.PASS)
    findings = tuple(
        Finding(r.location, r.detail or r.title, r.severity, r.remediation or info.fix, r.suppression) for r in fails
    )
    reasons = _reasons([*errors, *skips])
    if live:
        status = ItemStatus.FAILED
    elif errors:
        status = ItemStatus.ERROR
    elif fails:
        status = ItemStatus.ACCEPTED
    elif passes:
        status = ItemStatus.PASSED
    else:
        status = ItemStatus.NOT_RUN
    if status is not ItemStatus.NOT_RUN or any(_NAMES_CONFIG.search(r) for r in reasons):
        # Most checks' reasons already name the table or flag that unlocks them; the hint is for the rest.
        unlock = ""
    return Item(info, status, reasons, findings, unlock)


def _reasons(results: Sequence[Result]) -> tuple[str, ...]:
    seen = list(dict.fromkeys(r.detail or r.title for r in results))
    if len(seen) > MAX_REASONS:
        seen = [*seen[:MAX_REASONS], f"… and {len(seen) - MAX_REASONS} more (see the JSON report)"]
    return tuple(seen)


# --- text renderings (the HTML one is probe.reporters.html) ------------------------------------------------

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
