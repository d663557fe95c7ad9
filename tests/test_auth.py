"""auth and idor ids against the bundled demo app (Flask, fixtures/demo) with the demo's own probe.toml,
and the JWT helpers on hostile input. The FastAPI twins in test_idor.py prove the same ids on a second
framework."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from probe.checks import wordlists
from probe.checks.auth import crack, parse_jwt, tampered, unsigned
from probe.demo import Demo, running
from probe.model import Report, Status
from tests.helpers import ROOT, expect, results_for, scan

DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"


def scan_demo(demo: Demo, mode: str = "active") -> Report:
    demo.reset_rate_limits()
    return scan(demo.url, only=["idor", "auth"], mode=mode, config=DEMO_CONFIG, rate=500,
                environ={**demo.env, "DEMO_WORKDIR": str(demo.workdir)})


@pytest.fixture(scope="module")
def demo_reports() -> Iterator[tuple[Report, Report, Report]]:
    with running("vulnerable") as vulnerable, running("hardened") as hardened:
        yield scan_demo(vulnerable), scan_demo(hardened), scan_demo(hardened, mode="passive")


def test_unauthenticated_access_on_the_demo(demo_reports: tuple[Report, Report, Report]) -> None:
    vulnerable, hardened, _ = demo_reports
    failed = expect(vulnerable, "auth.unauthenticated-access", "fail")
    assert [r.location.split("/api/", 1)[1] for r in failed] == ["notes/{id}/export"]
    assert failed[0].evidence["statuses"]["other"] == 200
    expect(hardened, "auth.unauthenticated-access", "pass")


def test_missing_role_check_on_the_demo(demo_reports: tuple[Report, Report, Report]) -> None:
    vulnerable, hardened, _ = demo_reports
    failed = expect(vulnerable, "auth.missing-role-check", "fail")[0]
    assert failed.location.endswith("/api/admin/users") and "bob" in failed.detail
    assert expect(hardened, "auth.missing-role-check", "pass")[0].detail.endswith("(statuses 403).")


def test_jwt_on_the_demo(demo_reports: tuple[Report, Report, Report]) -> None:
    vulnerable, hardened, _ = demo_reports
    expect(vulnerable, "auth.jwt-none", "fail")
    expect(hardened, "auth.jwt-none", "pass")
    expect(vulnerable, "auth.jwt-signature-unchecked", "fail")
    expect(hardened, "auth.jwt-signature-unchecked", "pass")
    weak = expect(vulnerable, "auth.jwt-weak-secret", "fail")[0]
    assert "secret123" not in weak.detail + repr(weak.evidence)
    expect(hardened, "auth.jwt-weak-secret", "pass")
    # The weak key found offline re-signs an expired token; the hardened key is unknown, so it is not tested.
    expect(vulnerable, "auth.jwt-expired-accepted", "fail")
    assert "jwt_secret" in expect(hardened, "auth.jwt-expired-accepted", "skip")[0].detail


def test_idor_on_the_demo(demo_reports: tuple[Report, Report, Report]) -> None:
    vulnerable, hardened, passive = demo_reports
    leaks = expect(vulnerable, "idor.cross-account-read", "fail")
    assert {r.location.split("/api/", 1)[1] for r in leaks} == {"notes/{id}", "orders/{id}"}
    # The export answers anyone: one root cause, reported once, by auth.unauthenticated-access (test above).
    export = next(r for r in results_for(vulnerable, "idor.cross-account-read") if r.location.endswith("/export"))
    assert export.status is Status.SKIP and "auth.unauthenticated-access" in export.detail
    expect(hardened, "idor.cross-account-read", "pass")
    expect(vulnerable, "idor.enumerable", "fail")
    walks = {r.location.split("/api/", 1)[1]: r for r in results_for(hardened, "idor.enumerable")}
    assert walks["notes/{id}"].status is Status.PASS and walks["orders/{id}"].status is Status.PASS
    # The export takes its ids from the same list as the notes: that id space is walked once, and it says so.
    assert walks["notes/{id}/export"].status is Status.SKIP and "/api/notes/{id}'s" in walks["notes/{id}/export"].detail
    expect(vulnerable, "idor.cross-account-write", "fail")
    expect(hardened, "idor.cross-account-write", "pass")
    assert all(r.status is not Status.FAIL for r in passive.results)
    # The matrix stays small: two logins, lists, owner views, the cross-account and anonymous requests, the walk.
    assert vulnerable.requests_sent < 120 and passive.requests_sent < 110


def test_no_credential_reaches_a_result(demo_reports: tuple[Report, Report, Report]) -> None:
    for report in demo_reports:
        text = repr([(r.detail, r.evidence) for r in report.results])
        assert "eyJ" not in text
        assert all(r.status is not Status.ERROR for r in results_for(report, "idor.cross-account-read"))


def _token(header: dict[str, object], claims: dict[str, object], key: str = "secret123") -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers=header)


def test_crack_and_forge() -> None:
    token = parse_jwt(_token({"kid": "k1"}, {"sub": "2", "iat": 1700000000}))
    assert token is not None and token.alg == "HS256"
    assert crack(token, wordlists.secrets()) == "secret123"
    strong = parse_jwt(_token({}, {"sub": "2"}, key="x" * 48 + "not-in-any-list"))
    assert strong is not None and crack(strong, wordlists.secrets()) is None
    forged = unsigned(token, "none")
    assert forged.endswith(".") and json.loads(base64.urlsafe_b64decode(forged.split(".")[0] + "=="))["alg"] == "none"
    changed = tampered(token)
    assert changed.split(".")[2] == token.parts[2] and changed.split(".")[1] != token.parts[1]


@given(st.text(max_size=300))
def test_parse_jwt_never_raises(value: str) -> None:
    parse_jwt(value)
    parse_jwt("eyJhbGciOiJIUzI1NiJ9." + value + ".sig")
