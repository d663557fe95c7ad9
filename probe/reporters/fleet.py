"""One report for a whole fleet, in every format, built from each target's own report.

- JSON `probe-fleet/1` (schema: probe/schemas/fleet-v1.schema.json, `probe schema --fleet`): a summary, then per
  target its name, tags, exit code and its `probe-report/1` document unchanged. `probe merge` reads it back
  (`fleet_from_document`), so shards written on different machines become one report in any format.
- SARIF: one run per target, each with its own `automationDetails.id` (`probe-fleet/NAME/`): GitHub code scanning
  rejects an upload whose runs share a tool and category, and keeps each target's alerts apart with it.
- JUnit: a testsuite per target, a testcase per result (as `probe scan` writes them).
- Markdown: one table, one row per target: failures by severity, new since baseline and accepted, exit.
- console: the same table with the verdict as the last line (what CI logs show).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, assert_never

from junitparser import JUnitXml, TestSuite
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from probe.fleet import EXIT_CONFIG, EXIT_FINDINGS, EXIT_OK, EXIT_UNREACHABLE, FleetReport, Outcome, Shard, Target
from probe.model import CheckInfo, Confidence, FileLocation, Mode, Report, Result, Severity, Status
from probe.reporters import FORMATS, Format
from probe.reporters import json as json_report
from probe.reporters.json import dumps, iso_utc

SCHEMA = "probe-fleet/1"
SCHEMA_FILE = "fleet-v1.schema.json"
SEVERITIES = tuple(Severity)
EXIT_MEANING = {
    EXIT_OK: "passed",
    EXIT_FINDINGS: "findings",
    EXIT_CONFIG: "configuration error",
    EXIT_UNREACHABLE: "not scanned",
}
_WIDTH = 120


def render(fleet: FleetReport, fmt: str) -> str:
    """The fleet report in one of `FORMATS` (html is a single target's checklist, not a fleet format)."""
    try:
        chosen = Format(fmt)
    except ValueError:
        raise ValueError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})") from None
    match chosen:
        case Format.JSON:
            return dumps(document(fleet)) + "\n"
        case Format.SARIF:
            return dumps(sarif(fleet)) + "\n"
        case Format.JUNIT:
            return junit(fleet)
        case Format.MARKDOWN:
            return markdown(fleet)
        case Format.CONSOLE:
            return console_text(fleet)
        case Format.HTML:
            raise ValueError("html is a single target's checklist; a fleet writes console, json, sarif, junit or markdown")
        case _:
            assert_never(chosen)


# --- JSON --------------------------------------------------------------------------------------------------------

def document(fleet: FleetReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "tool": {"name": "probe", "version": fleet.tool_version},
        "started": iso_utc(fleet.started),
        "duration_s": round(max(fleet.duration_s, 0.0), 3),
        "parallel": fleet.parallel,
        "shard": None if fleet.shard is None else {"index": fleet.shard.index, "count": fleet.shard.count},
        "interrupted": fleet.interrupted,
        "exit_code": fleet.exit_code,
        "summary": _summary(fleet),
        "targets": [_target(o) for o in fleet.outcomes],
    }


def _summary(fleet: FleetReport) -> dict[str, Any]:
    reports = [o.report for o in fleet.outcomes]
    counts = [r.summary for r in reports]
    return {
        "targets": len(fleet.outcomes),
        "by_exit_code": {str(code): sum(1 for o in fleet.outcomes if o.exit_code == code) for code in sorted(EXIT_MEANING)},
        "fail": sum(c.fail for c in counts),
        "error": sum(c.error for c in counts),
        "skip": sum(c.skip for c in counts),
        "pass": sum(c.pass_ for c in counts),
        "suppressed": sum(c.suppressed for c in counts),
        "requests_sent": fleet.requests_sent,
    }


def _target(outcome: Outcome) -> dict[str, Any]:
    target = outcome.target
    return {
        "name": target.name,
        "url": target.url,
        "config": None if target.config is None else str(target.config),
        "tags": list(target.tags),
        "exit_code": outcome.exit_code,
        "error": outcome.error,
        "fail_on": outcome.fail_on.value,
        "allow_errors": outcome.allow_errors,
        "config_path": outcome.report.config_path,
        "checks": [info.id for info in outcome.report.checks],
        "report": json_report.document(outcome.report),
    }


def schema_text() -> str:
    from importlib import resources

    return resources.files("probe").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")


def read(path: Path, infos: Mapping[str, CheckInfo]) -> FleetReport:
    """A `probe-fleet/1` file written by `probe scan --targets`. Raises ValueError (one line naming the file)."""
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a {SCHEMA} report (write one with probe scan --targets FILE --format json=PATH)")
    try:
        return fleet_from_document(doc, infos)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a valid {SCHEMA} report ({type(exc).__name__}: {exc})") from None


def fleet_from_document(doc: Mapping[str, Any], infos: Mapping[str, CheckInfo]) -> FleetReport:
    """A `probe-fleet/1` document (already validated against its schema) as a FleetReport. `infos` gives each check's
    metadata by id (the registry's), which the JSON does not repeat; a check not installed here gets what its results
    say of it."""
    shard = doc.get("shard")
    return FleetReport(
        outcomes=tuple(_outcome(entry, infos) for entry in doc["targets"]),
        started=_time(doc["started"]),
        duration_s=float(doc["duration_s"]),
        parallel=int(doc["parallel"]),
        shard=None if shard is None else Shard(int(shard["index"]), int(shard["count"])),
        interrupted=bool(doc["interrupted"]),
        tool_version=str(doc["tool"]["version"]),
    )


def _outcome(entry: Mapping[str, Any], infos: Mapping[str, CheckInfo]) -> Outcome:
    raw = entry["report"]
    results = tuple(_result(r) for r in raw["results"])
    checks = tuple(infos.get(check_id) or _info(check_id, results) for check_id in entry["checks"])
    report = Report(
        tool_version=str(raw["tool"]["version"]),
        target=str(raw["target"]),
        mode=Mode(raw.get("mode", Mode.PASSIVE.value)),
        started=_time(raw["started"]),
        duration_s=float(raw["duration_s"]),
        requests_sent=int(raw["requests_sent"]),
        results=results,
        checks=checks,
        notes=tuple(raw.get("notes", ())),
        requests_by_family=dict(raw.get("requests_by_family", {})),
        interrupted=bool(raw.get("interrupted", False)),
        config_path=entry.get("config_path"),
    )
    target = Target(name=str(entry["name"]), url=entry.get("url"), tags=tuple(entry.get("tags", ())),
                    config=None if entry.get("config") is None else Path(entry["config"]))
    return Outcome(target, report, int(entry["exit_code"]), str(entry.get("error", "")),
                   Severity(entry.get("fail_on", Severity.HIGH.value)), bool(entry.get("allow_errors", False)))


def _result(raw: Mapping[str, Any]) -> Result:
    file = raw.get("file")
    return Result(
        check=raw["check"],
        status=Status(raw["status"]),
        severity=Severity(raw["severity"]),
        title=raw["title"],
        location=raw["location"],
        detail=raw.get("detail", ""),
        evidence=raw.get("evidence") or {},
        remediation=raw.get("remediation", ""),
        references=tuple(raw.get("references", ())),
        confidence=Confidence(raw.get("confidence", Confidence.HIGH.value)),
        kind=raw.get("kind", ""),
        suppressed=bool(raw.get("suppressed", False)),
        suppression=raw.get("suppression") or "",
        file=None if not file else FileLocation(file["path"], file.get("line")),
        table=json_report.table_from(raw.get("table")),
    )


def _info(check_id: str, results: Sequence[Result]) -> CheckInfo:
    seen = next((r for r in results if r.check == check_id), None)
    title = seen.title if seen else check_id
    return CheckInfo(id=check_id, title=title, severity=seen.severity if seen else Severity.INFO,
                     confidence=seen.confidence if seen else Confidence.HIGH, active=False, summary=title, risk=title,
                     fix=seen.remediation if seen else "")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- SARIF -------------------------------------------------------------------------------------------------------

def sarif(fleet: FleetReport) -> dict[str, Any]:
    from probe.reporters import sarif as one

    runs = []
    for outcome in fleet.outcomes:
        run = one.document(outcome.report)["runs"][0]
        run["automationDetails"] = {"id": f"probe-fleet/{outcome.target.name}/"}
        run["properties"] |= {"name": outcome.target.name, "tags": list(outcome.target.tags), "exitCode": outcome.exit_code}
        runs.append(run)
    return {"$schema": one.SCHEMA_URI, "version": "2.1.0", "runs": runs}


# --- JUnit -------------------------------------------------------------------------------------------------------

def junit(fleet: FleetReport) -> str:
    from probe.reporters import junit as one

    xml = JUnitXml(name="probe fleet")
    for outcome in fleet.outcomes:
        report = outcome.report
        suite = TestSuite(one.xml_text(outcome.target.name))
        suite.timestamp = iso_utc(report.started)
        for result in sorted(report.results, key=one.case_order):
            suite.add_testcase(one.testcase(result))
        suite.add_property("url", one.xml_text(report.target))
        suite.add_property("exit_code", str(outcome.exit_code))
        if outcome.error:
            suite.add_property("error", one.xml_text(outcome.error))
        xml.add_testsuite(suite)
    return one.finish(xml, fleet.duration_s)


# --- the table every human format shows ---------------------------------------------------------------------------

def _failures(outcome: Outcome) -> dict[Severity, int]:
    return {s: sum(1 for r in outcome.report.results if r.status is Status.FAIL and not r.suppressed and r.severity is s)
            for s in SEVERITIES}


def _accepted(outcome: Outcome) -> int:
    return sum(1 for r in outcome.report.results if r.status is Status.FAIL and r.suppressed)


def _exit_cell(outcome: Outcome) -> str:
    return f"{outcome.exit_code} {EXIT_MEANING.get(outcome.exit_code, '')}".strip()


def _verdict(fleet: FleetReport) -> str:
    codes = [o.exit_code for o in fleet.outcomes]
    counts = ", ".join(f"{codes.count(c)} {EXIT_MEANING[c]}" for c in (EXIT_CONFIG, EXIT_UNREACHABLE, EXIT_FINDINGS, EXIT_OK)
                       if codes.count(c))
    word = "PASSED" if fleet.exit_code == EXIT_OK else "FAILED"
    incomplete = " (interrupted: incomplete)" if fleet.interrupted else ""
    return f"{word}{incomplete}: {len(codes)} targets ({counts or 'none'}); exit {fleet.exit_code}"


def markdown(fleet: FleetReport) -> str:
    from probe.reporters.markdown import _cell, _code

    icon = "✅" if fleet.exit_code == EXIT_OK else "❌"
    shard = f" · shard {fleet.shard}" if fleet.shard else ""
    lines = [
        f"## {icon} probe fleet: {_verdict(fleet)}",
        "",
        f"**{fleet.requests_sent}** requests · {fleet.duration_s:.1f} s · up to {fleet.parallel} targets at once{shard}",
        "",
        "| Target | Exit | " + " | ".join(s.value for s in SEVERITIES)
        + " | New since baseline | Accepted | Requests | Why not scanned |",
        "| --- | --- | " + " | ".join("---:" for _ in SEVERITIES) + " | ---: | ---: | ---: | --- |",
    ]
    for outcome in fleet.outcomes:
        failures = _failures(outcome)
        new = sum(failures.values())
        tags = f" <sub>{_cell(', '.join(outcome.target.tags))}</sub>" if outcome.target.tags else ""
        lines.append("| " + " | ".join((
            _code(outcome.target.name) + tags,
            _exit_cell(outcome),
            *(str(failures[s]) if failures[s] else "" for s in SEVERITIES),
            str(new),
            str(_accepted(outcome)),
            str(outcome.report.requests_sent),
            _cell(outcome.error),
        )) + " |")
    lines += ["", f"<sub>probe {fleet.tool_version} · started {iso_utc(fleet.started)}</sub>"]
    return "\n".join(lines) + "\n"


def table(outcomes: Sequence[Outcome], title: str | None = None) -> Table:
    """The summary table: one row per finished target (the live view shows it growing)."""
    grid = Table(title=title, show_lines=False)
    for column in ("target", "exit", *(s.value for s in SEVERITIES), "new", "accepted", "requests", "seconds", "why not scanned"):
        grid.add_column(column, overflow="fold")
    for outcome in outcomes:
        failures = _failures(outcome)
        style = {EXIT_OK: "green", EXIT_FINDINGS: "red"}.get(outcome.exit_code, "magenta")
        grid.add_row(
            Text(outcome.target.name), Text(_exit_cell(outcome), style=style),
            *(Text(str(failures[s]) if failures[s] else "") for s in SEVERITIES),
            Text(str(sum(failures.values()))), Text(str(_accepted(outcome))), Text(str(outcome.report.requests_sent)),
            Text(f"{outcome.report.duration_s:.1f}"), Text(outcome.error),
        )
    return grid


def renderable(fleet: FleetReport) -> RenderableType:
    head = Text.assemble(("probe fleet ", "bold"), fleet.tool_version,
                         f" · {len(fleet.outcomes)} targets · {fleet.requests_sent} requests · {fleet.duration_s:.1f} s"
                         f" · up to {fleet.parallel} at once" + (f" · shard {fleet.shard}" if fleet.shard else ""))
    verdict = Text(_verdict(fleet), style="bold green" if fleet.exit_code == EXIT_OK else "bold red")
    return Group(head, table(fleet.outcomes), verdict)


def console_text(fleet: FleetReport) -> str:
    console = Console(file=io.StringIO(), record=True, width=_WIDTH, color_system=None, highlight=False, emoji=False)
    console.print(renderable(fleet))
    return "\n".join(line.rstrip() for line in console.export_text(styles=False).splitlines()) + "\n"


def finished_line(outcome: Outcome, done: int, total: int) -> str:
    """One plain line per finished target, for CI logs (no terminal, no live table)."""
    failures = _failures(outcome)
    counts = " ".join(f"{s.value}={failures[s]}" for s in SEVERITIES if failures[s]) or "no failures"
    why = f": {outcome.error}" if outcome.error else ""
    return (f"probe: [{done}/{total}] {outcome.target.name}: exit {_exit_cell(outcome)} · {counts} · "
            f"{outcome.report.requests_sent} requests · {outcome.report.duration_s:.1f} s{why}")
