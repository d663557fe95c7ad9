"""The cors family against real CORS middleware: flask-cors, Starlette's CORSMiddleware and Express's `cors`,
each misconfigured as apps ship it and in a hardened twin, plus the demo app's twins."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixtures.cors import SECOND, TRUSTED, flask_app, starlette_app
from fixtures.serve import serve_asgi, serve_command, serve_wsgi
from probe.checks.cors import UNRELATED, lookalikes, parse_cors
from probe.config import ConfigError
from probe.model import Report, Severity
from tests.helpers import NODE_DIR, ROOT, expect, results_for, scan

DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
BOTH = {"trusted_origins": [TRUSTED, SECOND]}
ONE = {"trusted_origins": [TRUSTED]}


def _cors(url: str, settings: dict[str, list[str]]) -> Report:
    return scan(url, only=["cors"], cors=settings)


@pytest.fixture(scope="module")
def flask_reports() -> Iterator[Callable[[str], Report]]:
    """One scan per flask-cors mode, made on first use."""
    done: dict[str, Report] = {}

    def get(mode: str) -> Report:
        if mode not in done:
            with serve_wsgi(flask_app(mode)) as url:
                done[mode] = _cors(url, BOTH)
        return done[mode]

    yield get


@pytest.fixture(scope="module")
def starlette_reports() -> Iterator[Callable[[str], Report]]:
    done: dict[str, Report] = {}

    def get(mode: str) -> Report:
        if mode not in done:
            with serve_asgi(starlette_app(mode)) as url:
                done[mode] = _cors(url, ONE)
        return done[mode]

    yield get


@pytest.fixture(scope="module")
def express_reports() -> Iterator[Callable[[str], Report]]:
    done: dict[str, Report] = {}

    def get(mode: str) -> Report:
        if mode not in done:
            with serve_command(["node", "cors-app.js"], cwd=NODE_DIR, env={"CORS_MODE": mode}) as url:
                done[mode] = _cors(url, ONE)
        return done[mode]

    yield get


def _demo_scan(demo) -> Report:  # type: ignore[no-untyped-def]
    environ = {**os.environ, **demo.env, "DEMO_WORKDIR": str(demo.workdir)}
    return scan(demo.url, only=["cors"], config=DEMO_CONFIG, environ=environ)


def test_demo_vulnerable_reflects_any_origin_with_credentials(demo_vulnerable) -> None:  # type: ignore[no-untyped-def]
    report = _demo_scan(demo_vulnerable)
    failed = expect(report, "cors.reflected-origin", "fail")
    # One policy (flask-cors reflecting every origin with credentials): one finding, every route in its evidence.
    [grant] = failed
    # The demo's API answers alice's requests with her data: the grant is critical.
    assert grant.severity is Severity.CRITICAL and grant.kind == "credentials"
    assert len(grant.evidence["routes"]) >= 5 and any(r.endswith("/api/notes") for r in grant.evidence["routes"])
    assert f"on {len(grant.evidence['routes'])} routes" in grant.detail
    assert grant.evidence["response"]["headers"]["access-control-allow-origin"] == UNRELATED
    expect(report, "cors.null-origin", "fail")
    expect(report, "cors.origin-bypass", "skip")
    assert report.requests_by_family["cors"] <= 30


def test_demo_hardened_allows_only_its_front_end(demo_hardened) -> None:  # type: ignore[no-untyped-def]
    report = _demo_scan(demo_hardened)
    expect(report, "cors.reflected-origin", "pass")
    expect(report, "cors.null-origin", "pass")
    expect(report, "cors.origin-bypass", "pass")
    expect(report, "cors.wildcard-credentials", "pass")
    expect(report, "cors.insecure-scheme", "pass")
    expect(report, "cors.missing-vary", "pass")
    assert report.requests_by_family["cors"] <= 30


def test_flask_cors_unanchored_regex_is_bypassed(flask_reports: Callable[[str], Report]) -> None:
    regex_report = flask_reports("regex")
    failed = expect(regex_report, "cors.origin-bypass", "fail")
    variants = {r.evidence["variant"] for r in failed}
    # flask-cors matches origin regexes with re.match: suffix, prefix and any-character dots all pass.
    assert {"suffix", "prefix", "regex-dot"} <= variants
    assert all(r.location.endswith("/api/me") for r in failed)
    assert any(r.severity is Severity.CRITICAL for r in failed if r.evidence["variant"] == "prefix")


def test_flask_cors_exact_allowlist_passes(flask_reports: Callable[[str], Report]) -> None:
    report = flask_reports("hardened")
    expect(report, "cors.origin-bypass", "pass")
    expect(report, "cors.reflected-origin", "pass")
    expect(report, "cors.insecure-scheme", "pass")
    expect(report, "cors.missing-vary", "pass")


def test_flask_cors_http_twin_of_the_front_end(flask_reports: Callable[[str], Report]) -> None:
    insecure_scheme_report = flask_reports("insecure-scheme")
    failed = expect(insecure_scheme_report, "cors.insecure-scheme", "fail")
    assert failed[0].evidence["origin_sent"] == "http://app.example.test"
    hardened_report = flask_reports("hardened")
    expect(hardened_report, "cors.insecure-scheme", "pass")


def test_flask_cors_without_vary_header(flask_reports: Callable[[str], Report]) -> None:
    no_vary_report = flask_reports("no-vary")
    expect(no_vary_report, "cors.missing-vary", "fail")
    vary_report = flask_reports("vary")
    expect(vary_report, "cors.missing-vary", "pass")


def test_starlette_origin_regex_is_bypassed(starlette_reports: Callable[[str], Report]) -> None:
    regex_report = starlette_reports("regex")
    failed = expect(regex_report, "cors.origin-bypass", "fail")
    variants = {r.evidence["variant"] for r in failed}
    # Starlette uses fullmatch, so no prefix variant; `.*` and the unescaped dot still let look-alikes in.
    assert {"suffix", "regex-dot"} <= variants
    assert "prefix" not in variants
    hardened_report = starlette_reports("hardened")
    expect(hardened_report, "cors.origin-bypass", "pass")


def test_starlette_null_origin(starlette_reports: Callable[[str], Report]) -> None:
    null_report = starlette_reports("null")
    failed = expect(null_report, "cors.null-origin", "fail")
    assert any(r.kind == "credentials" for r in failed)
    hardened_report = starlette_reports("hardened")
    expect(hardened_report, "cors.null-origin", "pass")


def test_starlette_all_origins_with_credentials_reflects(starlette_reports: Callable[[str], Report]) -> None:
    any_report = starlette_reports("any")
    expect(any_report, "cors.reflected-origin", "fail")
    hardened_report = starlette_reports("hardened")
    expect(hardened_report, "cors.reflected-origin", "pass")
    expect(hardened_report, "cors.wildcard-credentials", "pass")


def test_express_origin_true_reflects(express_reports: Callable[[str], Report]) -> None:
    reflect_report = express_reports("reflect")
    failed = expect(reflect_report, "cors.reflected-origin", "fail")
    assert [r.severity for r in failed] == [Severity.CRITICAL]  # /api/me refuses anonymous callers: user data
    allowlist_report = express_reports("allowlist")
    expect(allowlist_report, "cors.reflected-origin", "pass")
    expect(allowlist_report, "cors.origin-bypass", "pass")


def test_express_wildcard_with_credentials(express_reports: Callable[[str], Report]) -> None:
    wildcard_report = express_reports("wildcard")
    expect(wildcard_report, "cors.wildcard-credentials", "fail")
    allowlist_report = express_reports("allowlist")
    expect(allowlist_report, "cors.wildcard-credentials", "pass")


def test_express_public_wildcard_is_an_informational_pass(express_reports: Callable[[str], Report]) -> None:
    report = express_reports("public")
    [result] = expect(report, "cors.reflected-origin", "pass")
    assert result.severity is Severity.INFO and "without credentials" in result.detail
    expect(report, "cors.wildcard-credentials", "pass")


def test_no_host_to_build_lookalikes_is_a_skip(flask_reports: Callable[[str], Report]) -> None:
    with serve_wsgi(flask_app("hardened")) as url:
        report = _cors(url, {})
    [result] = results_for(report, "cors.origin-bypass")
    assert result.status.value == "skip" and "trusted_origins" in result.detail


def test_trusted_origins_must_be_origins() -> None:
    with pytest.raises(ConfigError, match=r"cors\.trusted_origins"):
        scan("http://127.0.0.1:9", only=["cors"], cors={"trusted_origins": ["https://app.example.test/path"]})


def test_lookalikes_of_a_domain() -> None:
    found = {(v.variant, v.origin) for v in lookalikes("https://example.com")}
    assert ("suffix", "https://evil-example.com") in found
    assert ("prefix", "https://example.com.probe-attacker.example") in found
    assert ("regex-dot", "https://examplexcom") in found
    assert ("insecure-scheme", "http://example.com") in found
    assert lookalikes("http://127.0.0.1:8000") == []


@given(st.dictionaries(st.sampled_from(["access-control-allow-origin", "access-control-allow-credentials", "vary",
                                        "access-control-allow-methods"]), st.lists(st.text(max_size=40), max_size=3)))
def test_parse_cors_never_raises(headers: dict[str, list[str]]) -> None:
    parsed = parse_cors(lambda name: headers.get(name, []))
    assert parsed.allow_origin is None or "," not in parsed.allow_origin


def test_parse_cors_two_origins_grant_nothing() -> None:
    values = {"access-control-allow-origin": ["https://a.test", "https://b.test"],
              "access-control-allow-credentials": ["True"]}
    parsed = parse_cors(lambda name: values.get(name, []))
    assert parsed.allow_origin is None and parsed.invalid and not parsed.allow_credentials


def test_skips_with_trusted_origins_set_never_ask_to_set_them() -> None:
    """A trusted origin without a domain name (a dev front end on localhost) leaves no look-alikes to build and
    no http:// twin: the skips say so, and do not tell the user to set what is already set."""
    from flask import Flask
    from flask_cors import CORS

    app = Flask("local-front-end")
    CORS(app, origins=["http://localhost:5173"], supports_credentials=True)

    @app.get("/api/items")
    def items() -> list[int]:
        return [1]

    with serve_wsgi(app) as url:
        report = scan(url, only=["cors"], cors={"trusted_origins": ["http://localhost:5173"]}, routes=["/api/items"])
    for check_id in ("cors.origin-bypass", "cors.insecure-scheme"):
        [skipped] = expect(report, check_id, "skip")
        assert "localhost:5173" in skipped.detail
        assert "set [cors]" not in skipped.detail
    expect(report, "cors.reflected-origin", "pass")
