"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF consumer). Details: docs/sarif.md.

Where a result points. GitHub's "SARIF support for code scanning" reference makes `locations[]`
required ("at least one location is required for code scanning to display a result"; only the
first is used), and inside it `physicalLocation.artifactLocation.uri` and `region.startLine`. It
rejects the whole upload, not just the offending result, when a result has no location
("locationFromSarifResult: expected at least one location", github/codeql-action#1738, #2459) or
only a logical one ("expected artifact location", microsoft/sarif-sdk#2694, #2770). A black-box
finding is about a URL, not a file, so:

- a result with `Result.file` points there (`region.startLine` = its line, else 1);
- every other result points at the config file that defined the scan (`Report.config_path`, else
  `probe.toml`) at line 1, and carries the URL in `message.text`, in a `logicalLocations` entry of
  that same location, and in `properties.url`;
- a relative path is kept relative (to `%SRCROOT%`, the directory probe ran in: the repository root
  in CI); an absolute one becomes a `file://` URI, which code scanning makes repository-relative
  against the checkout path.

Identity. GitHub matches alerts across runs by `partialFingerprints.primaryLocationLineHash` only
(and `upload-sarif` computes one from the text of the primary line when it is missing). Computed
from `probe.toml` line 1 it would merge every URL-based alert of a rule into one and churn whenever
that line changed, so both `primaryLocationLineHash` and `probeFingerprint/v1` carry
`Result.fingerprint` (check + normalised location + kind). `upload-sarif` logs a warning that the
stored hash differs from the one it would compute; that is expected.

Only `fail` results are alerts. Errors become `invocations[0].toolExecutionNotifications` (level
"error", and `executionSuccessful` false), notes become "note" notifications, skips and passes are
left out. A failure accepted by the baseline keeps its result with an external suppression, as
SARIF intends; GitHub does not act on suppressions by itself (github/codeql-action#1230), so
docs/sarif.md points at the dismiss-alerts action.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from probe.model import CheckInfo, Confidence, Report, Result, Severity, Status
from probe.reporters import PROJECT_URL, docs_url, ordered
from probe.reporters.json import dumps, iso_utc, jsonable

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "probeFingerprint/v1"
SRCROOT = "%SRCROOT%"
DEFAULT_CONFIG = "probe.toml"

# GitHub maps security-severity scores to labels: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium,
# 0.1-3.9 low, 0.0 none.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
PRECISION = {Confidence.HIGH: "high", Confidence.MEDIUM: "medium", Confidence.LOW: "low"}
# GitHub caps rule descriptions at 1024 characters.
_DESCRIPTION_LIMIT = 1024


def render(report: Report) -> str:
    return dumps(document(report)) + "\n"


def document(report: Report) -> dict[str, Any]:
    failures = [r for r in ordered(report.results) if r.status is Status.FAIL]
    rules = _rules(report, failures)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    config = _artifact(report.config_path or DEFAULT_CONFIG)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "probe",
                "version": report.tool_version,
                "informationUri": PROJECT_URL,
                "rules": rules,
            }
        },
        "invocations": [_invocation(report)],
        "originalUriBaseIds": {SRCROOT: {"description": {"text": "The directory probe ran in: the repository root."}}},
        "results": [_result(r, index[r.check], config) for r in failures],
        "properties": {
            "target": report.target,
            "mode": report.mode.value,
            "requestsSent": report.requests_sent,
            "interrupted": report.interrupted,
        },
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rules(report: Report, failures: list[Result]) -> list[dict[str, Any]]:
    infos = {info.id: info for info in report.checks}
    # A failure from a check the report has no metadata for still needs a rule to reference.
    for result in failures:
        infos.setdefault(result.check, _info_from(result))
    return [_rule(infos[check_id]) for check_id in sorted(infos)]


def _info_from(result: Result) -> CheckInfo:
    return CheckInfo(
        id=result.check,
        title=result.title,
        severity=result.severity,
        confidence=result.confidence,
        active=False,
        summary=result.title,
        risk=result.title,
        fix=result.remediation,
        references=result.references,
    )


def _rule(info: CheckInfo) -> dict[str, Any]:
    help_uri = docs_url(info.id)
    tags = ["security", info.family, "active" if info.active else "passive"]
    if info.cwe is not None:
        tags.append(f"external/cwe/cwe-{info.cwe:03d}")
    risk = info.risk or info.summary or info.title
    fix = info.fix or "See the documentation."
    references = "".join(f"\n- <{ref}>" for ref in info.references)
    return {
        "id": info.id,
        "name": "".join(part.capitalize() for part in info.id.replace(".", "-").split("-")),
        "shortDescription": {"text": _limit(info.title)},
        "fullDescription": {"text": _limit(info.summary or info.title)},
        "help": {
            "text": f"{risk}\n\nFix: {fix}\n\nDocumentation: {help_uri}",
            "markdown": f"**Risk.** {risk}\n\n**Fix.** {fix}\n\n[Documentation]({help_uri})"
            + (f"\n\nReferences:{references}" if references else ""),
        },
        "helpUri": help_uri,
        "defaultConfiguration": {"level": LEVEL[info.severity]},
        "properties": {
            "tags": tags,
            "security-severity": SECURITY_SEVERITY[info.severity],
            "precision": PRECISION[info.confidence],
        },
    }


def _result(result: Result, rule_index: int, config: dict[str, Any]) -> dict[str, Any]:
    if result.file is not None and result.file.path:
        artifact, line = _artifact(result.file.path), result.file.line or 1
    else:
        artifact, line = config, 1
    properties: dict[str, Any] = {
        "severity": result.severity.value,
        "confidence": result.confidence.value,
        "location": result.location,
        "kind": result.kind,
        "evidence": jsonable(result.evidence),
    }
    if "://" in result.location:
        properties["url"] = result.location
    sarif: dict[str, Any] = {
        "ruleId": result.check,
        "ruleIndex": rule_index,
        "level": LEVEL[result.severity],
        "message": {"text": _message(result)},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": artifact, "region": {"startLine": max(line, 1)}},
                "logicalLocations": [{"fullyQualifiedName": result.location}],
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash": result.fingerprint, FINGERPRINT_KEY: result.fingerprint},
        "properties": properties,
    }
    if result.suppressed:
        sarif["suppressions"] = [{"kind": "external", "justification": result.suppression or "accepted in the baseline"}]
    return sarif


def _message(result: Result) -> str:
    # Code scanning shows only the first sentence where space is short: make it title and URL.
    text = f"{result.title.rstrip('.')}: {result.location}."
    return f"{text} {result.detail}" if result.detail else text


def _artifact(path: str) -> dict[str, Any]:
    pure: PurePath = PureWindowsPath(path) if PureWindowsPath(path).drive else PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute():
        return {"uri": pure.as_uri()}
    return {"uri": quote(pure.as_posix(), safe="/"), "uriBaseId": SRCROOT}


def _invocation(report: Report) -> dict[str, Any]:
    errors = [r for r in ordered(report.results) if r.status is Status.ERROR and not r.suppressed]
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{r.check} could not run at {r.location}: {r.detail or 'error'}"},
            "associatedRule": {"id": r.check},
        }
        for r in errors
    ]
    notifications += [{"level": "note", "message": {"text": note}} for note in report.notes]
    ended = report.started + timedelta(seconds=max(report.duration_s, 0.0))
    invocation: dict[str, Any] = {
        "executionSuccessful": not errors and not report.interrupted,
        "startTimeUtc": iso_utc(report.started),
        "endTimeUtc": iso_utc(ended),
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _limit(text: str) -> str:
    return text if len(text) <= _DESCRIPTION_LIMIT else text[: _DESCRIPTION_LIMIT - 1] + "…"
