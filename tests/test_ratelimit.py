"""The ratelimit family against real limiter libraries (Flask-Limiter, slowapi, express-rate-limit) and the
same apps without them; a limiter that believes X-Forwarded-For; a lockout that only real accounts hit."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit

import pytest

from fixtures.ratelimit import USER, flask_app
from fixtures.ratelimit.fastapi_app import app as fastapi_app
from fixtures.serve import serve_asgi, serve_command, serve_wsgi
from probe.config import ConfigError
from probe.model import Report
from tests.helpers import ROOT, expect, results_for, scan

NODE_DIR = ROOT / "fixtures" / "node"
DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
# Loopback answers in milliseconds: a higher pace keeps 25-attempt bursts short without changing them.
FAST = {"rate": 200.0}
LOGIN_AS_TEST_ACCOUNT = [{"path": "/api/login", "json": {"email": "{username}", "password": "{password}"},
                          "username": USER}]


def _reports(server: Callable[[str], AbstractContextManager[str]], **config: Any) -> Iterator[Callable[[str], Report]]:
    """One active ratelimit scan per mode, each against a fresh server: limiter counters never carry over."""
    done: dict[str, Report] = {}

    def get(mode: str) -> Report:
        if mode not in done:
            with server(mode) as url:
                done[mode] = scan(url, only=["ratelimit"], mode="active", **FAST, **config)
        return done[mode]

    yield get


@pytest.fixture(scope="module")
def flask_reports() -> Iterator[Callable[[str], Report]]:
    yield from _reports(lambda mode: serve_wsgi(flask_app(mode)))


@pytest.fixture(scope="module")
def lockout_reports() -> Iterator[Callable[[str], Report]]:
    yield from _reports(lambda mode: serve_wsgi(flask_app(mode)), rate_limit=LOGIN_AS_TEST_ACCOUNT)


@pytest.fixture(scope="module")
def fastapi_reports() -> Iterator[Callable[[str], Report]]:
    yield from _reports(lambda mode: serve_asgi(fastapi_app(mode)))


@pytest.fixture(scope="module")
def express_reports() -> Iterator[Callable[[str], Report]]:
    yield from _reports(lambda mode: serve_command(["node", "ratelimit-app.js"], cwd=NODE_DIR,
                                                   env={"RATELIMIT_MODE": mode}))


def _demo_scan(demo, mode: str) -> Report:  # type: ignore[no-untyped-def]
    environ = {**os.environ, **demo.env, "DEMO_WORKDIR": str(demo.workdir)}
    return scan(demo.url, only=["ratelimit"], mode=mode, config=DEMO_CONFIG, environ=environ, **FAST)


def test_demo_vulnerable_login_has_no_limit(demo_vulnerable) -> None:  # type: ignore[no-untyped-def]
    report = _demo_scan(demo_vulnerable, "active")
    [failed] = expect(report, "ratelimit.missing", "fail")
    assert failed.location.endswith("/api/login")
    assert failed.evidence["status_histogram"] == {"401": 25}
    assert failed.evidence["attempts"] == 25 and "median" in failed.evidence["timing_ms"]
    expect(report, "ratelimit.bypass-header", "skip")
    assert report.requests_by_family["ratelimit"] == 25


def test_demo_hardened_login_is_throttled(demo_hardened) -> None:  # type: ignore[no-untyped-def]
    report = _demo_scan(demo_hardened, "active")
    expect(report, "ratelimit.missing", "pass")
    expect(report, "ratelimit.bypass-header", "pass")
    # Stopped at the first 429 (Flask-Limiter's 5 per minute, some spent logging the accounts in) plus the
    # spoofed-header attempt.
    assert report.requests_by_family["ratelimit"] <= 7


def test_passive_mode_skips_with_the_reason(demo_vulnerable) -> None:  # type: ignore[no-untyped-def]
    report = _demo_scan(demo_vulnerable, "passive")
    for check_id in ("ratelimit.missing", "ratelimit.bypass-header", "ratelimit.lockout-enumeration"):
        [result] = results_for(report, check_id)
        assert result.status.value == "skip" and "--mode active" in result.detail
    assert report.requests_by_family.get("ratelimit", 0) == 0


def test_flask_without_limiter(flask_reports: Callable[[str], Report]) -> None:
    report = flask_reports("none")
    failed = expect(report, "ratelimit.missing", "fail")
    # Found without configuration: the form's action and the JSON endpoint the page's script calls.
    assert sorted(urlsplit(r.location).path for r in failed) == ["/api/login", "/login"]
    expect(report, "ratelimit.bypass-header", "skip")


def test_flask_limiter_throttles(flask_reports: Callable[[str], Report]) -> None:
    report = flask_reports("limited")
    passed = expect(report, "ratelimit.missing", "pass")
    assert all("429" in r.detail for r in passed)
    expect(report, "ratelimit.bypass-header", "pass")


def test_flask_limiter_behind_proxyfix_without_a_proxy(flask_reports: Callable[[str], Report]) -> None:
    report = flask_reports("proxyfix")
    expect(report, "ratelimit.missing", "pass")
    failed = expect(report, "ratelimit.bypass-header", "fail")
    assert all(r.evidence["bypass_headers"] == ["X-Forwarded-For"] for r in failed)
    assert all(r.kind == "header:x-forwarded-for" for r in failed)


def test_lockout_only_for_real_accounts(lockout_reports: Callable[[str], Report]) -> None:
    report = lockout_reports("lockout")
    expect(report, "ratelimit.missing", "pass")  # the test account does get locked
    [failed] = expect(report, "ratelimit.lockout-enumeration", "fail")
    assert failed.evidence["test_account"]["status"] == 423
    assert failed.evidence["made_up_user"]["status_histogram"] == {"401": failed.evidence["made_up_user"]["attempts"]}
    # The evidence names the test account by its part in the comparison, not by its address.
    assert USER not in str(failed.evidence) and USER not in failed.detail


def test_limit_per_submitted_user_treats_everyone_alike(lockout_reports: Callable[[str], Report]) -> None:
    user_limited_report = lockout_reports("user-limited")
    expect(user_limited_report, "ratelimit.lockout-enumeration", "pass")


def test_lockout_comparison_needs_a_test_account(flask_reports: Callable[[str], Report]) -> None:
    results = results_for(flask_reports("limited"), "ratelimit.lockout-enumeration")
    assert results and all(r.status.value == "skip" and "username" in r.detail for r in results)


def test_slowapi(fastapi_reports: Callable[[str], Report]) -> None:
    none_report = fastapi_reports("none")
    expect(none_report, "ratelimit.missing", "fail")
    limited_report = fastapi_reports("limited")
    passed = expect(limited_report, "ratelimit.missing", "pass")
    assert any("429" in r.detail for r in passed)


def test_express_rate_limit(express_reports: Callable[[str], Report]) -> None:
    none_report = express_reports("none")
    expect(none_report, "ratelimit.missing", "fail")
    report = express_reports("limited")
    expect(report, "ratelimit.missing", "pass")
    expect(report, "ratelimit.bypass-header", "pass")


def test_express_trust_proxy_true_is_bypassed(express_reports: Callable[[str], Report]) -> None:
    trustproxy_report = express_reports("trustproxy")
    [failed] = expect(trustproxy_report, "ratelimit.bypass-header", "fail")
    assert "X-Forwarded-For" in failed.evidence["bypass_headers"]


def test_attempts_are_capped() -> None:
    with pytest.raises(ConfigError, match="attempts"):
        scan("http://127.0.0.1:9", only=["ratelimit"], rate_limit=[{"path": "/api/login", "attempts": 500}])
