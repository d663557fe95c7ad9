"""End to end: every family at once, active mode, the demo's own probe.toml — what `make demo` shows.
The vulnerable twin fails the mission's core checks; the hardened twin has no failure and no error,
even though the families share one run (log-ins, bursts on the login route, a strict limiter)."""

from __future__ import annotations

from probe.model import Severity, Status
from tests.helpers import ROOT, expect, scan

CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"


def full_scan(demo):  # type: ignore[no-untyped-def]
    demo.reset_rate_limits()
    return scan(demo.url, mode="active", config=CONFIG, environ={**demo.env, "DEMO_WORKDIR": str(demo.workdir)})


def test_vulnerable_demo_fails_the_core_checks(demo_vulnerable) -> None:  # type: ignore[no-untyped-def]
    report = full_scan(demo_vulnerable)
    for check_id in (
        "env.missing",
        "env.test-credential",
        "secrets.exposed-file",
        "secrets.source-map",
        "debug.interactive-debugger",
        "cors.reflected-origin",
        "ratelimit.missing",
        "idor.cross-account-read",
        "auth.jwt-none",
        "webhook.unsigned-accepted",
        "headers.csp",
    ):
        assert any(r.check == check_id and r.status is Status.FAIL for r in report.results), check_id
    assert report.gate_failures(Severity.HIGH)
    assert report.requests_sent <= 400


def test_hardened_demo_has_no_failure_and_no_error(demo_hardened) -> None:  # type: ignore[no-untyped-def]
    report = full_scan(demo_hardened)
    bad = [(r.check, r.location, r.detail) for r in report.results if r.status in (Status.FAIL, Status.ERROR)]
    assert bad == []
    expect(report, "ratelimit.missing", "pass")
    expect(report, "webhook.unsigned-accepted", "pass")
    expect(report, "idor.cross-account-read", "pass")
