"""The pre-launch checklist: every known check, grouped by the launch risk it guards against, each marked
failed / accepted / could not run / not run / passed, with the exact reason and what unlocks it.

Built from a finished `Report` plus the check metadata to list (the whole registry for `probe checklist`,
`report.checks` for a report rendered on its own). Each check names its group and its unlock hint in its own
metadata (its family's `FAMILY`, see `probe.registry.Family`); a check whose group is none of `GROUPS` lands in
"Other checks". Its renderings are in `probe.reporters` (checklist: text and Markdown; html).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from probe.model import PRECONDITION, CheckInfo, Report, Result, Severity, Status, sort_key

if typing.TYPE_CHECKING:
    pass


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
    Group("concurrency", "Concurrency and the first users",
          "Does an action that must happen once happen twice when sent twice at once; do the first users get errors?"),
    Group("webhooks", "Webhooks", "Does a webhook receiver accept events nobody signed?"),
    Group("transport", "HTTPS and transport", "Is every visit encrypted with a valid certificate?"),
    Group("dns", "DNS and email", "Can someone take over a subdomain or send mail as you?"),
)
OTHER = Group("other", "Other checks", "Checks from families this checklist does not group yet.")

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


def build(
    report: Report,
    infos: Iterable[CheckInfo] | None = None,
    *,
    fail_on: Severity = Severity.HIGH,
    allow_errors: bool = False,
) -> Checklist:
    """The checklist of `infos` (default: the checks the report ran), each under the group its metadata names."""
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
        item = _item(info, sorted(by_check.get(check_id, []), key=sort_key), check_id in selected)
        known = any(group.key == info.group for group in GROUPS)
        items.setdefault(info.group if known else OTHER.key, []).append(item)
    sections = tuple(
        Section(group, tuple(sorted(items[group.key], key=_item_order)))
        for group in (*GROUPS, OTHER)
        if items.get(group.key)
    )
    return Checklist(report=report, sections=sections, fail_on=fail_on, allow_errors=allow_errors)


_ITEM_ORDER = {s: n for n, s in enumerate(ItemStatus)}


def _item_order(item: Item) -> tuple[int, int, str]:
    return (_ITEM_ORDER[item.status], -item.info.severity.rank, item.info.id)


def _item(info: CheckInfo, results: Sequence[Result], selected: bool) -> Item:
    unlock = info.unlock
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
    unmet = all(r.kind == PRECONDITION for r in skips) and not errors
    if status is not ItemStatus.NOT_RUN or not unmet or any(_NAMES_CONFIG.search(r) for r in reasons):
        # The hint is true only for a check that did not run for want of configuration: not for one that ran and
        # could not test (a CSRF refusal, a 404), and most reasons already name the table or flag themselves.
        unlock = ""
    return Item(info, status, reasons, findings, unlock)


def _reasons(results: Sequence[Result]) -> tuple[str, ...]:
    seen = list(dict.fromkeys(r.detail or r.title for r in results))
    if len(seen) > MAX_REASONS:
        seen = [*seen[:MAX_REASONS], f"… and {len(seen) - MAX_REASONS} more (see the JSON report)"]
    return tuple(seen)
