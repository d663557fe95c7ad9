"""Webhook endpoints that accept unsigned, wrongly signed, tampered or replayed events.

Active: every id posts benign test events. One probing pass per run (shared through the memo) sends, per
configured `[[webhooks]]` target, at most five requests: a correctly signed control event (when the
secret is configured), an unsigned event, one signed with a random wrong secret, a signed event whose
body is changed afterwards, and a signed event with an hour-old timestamp. The control must be
accepted, or the ids that depend on it report `error`: a route that refuses everything proves nothing.
For the same reason a refusal without an accepted control (no secret configured, or a receiver found by
discovery) is `skip`, never `pass`.

Without configuration, the pass looks for common webhook routes with one unsigned POST each (plus one
POST per path prefix to a route that cannot exist, so a catch-all or a global 401 is not mistaken for a
webhook receiver).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, model_validator

from probe.checks.webhook.providers import (
    GENERIC,
    PROVIDERS,
    Event,
    Provider,
    Scheme,
    SecretFormatError,
    generic_event,
    generic_provider,
    key_bytes,
    provider_for_path,
    sign,
    wrong_secret,
)
from probe.config import Section
from probe.context import CheckContext, MemoKey
from probe.guards import Skip
from probe.http import HttpError, Response
from probe.model import Result, Severity
from probe.registry import Family, check
from probe.template import Block, Discovery, advice, commented, toml_string

FAMILY = Family(
    group="webhooks",
    unlock='add [[webhooks]] with path, provider and secret = "${..._WEBHOOK_SECRET}", and run with --mode active',
)

CONTROL_REJECTED = "signed control event was rejected: check the secret/route"
# Where AI-built and template apps put their receivers (Next.js route handlers, Express, Flask blueprints).
COMMON_ROUTES = (
    "/api/webhooks/stripe",
    "/webhooks/stripe",
    "/api/stripe/webhook",
    "/api/webhooks/github",
    "/api/webhooks/clerk",
    "/api/webhooks",
    "/api/webhook",
    "/webhooks",
    "/webhook",
)
MAX_DISCOVERED = 12
# A replayed event is at least this old; longer when a configured tolerance is wider.
REPLAY_AGE_S = 3600
MISSING_STATUSES = (404, 405, 410)
TOLERANCE_MAX_S = 30 * 86_400
REQUEST_BODY_EXCERPT = 300
REFERENCES = (
    "https://cheatsheetseries.owasp.org/cheatsheets/Webhook_Security_Cheat_Sheet.html",
    "https://www.standardwebhooks.com/",
)
# A receiver found by discovery whose path names no provider.
UNKNOWN_PROVIDER = Provider(
    "unknown", "webhook", "https://www.standardwebhooks.com/", Scheme(header="signature"), generic_event, None,
    "the signing secret", "verify the provider's signature with its SDK before acting on the event",
)
_GENERIC_KEYS = ("header", "algorithm", "encoding", "template", "signed", "timestamp_header", "id_header")


class WebhookTarget(Section):
    """One `[[webhooks]]` entry: the receiver's path, its provider, and the signing secret if the team
    lets the probe sign (enables the control, tampered and replay tests)."""

    path: str
    provider: str
    secret: str | None = None
    tolerance: int | None = Field(default=None, ge=1, le=TOLERANCE_MAX_S, description="seconds a timestamp stays valid")
    # generic-hmac only
    header: str | None = None
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    template: str = "{signature}"
    signed: str = "{body}"
    timestamp_header: str | None = None
    id_header: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> WebhookTarget:
        if not (self.path.startswith("/") or urlsplit(self.path).scheme in ("http", "https")):
            raise ValueError(f"path {self.path!r} must start with / (or be a full URL inside the scope)")
        known = (*PROVIDERS, GENERIC)
        if self.provider not in known:
            raise ValueError(f"provider {self.provider!r} is not one of {', '.join(known)}")
        if self.provider == GENERIC:
            if not self.header:
                raise ValueError("provider 'generic-hmac' needs header (the header that carries the signature)")
            if "{signature}" not in self.template:
                raise ValueError("template must contain {signature}")
            if "{body}" not in self.signed and "{params}" not in self.signed:
                raise ValueError("signed must contain {body} (or {params} for form posts)")
            if "{timestamp}" in self.signed and not (self.timestamp_header or "{timestamp}" in self.template):
                raise ValueError("signed uses {timestamp}: set timestamp_header or put {timestamp} in template")
            if "{id}" in self.signed and not self.id_header:
                raise ValueError("signed uses {id}: set id_header")
        else:
            extra = sorted(set(_GENERIC_KEYS) & self.model_fields_set)
            if extra:
                raise ValueError(f"{', '.join(extra)} only apply to provider = 'generic-hmac'")
        if self.secret is not None:
            try:
                key_bytes(self.preset().scheme, self.secret)
            except SecretFormatError as exc:
                raise ValueError(f"secret for provider {self.provider!r}: {exc}") from None
        return self

    def preset(self) -> Provider:
        if self.provider == GENERIC:
            scheme = Scheme(header=self.header or "", template=self.template, signed=self.signed,
                            algorithm=self.algorithm, encoding=self.encoding,
                            timestamp_header=self.timestamp_header, id_header=self.id_header)
            return generic_provider(scheme, self.tolerance)
        return PROVIDERS[self.provider]

    def surface_routes(self) -> list[str]:
        return [self.path] if self.path.startswith("/") else []

    init_order: ClassVar[int] = 50

    @classmethod
    def init_block(cls, found: Discovery) -> Block:
        """The webhook routes `probe init` found, live where a path names a provider; else a TODO with an example."""
        if not found.webhooks:
            return advice(
                "# --- webhooks: TODO (none found from the outside). One table per receiver; the secret stays in the "
                "environment:\n"
                '# [[webhooks]]\n# path     = "/api/webhooks/stripe"\n# provider = "stripe"\n'
                '# secret   = "${STRIPE_WEBHOOK_SECRET}"\n',
            )
        live = ["# --- webhooks: found from the outside. TODO: add each one's signing secret as ${VAR} (enables the"]
        live.append("# tampered and replayed-event tests); probe posts test events only in active mode.")
        fallback = list(live)
        recognised = False
        for path in found.webhooks:
            provider = cls._provider_named(path)
            recognised = recognised or provider is not None
            var = f"{(provider or 'WEBHOOK').upper().replace('-', '_')}_WEBHOOK_SECRET"
            table = (f"[[webhooks]]\npath     = {toml_string(path)}\nprovider = {toml_string(provider or 'TODO')}\n"
                     f"# secret   = \"${{{var}}}\"")
            live.append(table if provider else commented(table))
            fallback.append(commented(table))
        return Block("\n".join(live) + "\n" if recognised else "", "\n".join(fallback) + "\n")

    @classmethod
    def _provider_named(cls, path: str) -> str | None:
        """The provider a path segment names, if an entry with it (and no other key) validates."""
        for segment in reversed([s for s in path.lower().split("/") if s]):
            try:
                cls.model_validate({"path": path, "provider": segment})
            except ValidationError:
                continue
            return segment
        return None


CONFIG_SECTIONS = {"webhooks": list[WebhookTarget]}


@dataclass(frozen=True)
class Outcome:
    """One test delivery and what came back."""

    event: Event
    response: Response | None = None
    error: str | None = None

    @property
    def verdict(self) -> str:
        if self.response is None:
            return "error"
        status = self.response.status
        if 200 <= status < 300:
            return "accepted"
        if status >= 500:
            return "crashed"
        if status in MISSING_STATUSES:
            return "missing"
        return "rejected"

    @property
    def status(self) -> int | None:
        return self.response.status if self.response else None

    def evidence(self) -> dict[str, object]:
        if self.response is None:
            return {"error": self.error or ""}
        evidence = self.response.evidence()
        evidence["request"]["body_excerpt"] = self.event.body[:REQUEST_BODY_EXCERPT].decode("utf-8", "replace")
        return evidence


@dataclass(frozen=True)
class Probed:
    """Everything sent to one receiver. `None` means not sent (and the reason is known from the fields)."""

    url: str
    path: str
    provider: Provider
    configured: bool
    has_secret: bool
    tolerance: int | None
    unsigned: Outcome
    bad: Outcome | None = None
    control: Outcome | None = None
    tampered: Outcome | None = None
    replay: Outcome | None = None
    replay_age: int = 0

    @property
    def control_ok(self) -> bool:
        return self.control is not None and self.control.verdict == "accepted"


@dataclass(frozen=True)
class Pass:
    targets: tuple[Probed, ...]
    configured: bool
    tried: tuple[str, ...] = ()


PROBES: MemoKey[Pass] = MemoKey("webhook:probes")


def _token() -> str:
    return secrets.token_hex(12)


async def _post(ctx: CheckContext, url: str, event: Event, signature: dict[str, str]) -> Outcome:
    headers = {"Content-Type": event.content_type, **event.headers, **signature}
    try:
        response = await ctx.http.post(url, content=event.body, headers=headers, follow_redirects=False)
    except HttpError as exc:
        return Outcome(event, error=str(exc))
    return Outcome(event, response=response)


async def _probe_target(ctx: CheckContext, target: WebhookTarget) -> Probed:
    provider = target.preset()
    scheme = provider.scheme
    url = ctx.http.url(target.path)
    now = int(time.time())
    tolerance = target.tolerance if target.tolerance is not None else provider.tolerance
    control = None
    if target.secret:
        event = provider.build(_token(), now)
        control = await _post(ctx, url, event, sign(scheme, target.secret, event, url))
    unsigned_event = provider.build(_token(), now)
    unsigned = await _post(ctx, url, unsigned_event, {})
    bad_event = provider.build(_token(), now)
    bad = await _post(ctx, url, bad_event, sign(scheme, wrong_secret(scheme), bad_event, url))
    tampered = replay = None
    age = max(REPLAY_AGE_S, 2 * tolerance) if tolerance else 0
    if target.secret and control is not None and control.verdict == "accepted":
        original = provider.build(_token(), int(time.time()))
        tampered = await _post(ctx, url, original.tampered(), sign(scheme, target.secret, original, url))
        if tolerance is not None and scheme.timestamped:
            old = provider.build(_token(), int(time.time()) - age)
            replay = await _post(ctx, url, old, sign(scheme, target.secret, old, url))
    return Probed(url=url, path=target.path, provider=provider, configured=True, has_secret=bool(target.secret),
                  tolerance=tolerance, unsigned=unsigned, bad=bad, control=control, tampered=tampered,
                  replay=replay, replay_age=age)


def _first_segment(path: str) -> str:
    return path.strip("/").split("/", 1)[0]


async def _discover(ctx: CheckContext) -> Pass:
    paths = list(COMMON_ROUTES)
    try:
        known = await ctx.surface.api_paths()
    except HttpError:
        known = ()
    paths.extend(p for p in known if "hook" in p.lower() and "{" not in p)
    paths = list(dict.fromkeys(paths))[:MAX_DISCOVERED]
    now = int(time.time())
    # What a route that cannot exist answers, per first path segment: a catch-all page, a global 401
    # or a custom 404 must not be taken for a receiver.
    baseline: dict[str, int | None] = {}
    for segment in dict.fromkeys(_first_segment(p) for p in paths):
        nowhere = await _post(ctx, ctx.http.url(f"/{segment}/probe-{_token()}"), generic_event(_token(), now), {})
        baseline[segment] = nowhere.status
    found: list[Probed] = []
    for path in paths:
        provider = provider_for_path(path)
        event = provider.build(_token(), now) if provider else generic_event(_token(), now)
        outcome = await _post(ctx, ctx.http.url(path), event, {})
        if outcome.response is None or outcome.verdict == "missing" or outcome.status == baseline[_first_segment(path)]:
            continue
        shown = provider or UNKNOWN_PROVIDER
        found.append(Probed(url=outcome.response.url, path=path, provider=shown, configured=False, has_secret=False,
                            tolerance=None, unsigned=outcome))
    return Pass(targets=tuple(found), configured=False, tried=tuple(paths))


async def _run_pass(ctx: CheckContext) -> Pass:
    targets = ctx.sections(WebhookTarget)
    for target in targets:
        ctx.redactor.add(target.secret)
    if not targets:
        return await _discover(ctx)
    return Pass(targets=tuple([await _probe_target(ctx, t) for t in targets]), configured=True)


async def _probes(ctx: CheckContext) -> Pass:
    """The one probing pass of the run; Skip when no receiver is configured and none was found."""
    probes = await ctx.memo.get(PROBES, lambda: _run_pass(ctx))
    if not probes.targets:
        raise Skip(f"no [[webhooks]] configured and none of {len(probes.tried)} common webhook routes answered a POST; "
                   "add [[webhooks]] with path, provider and secret (see docs/webhooks.md)")
    return probes


def _secret_needed(target: Probed) -> str:
    if target.provider.name == "discord":
        return ("Discord signs with the application's private key, which Discord keeps: only unsigned and wrongly "
                "signed events can be tested; set secret to a test application's Ed25519 private key (hex) to test this")
    if not target.configured:
        return (f"found {target.path} by discovery; add a [[webhooks]] entry (path, provider, secret) to test "
                "signatures there")
    return (f"needs the signing secret: add secret = \"${{VAR}}\" ({target.provider.secret_help}) to the [[webhooks]] "
            f"entry for {target.path}")


def _control_error(ctx: CheckContext, target: Probed) -> Result | None:
    """An error result when the control was sent and not accepted, else None."""
    control = target.control
    if control is None or control.verdict == "accepted":
        return None
    if control.response is None:
        return ctx.error(target.url, f"the signed control event could not be sent: {control.error}")
    return ctx.error(target.url, f"{CONTROL_REJECTED} (HTTP {control.status} for a correctly signed "
                                 f"{target.provider.title} event)", evidence=control.evidence(), kind="control-rejected")


def _remediation(target: Probed, lead: str) -> str:
    return f"{lead} {target.provider.title}: {target.provider.verify_hint}."


def _judge(ctx: CheckContext, target: Probed, outcome: Outcome, *, accepted: str, refused: str, lead: str) -> Result:
    """The common verdict: accepted fails; otherwise the control must have passed (when there is one);
    a 5xx is a refusal by crashing (info); a 404/405 on a configured route is a configuration error."""
    if outcome.response is None:
        return ctx.error(target.url, f"the test event could not be sent: {outcome.error}")
    status = outcome.status
    if outcome.verdict == "accepted":
        return ctx.fail(target.url, accepted.replace("{status}", str(status)), kind="accepted", evidence=outcome.evidence(),
                        remediation=_remediation(target, lead))
    control_error = _control_error(ctx, target)
    if control_error is not None:
        return control_error
    if outcome.verdict == "crashed":
        return ctx.fail(target.url, f"The event was rejected by crashing (HTTP {status}): the receiver should answer "
                                    "4xx when verification fails, not fail with an unhandled error.",
                        kind="crashed", severity=Severity.INFO, evidence=outcome.evidence(),
                        remediation=_remediation(target, "Catch the verification error and return 400 or 401."))
    if outcome.verdict == "missing":
        return ctx.error(target.url, f"the configured route answered HTTP {status} to a POST: check the path",
                         evidence=outcome.evidence())
    detail = refused.replace("{status}", str(status))
    if target.control_ok:
        return ctx.passed(target.url, detail + " A correctly signed control event was accepted.")
    # A route that refuses everything (a global 401, a broken receiver) refuses forged events too: without an
    # accepted control the refusal proves nothing, so it is not a pass.
    return ctx.skip(target.url, f"not tested: {detail[0].lower()}{detail[1:].rstrip('.')}, but no correctly signed "
                                f"control event showed that the route accepts genuine ones; {_secret_needed(target)}",
                    evidence=outcome.evidence())


@check(
    id="webhook.unsigned-accepted",
    title="Webhook accepts events without a signature",
    severity=Severity.HIGH,
    cwe=345,
    active=True,
    summary="A benign test event with no signature headers posted to a webhook receiver is refused (4xx).",
    risk="Anyone who finds the URL can forge provider events: mark orders paid, grant subscriptions, create users, "
    "trigger refunds. Webhook URLs leak through client code, logs and guessable paths like /api/webhooks/stripe.",
    fix="Verify the provider's signature on the raw request body before acting on any event, and answer 400/401 when "
    "it is missing or wrong: Stripe `stripe.Webhook.construct_event`, Svix/Clerk/Resend `Webhook(secret).verify`, "
    "Slack `SignatureVerifier`, Twilio `RequestValidator`, GitHub/Shopify/Lemon Squeezy HMAC with a constant-time "
    "comparison.",
    references=REFERENCES,
)
async def unsigned_accepted(ctx: CheckContext) -> list[Result]:
    probes = await _probes(ctx)
    return [
        _judge(ctx, t, t.unsigned,
               accepted=f"An unsigned {t.provider.title} test event (no {t.provider.scheme.header} header) was "
               "accepted with HTTP {status}: anyone who knows the URL can forge events.",
               refused="An unsigned test event was refused with HTTP {status}.",
               lead="Reject events without a valid signature.")
        for t in probes.targets
    ]


@check(
    id="webhook.bad-signature-accepted",
    title="Webhook accepts events signed with the wrong secret",
    severity=Severity.HIGH,
    cwe=347,
    active=True,
    summary="A test event signed with a random wrong secret is refused (4xx), so the signature is verified, "
    "not just present.",
    risk="A receiver that only checks that a signature header exists, or compares it wrongly, accepts forged events "
    "from anyone who copies the header format from the provider's docs.",
    fix="Recompute the signature with your endpoint's secret over the raw body and compare in constant time; use the "
    "provider's SDK (`stripe.Webhook.construct_event`, svix `Webhook.verify`, slack_sdk `SignatureVerifier`, twilio "
    "`RequestValidator`) rather than checking that the header is present.",
    references=REFERENCES,
)
async def bad_signature_accepted(ctx: CheckContext) -> list[Result]:
    probes = await _probes(ctx)
    results: list[Result] = []
    for t in probes.targets:
        if t.bad is None:
            results.append(ctx.skip(t.url, _secret_needed(t)))
            continue
        results.append(_judge(
            ctx, t, t.bad,
            accepted=f"A {t.provider.title} test event signed with a random wrong secret was accepted with HTTP "
            "{status}: the signature is not verified (at most its presence is checked).",
            refused="An event signed with a wrong secret was refused with HTTP {status}.",
            lead="Verify the signature, not just its presence.",
        ))
    return results


@check(
    id="webhook.tampered-accepted",
    title="Webhook accepts events changed after signing",
    severity=Severity.HIGH,
    cwe=347,
    active=True,
    summary="A correctly signed event whose body is changed after signing is refused (needs the signing secret).",
    risk="If the signature is not checked against the exact raw body (a parsed-and-reserialised body, a signature "
    "over only some fields), an attacker who captures one genuine event can alter amounts, ids or statuses.",
    fix="Verify the signature over the raw request bytes before parsing (Express: `express.raw()` on the webhook route; "
    "Next.js: `await req.text()`; Flask: `request.get_data()`), with the provider's SDK.",
    references=REFERENCES,
)
async def tampered_accepted(ctx: CheckContext) -> list[Result]:
    probes = await _probes(ctx)
    results: list[Result] = []
    for t in probes.targets:
        if not t.has_secret:
            results.append(ctx.skip(t.url, _secret_needed(t)))
            continue
        control_error = _control_error(ctx, t)
        if control_error is not None or t.tampered is None:
            results.append(control_error or ctx.error(t.url, CONTROL_REJECTED))
            continue
        results.append(_judge(
            ctx, t, t.tampered,
            accepted="A correctly signed event whose body was changed after signing was accepted with HTTP {status}: "
            "the signature is not checked against the raw body.",
            refused="An event changed after signing was refused with HTTP {status}.",
            lead="Verify the signature over the raw body bytes.",
        ))
    return results


@check(
    id="webhook.replay-accepted",
    title="Webhook accepts replayed (stale) events",
    severity=Severity.MEDIUM,
    cwe=294,
    active=True,
    summary="A correctly signed event whose signed timestamp is an hour old is refused (needs the signing secret "
    "and a provider that signs a timestamp).",
    risk="Without a timestamp check, anyone who captures one genuine delivery (logs, a proxy, a leaked request dump) "
    "can resend it for ever: repeat a payment confirmation, re-grant a subscription.",
    fix="Reject events whose signed timestamp is outside the provider's tolerance (Stripe, Slack, Svix: 5 minutes; "
    "Paddle: 5 seconds) — the providers' SDKs do this by default, so do not pass `tolerance=None` or verify by hand — "
    "and deduplicate by event id.",
    references=REFERENCES,
)
async def replay_accepted(ctx: CheckContext) -> list[Result]:
    probes = await _probes(ctx)
    results: list[Result] = []
    for t in probes.targets:
        if t.tolerance is None or not t.provider.scheme.timestamped:
            reason = (f"{t.provider.title} signs no timestamp, so a captured event can only be refused by "
                      "deduplicating event ids, which cannot be tested from outside")
            if t.provider.name == "discord":
                reason = "Discord signs a timestamp but documents no tolerance window, so a replay cannot be judged"
            results.append(ctx.skip(t.url, reason))
            continue
        if not t.has_secret:
            results.append(ctx.skip(t.url, _secret_needed(t)))
            continue
        control_error = _control_error(ctx, t)
        if control_error is not None or t.replay is None:
            results.append(control_error or ctx.error(t.url, CONTROL_REJECTED))
            continue
        age = f"{t.replay_age // 60} minutes" if t.replay_age % 60 == 0 else f"{t.replay_age} s"
        results.append(_judge(
            ctx, t, t.replay,
            accepted=f"A correctly signed event with a timestamp {age} old (tolerance {t.tolerance} s) was accepted "
            "with HTTP {status}: captured events can be replayed.",
            refused=f"A correctly signed event {age} old was refused with HTTP {{status}}.",
            lead=f"Reject signed timestamps older than {t.tolerance} s and deduplicate event ids.",
        ))
    return results
