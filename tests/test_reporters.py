"""Reporters against hand-built reports: every format meets its contract (the report schema, the
SARIF schema plus what GitHub code scanning needs, JUnit counts), says the right verdict, escapes
what the scanned site wrote, and is a pure function of the report."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import socket
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.validators import validator_for
from junitparser import Error, Failure, JUnitXml, Skipped

from probe import reporters
from probe.model import CheckInfo, Confidence, FileLocation, Mode, Report, Result, Severity, Status
from probe.reporters import console, markdown, sarif
from tests.helpers import report_schema, sarif_schema

TARGET = "https://app.example.com"
STARTED = dt.datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=dt.UTC)
EVIDENCE = {
    "request": {"method": "GET", "url": f"{TARGET}/api/me", "headers": {"Origin": "https://evil.example"}},
    "response": {"status": 200, "headers": {"Access-Control-Allow-Origin": "https://evil.example"}, "body_excerpt": "{}"},
}


def _info(check: str, severity: Severity, **kw: Any) -> CheckInfo:
    fields: dict[str, Any] = {
        "title": f"{check} title",
        "confidence": Confidence.HIGH,
        "active": False,
        "summary": f"What {check} tests.",
        "risk": f"Why {check} matters.",
        "fix": f"How to fix {check}.",
    }
    return CheckInfo(id=check, severity=severity, **(fields | kw))


def make_report(**changes: Any) -> Report:
    results = (
        Result(
            "cors.reflected-origin",
            Status.FAIL,
            Severity.HIGH,
            "CORS reflects any origin with credentials",
            f"{TARGET}/api/me",
            detail="Origin https://evil.example was echoed | with credentials ✓\nsecond line [bold red]not markup[/]",
            evidence=EVIDENCE,
            remediation="Set CORS_ALLOWED_ORIGINS to your own origins.",
            references=("https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS",),
            kind="reflected",
        ),
        Result(
            "env.missing",
            Status.FAIL,
            Severity.CRITICAL,
            "Declared variable missing in production",
            "STRIPE_SECRET_KEY",
            detail="Declared in .env.example but not set in the deployment.",
            remediation="Set STRIPE_SECRET_KEY in the production environment.",
            kind="missing",
            file=FileLocation(".env.example", 3),
        ),
        Result(
            "headers.csp",
            Status.FAIL,
            Severity.MEDIUM,
            "No Content-Security-Policy",
            f"{TARGET}/",
            detail="The page sets no CSP header.",
            remediation="Send a Content-Security-Policy header.",
            confidence=Confidence.MEDIUM,
        ),
        Result(
            "headers.hsts",
            Status.FAIL,
            Severity.LOW,
            "HSTS max-age short",
            f"{TARGET}/",
            detail="max-age=300",
            suppressed=True,
            suppression="accepted until the CDN move (until 2026-12-31)",
        ),
        Result(
            "idor.cross-account-read",
            Status.SKIP,
            Severity.HIGH,
            "Cross-account read",
            "/api/notes/{id}",
            detail="needs two accounts: add [accounts.*]",
        ),
        Result(
            "debug.werkzeug-console",
            Status.ERROR,
            Severity.CRITICAL,
            "Werkzeug console",
            f"{TARGET}/console",
            detail="read timed out after 10 s",
        ),
        Result("tls.certificate", Status.PASS, Severity.HIGH, "Certificate valid", f"{TARGET}/", detail="valid for 80 more days"),
    )
    checks = (
        _info("cors.reflected-origin", Severity.HIGH, cwe=942, references=("https://owasp.org/cors",)),
        _info("env.missing", Severity.CRITICAL, needs_target=False),
        _info("headers.csp", Severity.MEDIUM, confidence=Confidence.MEDIUM),
        _info("headers.hsts", Severity.LOW),
        _info("idor.cross-account-read", Severity.HIGH, active=True),
        _info("debug.werkzeug-console", Severity.CRITICAL),
        _info("tls.certificate", Severity.HIGH),
        _info("webhook.unsigned-accepted", Severity.CRITICAL, active=True),
    )
    report = Report(
        tool_version="0.1.0",
        target=TARGET,
        mode=Mode.PASSIVE,
        started=STARTED,
        duration_s=12.345,
        requests_sent=57,
        results=results,
        checks=checks,
        notes=("backed off for 2 s after HTTP 429 from app.example.com",),
        requests_by_family={"tls": 1, "cors": 4, "headers": 2},
        config_path="probe.toml",
    )
    return replace(report, **changes)


def _passing_report() -> Report:
    base = make_report()
    kept = tuple(r for r in base.results if r.check in ("headers.hsts", "tls.certificate", "idor.cross-account-read"))
    low = Result("headers.csp", Status.FAIL, Severity.LOW, "CSP allows unsafe-inline", f"{TARGET}/", detail="unsafe-inline")
    return replace(base, results=(*kept, low), notes=())


# -- JSON --------------------------------------------------------------------------------------------


def _date_time_checker() -> FormatChecker:
    """RFC 3339 date-time with a mandatory offset, whether or not jsonschema's optional format
    dependencies are installed."""
    checker = FormatChecker()
    rfc3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

    @checker.checks("date-time")
    def _is_date_time(value: object) -> bool:
        if not isinstance(value, str) or not rfc3339.match(value):
            return False
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    return checker


def _report_validator() -> Draft202012Validator:
    schema = report_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_date_time_checker())


def test_json_validates_against_the_report_schema() -> None:
    text = reporters.render(make_report(), "json")
    doc = json.loads(text)
    _report_validator().validate(doc)

    assert list(doc)[:8] == ["schema", "tool", "target", "mode", "started", "duration_s", "requests_sent", "interrupted"]
    assert doc["schema"] == "probe-report/1"
    assert doc["tool"] == {"name": "probe", "version": "0.1.0"}
    assert doc["started"] == "2025-03-04T05:06:07.890Z"
    assert doc["summary"] == {"fail": 3, "pass": 1, "error": 1, "skip": 1, "suppressed": 1}
    assert doc["notes"] == ["backed off for 2 s after HTTP 429 from app.example.com"]
    assert list(doc["requests_by_family"]) == ["cors", "headers", "tls"]
    assert doc["interrupted"] is False
    assert [r["check"] for r in doc["results"]][:3] == ["env.missing", "cors.reflected-origin", "headers.csp"]
    cors = next(r for r in doc["results"] if r["check"] == "cors.reflected-origin")
    assert cors["evidence"]["response"]["status"] == 200
    assert cors["fingerprint"] == make_report().results[0].fingerprint
    assert cors["kind"] == "reflected" and cors["confidence"] == "high"
    env = next(r for r in doc["results"] if r["check"] == "env.missing")
    assert env["file"] == {"path": ".env.example", "line": 3}
    assert next(r for r in doc["results"] if r["check"] == "headers.hsts")["suppressed"] is True
    # ensure_ascii=False and indent=2: a reader sees the characters, not escapes.
    assert "with credentials ✓" in text and '\n  "tool": {' in text


def test_the_report_schema_check_can_fail() -> None:
    doc = json.loads(reporters.render(make_report(), "json"))
    doc["results"][0]["status"] = "warn"
    doc["started"] = "2025-03-04T05:06:07"
    errors = {e.json_path for e in _report_validator().iter_errors(doc)}
    assert errors == {"$.results[0].status", "$.started"}


def test_json_evidence_of_any_shape_becomes_plain_json() -> None:
    odd = Result(
        "secrets.js-bundle",
        Status.FAIL,
        Severity.HIGH,
        "Key in bundle",
        f"{TARGET}/main.js",
        evidence={"hits": {"b", "a"}, "raw": b"\xffok", "ratio": float("nan"), "pair": (1, 2)},
    )
    doc = json.loads(reporters.render(make_report(results=(odd,)), "json"))
    _report_validator().validate(doc)
    assert doc["results"][0]["evidence"] == {"hits": ["a", "b"], "raw": "\ufffdok", "ratio": "nan", "pair": [1, 2]}


def test_a_naive_start_time_is_written_as_utc() -> None:
    doc = json.loads(reporters.render(make_report(started=STARTED.replace(tzinfo=None)), "json"))
    assert doc["started"] == "2025-03-04T05:06:07.890Z"


# -- SARIF -------------------------------------------------------------------------------------------


def _sarif(report: Report) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(reporters.render(report, "sarif"))
    schema = sarif_schema()
    cls = validator_for(schema)
    cls.check_schema(schema)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(doc)
    return doc


def test_sarif_validates_and_has_what_github_code_scanning_needs() -> None:
    report = make_report()
    doc = _sarif(report)
    assert doc["version"] == "2.1.0" and doc["$schema"].startswith("https://")
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "probe" and driver["version"] == "0.1.0" and driver["informationUri"].startswith("https://")

    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted(c.id for c in report.checks)
    for rule in rules:
        info = report.check_info(rule["id"])
        assert info is not None
        assert rule["shortDescription"]["text"] == info.title
        assert rule["fullDescription"]["text"] == info.summary
        assert info.risk in rule["help"]["text"] and info.fix in rule["help"]["text"]
        assert info.fix in rule["help"]["markdown"]
        assert rule["helpUri"].endswith(f"/docs/checks.md#{info.docs_anchor}")
        assert {"security", info.family} <= set(rule["properties"]["tags"])
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    by_id = {r["id"]: r for r in rules}
    assert by_id["cors.reflected-origin"]["properties"]["security-severity"] == "8.0"
    assert by_id["env.missing"]["properties"]["security-severity"] == "9.5"
    assert by_id["headers.csp"]["properties"]["security-severity"] == "5.5"
    assert by_id["headers.csp"]["properties"]["precision"] == "medium"
    assert by_id["headers.csp"]["defaultConfiguration"]["level"] == "warning"
    assert "external/cwe/cwe-942" in by_id["cors.reflected-origin"]["properties"]["tags"]

    results = run["results"]
    fails = [r for r in report.results if r.status is Status.FAIL]
    assert sorted(r["ruleId"] for r in results) == sorted(r.check for r in fails)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"]
        assert physical["region"]["startLine"] >= 1
        fingerprints = result["partialFingerprints"]
        assert fingerprints["probeFingerprint/v1"] == fingerprints["primaryLocationLineHash"]
        assert result["message"]["text"]
    by_rule = {r["ruleId"]: r for r in results}
    assert {k: by_rule[k]["level"] for k in by_rule} == {
        "env.missing": "error",
        "cors.reflected-origin": "error",
        "headers.csp": "warning",
        "headers.hsts": "note",
    }
    assert by_rule["cors.reflected-origin"]["partialFingerprints"]["probeFingerprint/v1"] == fails[0].fingerprint


def test_sarif_points_url_findings_at_the_config_and_file_findings_at_the_file() -> None:
    run = _sarif(make_report())["runs"][0]
    by_rule = {r["ruleId"]: r for r in run["results"]}

    env = by_rule["env.missing"]["locations"][0]
    assert env["physicalLocation"] == {
        "artifactLocation": {"uri": ".env.example", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 3},
    }

    cors = by_rule["cors.reflected-origin"]
    physical = cors["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "probe.toml", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 1}}
    assert cors["locations"][0]["logicalLocations"] == [{"fullyQualifiedName": f"{TARGET}/api/me"}]
    assert cors["properties"]["url"] == f"{TARGET}/api/me"
    assert cors["properties"]["evidence"]["request"]["method"] == "GET"
    assert cors["message"]["text"].startswith(f"CORS reflects any origin with credentials: {TARGET}/api/me. Origin")
    assert "%SRCROOT%" in run["originalUriBaseIds"]


@pytest.mark.parametrize(
    ("config_path", "uri"),
    [
        (None, "probe.toml"),
        ("./ci/probe staging.toml", "ci/probe%20staging.toml"),
        ("/home/runner/work/app/app/probe.toml", "file:///home/runner/work/app/app/probe.toml"),
    ],
)
def test_sarif_config_location(config_path: str | None, uri: str) -> None:
    run = _sarif(make_report(config_path=config_path))["runs"][0]
    cors = next(r for r in run["results"] if r["ruleId"] == "cors.reflected-origin")
    assert cors["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri


def test_sarif_suppressions_errors_and_notes() -> None:
    run = _sarif(make_report())["runs"][0]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["headers.hsts"]["suppressions"] == [
        {"kind": "external", "justification": "accepted until the CDN move (until 2026-12-31)"}
    ]
    assert "suppressions" not in by_rule["cors.reflected-origin"]

    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    errors = [n for n in notes if n["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["associatedRule"] == {"id": "debug.werkzeug-console"}
    assert "read timed out after 10 s" in errors[0]["message"]["text"]
    assert [n["message"]["text"] for n in notes if n["level"] == "note"] == list(make_report().notes)
    assert invocation["startTimeUtc"] == "2025-03-04T05:06:07.890Z"
    assert invocation["endTimeUtc"] == "2025-03-04T05:06:20.235Z"

    clean = _passing_report()
    assert _sarif(clean)["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert _sarif(replace(clean, interrupted=True))["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_sarif_has_a_rule_for_a_failure_without_check_metadata() -> None:
    doc = _sarif(make_report(checks=()))
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["cors.reflected-origin", "env.missing", "headers.csp", "headers.hsts"]
    assert rules[0]["shortDescription"]["text"] == "CORS reflects any origin with credentials"


def test_sarif_severity_mapping_covers_every_severity() -> None:
    assert set(sarif.SECURITY_SEVERITY) == set(Severity) == set(sarif.LEVEL)
    assert [float(sarif.SECURITY_SEVERITY[s]) for s in Severity] == sorted(
        (float(v) for v in sarif.SECURITY_SEVERITY.values()), reverse=True
    )


# -- JUnit -------------------------------------------------------------------------------------------


def test_junit_counts_and_content() -> None:
    xml = JUnitXml.fromstring(reporters.render(make_report(), "junit").encode())
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (7, 3, 1, 2)
    assert xml.time == pytest.approx(12.345)
    suites = {suite.name: suite for suite in xml}
    assert list(suites) == ["probe.env", "probe.debug", "probe.cors", "probe.idor", "probe.tls", "probe.headers"]
    headers = suites["probe.headers"]
    assert (headers.tests, headers.failures, headers.skipped, headers.time) == (2, 1, 1, 0)

    cases = {(case.classname, case.name): case for suite in xml for case in suite}
    cors = cases[("cors.reflected-origin", f"{TARGET}/api/me")]
    assert cors.time == 0
    (failure,) = cors.result
    assert isinstance(failure, Failure)
    assert failure.message.startswith("Origin https://evil.example was echoed | with credentials ✓\nsecond line")
    assert "Set CORS_ALLOWED_ORIGINS to your own origins." in failure.text
    assert f'"url": "{TARGET}/api/me"' in failure.text

    (suppressed,) = cases[("headers.hsts", f"{TARGET}/")].result
    assert isinstance(suppressed, Skipped) and suppressed.message == (
        "suppressed by baseline: accepted until the CDN move (until 2026-12-31)"
    )
    (skipped,) = cases[("idor.cross-account-read", "/api/notes/{id}")].result
    assert isinstance(skipped, Skipped) and skipped.message == "needs two accounts: add [accounts.*]"
    (error,) = cases[("debug.werkzeug-console", f"{TARGET}/console")].result
    assert isinstance(error, Error) and error.message == "read timed out after 10 s"
    assert cases[("tls.certificate", f"{TARGET}/")].is_passed


def test_junit_survives_characters_xml_cannot_carry() -> None:
    hostile = Result("input.server-error", Status.FAIL, Severity.MEDIUM, "5xx", f"{TARGET}/x", detail="body had \x00\x1b[31m")
    xml = JUnitXml.fromstring(reporters.render(make_report(results=(hostile,)), "junit").encode())
    (case,) = [case for suite in xml for case in suite]
    assert case.result[0].message == "body had \ufffd\ufffd[31m"


# -- Markdown ----------------------------------------------------------------------------------------


def test_markdown_failed_verdict_and_tables() -> None:
    text = reporters.render(make_report(), "markdown")
    lines = text.splitlines()
    assert lines[0] == "## ❌ probe: FAILED"
    assert f"`{TARGET}`" in text and "**57** requests" in text and "12.3 s" in text and "passive" in text
    assert "Blocking: 2 failure(s), 1 error(s)." in text

    start = lines.index("### Failures (3)")
    assert lines[start + 2 : start + 4] == ["| Severity | Check | Location | What was seen |", "| --- | --- | --- | --- |"]
    rows = lines[start + 4 : start + 7]
    assert [row.split(" | ")[1] for row in rows] == [
        "[env.missing](https://github.com/deploy-probe/probe/blob/main/docs/checks.md#env-missing)",
        "[cors.reflected-origin](https://github.com/deploy-probe/probe/blob/main/docs/checks.md#cors-reflected-origin)",
        "[headers.csp](https://github.com/deploy-probe/probe/blob/main/docs/checks.md#headers-csp)",
    ]
    assert rows[0].startswith("| **critical** |") and rows[2].startswith("| medium |")
    assert "Origin https://evil.example was echoed \\| with credentials ✓ second line \\[bold red\\]not markup\\[/\\]" in rows[1]
    assert rows[1].count(" | ") == 3

    errors = text.split("### Errors (1)")[1]
    assert "debug.werkzeug-console" in errors.split("<details>")[0] and "read timed out after 10 s" in errors
    details = text.split("<details>")[1].split("</details>")[0]
    assert "needs two accounts: add \\[accounts.\\*\\]" in details
    assert "tls.certificate" in details and "headers.hsts" in details
    assert "HSTS" not in text.split("<details>")[0]
    assert text.index("### Notes") > text.index("</details>")
    assert "- backed off for 2 s after HTTP 429 from app.example.com" in text


def test_markdown_verdict_follows_the_gate() -> None:
    passing = _passing_report()
    assert reporters.render(passing, "markdown").startswith("## ✅ probe: PASSED")
    assert reporters.render(passing, "markdown", fail_on=Severity.LOW).startswith("## ❌ probe: FAILED")

    only_error = replace(passing, results=tuple(r for r in make_report().results if r.status is Status.ERROR))
    assert reporters.render(only_error, "markdown").startswith("## ❌ probe: FAILED")
    assert reporters.render(only_error, "markdown", allow_errors=True).startswith("## ✅ probe: PASSED")
    assert "(interrupted: incomplete)" in reporters.render(replace(passing, interrupted=True), "markdown")


def test_markdown_escapes_html_from_the_target() -> None:
    hostile = Result(
        "debug.stack-trace",
        Status.FAIL,
        Severity.HIGH,
        "Stack trace",
        f"{TARGET}/</details><script>",
        detail="</details><img src=x onerror=alert(1)> & more",
    )
    text = reporters.render(make_report(results=(hostile,)), "markdown")
    assert "<script>" not in text and "<img" not in text
    assert "&lt;/details&gt;&lt;img src=x onerror=alert(1)&gt; &amp; more" in text


def test_markdown_stays_small_for_huge_scans() -> None:
    many = tuple(
        Result("headers.csp", Status.FAIL, Severity.MEDIUM, "No CSP", f"{TARGET}/page/{i}", detail="x" * 500) for i in range(3000)
    )
    passes = tuple(Result("tls.certificate", Status.PASS, Severity.HIGH, "ok", f"{TARGET}/p/{i}") for i in range(3000))
    text = reporters.render(make_report(results=many + passes, notes=("n" * 1000,) * 50), "markdown")
    assert len(text.encode()) < 60_000
    more = re.search(r"^\| … (\d+) more \(see the JSON report\) \|  \|  \|  \|$", text, re.MULTILINE)
    assert more is not None
    shown = text.split("### Failures (3000)")[1].split("| … ")[0].count(f"| {TARGET}/page/")
    assert shown + int(more.group(1)) == 3000
    assert "- … 30 more in the JSON report" in text


# -- Console -----------------------------------------------------------------------------------------


def test_console_text_leads_with_failures_and_their_fixes() -> None:
    text = reporters.render(make_report(), "console")
    assert "\x1b[" not in text
    assert all(len(line) <= console.WIDTH for line in text.splitlines())
    assert text.index("env.missing") < text.index("cors.reflected-origin") < text.index("headers.csp")
    failed = text[text.index("Failed (3)") : text.index("Could not run (1)")]
    assert "CORS reflects any origin with credentials" in failed
    assert f"at   {TARGET}/api/me" in failed
    assert "fix  Set CORS_ALLOWED_ORIGINS to your own origins." in failed
    assert "file .env.example:3" in failed
    assert "[bold red]not markup[/]" in failed
    assert "GET " not in failed
    assert "debug.werkzeug-console  https://app.example.com/console: read timed out after 10 s" in text
    assert "idor.cross-account-read  /api/notes/{id}: needs two accounts: add [accounts.*]" in text
    assert "Suppressed by baseline (1)" in text and "1 results from 1 checks" in text
    assert "backed off for 2 s after HTTP 429" in text
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("FAILED  2 failure(s) at high or worse, 1 check(s) could not run")
    assert "57 requests sent" in text


def test_console_verbose_shows_the_request_and_lists_passes() -> None:
    text = console.render(make_report(), verbose=True)
    assert f"seen GET {TARGET}/api/me → 200" in text
    assert "✓ tls.certificate" in text and "valid for 80 more days" in text
    assert "Origin" not in text.split("seen GET")[1].splitlines()[0]


def test_console_passed_verdict() -> None:
    text = reporters.render(_passing_report(), "console")
    assert text.rstrip().splitlines()[-1].startswith("PASSED  nothing at high or worse")


def test_console_renderable_is_for_a_rich_console() -> None:
    from rich.console import Console

    out = Console(file=io.StringIO(), width=80, record=True, force_terminal=True, color_system="standard")
    out.print(console.renderable(make_report(), fail_on=Severity.CRITICAL, allow_errors=True))
    assert "\x1b[" in out.export_text(styles=True, clear=False)
    assert out.export_text().rstrip().splitlines()[-1].startswith("FAILED  1 failure(s) at critical or worse")


# -- Purity ------------------------------------------------------------------------------------------


@pytest.fixture
def no_clock_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object, **_kwargs: object) -> Any:
        raise AssertionError("a reporter read the clock or touched the network")

    class NoNow(dt.datetime):
        now = classmethod(forbidden)
        utcnow = classmethod(forbidden)
        today = classmethod(forbidden)

    monkeypatch.setattr(dt, "datetime", NoNow)
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("probe.reporters") and hasattr(module, "datetime"):
            monkeypatch.setattr(module, "datetime", NoNow)
    for name in ("time", "time_ns", "localtime", "gmtime", "ctime", "strftime"):
        monkeypatch.setattr(time, name, forbidden)
    for name in ("socket", "create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, name, forbidden)


@pytest.mark.usefixtures("no_clock_no_network")
@pytest.mark.parametrize("fmt", reporters.FORMATS)
def test_reporters_are_pure_and_deterministic(fmt: str) -> None:
    first = reporters.render(make_report(), fmt)
    assert first == reporters.render(make_report(), fmt)
    shuffled = make_report(results=tuple(reversed(make_report().results)))
    assert reporters.render(shuffled, fmt) == first


def test_the_purity_fixture_does_catch_a_clock_read(no_clock_no_network: None) -> None:
    with pytest.raises(AssertionError, match="clock"):
        dt.datetime.now()
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("127.0.0.1", 9))


# -- Dispatch ----------------------------------------------------------------------------------------


def test_dispatch() -> None:
    assert set(reporters.DEFAULT_FILENAMES) <= set(reporters.FORMATS)
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        reporters.render(make_report(), "pdf")
    assert reporters.render(make_report(), "markdown") == markdown.render(make_report())


def test_importing_the_package_loads_no_format() -> None:
    code = (
        "import sys, probe.reporters\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('rich', 'junitparser', 'xml')"
        " or m.startswith('probe.reporters.')]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
