"""The webhook ids against real Flask receivers (fixtures/webhooks) for every provider preset: each id fails
on a vulnerable twin (accepts anything; checks only the header's presence; verifies the signature but
not the timestamp) and passes on the twin that verifies with the provider's SDK. Then the demo app,
configured through its probe.toml and found by discovery without one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest

from fixtures.serve import serve_wsgi
from fixtures.webhooks.app import PROVIDERS as RECEIVERS
from fixtures.webhooks.app import ReceiverSecrets, create_app
from probe import api, registry
from probe.checks.webhook import CONTROL_REJECTED
from probe.checks.webhook.providers import PROVIDERS
from probe.demo import Demo
from probe.model import Confidence, Report, Severity, Status
from tests.helpers import ROOT, expect, results_for, scan

REGISTRY = registry.build(["probe.checks.webhook"])
DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
TIMESTAMPED = tuple(p for p in RECEIVERS if p == "generic-hmac" or PROVIDERS[p].tolerance is not None)
IDS = ("webhook.unsigned-accepted", "webhook.bad-signature-accepted", "webhook.tampered-accepted",
       "webhook.replay-accepted")


def scan_hooks(url: str, webhooks: list[dict[str, Any]], mode: str = "active") -> Report:
    """A scan with only the webhook module loaded, so these tests do not depend on the other families."""
    return api.execute(api.plan(target=url, registry=REGISTRY, environ={},
                                overrides={"mode": mode, "rate": 500, "webhooks": webhooks}))


def provider_of(location: str) -> str:
    return location.rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[ReceiverSecrets, str]]:
    keys = ReceiverSecrets.generate()
    with serve_wsgi(create_app(keys)) as url:
        yield keys, url


@pytest.fixture(scope="module")
def reports(receivers: tuple[ReceiverSecrets, str]) -> dict[str, Report]:
    keys, url = receivers
    out = {mode: scan_hooks(url, keys.config("", mode)) for mode in ("open", "presence", "no-timestamp", "hardened")}
    out["hardened-timestamped"] = scan_hooks(url, keys.config("", "hardened", TIMESTAMPED))
    return out


def test_accept_anything_twin_fails_every_id(reports: dict[str, Report]) -> None:
    report = reports["open"]
    for check_id in IDS:
        expect(report, check_id, "fail")
    assert {provider_of(r.location) for r in expect(report, "webhook.unsigned-accepted", "fail")} == set(RECEIVERS)
    assert {provider_of(r.location) for r in expect(report, "webhook.tampered-accepted", "fail")} == set(RECEIVERS)
    failed = expect(report, "webhook.unsigned-accepted", "fail")[0]
    assert failed.kind == "accepted" and failed.evidence["response"]["status"] == 200
    assert "probe-test-event" in failed.evidence["request"]["body_excerpt"]
    assert failed.remediation


def test_header_presence_twin_fails_bad_signature_and_tampering(reports: dict[str, Report]) -> None:
    report = reports["presence"]
    expect(report, "webhook.unsigned-accepted", "pass")
    expect(report, "webhook.bad-signature-accepted", "fail")
    expect(report, "webhook.tampered-accepted", "fail")
    expect(report, "webhook.replay-accepted", "fail")
    stripe = next(r for r in expect(report, "webhook.bad-signature-accepted", "fail") if "stripe" in r.location)
    assert "construct_event" in stripe.remediation


def test_signature_without_timestamp_twin_fails_replay(reports: dict[str, Report]) -> None:
    report = reports["no-timestamp"]
    expect(report, "webhook.unsigned-accepted", "pass")
    expect(report, "webhook.bad-signature-accepted", "pass")
    expect(report, "webhook.tampered-accepted", "pass")
    replayed = expect(report, "webhook.replay-accepted", "fail")
    assert {provider_of(r.location) for r in replayed} == set(TIMESTAMPED)
    paddle = next(r for r in replayed if "paddle" in r.location)
    assert "tolerance 5 s" in paddle.detail


def test_sdk_verifying_twin_passes_every_id(reports: dict[str, Report]) -> None:
    report = reports["hardened"]
    expect(report, "webhook.unsigned-accepted", "pass")
    expect(report, "webhook.bad-signature-accepted", "pass")
    expect(report, "webhook.tampered-accepted", "pass")
    timestamped = reports["hardened-timestamped"]
    expect(timestamped, "webhook.replay-accepted", "pass")
    for result in results_for(report, "webhook.unsigned-accepted"):
        assert result.confidence is Confidence.HIGH and "control event was accepted" in result.detail
    skipped = {provider_of(r.location): r.detail for r in results_for(report, "webhook.replay-accepted")
               if r.status is Status.SKIP}
    assert set(skipped) == {"github", "shopify", "twilio", "lemonsqueezy", "discord"}
    assert "no tolerance window" in skipped["discord"]
    # At most five requests per receiver: control, unsigned, wrong secret, tampered, replay.
    assert report.requests_sent <= 1 + 5 * len(RECEIVERS)


def test_crash_on_bad_signature_is_info(receivers: tuple[ReceiverSecrets, str]) -> None:
    keys, url = receivers
    report = scan_hooks(url, keys.config("", "crashy", ("stripe",)))
    crashed = expect(report, "webhook.bad-signature-accepted", "fail")[0]
    assert crashed.severity is Severity.INFO and crashed.kind == "crashed"
    assert "rejected by crashing" in crashed.detail and crashed.evidence["response"]["status"] == 500


def test_rejected_control_is_an_error_never_a_pass(receivers: tuple[ReceiverSecrets, str]) -> None:
    _, url = receivers
    entry = {"path": "/hardened/hooks/stripe", "provider": "stripe", "secret": "whsec_" + "0" * 32}
    report = scan_hooks(url, [entry])
    for check_id in IDS:
        errors = expect(report, check_id, "error")
        assert CONTROL_REJECTED in errors[0].detail
    assert report.requests_sent <= 4  # page, control, unsigned, wrong secret: no tampered/replay after a refusal


def test_without_secrets_only_unsigned_and_wrong_signature_are_tested(receivers: tuple[ReceiverSecrets, str]) -> None:
    keys, url = receivers
    report = scan_hooks(url, keys.config("", "hardened", with_secrets=False))
    # Refused, but no signed control showed the route accepts genuine events: not tested, never a pass.
    for check_id in ("webhook.unsigned-accepted", "webhook.bad-signature-accepted"):
        results = results_for(report, check_id)
        assert results and all(r.status is Status.SKIP and "no correctly signed control event" in r.detail
                               for r in results)
    [stripe] = [r for r in results_for(report, "webhook.unsigned-accepted") if provider_of(r.location) == "stripe"]
    assert "add secret = " in stripe.detail and stripe.evidence["response"]["status"] == 400
    tampered = {provider_of(r.location): r for r in results_for(report, "webhook.tampered-accepted")}
    assert all(r.status is Status.SKIP for r in tampered.values())
    assert "needs the signing secret" in tampered["stripe"].detail
    assert "Ed25519 private key" in tampered["discord"].detail


def test_configured_secrets_never_reach_the_report(reports: dict[str, Report],
                                                   receivers: tuple[ReceiverSecrets, str]) -> None:
    keys, _ = receivers
    text = json.dumps([asdict(r) for r in reports["open"].results], default=str)
    for secret in keys.values.values():
        assert secret not in text


def test_passive_mode_sends_no_webhook(receivers: tuple[ReceiverSecrets, str]) -> None:
    keys, url = receivers
    report = scan_hooks(url, keys.config("", "open"), mode="passive")
    for check_id in IDS:
        assert "active check" in expect(report, check_id, "skip")[0].detail
    assert report.requests_by_family.get("webhook", 0) == 0


def test_unknown_route_is_a_configuration_error(receivers: tuple[ReceiverSecrets, str]) -> None:
    _, url = receivers
    report = scan_hooks(url, [{"path": "/nowhere/hooks/stripe", "provider": "stripe"}])
    assert "check the path" in expect(report, "webhook.unsigned-accepted", "error")[0].detail


def scan_demo(demo: Demo, config: bool = True) -> Report:
    return scan(demo.url, only=["webhook"], mode="active", config=DEMO_CONFIG if config else None, rate=500,
                environ={**demo.env, "DEMO_WORKDIR": str(demo.workdir)})


def test_demo_vulnerable_webhook(demo_vulnerable: Demo) -> None:
    report = scan_demo(demo_vulnerable)
    for check_id in IDS:
        expect(report, check_id, "fail")
    assert report.requests_by_family["webhook"] == 5


def test_demo_hardened_webhook(demo_hardened: Demo) -> None:
    report = scan_demo(demo_hardened)
    for check_id in IDS:
        expect(report, check_id, "pass")
    assert report.requests_by_family["webhook"] == 5


def test_discovery_finds_the_demo_receiver(demo_vulnerable: Demo, demo_hardened: Demo) -> None:
    vulnerable = scan_demo(demo_vulnerable, config=False)
    found = expect(vulnerable, "webhook.unsigned-accepted", "fail")
    assert [r.location.split("/", 3)[3] for r in found] == ["api/webhooks/stripe"]
    assert "add a [[webhooks]] entry" in expect(vulnerable, "webhook.tampered-accepted", "skip")[0].detail
    hardened = scan_demo(demo_hardened, config=False)
    [refused] = expect(hardened, "webhook.unsigned-accepted", "skip")
    assert "not tested: an unsigned test event was refused" in refused.detail and "add a [[webhooks]] entry" in refused.detail
    assert hardened.requests_by_family["webhook"] <= 12 + 3


def test_discovery_without_receivers_skips(receivers: tuple[ReceiverSecrets, str]) -> None:
    _, url = receivers
    report = scan_hooks(url, [])
    for check_id in IDS:
        assert "none of" in expect(report, check_id, "skip")[0].detail
