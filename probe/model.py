"""Results and reports: plain frozen data that every part of the engine and every reporter shares."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import SplitResult, urlsplit

FAMILIES = (
    "env",
    "secrets",
    "debug",
    "cors",
    "ratelimit",
    "idor",
    "auth",
    "webhook",
    "tls",
    "dns",
    "headers",
    "input",
    "baas",
    "race",
    "load",
)

# The `kind` of a skip that says a check did not run for want of configuration, a flag or a mode (an unmet guard,
# an active check in a passive run): the checklist shows the check's unlock hint only for these.
PRECONDITION = "precondition"

CHECK_ID = re.compile(r"^(" + "|".join(FAMILIES) + r")\.[a-z0-9-]+$")


class Status(StrEnum):
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    PASS = "pass"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used for --fail-on thresholds and sorting."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Mode(StrEnum):
    PASSIVE = "passive"
    ACTIVE = "active"


class LocationKind(StrEnum):
    URL = "url"  # https://host/path?query#fragment: a place on the target (or a service it uses)
    ROUTE = "route"  # /api/notes/{id}: a path on the target
    NAME = "name"  # anything else: a file, an environment (env:production/KEY), a DNS name, "(no target)"


@dataclass(frozen=True)
class Location:
    """Where a result is, parsed once: what kind of place it is and, for a URL, its parts. `Result.location` stays
    the text (the reports' schema); `Result.place` is this. Its `key` is what the fingerprint is made of, so one
    place is one baseline entry across runs."""

    text: str
    kind: LocationKind
    parts: SplitResult | None = None  # a URL's parts; a text whose host or port does not parse is a name

    @classmethod
    def parse(cls, text: str) -> Location:
        if "://" in text:
            try:
                parts = urlsplit(text)
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError:
                # Not a parseable URL (an unbalanced `[`, a bad port): the text as written is still a stable key.
                return cls(text, LocationKind.NAME)
            return cls(text, LocationKind.URL, parts)
        return cls(text, LocationKind.ROUTE if text.startswith("/") else LocationKind.NAME)

    def __str__(self) -> str:
        return self.text

    @property
    def key(self) -> str:
        """The place without what changes between runs but names the same place: scheme and host case, default
        ports, query strings, fragments, trailing slashes, and the port of a loopback test server."""
        parts = self.parts
        if parts is None:
            return self.text
        host = (parts.hostname or "").lower()
        port = parts.port
        default = {"http": 80, "https": 443}.get(parts.scheme.lower())
        netloc = host if port in (None, default) or host in ("127.0.0.1", "localhost") else f"{host}:{port}"
        path = parts.path.rstrip("/") or "/"
        return f"{parts.scheme.lower()}://{netloc}{path}"


@dataclass(frozen=True)
class FileLocation:
    """A place in a file of the user's project (for SARIF): `.env.example` line 3, `probe.toml`."""

    path: str
    line: int | None = None


# A table cell: text, a number, or None for "not measured" (reporters show a dash).
Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    """Measurements a result carries as rows (a load ramp's steps), rendered by every human report and kept in the
    JSON. Generic on purpose: the engine knows columns and cells, not what a family measured."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"a row of {self.title!r} has {len(row)} cells for {len(self.columns)} columns")


def cell_text(value: Cell) -> str:
    """A cell as the human reports print it."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


@dataclass(frozen=True)
class Result:
    check: str
    status: Status
    severity: Severity
    title: str
    location: str
    detail: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    remediation: str = ""
    references: tuple[str, ...] = ()
    confidence: Confidence = Confidence.HIGH
    # What sort of evidence this is ("missing", "reflected", "variant:suffix"): part of the
    # fingerprint so two different problems at one location stay two baseline entries.
    kind: str = ""
    suppressed: bool = False
    # The baseline entry's reason and expiry, so every report can say why a failure is accepted.
    suppression: str = ""
    file: FileLocation | None = None
    table: Table | None = None

    @property
    def family(self) -> str:
        return self.check.split(".", 1)[0]

    @property
    def place(self) -> Location:
        return Location.parse(self.location)

    @property
    def fingerprint(self) -> str:
        basis = "|".join((self.check, self.place.key, self.kind))
        return hashlib.sha256(basis.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CheckInfo:
    """A check's metadata as the report needs it (SARIF rules, checklists), without its code."""

    id: str
    title: str
    severity: Severity
    confidence: Confidence
    active: bool
    summary: str
    risk: str
    fix: str
    cwe: int | None = None
    references: tuple[str, ...] = ()
    # False for checks that read only local files or the deployed environment (the env family).
    needs_target: bool = True
    # False for checks that reach the target below HTTP (a TLS handshake, DNS queries): they still run
    # when the target's page cannot be fetched, so the report says why (an expired certificate, a
    # dangling CNAME) before the run ends with exit 3.
    needs_page: bool = True
    # The launch risk the checklist lists it under (probe.checklist.GROUPS) and what a user adds to probe.toml (or
    # which flag to give) so it can run: metadata of the check, declared by its family (see probe.registry.Family).
    group: str = "other"
    unlock: str = ""

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def docs_anchor(self) -> str:
        return self.id.replace(".", "-")


@dataclass(frozen=True)
class Summary:
    fail: int
    pass_: int
    error: int
    skip: int
    suppressed: int


@dataclass(frozen=True)
class Report:
    tool_version: str
    target: str
    mode: Mode
    started: datetime
    duration_s: float
    requests_sent: int
    results: tuple[Result, ...]
    checks: tuple[CheckInfo, ...] = ()
    # Things a reader must know that are not results: back-off on 429, budget exhausted, interrupted.
    notes: tuple[str, ...] = ()
    requests_by_family: Mapping[str, int] = field(default_factory=dict)
    interrupted: bool = False
    config_path: str | None = None

    @property
    def summary(self) -> Summary:
        def count(status: Status) -> int:
            return sum(1 for r in self.results if r.status is status and not r.suppressed)

        return Summary(
            fail=count(Status.FAIL),
            pass_=count(Status.PASS),
            error=count(Status.ERROR),
            skip=count(Status.SKIP),
            suppressed=sum(1 for r in self.results if r.suppressed),
        )

    def gate_failures(self, fail_on: Severity, allow_errors: bool = False) -> tuple[Result, ...]:
        """The results that make `probe scan` exit 1: unsuppressed failures at or above the
        threshold, and (unless allowed) errors, because a gate must not pass what it could not test."""
        return tuple(
            r
            for r in self.results
            if not r.suppressed
            and ((r.status is Status.FAIL and r.severity.rank >= fail_on.rank) or (r.status is Status.ERROR and not allow_errors))
        )

    def check_info(self, check_id: str) -> CheckInfo | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run() formats the repr of its main task's result when it restores the SIGINT
        # handler (CPython 3.11), and the generated repr of a large report was megabytes, made and dropped.
        return (f"Report(target={self.target!r}, mode={self.mode.value}, results={len(self.results)}, "
                f"requests_sent={self.requests_sent}, interrupted={self.interrupted})")


_STATUS_ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.SKIP: 2, Status.PASS: 3}


def sort_key(result: Result) -> tuple[int, int, str, str]:
    """Failing first, worst first, then stable by id and location."""
    return (_STATUS_ORDER[result.status], -result.severity.rank, result.check, result.location)
