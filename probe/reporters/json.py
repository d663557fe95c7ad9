"""`probe-report/1`: the machine-readable report. Its JSON Schema ships with probe
(probe/schemas/report-v1.schema.json; `probe schema` prints it).

Beyond the schema's required fields it carries `notes`, `requests_by_family`, `interrupted`,
`summary.suppressed` and per result `kind` and `file`: the schema allows additive fields, and
baseline tooling needs `kind` to rebuild a fingerprint. A result that measured something as rows (a load
ramp's steps) carries `table`; the key is left out of the many results that have none.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Set
from datetime import UTC, datetime
from typing import Any

from probe.model import Report, Result, Table
from probe.reporters import ordered

SCHEMA = "probe-report/1"
SCHEMA_FILE = "report-v1.schema.json"


def render(report: Report) -> str:
    return dumps(document(report)) + "\n"


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)


def document(report: Report) -> dict[str, Any]:
    summary = report.summary
    return {
        "schema": SCHEMA,
        "tool": {"name": "probe", "version": report.tool_version},
        "target": report.target,
        "mode": report.mode.value,
        "started": iso_utc(report.started),
        "duration_s": round(max(report.duration_s, 0.0), 3),
        "requests_sent": report.requests_sent,
        "interrupted": report.interrupted,
        "summary": {
            "fail": summary.fail,
            "pass": summary.pass_,
            "error": summary.error,
            "skip": summary.skip,
            "suppressed": summary.suppressed,
        },
        "results": [result_dict(r) for r in ordered(report.results)],
        "notes": list(report.notes),
        "requests_by_family": dict(sorted(report.requests_by_family.items())),
    }


def result_dict(result: Result) -> dict[str, Any]:
    found = {
        "check": result.check,
        "status": result.status.value,
        "severity": result.severity.value,
        "title": result.title,
        "location": result.location,
        "detail": result.detail,
        "evidence": jsonable(result.evidence),
        "remediation": result.remediation,
        "references": list(result.references),
        "suppressed": result.suppressed,
        "suppression": result.suppression,
        "confidence": result.confidence.value,
        "fingerprint": result.fingerprint,
        "kind": result.kind,
        "file": None if result.file is None else {"path": result.file.path, "line": result.file.line},
    }
    if result.table is not None:
        found["table"] = table_dict(result.table)
    return found


def table_dict(table: Table) -> dict[str, Any]:
    return {"title": table.title, "columns": list(table.columns), "rows": [jsonable(list(row)) for row in table.rows]}


def table_from(raw: Any) -> Table | None:
    """A `table` as `table_dict` wrote it (a fleet report reads its targets' JSON back), or None."""
    if not isinstance(raw, dict):
        return None
    return Table(str(raw.get("title", "")), tuple(str(c) for c in raw.get("columns", ())),
                 tuple(tuple(row) for row in raw.get("rows", ())))


def iso_utc(moment: datetime) -> str:
    """RFC 3339 in UTC. The runner records aware UTC times; a naive one is taken to be UTC rather
    than local time, because reading the local zone would make the output depend on the machine."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """Evidence is whatever a check recorded; make it plain JSON data with a stable order."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Set):
        return sorted((jsonable(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def schema_text() -> str:
    """The JSON Schema of `probe-report/1`, as shipped in the package."""
    from importlib import resources

    return resources.files("probe").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
