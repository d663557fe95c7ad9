"""Webhook providers' signing schemes as data, and the one signer that implements them all.

A provider is a row: which header carries the signature, what bytes are signed, how the digest is
encoded, how the secret is read, how long a timestamp stays valid, and what a benign test event looks
like. Adding a provider is adding a row. Each row names the documentation it follows; the tests check
our signer's output with the providers' own SDKs where one exists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# Every test event carries this marker in a field the receiver stores or logs, so an operator can
# find and discard it; the tampered variant swaps it for TAMPERED_MARKER after signing.
MARKER = "probe-test-event"
TAMPERED_MARKER = "probe-test-event-altered"

ALGORITHMS = ("sha1", "sha256", "sha512", "ed25519")
ENCODINGS = ("hex", "base64")
# How the configured secret becomes key bytes: as written (most providers), base64 after an optional
# `whsec_` prefix (Standard Webhooks / Svix), or a hex Ed25519 private key (Discord test apps).
KEY_FORMATS = ("utf8", "whsec", "ed25519-hex")

_PART = re.compile(r"\{(body|timestamp|id|url|params)\}")


class SecretFormatError(ValueError):
    """The configured secret cannot be read the way the provider's scheme needs."""


@dataclass(frozen=True)
class Scheme:
    """How one provider signs a delivery.

    `signed` is the message: `{body}` (raw bytes), `{timestamp}`, `{id}`, `{url}` and `{params}` (form
    parameters sorted by name, each name followed by its value, as Twilio signs them). `template` is the
    signature header's value around the encoded `{signature}` (and `{timestamp}` where the provider
    puts it there).
    """

    header: str
    template: str = "{signature}"
    signed: str = "{body}"
    algorithm: str = "sha256"
    encoding: str = "hex"
    key: str = "utf8"
    timestamp_header: str | None = None
    id_header: str | None = None

    @property
    def timestamped(self) -> bool:
        return "{timestamp}" in self.signed

    @property
    def header_names(self) -> tuple[str, ...]:
        """Every header the signer sets: an unsigned request leaves all of them out."""
        return tuple(h for h in (self.header, self.timestamp_header, self.id_header) if h)


@dataclass(frozen=True)
class Event:
    """One benign test delivery before signing."""

    body: bytes
    content_type: str
    headers: Mapping[str, str]
    msg_id: str
    timestamp: int

    def tampered(self) -> Event:
        """The same delivery with its marker changed after signing: a receiver that verifies must refuse it."""
        return Event(self.body.replace(MARKER.encode(), TAMPERED_MARKER.encode(), 1), self.content_type,
                     self.headers, self.msg_id, self.timestamp)


# (random token, unix timestamp) -> the provider's event with its id
EventBuilder = Callable[[str, int], Event]


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    doc: str
    scheme: Scheme
    build: EventBuilder
    # Seconds a signed timestamp stays valid per the provider's docs/SDK; None when nothing time-bound
    # is signed (a captured delivery stays valid for ever unless the receiver deduplicates ids).
    tolerance: int | None
    secret_help: str
    verify_hint: str


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stripe_event(token: str, ts: int) -> Event:
    # https://docs.stripe.com/api/events/object — an event type no handler acts on.
    msg_id = f"evt_probe_{token}"
    body = {
        "id": msg_id, "object": "event", "api_version": "2024-06-20", "created": ts, "livemode": False,
        "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None}, "type": "probe.test_event",
        "data": {"object": {"id": f"probe_{token}", "object": "probe_test", "description": MARKER,
                            "metadata": {"probe": "test event, safe to ignore"}}},
    }
    return Event(_json(body), "application/json; charset=utf-8", {}, msg_id, ts)


def _github_event(token: str, ts: int) -> Event:
    # https://docs.github.com/en/webhooks/webhook-events-and-payloads#ping — the event GitHub sends on creation.
    delivery = str(uuid.UUID(hex=token.ljust(32, "0")[:32]))
    body = {"zen": MARKER, "hook_id": 0,
            "hook": {"type": "Repository", "id": 0, "name": "web", "active": True, "events": ["ping"],
                     "config": {"content_type": "json", "insecure_ssl": "0"}}}
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": delivery, "X-GitHub-Hook-ID": "0"}
    return Event(_json(body), "application/json", headers, delivery, ts)


def _slack_event(token: str, ts: int) -> Event:
    # https://api.slack.com/events/url_verification — answered with the challenge, changes nothing.
    body = {"token": "probe", "challenge": f"{MARKER}-{token}", "type": "url_verification"}
    return Event(_json(body), "application/json", {}, token, ts)


def _standard_event(token: str, ts: int) -> Event:
    # https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#payload-structure
    msg_id = f"msg_probe_{token}"
    body = {"type": "probe.test_event", "timestamp": _iso(ts), "object": "event",
            "data": {"id": f"probe_{token}", "description": MARKER}}
    return Event(_json(body), "application/json", {}, msg_id, ts)


def _shopify_event(token: str, ts: int) -> Event:
    # https://shopify.dev/docs/apps/build/webhooks/subscribe/https — headers Shopify sends with every delivery.
    webhook_id = str(uuid.UUID(hex=token.ljust(32, "0")[:32]))
    body = {"id": 0, "note": MARKER, "test": True}
    headers = {"X-Shopify-Topic": "probe/test", "X-Shopify-Shop-Domain": "probe-test.myshopify.com",
               "X-Shopify-API-Version": "2024-07", "X-Shopify-Webhook-Id": webhook_id,
               "X-Shopify-Triggered-At": _iso(ts)}
    return Event(_json(body), "application/json", headers, webhook_id, ts)


def _twilio_event(token: str, ts: int) -> Event:
    # https://www.twilio.com/docs/messaging/guides/track-outbound-message-status — a status callback
    # for a message id that does not exist.
    sid = f"SM{token[:32].ljust(32, '0')}"
    params = {"AccountSid": "AC" + "0" * 32, "MessageSid": sid, "SmsSid": sid, "MessageStatus": "delivered",
              "SmsStatus": "delivered", "ApiVersion": "2010-04-01", "Body": MARKER}
    return Event(urlencode(params).encode(), "application/x-www-form-urlencoded", {}, sid, ts)


def _paddle_event(token: str, ts: int) -> Event:
    # https://developer.paddle.com/webhooks/overview — the event envelope, with a type no handler acts on.
    msg_id = f"evt_probe_{token}"
    body = {"event_id": msg_id, "event_type": "probe.test_event", "occurred_at": _iso(ts),
            "notification_id": f"ntf_probe_{token}", "data": {"id": f"probe_{token}", "description": MARKER}}
    return Event(_json(body), "application/json", {}, msg_id, ts)


def _lemonsqueezy_event(token: str, ts: int) -> Event:
    # https://docs.lemonsqueezy.com/help/webhooks/webhook-requests — meta + JSON:API data.
    body = {"meta": {"event_name": "probe_test_event", "test_mode": True, "custom_data": {"probe": MARKER}},
            "data": {"type": "probe-tests", "id": token, "attributes": {"test_mode": True}}}
    return Event(_json(body), "application/json", {"X-Event-Name": "probe_test_event"}, token, ts)


def _discord_event(token: str, ts: int) -> Event:
    # https://discord.com/developers/docs/interactions/receiving-and-responding — a PING, answered with PONG.
    body = {"id": token, "application_id": "0", "type": 1, "token": MARKER, "version": 1}
    return Event(_json(body), "application/json", {}, token, ts)


def generic_event(token: str, ts: int) -> Event:
    body = {"id": f"probe_{token}", "type": "probe.test_event", "created": ts, "data": {"description": MARKER}}
    return Event(_json(body), "application/json", {}, f"probe_{token}", ts)


_STANDARD = Scheme(header="webhook-signature", template="v1,{signature}", signed="{id}.{timestamp}.{body}",
                   encoding="base64", key="whsec", timestamp_header="webhook-timestamp", id_header="webhook-id")
_SVIX = Scheme(header="svix-signature", template="v1,{signature}", signed="{id}.{timestamp}.{body}",
               encoding="base64", key="whsec", timestamp_header="svix-timestamp", id_header="svix-id")
_SVIX_HINT = ("verify with svix's `Webhook(secret).verify(raw_body, headers)` (Node: `new Webhook(secret).verify`; "
              "Clerk: `verifyWebhook(req)`) and return 400 when it throws")

PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "stripe", "Stripe", "https://docs.stripe.com/webhooks#verify-manually",
            Scheme(header="Stripe-Signature", template="t={timestamp},v1={signature}", signed="{timestamp}.{body}"),
            _stripe_event, 300, "the endpoint's signing secret (whsec_...)",
            "verify with `stripe.Webhook.construct_event(raw_body, request.headers['Stripe-Signature'], secret)` "
            "(Node: `stripe.webhooks.constructEvent`) and return 400 on SignatureVerificationError",
        ),
        Provider(
            "github", "GitHub", "https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries",
            Scheme(header="X-Hub-Signature-256", template="sha256={signature}"),
            _github_event, None, "the webhook's secret",
            "compare `sha256=` + HMAC-SHA256(secret, raw body) with X-Hub-Signature-256 using a constant-time "
            "comparison (Octokit: `webhooks.verify`), return 401 on mismatch, and deduplicate X-GitHub-Delivery",
        ),
        Provider(
            "slack", "Slack", "https://api.slack.com/authentication/verifying-requests-from-slack",
            Scheme(header="X-Slack-Signature", template="v0={signature}", signed="v0:{timestamp}:{body}",
                   timestamp_header="X-Slack-Request-Timestamp"),
            _slack_event, 300, "the app's signing secret",
            "verify with slack_sdk's `SignatureVerifier(secret).is_valid_request(raw_body, headers)` "
            "(Bolt does it for you) and return 401 when it is false",
        ),
        Provider(
            "standard-webhooks", "Standard Webhooks",
            "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md",
            _STANDARD, _standard_event, 300, "the endpoint secret (whsec_ + base64)",
            "verify with `standardwebhooks.Webhook(secret).verify(raw_body, headers)` and return 400 when it raises",
        ),
        Provider("svix", "Svix", "https://docs.svix.com/receiving/verifying-payloads/how-manual",
                 _SVIX, _standard_event, 300, "the endpoint secret (whsec_ + base64)", _SVIX_HINT),
        Provider("clerk", "Clerk (Svix)", "https://clerk.com/docs/webhooks/sync-data",
                 _SVIX, _standard_event, 300, "CLERK_WEBHOOK_SIGNING_SECRET (whsec_...)", _SVIX_HINT),
        Provider("resend", "Resend (Svix)", "https://resend.com/docs/webhooks/verify-webhooks-requests",
                 _SVIX, _standard_event, 300, "the webhook's signing secret (whsec_...)", _SVIX_HINT),
        Provider(
            "shopify", "Shopify", "https://shopify.dev/docs/apps/build/webhooks/subscribe/https",
            Scheme(header="X-Shopify-Hmac-Sha256", encoding="base64"),
            _shopify_event, None, "the app's client secret",
            "compare base64(HMAC-SHA256(client secret, raw body)) with X-Shopify-Hmac-Sha256 in constant time "
            "(@shopify/shopify-api: `shopify.webhooks.validate`), return 401 on mismatch, and deduplicate "
            "X-Shopify-Event-Id",
        ),
        Provider(
            "twilio", "Twilio", "https://www.twilio.com/docs/usage/webhooks/webhooks-security",
            Scheme(header="X-Twilio-Signature", signed="{url}{params}", algorithm="sha1", encoding="base64"),
            _twilio_event, None, "the account's Auth Token",
            "verify with `twilio.request_validator.RequestValidator(auth_token).validate(url, form, signature)` "
            "(Node: `twilio.validateRequest` or `twilio.webhook()`) against the public URL Twilio calls",
        ),
        Provider(
            "paddle", "Paddle Billing", "https://developer.paddle.com/webhooks/signature-verification",
            Scheme(header="Paddle-Signature", template="ts={timestamp};h1={signature}", signed="{timestamp}:{body}"),
            # Paddle's SDKs reject a signature older than five seconds.
            _paddle_event, 5, "the notification destination's secret key (pdl_ntfset_...)",
            "verify with the Paddle SDK (`paddle.webhooks.unmarshal(raw_body, secret, signature)`, Python: "
            "`Verifier().verify(request, Secret(...))`), which also enforces the timestamp",
        ),
        Provider(
            "lemonsqueezy", "Lemon Squeezy", "https://docs.lemonsqueezy.com/help/webhooks/signing-requests",
            Scheme(header="X-Signature"),
            _lemonsqueezy_event, None, "the webhook's signing secret",
            "compare hex HMAC-SHA256(signing secret, raw body) with X-Signature in constant time and return 401 "
            "on mismatch",
        ),
        Provider(
            "discord", "Discord interactions",
            "https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers",
            Scheme(header="X-Signature-Ed25519", signed="{timestamp}{body}", algorithm="ed25519", key="ed25519-hex",
                   timestamp_header="X-Signature-Timestamp"),
            # Discord signs a timestamp but documents no window, so a replay cannot be judged.
            _discord_event, None,
            "a test application's Ed25519 private key (hex); Discord keeps the real one",
            "verify X-Signature-Ed25519 over X-Signature-Timestamp + raw body with the application's public key "
            "(PyNaCl `VerifyKey(public_key).verify`, discord-interactions `verifyKey`) and return 401 on failure",
        ),
    )
}

GENERIC = "generic-hmac"


def generic_provider(scheme: Scheme, tolerance: int | None) -> Provider:
    """A `generic-hmac` target's own scheme (header, algorithm, encoding, what is signed) as a provider row."""
    return Provider(
        GENERIC, "Generic HMAC", "https://www.standardwebhooks.com/", scheme, generic_event,
        tolerance if tolerance is not None else (300 if scheme.timestamped else None),
        "the shared signing secret",
        f"verify {scheme.header} ({scheme.algorithm.upper()} over {scheme.signed}) with a constant-time comparison"
        + (", reject timestamps outside the tolerance" if scheme.timestamped else "")
        + " and return 401 on mismatch",
    )


def provider_for_path(path: str) -> Provider | None:
    """The provider a route's name suggests (/api/webhooks/stripe → Stripe), for discovery without config."""
    lowered = path.lower()
    for name, provider in PROVIDERS.items():
        if name.replace("-", "") in lowered.replace("-", "").replace("_", ""):
            return provider
    return None


def key_bytes(scheme: Scheme, secret: str) -> bytes:
    """The key the scheme signs with; raises SecretFormatError with a readable reason."""
    if scheme.key == "whsec":
        raw = secret.removeprefix("whsec_")
        try:
            key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise SecretFormatError("expected whsec_ followed by base64") from None
        if not key:
            raise SecretFormatError("the secret is empty after the whsec_ prefix")
        return key
    if scheme.key == "ed25519-hex":
        try:
            key = bytes.fromhex(secret.strip())
        except ValueError:
            raise SecretFormatError("expected a hex Ed25519 private key (64 hex characters)") from None
        if len(key) != 32:
            raise SecretFormatError("expected a 32-byte Ed25519 private key (64 hex characters)")
        return key
    if not secret:
        raise SecretFormatError("the secret is empty")
    return secret.encode()


def wrong_secret(scheme: Scheme) -> str:
    """A random secret in the scheme's format: a signature made with it must be refused."""
    if scheme.key == "whsec":
        return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    if scheme.key == "ed25519-hex":
        return secrets.token_hex(32)
    return "probe-wrong-" + secrets.token_hex(16)


def public_key_hex(private_hex: str) -> str:
    """The Ed25519 public key (hex) for a private key, as a Discord application shows it."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def signed_message(scheme: Scheme, event: Event, url: str) -> bytes:
    out: list[bytes] = []
    position = 0
    for match in _PART.finditer(scheme.signed):
        out.append(scheme.signed[position:match.start()].encode())
        part = match.group(1)
        if part == "body":
            out.append(event.body)
        elif part == "timestamp":
            out.append(str(event.timestamp).encode())
        elif part == "id":
            out.append(event.msg_id.encode())
        elif part == "url":
            out.append(url.encode())
        else:
            pairs = parse_qsl(event.body.decode("utf-8", "replace"), keep_blank_values=True)
            out.append("".join(k + v for k, v in sorted(pairs)).encode())
        position = match.end()
    out.append(scheme.signed[position:].encode())
    return b"".join(out)


def sign(scheme: Scheme, secret: str, event: Event, url: str) -> dict[str, str]:
    """The signature headers the provider would send with `event` to `url`."""
    key = key_bytes(scheme, secret)
    message = signed_message(scheme, event, url)
    if scheme.algorithm == "ed25519":
        digest = Ed25519PrivateKey.from_private_bytes(key).sign(message)
    else:
        digest = hmac.new(key, message, getattr(hashlib, scheme.algorithm)).digest()
    encoded = digest.hex() if scheme.encoding == "hex" else base64.b64encode(digest).decode()
    value = scheme.template.replace("{signature}", encoded).replace("{timestamp}", str(event.timestamp))
    headers = {scheme.header: value}
    if scheme.timestamp_header:
        headers[scheme.timestamp_header] = str(event.timestamp)
    if scheme.id_header:
        headers[scheme.id_header] = event.msg_id
    return headers
