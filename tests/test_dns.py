"""The dns family against an authoritative DNS server on loopback (dnspython, real DNS messages over UDP and
TCP) serving test zones: `vuln.test` and its variants hold the mistakes, `good.test` is the hardened twin.
No test queries a public resolver: every scan names the loopback server as `[dns] resolver`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.dns import server, zones
from fixtures.serve import serve_wsgi
from fixtures.tls import page_app
from probe.config import ConfigError
from probe.model import Report, Severity, Status
from tests.helpers import expect, results_for, scan

DNS_CHECKS = ("dns.dangling-cname", "dns.caa-missing", "dns.spf", "dns.dmarc", "dns.mx")


@pytest.fixture(scope="module")
def resolver() -> Iterator[str]:
    with server.serve(zones.ZONES) as address:
        yield address


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """Any reachable target: the dns checks look at names, and the target here is an IP address."""
    with serve_wsgi(page_app()) as url:
        yield url


def dns_scan(site: str, resolver: str, *, hosts: tuple[str, ...] = (), email_domain: str | None = None,
             only: tuple[str, ...] = ("dns",), **overrides: Any) -> Report:
    config: dict[str, object] = {"resolver": resolver, "hosts": list(hosts)}
    if email_domain:
        config["email_domain"] = email_domain
    return scan(site, only=only, dns=config, **overrides)


def test_vulnerable_zone_fails_every_dns_check(site: str, resolver: str) -> None:
    report = dns_scan(site, resolver, hosts=("shop.vuln.test", "app.vuln.test"), email_domain=zones.VULNERABLE)
    [dangling] = expect(report, "dns.dangling-cname", "fail")
    assert dangling.location == "dns:shop.vuln.test"
    assert dangling.kind == "unclaimed:Microsoft Azure"
    assert dangling.evidence["cname_chain"] == ["shop.vuln.test", "gone-shop.azurewebsites.net"]
    assert dangling.evidence["status"] == "NXDOMAIN"
    assert dangling.evidence["reproduce"].startswith("dig @127.0.0.1 -p ")
    assert [r.status for r in results_for(report, "dns.dangling-cname")].count(Status.PASS) == 1  # app.vuln.test
    expect(report, "dns.caa-missing", "fail")
    [spf] = expect(report, "dns.spf", "fail")
    assert spf.kind == "pass-all" and spf.severity is Severity.HIGH
    [dmarc] = expect(report, "dns.dmarc", "fail")
    assert dmarc.kind == "p-none" and dmarc.severity is Severity.LOW
    [mx] = expect(report, "dns.mx", "fail")
    assert mx.kind == "missing" and mx.severity is Severity.INFO


def test_hardened_zone_passes_every_dns_check(site: str, resolver: str) -> None:
    report = dns_scan(site, resolver, hosts=("www.good.test", "app.good.test"), email_domain=zones.HARDENED)
    expect(report, "dns.dangling-cname", "pass")
    expect(report, "dns.caa-missing", "pass")
    expect(report, "dns.spf", "pass")
    expect(report, "dns.dmarc", "pass")
    expect(report, "dns.mx", "pass")
    # Queries are shared (one resolver per run, answers cached): A + CAA per host and the apex, SPF (+1
    # include), DMARC, MX and the MX host's A.
    assert report.requests_by_family["dns"] <= 12, report.requests_by_family
    assert report.requests_sent == report.requests_by_family["dns"] + 1  # + the target's page


def test_email_domain_defaults_to_the_zone_of_the_first_name(site: str, resolver: str) -> None:
    report = dns_scan(site, resolver, hosts=("app.good.test",))
    [spf] = expect(report, "dns.spf", "pass")
    assert spf.location == "dns:good.test"
    [dmarc] = expect(report, "dns.dmarc", "pass")
    assert dmarc.location == "dns:_dmarc.good.test"


def test_missing_spf_and_dmarc(site: str, resolver: str) -> None:
    report = dns_scan(site, resolver, email_domain=zones.NO_EMAIL_RECORDS)
    assert expect(report, "dns.spf", "fail")[0].kind == "missing"
    assert expect(report, "dns.dmarc", "fail")[0].kind == "missing"
    expect(report, "dns.dangling-cname", "skip")  # no names configured, and the target is an IP address


def test_spf_with_too_many_lookups(site: str, resolver: str) -> None:
    report = dns_scan(site, resolver, email_domain=zones.MANY_LOOKUPS)
    [spf] = expect(report, "dns.spf", "fail")
    assert spf.kind == "too-many-lookups" and spf.evidence["lookups"] == 15
    expect(report, "dns.dmarc", "pass")  # p=quarantine
    expect(report, "dns.mx", "pass")


def test_null_mx_is_a_deliberate_no_mail_domain(site: str, resolver: str) -> None:
    report = dns_scan(site, resolver, email_domain=zones.NULL_MX)
    [mx] = expect(report, "dns.mx", "pass")
    assert "null MX" in mx.detail
    expect(report, "dns.spf", "pass")  # v=spf1 -all


def test_cname_chain_followed_across_an_authoritative_only_server(site: str) -> None:
    with server.serve(zones.ZONES, chase_across_zones=False) as edge:
        report = dns_scan(site, edge, hosts=("shop.vuln.test", "www.good.test"), email_domain=zones.HARDENED)
    found = {r.location: r for r in results_for(report, "dns.dangling-cname")}
    assert found["dns:shop.vuln.test"].status is Status.FAIL
    assert found["dns:www.good.test"].status is Status.PASS


def test_ip_target_skips_with_the_reason(site: str) -> None:
    report = scan(site, only=["dns"])
    for check_id in DNS_CHECKS:
        [result] = expect(report, check_id, "skip")
        assert "IP address" in result.detail
    assert report.requests_by_family.get("dns", 0) == 0


def test_dns_timeout_is_a_clear_per_check_error(site: str) -> None:
    with server.silent() as mute:
        report = dns_scan(site, mute, hosts=("app.vuln.test",), email_domain=zones.VULNERABLE, timeout=0.5)
    for check_id in DNS_CHECKS:
        [result] = results_for(report, check_id)
        assert result.status is Status.ERROR, (check_id, result)
        assert f"to {mute}: no answer within 0.5 s" in result.detail


def test_bad_resolver_setting_is_a_config_error(site: str) -> None:
    with pytest.raises(ConfigError, match=r"dns\.resolver"):
        scan(site, only=["dns"], dns={"resolver": "dns.example.com"})


def test_page_signal_provider_judged_on_the_targets_own_page() -> None:
    """Services whose takeover signal is their default page: the table and the matcher."""
    from probe.checks.dns.takeover import NXDOMAIN, PROVIDERS, provider_for

    github = provider_for("acme.github.io.")
    assert github is not None and github.signal == "There isn't a GitHub Pages site here."
    assert provider_for("notgithub.io") is None
    assert provider_for("x.y.azurewebsites.net") is not None
    assert all(p.source.startswith("https://") for p in PROVIDERS)
    assert {p.signal == NXDOMAIN for p in PROVIDERS} == {True, False}
    assert {p.status for p in PROVIDERS} == {"vulnerable", "edge case"}


def test_spf_helpers() -> None:
    from probe.checks.dns import dmarc_tags, spf_all, spf_records, spf_terms

    assert spf_records(("v=spf1 -all", "v=spf10 x", "google-site-verification=1", "V=SPF1 mx")) == ["v=spf1 -all",
                                                                                                      "V=SPF1 mx"]
    assert spf_all("v=spf1 mx all") == "+"
    assert spf_all("v=spf1 mx ~all") == "~"
    assert spf_all("v=spf1 mx") is None
    assert spf_terms("v=spf1   a  mx ") == ["a", "mx"]
    assert dmarc_tags("v=DMARC1; p=reject; p=none; rua=mailto:x") == {"v": "DMARC1", "p": "reject", "rua": "mailto:x"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_email_record_parsers_never_raise(text: str) -> None:
    from probe.checks.dns import dmarc_tags, spf_all, spf_records, spf_terms

    spf_records((text,))
    spf_all(text)
    spf_terms(text)
    dmarc_tags(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_resolver_setting_parser_raises_only_value_error(text: str) -> None:
    from probe.resolver import parse_nameserver

    try:
        ip, port = parse_nameserver(text)
    except ValueError:
        return
    assert 0 < port < 65536 and ip


def test_cname_loop_is_an_error_not_a_hang(site: str) -> None:
    loop = {"loop.test": zones.zone("loop.test", "a 300 IN CNAME b.loop.test.\nb 300 IN CNAME a.loop.test.\n")}
    with server.serve(loop) as address:
        report = dns_scan(site, address, hosts=("a.loop.test",), email_domain="loop.test")
    [result] = expect(report, "dns.dangling-cname", "error")
    assert "CNAME chain longer than" in result.detail


def test_garbage_answers_are_an_error(site: str) -> None:
    import socket
    import threading

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3)

    def reply_garbage() -> None:
        # The query's id and "a response" flags, then nonsense: accepted as the answer, unparsable.
        try:
            data, peer = sock.recvfrom(4096)
        except OSError:
            return
        sock.sendto(data[:2] + b"\x81\x80\xff\xff garbage", peer)

    thread = threading.Thread(target=reply_garbage, daemon=True)
    thread.start()
    try:
        report = dns_scan(site, f"127.0.0.1:{sock.getsockname()[1]}", hosts=("app.vuln.test",), only=("dns.dangling-cname",),
                          timeout=1)
    finally:
        sock.close()
        thread.join(timeout=5)
    [result] = expect(report, "dns.dangling-cname", "error")
    assert "app.vuln.test A" in result.detail
