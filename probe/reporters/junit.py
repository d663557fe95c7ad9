"""JUnit XML for CI test-report views: one testsuite per family, one testcase per result.

Checks are not timed one by one, so every testcase and suite says time="0" and only the root
`<testsuites>` carries the scan's duration: an invented per-check time would be read as a measurement.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from probe.model import FAMILIES, Report, Result, Status
from probe.reporters.json import dumps, iso_utc, jsonable

SUPPRESSED = "suppressed by baseline"
# Enough of the evidence to reproduce the finding without turning the CI log into a dump.
_EVIDENCE_LIMIT = 2000
# Characters XML 1.0 cannot carry at all, escaped or not: a hostile response body could hold them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(report: Report) -> str:
    xml = JUnitXml(name=xml_text(f"probe {report.target}"))
    for family in _families(report):
        suite = TestSuite(f"probe.{family}")
        suite.timestamp = iso_utc(report.started)
        for result in sorted((r for r in report.results if r.family == family), key=case_order):
            suite.add_testcase(testcase(result))
        xml.add_testsuite(suite)
    return finish(xml, report.duration_s)


def case_order(result: Result) -> tuple[str, str, str, str, str]:
    """Test cases in a stable order, so two runs' files compare line by line."""
    return (result.check, result.location, result.kind, result.status.value, result.fingerprint)


def finish(xml: JUnitXml, duration_s: float) -> str:
    """The document's totals and time, written out indented."""
    xml.update_statistics()  # type: ignore[no-untyped-call]  # junitparser leaves it unannotated
    xml.time = round(max(duration_s, 0.0), 3)
    raw = io.BytesIO()
    xml.write(raw)
    root = ET.fromstring(raw.getvalue())
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _families(report: Report) -> list[str]:
    present = {r.family for r in report.results}
    return [f for f in FAMILIES if f in present] + sorted(present - set(FAMILIES))


def testcase(result: Result) -> TestCase:
    case = TestCase(name=xml_text(result.location), classname=result.check, time=0)
    if result.suppressed:
        skipped = Skipped(message=f"{SUPPRESSED}: {result.suppression}" if result.suppression else SUPPRESSED)
        skipped.text = xml_text(result.detail or result.title)
        case.result = [skipped]
    elif result.status is Status.FAIL:
        failure = Failure(message=xml_text(result.detail or result.title), type_=result.severity.value)
        failure.text = xml_text(_failure_text(result))
        case.result = [failure]
    elif result.status is Status.SKIP:
        case.result = [Skipped(message=xml_text(result.detail or "skipped"))]
    elif result.status is Status.ERROR:
        case.result = [Error(message=xml_text(result.detail or "error"))]
    return case


def _failure_text(result: Result) -> str:
    parts = [f"{result.title} [{result.severity.value}, confidence {result.confidence.value}]"]
    if result.remediation:
        parts.append(f"Fix: {result.remediation}")
    if result.evidence:
        evidence = dumps(jsonable(result.evidence))
        if len(evidence) > _EVIDENCE_LIMIT:
            evidence = evidence[:_EVIDENCE_LIMIT] + "\n… (truncated; the JSON report has it all)"
        parts.append(f"Evidence:\n{evidence}")
    return "\n\n".join(parts)


def xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
