"""The headers family against real Flask apps: the demo's twins, and an HTTPS Flask twin for the
checks that only mean something over TLS (HSTS, Secure cookies)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Response
from fastapi.responses import HTMLResponse
from flask import Flask, session
from werkzeug.serving import make_server

from fixtures.serve import serve_asgi
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


# --- documents: a JSON-only FastAPI API has no document to judge framing, CSP and Referrer-Policy on ---

DOCUMENT_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def fastapi_api(page: str | None) -> FastAPI:
    """A JSON API with its docs pages off (`docs_url=None`), answering its own JSON 404 at `/`. `page` adds one
    HTML route, bare ("bare") or with the document headers ("headed")."""
    app = FastAPI(docs_url=None, redoc_url=None)

    @app.get("/api/items")
    def items() -> list[dict[str, int]]:
        return [{"id": 1}]

    if page is not None:
        headers = DOCUMENT_HEADERS if page == "headed" else {}

        @app.get("/dashboard", response_class=HTMLResponse)
        def dashboard() -> HTMLResponse:
            return HTMLResponse("<!doctype html><html><body><h1>Dashboard</h1></body></html>", headers=headers)

    return app


DOCUMENT_CHECKS = ["headers.clickjacking", "headers.csp", "headers.referrer-policy"]


def test_json_only_api_skips_document_headers() -> None:
    with serve_asgi(fastapi_api(None)) as url:
        report = scan(url, only=DOCUMENT_CHECKS)
    for check_id in DOCUMENT_CHECKS:
        [skipped] = expect(report, check_id, "skip")
        assert "no HTML document found" in skipped.detail and "application/json" in skipped.detail
        assert "/docs" in skipped.detail


def test_api_html_page_without_headers_fails_with_evidence() -> None:
    with serve_asgi(fastapi_api("bare")) as url:
        report = scan(url, only=DOCUMENT_CHECKS)
    for check_id in DOCUMENT_CHECKS:
        [failed] = expect(report, check_id, "fail")
        # Judged on the page the OpenAPI document declares as text/html, not on the JSON 404 at the root.
        assert failed.location == f"{url}/dashboard"
        assert "judged on" in failed.detail and "404 application/json" in failed.detail
        response = failed.evidence["response"]
        assert response["headers"]["content-type"].startswith("text/html")
        assert "<h1>Dashboard</h1>" in response["body_excerpt"]


def test_api_html_page_with_headers_passes() -> None:
    with serve_asgi(fastapi_api("headed")) as url:
        report = scan(url, only=DOCUMENT_CHECKS)
    for check_id in DOCUMENT_CHECKS:
        [passed] = expect(report, check_id, "pass")
        assert passed.location == f"{url}/dashboard"


# --- cookie flags on the log-in responses ([login]), on a page that sets no cookie itself ---


def login_api(hardened: bool) -> FastAPI:
    app = FastAPI()

    @app.get("/")
    def index() -> dict[str, str]:
        return {"service": "accounts"}

    @app.post("/api/login")
    def login(response: Response) -> dict[str, str]:
        if hardened:
            response.set_cookie("session_id", "s3ss10n-value-for-tests", httponly=True, samesite="lax")
        else:
            response.set_cookie("session_id", "s3ss10n-value-for-tests", samesite=None)  # type: ignore[arg-type]
        return {"ok": "yes"}

    @app.get("/api/me")
    def me() -> dict[str, str]:
        return {"name": "alice"}

    return app


LOGIN = {"request": "POST /api/login", "json": {"email": "{username}", "password": "{password}"},
         "token": "cookie:session_id"}
ACCOUNTS = {"alice": {"username": "alice@example.com", "password": "correct horse battery"}}


def test_cookie_flags_judge_login_responses() -> None:
    with serve_asgi(login_api(False)) as url:
        vulnerable = scan(url, only=["headers.cookie-flags"], login=LOGIN, accounts=ACCOUNTS)
        unconfigured = scan(url, only=["headers.cookie-flags"])
    [failed] = expect(vulnerable, "headers.cookie-flags", "fail")
    assert failed.location == f"{url}/api/login#cookie:session_id"
    assert "HttpOnly" in failed.detail and "SameSite" in failed.detail
    [skipped] = expect(unconfigured, "headers.cookie-flags", "skip")
    assert "no account logs in through [login]" in skipped.detail
    with serve_asgi(login_api(True)) as url:
        hardened = scan(url, only=["headers.cookie-flags"], login=LOGIN, accounts=ACCOUNTS)
    [passed] = expect(hardened, "headers.cookie-flags", "pass")
    assert "/api/login" in passed.detail
