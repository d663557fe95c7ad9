"""The ratelimit family against real limiter libraries (Flask-Limiter, slowapi, express-rate-limit) and the
same apps without them; a limiter that believes X-Forwarded-For; a lockout that only real accounts hit."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from fixtures.ratelimit import USER, flask_app
from fixtures.ratelimit.fastapi_app import GATEWAY_KEY
from fixtures.ratelimit.fastapi_app import app as fastapi_app
from fixtures.ratelimit.flask_forms import flask_forms_app
from fixtures.serve import serve_asgi, serve_command, serve_wsgi
from probe.config import ConfigError
from probe.model import Report
from probe.reporters import json as json_report
from tests.helpers import ROOT, expect, results_for, scan

NODE_DIR = ROOT / "fixtures" / "node"
DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
# Loopback answers in milliseconds: a higher pace keeps 25-attempt bursts short without changing them.
FAST = {"rate": 200.0}
# The fixture's one account stands for a throw-away account the team may lock out: opted in per entry.
LOGIN_AS_THROWAWAY = [{"path": "/api/login", "json": {"email": "{username}", "password": "{password}"},
                       "username": USER, "allow_lockout": True}]


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
    yield from _reports(lambda mode: serve_wsgi(flask_app(mode)), rate_limit=LOGIN_AS_THROWAWAY)


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
    expect(report, "ratelimit.missing", "pass")  # the throw-away account does get locked
    [failed] = expect(report, "ratelimit.lockout-enumeration", "fail")
    assert failed.evidence["throwaway_account"]["status"] == 423
    assert failed.evidence["made_up_user"]["status_histogram"] == {"401": failed.evidence["made_up_user"]["attempts"]}
    # A username is shown (redaction masks secrets only), so the report names which account may be locked.


def test_limit_per_submitted_user_treats_everyone_alike(lockout_reports: Callable[[str], Report]) -> None:
    user_limited_report = lockout_reports("user-limited")
    expect(user_limited_report, "ratelimit.lockout-enumeration", "pass")


def test_slowapi(fastapi_reports: Callable[[str], Report]) -> None:
    none_report = fastapi_reports("none")
    expect(none_report, "ratelimit.missing", "fail")
    limited_report = fastapi_reports("limited")
    results = _by_path(limited_report, "ratelimit.missing")
    assert results["/api/login"].status.value == "pass" and "429" in results["/api/login"].detail
    # Found in the OpenAPI document, behind a gateway that wants a key: not a limiter-less login.
    behind_gateway = results["/api/v1/login/access-token"]
    assert behind_gateway.status.value == "skip"
    assert "'No API key found' (not tested)" in behind_gateway.detail and "headers = { apikey" in behind_gateway.detail


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


# --- Forms behind CSRF tokens: Django's LoginView (CsrfViewMiddleware) and Flask-WTF (CSRFProtect) ---------------

DJANGO_PASSWORD = "pw-" + secrets.token_hex(8)
DJANGO_FORM = {"username": "{username}", "password": "{password}"}
DJANGO_ENTRIES = [
    # As a user writes it from the docs: the form's page for its token; `next` comes from the form's hidden field.
    {"path": "/login/", "form": DJANGO_FORM, "csrf": "GET /login/", "attempts": 12},
    # The same form at / without csrf: refused by CsrfViewMiddleware, which is not a verdict.
    {"path": "/", "form": DJANGO_FORM, "attempts": 12},
    # A body that names a configured account: never burst without allow_lockout.
    {"path": "/login", "form": {"username": "alice", "password": "{password}"}, "csrf": "GET /login/"},
]
# `login` is a configured account too, named like a word of the routes: a route is not a username.
ALICE = {"alice": {"username": "alice", "bearer": "static-" + secrets.token_hex(8)},
         "login": {"username": "login", "bearer": "static-" + secrets.token_hex(8)}}


@pytest.fixture(scope="module")
def django_form_reports() -> Iterator[Callable[[str], Report]]:
    def server(mode: str) -> AbstractContextManager[str]:
        return serve_command([sys.executable, "-m", "fixtures.ratelimit.django_forms", mode], cwd=ROOT,
                             env={"RATELIMIT_PASSWORD": DJANGO_PASSWORD})

    yield from _reports(server, rate_limit=DJANGO_ENTRIES, accounts=ALICE)


@pytest.fixture(scope="module")
def flask_form_reports() -> Iterator[Callable[[str], Report]]:
    yield from _reports(lambda mode: serve_wsgi(flask_forms_app(mode)))


def _by_path(report: Report, check_id: str) -> dict[str, Any]:
    return {urlsplit(r.location).path: r for r in results_for(report, check_id)}


def test_django_login_form_without_a_limiter(django_form_reports: Callable[[str], Report]) -> None:
    report = django_form_reports("none")
    results = _by_path(report, "ratelimit.missing")
    failed = results["/login/"]
    assert failed.status.value == "fail" and failed.confidence.value == "high"
    # LoginView re-renders the form (200) for every wrong password: each attempt got past CsrfViewMiddleware.
    assert failed.evidence["status_histogram"] == {"200": 12} and "body template" not in failed.detail
    no_token = results["/"]
    assert no_token.status.value == "skip"
    assert "missing CSRF token (not tested)" in no_token.detail and 'csrf = "GET' in no_token.detail
    named = results["/login"]
    assert named.status.value == "skip" and "'alice'" in named.detail and "allow_lockout = true" in named.detail
    # Each attempt fetched the form (12 GETs) and posted it; the skipped entries sent one POST, and none.
    assert report.requests_by_family["ratelimit"] == 12 * 2 + 1


def test_django_axes_locks_the_form(django_form_reports: Callable[[str], Report]) -> None:
    report = django_form_reports("axes")
    passed = _by_path(report, "ratelimit.missing")["/login/"]
    assert passed.status.value == "pass" and "429" in passed.detail
    assert _by_path(report, "ratelimit.bypass-header")["/login/"].status.value == "pass"
    expect(report, "ratelimit.missing", "skip")  # the entry without csrf is still not tested


def test_flask_wtf_form_found_and_posted_with_its_token(flask_form_reports: Callable[[str], Report]) -> None:
    report = flask_form_reports("none")
    [failed] = expect(report, "ratelimit.missing", "fail")
    # Found on the page without configuration; its csrf_token and hidden `flow` were carried on every attempt.
    assert urlsplit(failed.location).path == "/login" and failed.confidence.value == "high"
    assert failed.evidence["status_histogram"] == {"200": 25}


def test_flask_wtf_form_with_flask_limiter(flask_form_reports: Callable[[str], Report]) -> None:
    report = flask_form_reports("limited")
    [passed] = expect(report, "ratelimit.missing", "pass")
    assert "429" in passed.detail
    expect(report, "ratelimit.bypass-header", "pass")


def test_a_wrong_body_template_gets_a_true_hint() -> None:
    # The hidden `flow` field overridden with nothing: Flask-WTF's form answers 400 "field flow is required".
    entry = {"path": "/login", "form": {"email": "{username}", "password": "{password}", "flow": ""},
             "csrf": "GET /login", "attempts": 6}
    with serve_wsgi(flask_forms_app("none")) as url:
        report = scan(url, only=["ratelimit.missing"], mode="active", rate_limit=[entry], **FAST)
    [failed] = expect(report, "ratelimit.missing", "fail")
    assert failed.confidence.value == "medium"
    assert "answered 400 naming a problem with the request ('is required')" in failed.detail
    assert "check the body template" in failed.detail


# --- A FastAPI backend shaped like the full-stack template, behind a gateway that wants an `apikey` header -------

def _v1_config(folder: Path, username_field: str = "username", recovery: bool = True) -> Path:
    """probe.toml as a user writes it: the gateway key as ${GATEWAY_KEY}, resolved from the environment."""
    text = f"""
[[rate_limit]]
path = "/api/v1/login/access-token"
json = {{ {username_field} = "{{username}}", password = "{{password}}" }}
headers = {{ apikey = "${{GATEWAY_KEY}}" }}
attempts = 10
"""
    if recovery:
        text += """
[[rate_limit]]
path = "/api/v1/password-recovery/{email}"
headers = { apikey = "${GATEWAY_KEY}" }
attempts = 10
"""
    path = folder / "probe.toml"
    path.write_text(text)
    return path


def _v1_scan(mode: str, config: Path) -> Report:
    with serve_asgi(fastapi_app(mode)) as url:
        return scan(url, only=["ratelimit.missing"], mode="active", config=config,
                    environ={"GATEWAY_KEY": GATEWAY_KEY}, **FAST)


def test_refusals_by_400_and_404_are_wrong_passwords_not_wrong_templates(tmp_path: Path) -> None:
    report = _v1_scan("none", _v1_config(tmp_path))
    results = _by_path(report, "ratelimit.missing")
    login = results["/api/v1/login/access-token"]
    assert login.status.value == "fail" and login.confidence.value == "high" and "template" not in login.detail
    assert login.evidence["status_histogram"] == {"400": 10}
    [recovery] = [r for path, r in results.items() if path.startswith("/api/v1/password-recovery/")]
    # {email} filled with the made-up address, not sent as a literal %7Bemail%7D.
    assert recovery.status.value == "fail" and recovery.evidence["status_histogram"] == {"404": 10}
    # The location stays the route's template (a stable fingerprint); the requests carried a made-up address.
    assert recovery.location.endswith("/api/v1/password-recovery/{email}") and recovery.kind == "no-throttling:password-reset"
    assert "@example.com" in str(recovery.evidence["request"]) and "%7B" not in str(recovery.evidence["request"])
    # The gateway key went with every attempt (else 401) and is masked in the report.
    assert GATEWAY_KEY not in json_report.render(report)


def test_limited_v1_routes_pass(tmp_path: Path) -> None:
    report = _v1_scan("limited", _v1_config(tmp_path))
    passed = expect(report, "ratelimit.missing", "pass")
    assert len(passed) == 2 and all("429" in r.detail for r in passed)


def test_fastapi_422_for_a_wrong_field_gets_the_template_hint(tmp_path: Path) -> None:
    report = _v1_scan("none", _v1_config(tmp_path, "email", recovery=False))
    [failed] = expect(report, "ratelimit.missing", "fail")
    assert failed.confidence.value == "medium" and "answered 422 naming a problem with the request" in failed.detail


# --- Lockout safety ---------------------------------------------------------------------------------------------

def test_a_named_username_needs_allow_lockout() -> None:
    with pytest.raises(ConfigError, match="allow_lockout"):
        scan("http://127.0.0.1:9", only=["ratelimit"], rate_limit=[{"path": "/api/login", "username": "alice"}])


def test_lockout_check_never_advises_a_real_account(flask_reports: Callable[[str], Report]) -> None:
    results = results_for(flask_reports("limited"), "ratelimit.lockout-enumeration")
    assert results and all("throw-away account" in r.detail and "allow_lockout = true" in r.detail for r in results)
    assert not any("test account" in r.detail for r in results)
