"""The tls family against real HTTPS servers on loopback (Werkzeug + Flask, Starlette's real
HTTPSRedirectMiddleware), with certificates made by `cryptography` at test time. Each certificate case has
its own server; the good certificate, signed by a test CA the probe is told to trust, is the hardened twin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fixtures.serve import serve_asgi, serve_wsgi
from fixtures.tls import Pki, make_pki, page_app, plain_http_app, serve_https
from probe.model import Report, Severity, Status
from probe.runner import TargetUnreachable
from tests.helpers import expect, results_for, scan

CERT_CHECKS = ("tls.expired", "tls.expiring", "tls.hostname", "tls.untrusted", "tls.weak-key", "tls.weak-signature")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def servers(pki: Pki) -> Iterator[dict[str, str]]:
    """One HTTPS server per certificate case, plus the two plain-HTTP sides and the hardened/vulnerable pages."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve_https(page_app(), pki[name])) for name in pki.certs}
        urls["hardened"] = urls["good"]
        urls["vulnerable"] = stack.enter_context(serve_https(page_app(insecure_assets=True), pki["good"],
                                                             old_protocols=True))
        urls["http-redirect"] = stack.enter_context(serve_asgi(plain_http_app(redirect=True)))
        urls["http-plain"] = stack.enter_context(serve_asgi(plain_http_app(redirect=False)))
        yield urls


def tls_scan(url: str, pki: Pki, *, trust: bool = True, **overrides: Any) -> Report:
    if trust:
        overrides["ca_bundle"] = str(pki.ca)
    return scan(url, only=["tls"], **overrides)


def unreachable_scan(url: str, pki: Pki, *, trust: bool = True) -> tuple[Report, str]:
    """A certificate httpx refuses makes the target unreachable (exit 3); the report keeps the failures of the
    checks that diagnose it below HTTP, and nothing else."""
    with pytest.raises(TargetUnreachable) as caught:
        tls_scan(url, pki, trust=trust)
    return caught.value.report, str(caught.value)


def failing(report: Report) -> set[str]:
    assert all(r.status is Status.FAIL for r in report.results), report.results
    return {r.check for r in report.results}


def with_http(url: str, http_url: str) -> dict[str, Any]:
    return {"scope": ["localhost", "127.0.0.1"], "tls": {"http_url": http_url + "/"}}


def test_hardened_site_passes_every_tls_check(servers: dict[str, str], pki: Pki) -> None:
    report = tls_scan(servers["hardened"], pki, **with_http(servers["hardened"], servers["http-redirect"]))
    expect(report, "tls.expired", "pass")
    expect(report, "tls.expiring", "pass")
    expect(report, "tls.hostname", "pass")
    expect(report, "tls.untrusted", "pass")
    expect(report, "tls.weak-key", "pass")
    expect(report, "tls.weak-signature", "pass")
    expect(report, "tls.old-protocol", "pass")
    expect(report, "tls.mixed-content", "pass")
    expect(report, "tls.no-https-redirect", "pass")
    # page (1) + one verified handshake + two pinned ones + one plain-HTTP request
    assert report.requests_sent == 5, report.requests_by_family
    assert report.requests_by_family["tls"] == 4


def test_vulnerable_site_fails_protocol_mixed_content_and_redirect(servers: dict[str, str], pki: Pki) -> None:
    report = tls_scan(servers["vulnerable"], pki, **with_http(servers["vulnerable"], servers["http-plain"]))
    old = expect(report, "tls.old-protocol", "fail")[0]
    assert old.kind == "accepted:TLS 1.0,TLS 1.1"
    mixed = expect(report, "tls.mixed-content", "fail")[0]
    assert mixed.kind == "mixed:form,script,stylesheet"  # the http:// image is left to the browser's upgrade
    expect(report, "tls.no-https-redirect", "fail")
    for check_id in CERT_CHECKS:
        expect(report, check_id, "pass")


def test_plain_http_target_without_redirect_fails(servers: dict[str, str], pki: Pki) -> None:
    target = servers["http-plain"]
    report = tls_scan(target, pki, tls={"http_url": target})
    [result] = expect(report, "tls.no-https-redirect", "fail")
    assert result.evidence["response"]["status"] == 200
    expect(report, "tls.expired", "skip")
    expect(report, "tls.mixed-content", "skip")
    assert report.requests_sent == 1  # the page the surface fetched anyway


def test_plain_http_loopback_target_is_left_to_the_deployment(servers: dict[str, str], pki: Pki) -> None:
    report = tls_scan(servers["http-plain"], pki)
    [result] = expect(report, "tls.no-https-redirect", "skip")
    assert "loopback" in result.detail


def test_redirect_check_skips_when_plain_http_is_out_of_scope(servers: dict[str, str], pki: Pki) -> None:
    report = tls_scan(servers["hardened"], pki)
    [result] = expect(report, "tls.no-https-redirect", "skip")
    assert "outside the scope" in result.detail


def test_expired_certificate(servers: dict[str, str], pki: Pki) -> None:
    report, message = unreachable_scan(servers["expired"], pki)
    assert "certificate has expired" in message
    [result] = expect(report, "tls.expired", "fail")
    assert result.kind == "expired" and "openssl s_client" in result.evidence["reproduce"]
    # The CA is trusted and the name is right: the dates are the only problem reported.
    assert failing(report) == {"tls.expired"}


def test_not_yet_valid_certificate(servers: dict[str, str], pki: Pki) -> None:
    report, _ = unreachable_scan(servers["not-yet-valid"], pki)
    [result] = expect(report, "tls.expired", "fail")
    assert result.kind == "not-yet-valid"
    assert failing(report) == {"tls.expired"}


def test_expiring_certificate(servers: dict[str, str], pki: Pki) -> None:
    report = scan(servers["expiring"], only=["tls.expiring"], ca_bundle=str(pki.ca))
    [result] = expect(report, "tls.expiring", "fail")
    assert result.kind == "imminent" and result.severity is Severity.HIGH
    report = scan(servers["expiring-soon"], only=["tls.expiring"], ca_bundle=str(pki.ca))
    [soon] = expect(report, "tls.expiring", "fail")
    assert soon.kind == "soon" and soon.severity is Severity.LOW
    relaxed = scan(servers["expiring-soon"], only=["tls.expiring"], ca_bundle=str(pki.ca),
                   tls={"expiry_fail_days": 3, "expiry_warn_days": 10})
    expect(relaxed, "tls.expiring", "pass")


def test_wrong_host_certificate(servers: dict[str, str], pki: Pki) -> None:
    report, message = unreachable_scan(servers["wrong-host"], pki)
    assert "certificate" in message
    [result] = expect(report, "tls.hostname", "fail")
    assert "wrong-host.example.test" in result.detail
    assert failing(report) == {"tls.hostname"}


def test_self_signed_certificate(servers: dict[str, str], pki: Pki) -> None:
    report, _ = unreachable_scan(servers["self-signed"], pki)
    [result] = expect(report, "tls.untrusted", "fail")
    assert result.kind == "self-signed"
    assert failing(report) == {"tls.untrusted"}


def test_certificate_from_an_untrusted_ca(servers: dict[str, str], pki: Pki) -> None:
    report, _ = unreachable_scan(servers["good"], pki, trust=False)
    [result] = expect(report, "tls.untrusted", "fail")
    assert result.kind == "unknown-issuer" and "system's CA store" in result.detail
    assert failing(report) == {"tls.untrusted"}


def test_weak_key_certificate(servers: dict[str, str], pki: Pki) -> None:
    report, _ = unreachable_scan(servers["weak-key"], pki)
    [result] = expect(report, "tls.weak-key", "fail")
    assert result.kind == "rsa-1024"
    assert failing(report) == {"tls.weak-key"}


def test_sha1_certificate(servers: dict[str, str], pki: Pki) -> None:
    report, _ = unreachable_scan(servers["sha1"], pki)
    [result] = expect(report, "tls.weak-signature", "fail")
    assert result.kind == "sha1"
    assert failing(report) == {"tls.weak-signature"}


def test_handshake_failure_is_one_clear_line(pki: Pki) -> None:
    """An https:// URL whose server speaks plain HTTP: the scan exits 3 with the reason, the report holds no
    noise, and the handshake itself fails with a readable message (a per-check error when a check meets it)."""
    import asyncio
    import time

    from probe.handshake import peer
    from probe.http import HttpClient, RequestFailed, Scope, ScopedHttp
    from probe.redact import Redactor

    with serve_wsgi(page_app()) as plain:
        url = plain.replace("http://", "https://")
        report, message = unreachable_scan(url, pki)
        assert "TLS" in message and not report.results

        async def handshake() -> None:
            client = HttpClient(scope=Scope(url), redactor=Redactor(()), user_agent="t", max_requests=5, rate=50,
                                timeout=2, max_bytes=10_000, per_host=2, deadline=time.monotonic() + 10)
            try:
                with pytest.raises(RequestFailed, match=r"TLS handshake with 127\.0\.0\.1:\d+ failed: "):
                    await peer(ScopedHttp(client, "tls", url), url, None)
                assert client.by_family["tls"] == 1
            finally:
                await client.aclose()

        asyncio.run(handshake())


def test_handshakes_count_against_the_budget(servers: dict[str, str], pki: Pki) -> None:
    report = scan(servers["hardened"], only=["tls.old-protocol"], ca_bundle=str(pki.ca), max_requests=2)
    [result] = results_for(report, "tls.old-protocol")
    assert result.status.value == "error" and "budget" in result.detail


def test_certificate_parser_never_raises_on_garbage() -> None:
    from probe.handshake import parse_certificate

    for blob in (b"", b"\x30\x03\x02\x01\x00", b"not a certificate" * 10, bytes(range(256))):
        facts = parse_certificate(blob)
        assert facts.error


def test_host_matching_rules() -> None:
    from probe.handshake import Certificate, host_matches

    cert = Certificate(dns_names=("example.com", "*.example.com"), ip_addresses=("127.0.0.1",))
    assert host_matches(cert, "example.com")
    assert host_matches(cert, "WWW.example.com.")
    assert not host_matches(cert, "a.b.example.com")  # a wildcard covers one label
    assert not host_matches(cert, "example.org")
    assert host_matches(cert, "127.0.0.1")
    assert not host_matches(cert, "127.0.0.2")
    assert not host_matches(Certificate(dns_names=("*.com",)), "example.com")  # no wildcard over a public suffix


def test_mixed_content_parser() -> None:
    from probe.checks.tls import mixed_content

    html = ('<script src="HTTP://a.test/x.js"></script><link rel="preload stylesheet" href="http://a.test/s.css">'
            '<link rel="icon" href="http://a.test/i.ico"><iframe src="//a.test/f"></iframe><form action="/login">'
            '<img src="http://a.test/i.png"><script src="http://')
    found = mixed_content(html, "https://site.test/")
    assert ("script", "HTTP://a.test/x.js") in found
    assert ("stylesheet", "http://a.test/s.css") in found
    assert all(tag in ("script", "stylesheet") for tag, _ in found)
