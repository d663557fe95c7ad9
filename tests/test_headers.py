"""The headers family against real Flask apps: the demo's twins, and an HTTPS Flask twin for the
checks that only mean something over TLS (HSTS, Secure cookies)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, session
from werkzeug.serving import make_server

from tests.helpers import expect, scan
from tests.tls_certs import make_ca_and_server


def test_demo_vulnerable_fails_page_headers(demo_vulnerable) -> None:  # type: ignore[no-untyped-def]
    report = scan(demo_vulnerable.url, only=["headers"])
    expect(report, "headers.csp", "fail")
    expect(report, "headers.content-type-options", "fail")
    expect(report, "headers.clickjacking", "fail")
    expect(report, "headers.referrer-policy", "fail")
    expect(report, "headers.version-disclosure", "fail")
    expect(report, "headers.hsts", "skip")
    assert report.requests_sent == 1


def test_demo_hardened_passes_page_headers(demo_hardened) -> None:  # type: ignore[no-untyped-def]
    report = scan(demo_hardened.url, only=["headers"])
    expect(report, "headers.csp", "pass")
    expect(report, "headers.content-type-options", "pass")
    expect(report, "headers.clickjacking", "pass")
    expect(report, "headers.referrer-policy", "pass")
    expect(report, "headers.version-disclosure", "pass")


def session_app(hardened: bool) -> Flask:
    app = Flask("sessions")
    app.secret_key = "test-only-" + ("h" if hardened else "v") * 24
    if hardened:
        app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE="Lax")

        @app.after_request
        def hsts(response):  # type: ignore[no-untyped-def]
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            return response

    @app.get("/")
    def index() -> str:
        session["visited"] = True
        return "<html><body>hi</body></html>"

    return app


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_ca_and_server(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=["vulnerable", "hardened"], scope="module")
def https_flask(request: pytest.FixtureRequest, tls_files: tuple[Path, Path, Path]) -> Iterator[tuple[str, str]]:
    _, cert, key = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = make_server("127.0.0.1", 0, session_app(request.param == "hardened"), threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield request.param, f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def test_https_twins_hsts_and_cookie_flags(https_flask: tuple[str, str], tls_files: tuple[Path, Path, Path]) -> None:
    mode, url = https_flask
    report = scan(url, only=["headers.hsts", "headers.cookie-flags"], ca_bundle=str(tls_files[0]))
    if mode == "vulnerable":
        expect(report, "headers.hsts", "fail")
        flagged = expect(report, "headers.cookie-flags", "fail")[0]
        assert "Secure" in flagged.detail and "SameSite" in flagged.detail
    else:
        expect(report, "headers.hsts", "pass")
        expect(report, "headers.cookie-flags", "pass")
