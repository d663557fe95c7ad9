"""Reporters: pure functions of a finished `Report` (no network, no clock, no environment).

Each format lives in its own module and is imported only when asked for, so `probe --version`
and a console-only scan never pay for XML, JSON Schema-shaped output or SARIF.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from probe.model import Report, Result, Severity, Status, Table, sort_key


class Format(StrEnum):
    CONSOLE = "console"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    HTML = "html"


FORMATS = tuple(f.value for f in Format)

DEFAULT_FILENAMES = {
    "json": "probe-report.json",
    "sarif": "probe.sarif",
    "junit": "probe-junit.xml",
    "markdown": "probe-summary.md",
    "html": "probe-checklist.html",
}

PROJECT_URL = "https://github.com/deploy-probe/probe"
_DOCS_URL = f"{PROJECT_URL}/blob/main/docs/checks.md"


def docs_url(check_id: str) -> str:
    """The check's entry in docs/checks.md (the anchor is `CheckInfo.docs_anchor`)."""
    return f"{_DOCS_URL}#{check_id.replace('.', '-')}"


def ordered(results: Iterable[Result]) -> list[Result]:
    """Failing first, worst first; kind and fingerprint break the remaining ties so the order
    never depends on which check happened to finish first."""
    return sorted(results, key=lambda r: (*sort_key(r), r.kind, r.fingerprint))


@dataclass(frozen=True)
class Grouped:
    """A report's results as every human-facing format lists them, each group in `ordered` order."""

    failures: list[Result]
    errors: list[Result]
    skips: list[Result]
    passes: list[Result]
    suppressed: list[Result]


def grouped(results: Iterable[Result]) -> Grouped:
    everything = ordered(results)
    live = [r for r in everything if not r.suppressed]
    return Grouped(
        failures=[r for r in live if r.status is Status.FAIL],
        errors=[r for r in live if r.status is Status.ERROR],
        skips=[r for r in live if r.status is Status.SKIP],
        passes=[r for r in live if r.status is Status.PASS],
        suppressed=[r for r in everything if r.suppressed],
    )


@dataclass(frozen=True)
class Measured:
    """A table the results carry, once: several checks may judge one measurement (a load ramp) and all carry it."""

    checks: tuple[str, ...]
    location: str
    table: Table


def measured(results: Iterable[Result]) -> list[Measured]:
    found: dict[tuple[str, Table], list[str]] = {}
    for result in ordered(results):
        if result.table is not None:
            found.setdefault((result.location, result.table), []).append(result.check)
    return [Measured(tuple(dict.fromkeys(checks)), location, table) for (location, table), checks in found.items()]


def render(report: Report, fmt: str, *, fail_on: Severity = Severity.HIGH, allow_errors: bool = False) -> str:
    """The report in one of `FORMATS`, as text ready to write to a file or standard output."""
    try:
        chosen = Format(fmt)
    except ValueError:
        raise ValueError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})") from None
    match chosen:
        case Format.CONSOLE:
            from probe.reporters import console

            return console.render(report, fail_on=fail_on, allow_errors=allow_errors)
        case Format.JSON:
            from probe.reporters import json

            return json.render(report)
        case Format.SARIF:
            from probe.reporters import sarif

            return sarif.render(report)
        case Format.JUNIT:
            from probe.reporters import junit

            return junit.render(report)
        case Format.MARKDOWN:
            from probe.reporters import markdown

            return markdown.render(report, fail_on=fail_on, allow_errors=allow_errors)
        case Format.HTML:
            from probe.reporters import html

            return html.render(report, fail_on=fail_on, allow_errors=allow_errors)
        case _:
            assert_never(chosen)
