"""`Location`: a result's place parsed once (URL, route or name), and the key its fingerprint is made of, so a
baseline entry keeps matching the same place on every run and redaction templates a URL that still parses."""

from __future__ import annotations

import hashlib

import pytest

from probe.model import Confidence, Location, LocationKind, Result, Severity, Status
from probe.redact import Redactor


def result(location: str, kind: str = "") -> Result:
    return Result(check="headers.csp", status=Status.FAIL, severity=Severity.HIGH, title="t", location=location,
                  detail="d", confidence=Confidence.HIGH, kind=kind)


@pytest.mark.parametrize(("text", "kind"), [
    ("https://shop.example.com/cart?x=1", LocationKind.URL),
    ("/api/notes/{id}", LocationKind.ROUTE),
    ("env:production/STRIPE_SECRET_KEY", LocationKind.NAME),
    (".env.example", LocationKind.NAME),
    ("http://[masked 9 chars #0bcd5a1e]:8000/api", LocationKind.NAME),  # no host that parses: a name, as written
    ("http://example.com:99999/", LocationKind.NAME),  # a port out of range
])
def test_a_location_is_parsed_once_into_its_kind(text: str, kind: LocationKind) -> None:
    place = Location.parse(text)
    assert place.kind is kind and str(place) == text
    assert (place.parts is not None) == (kind is LocationKind.URL)


def test_one_place_is_one_key_across_runs() -> None:
    # A loopback test server's port changes every run; the query, fragment and a trailing slash name no other place.
    assert {Location.parse(t).key for t in ("http://127.0.0.1:8123/api/", "http://127.0.0.1/api?page=2#top")} == {
        "http://127.0.0.1/api"}
    assert Location.parse("HTTP://LOCALHOST:9000/api").key == "http://localhost/api"
    assert Location.parse("https://Shop.Example.com:443/").key == "https://shop.example.com/"
    assert Location.parse("https://shop.example.com:8443/").key == "https://shop.example.com:8443/"  # another server
    assert Location.parse("env:production/DEBUG").key == "env:production/DEBUG"


def test_fingerprints_are_those_baselines_already_hold() -> None:
    """The key is the normalisation fingerprints were always made of: existing baseline files keep matching."""
    def old(check: str, normalised: str, kind: str) -> str:
        return hashlib.sha256(f"{check}|{normalised}|{kind}".encode()).hexdigest()[:32]

    assert result("https://Shop.example.com:443/cart/?a=1", "missing").fingerprint == old(
        "headers.csp", "https://shop.example.com/cart", "missing")
    assert result("/api/login").fingerprint == old("headers.csp", "/api/login", "")
    assert result("http://[bad/api").fingerprint == old("headers.csp", "http://[bad/api", "")


def test_redaction_templates_a_url_location_and_keeps_it_a_url() -> None:
    redactor = Redactor(["s3cr3t-token-value"])
    templated = redactor.template_location("https://shop.example.com:8443/s3cr3t-token-value/x?k=s3cr3t-token-value")
    assert templated == "https://shop.example.com:8443/{secret}/x?k={secret}"
    assert Location.parse(templated).kind is LocationKind.URL
    assert redactor.template_location("env:s3cr3t-token-value") == "env:{secret}"
