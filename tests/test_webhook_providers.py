"""Our signer, judged by the providers' own code: every signature we produce is verified by the provider's
SDK (stripe, standardwebhooks, svix, slack_sdk, twilio, PyNaCl), or by the provider's published test
vector. The same SDKs refuse the tampered and stale variants the checks send."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

import pytest
import standardwebhooks
import stripe
import svix.webhooks
from hypothesis import given
from hypothesis import strategies as st
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from pydantic import ValidationError
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

from probe.checks.webhook import WebhookTarget
from probe.checks.webhook.providers import (
    MARKER,
    PROVIDERS,
    TAMPERED_MARKER,
    Event,
    Scheme,
    SecretFormatError,
    key_bytes,
    provider_for_path,
    public_key_hex,
    sign,
    signed_message,
    wrong_secret,
)

URL = "https://example.test/api/webhooks/probe"


def whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def event_for(name: str, ts: int | None = None) -> Event:
    return PROVIDERS[name].build(secrets.token_hex(12), int(time.time()) if ts is None else ts)


def signed(name: str, secret: str, ts: int | None = None) -> tuple[Event, dict[str, str]]:
    event = event_for(name, ts)
    return event, sign(PROVIDERS[name].scheme, secret, event, URL)


def test_every_event_is_marked_and_tamperable() -> None:
    for name in PROVIDERS:
        event = event_for(name)
        assert MARKER.encode() in event.body, name
        assert TAMPERED_MARKER.encode() in event.tampered().body, name
        assert event.tampered().body != event.body


def test_stripe_sdk_verifies_our_signature() -> None:
    secret = "whsec_" + secrets.token_hex(16)
    event, headers = signed("stripe", secret)
    constructed = stripe.Webhook.construct_event(event.body, headers["Stripe-Signature"], secret)
    assert constructed["type"] == "probe.test_event"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(event.tampered().body, headers["Stripe-Signature"], secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(event.body, headers["Stripe-Signature"], wrong_secret(PROVIDERS["stripe"].scheme))


def test_stripe_sdk_refuses_our_replay_only_for_its_timestamp() -> None:
    secret = "whsec_" + secrets.token_hex(16)
    event, headers = signed("stripe", secret, ts=int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(event.body, headers["Stripe-Signature"], secret)
    stripe.Webhook.construct_event(event.body, headers["Stripe-Signature"], secret, tolerance=None)  # type: ignore[arg-type]


def test_standardwebhooks_sdk_verifies_our_signature() -> None:
    secret = whsec()
    event, headers = signed("standard-webhooks", secret)
    assert standardwebhooks.Webhook(secret).verify(event.body, headers)["type"] == "probe.test_event"
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(event.tampered().body, headers)
    old, old_headers = signed("standard-webhooks", secret, ts=int(time.time()) - 3600)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError, match="too old"):
        standardwebhooks.Webhook(secret).verify(old.body, old_headers)


@pytest.mark.parametrize("name", ["svix", "clerk", "resend"])
def test_svix_sdk_verifies_our_signature(name: str) -> None:
    secret = whsec()
    event, headers = signed(name, secret)
    assert set(headers) == {"svix-id", "svix-timestamp", "svix-signature"}
    svix.webhooks.Webhook(secret).verify(event.body, headers)
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(wrong_secret(PROVIDERS[name].scheme)).verify(event.body, headers)


def test_slack_sdk_verifies_our_signature() -> None:
    secret = secrets.token_hex(16)
    event, headers = signed("slack", secret)
    verifier = SignatureVerifier(secret)
    assert verifier.is_valid_request(event.body, headers)
    assert not verifier.is_valid_request(event.tampered().body, headers)
    old, old_headers = signed("slack", secret, ts=int(time.time()) - 3600)
    assert not verifier.is_valid_request(old.body, old_headers)
    assert verifier.is_valid(old.body, old_headers["X-Slack-Request-Timestamp"], old_headers["X-Slack-Signature"]) is False


def test_twilio_sdk_verifies_our_signature() -> None:
    token = secrets.token_hex(16)
    event, headers = signed("twilio", token)
    params = dict(parse_qsl(event.body.decode()))
    validator = RequestValidator(token)
    assert validator.validate(URL, params, headers["X-Twilio-Signature"])
    assert not validator.validate(URL, {**params, "Body": TAMPERED_MARKER}, headers["X-Twilio-Signature"])
    assert not validator.validate(URL + "?x=1", params, headers["X-Twilio-Signature"])


def test_pynacl_verifies_our_discord_signature() -> None:
    key = SigningKey.generate()
    private = bytes(key).hex()
    assert public_key_hex(private) == key.verify_key.encode().hex()
    event, headers = signed("discord", private)
    message = headers["X-Signature-Timestamp"].encode() + event.body
    VerifyKey(key.verify_key.encode()).verify(message, bytes.fromhex(headers["X-Signature-Ed25519"]))
    with pytest.raises(BadSignatureError):
        VerifyKey(key.verify_key.encode()).verify(headers["X-Signature-Timestamp"].encode() + event.tampered().body,
                                                  bytes.fromhex(headers["X-Signature-Ed25519"]))


def test_github_matches_the_documented_test_vector() -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    event = Event(b"Hello, World!", "text/plain", {}, "x", 0)
    headers = sign(PROVIDERS["github"].scheme, "It's a Secret to Everybody", event, URL)
    assert headers == {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("shopify", lambda key, body, ts: base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()),
        ("lemonsqueezy", lambda key, body, ts: hmac.new(key, body, hashlib.sha256).hexdigest()),
        ("paddle", lambda key, body, ts: f"ts={ts};h1=" + hmac.new(key, f"{ts}:".encode() + body, hashlib.sha256).hexdigest()),
    ],
)
def test_documented_hmac_schemes(name: str, expected: Any) -> None:
    # Shopify, Lemon Squeezy and Paddle publish the computation, not a Python SDK that verifies it.
    secret = secrets.token_hex(16)
    event, headers = signed(name, secret)
    assert headers[PROVIDERS[name].scheme.header] == expected(secret.encode(), event.body, event.timestamp)


def test_generic_scheme_signs_what_it_is_told() -> None:
    scheme = Scheme(header="X-Sig", template="sha1={signature}", signed="{id}:{timestamp}:{body}", algorithm="sha1",
                    encoding="base64", timestamp_header="X-Ts", id_header="X-Id")
    event = Event(b'{"a":1}', "application/json", {}, "evt_1", 1700000000)
    assert signed_message(scheme, event, URL) == b'evt_1:1700000000:{"a":1}'
    headers = sign(scheme, "k3y-value", event, URL)
    digest = base64.b64encode(hmac.new(b"k3y-value", b'evt_1:1700000000:{"a":1}', hashlib.sha1).digest()).decode()
    assert headers == {"X-Sig": f"sha1={digest}", "X-Ts": "1700000000", "X-Id": "evt_1"}


@given(st.binary(max_size=200))
def test_signed_message_keeps_any_body_verbatim(body: bytes) -> None:
    scheme = PROVIDERS["stripe"].scheme
    event = Event(body, "application/json", {}, "id", 5)
    assert signed_message(scheme, event, URL) == b"5." + body


def test_secret_formats() -> None:
    standard = PROVIDERS["standard-webhooks"].scheme
    with pytest.raises(SecretFormatError):
        key_bytes(standard, "whsec_not base64!!")
    with pytest.raises(SecretFormatError):
        key_bytes(PROVIDERS["discord"].scheme, "abcd")
    assert len(key_bytes(standard, whsec())) == 24
    for name, provider in PROVIDERS.items():
        assert key_bytes(provider.scheme, wrong_secret(provider.scheme)), name


def test_provider_for_path() -> None:
    assert provider_for_path("/api/webhooks/stripe") is PROVIDERS["stripe"]
    assert provider_for_path("/api/webhooks/lemon-squeezy") is PROVIDERS["lemonsqueezy"]
    assert provider_for_path("/api/webhooks") is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "/h", "provider": "stripey"}, "not one of"),
        ({"path": "h", "provider": "stripe"}, "must start with /"),
        ({"path": "/h", "provider": "generic-hmac"}, "needs header"),
        ({"path": "/h", "provider": "stripe", "header": "X-Sig"}, "only apply to provider"),
        ({"path": "/h", "provider": "svix", "secret": "whsec_***"}, "base64"),
        ({"path": "/h", "provider": "generic-hmac", "header": "X", "signed": "{timestamp}.{body}"}, "timestamp_header"),
    ],
)
def test_config_errors_name_the_problem(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WebhookTarget.model_validate(entry)


def test_config_generic_target() -> None:
    target = WebhookTarget.model_validate({"path": "/h", "provider": "generic-hmac", "header": "X-Sig",
                                           "signed": "{timestamp}.{body}", "timestamp_header": "X-Ts"})
    assert target.preset().tolerance == 300
    assert target.surface_routes() == ["/h"]
