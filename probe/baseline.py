"""Accepted risks: `probe-baseline.toml`, keyed by the results' stable fingerprints.

Each entry carries a reason and an expiry date. A matching failure is marked `suppressed` (reports show
it; the exit code ignores it) until the entry expires, when it fails again. Entries that match nothing
are reported, so the file does not rot.

    [[accept]]
    check = "headers.csp"
    location = "https://staging.example.com/"
    fingerprint = "3f1c…"
    reason = "CSP lands with the new front end (JIRA-123)"
    expires = 2026-12-31
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from probe.config import ConfigError
from probe.model import Report, Result, Status

DEFAULT_FILE = "probe-baseline.toml"
DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Entry:
    check: str
    location: str
    fingerprint: str
    reason: str
    expires: dt.date


@dataclass(frozen=True)
class Applied:
    results: tuple[Result, ...]
    notes: tuple[str, ...]


def load(path: Path) -> tuple[Entry, ...]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such baseline file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"accept"}
    if unknown:
        raise ConfigError(f"{path}: {sorted(unknown)[0]}: unknown key (entries are [[accept]] tables)")
    entries: list[Entry] = []
    for index, raw in enumerate(data.get("accept", [])):
        where = f"{path}: accept[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a table")
        missing = [k for k in ("check", "fingerprint", "reason", "expires") if k not in raw]
        if missing:
            raise ConfigError(f"{where}.{missing[0]}: required (every accepted risk has a reason and an expiry)")
        extra = set(raw) - {"check", "location", "fingerprint", "reason", "expires"}
        if extra:
            raise ConfigError(f"{where}.{sorted(extra)[0]}: unknown key")
        expires = raw["expires"]
        if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            raise ConfigError(f"{where}.expires: expected a date such as 2026-12-31")
        if not str(raw["reason"]).strip():
            raise ConfigError(f"{where}.reason: must say why the risk is accepted")
        entries.append(
            Entry(
                check=str(raw["check"]),
                location=str(raw.get("location", "")),
                fingerprint=str(raw["fingerprint"]),
                reason=str(raw["reason"]),
                expires=expires,
            )
        )
    return tuple(entries)


def apply(results: Sequence[Result], entries: Sequence[Entry], today: dt.date) -> Applied:
    by_print = {e.fingerprint: e for e in entries}
    matched: set[str] = set()
    notes: list[str] = []
    out: list[Result] = []
    for result in results:
        entry = by_print.get(result.fingerprint)
        if entry is None or result.status is not Status.FAIL:
            out.append(result)
            continue
        matched.add(entry.fingerprint)
        if entry.expires < today:
            notes.append(f"baseline entry for {entry.check} at {entry.location} expired on {entry.expires}: failing again")
            out.append(result)
        else:
            out.append(dataclasses.replace(result, suppressed=True, suppression=f"{entry.reason} (until {entry.expires})"))
    for entry in entries:
        if entry.fingerprint not in matched:
            notes.append(
                f"baseline entry for {entry.check} at {entry.location} matched no failure (fixed? remove it from the baseline)"
            )
    return Applied(results=tuple(out), notes=tuple(notes))


def render(report: Report, reason: str, expires: dt.date, existing: Sequence[Entry] = ()) -> str:
    """The baseline for a report's current unsuppressed failures, keeping entries that still apply."""
    kept = {e.fingerprint: e for e in existing}
    for result in report.results:
        if result.status is Status.FAIL and result.fingerprint not in kept:
            kept[result.fingerprint] = Entry(result.check, result.location, result.fingerprint, reason, expires)
    lines = [
        "# Accepted risks for probe. Each entry suppresses one failure until it expires; keep the reasons honest.",
        "# Written by `probe baseline`; matched by fingerprint (check id + location + kind of finding).",
        "",
    ]
    for entry in sorted(kept.values(), key=lambda e: (e.check, e.location)):
        lines += [
            "[[accept]]",
            f"check = {_quote(entry.check)}",
            f"location = {_quote(entry.location)}",
            f"fingerprint = {_quote(entry.fingerprint)}",
            f"reason = {_quote(entry.reason)}",
            f"expires = {entry.expires.isoformat()}",
            "",
        ]
    return "\n".join(lines)


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
