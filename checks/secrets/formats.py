"""Token formats, offline classification, and the detect-secrets bridge.

detect-secrets finds the formats its plugins know; `FORMATS` adds those it lacks (OpenAI and Anthropic keys,
Stripe restricted and publishable keys, Supabase keys, Firebase web keys ...) and says for every format whether
it is a server credential or publishable by design. Classification is offline only: prefix, shape and decoded
JWT claims. A found credential is never sent anywhere, least of all to its provider to "verify" it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from probe.checks.secrets.defaults import real_basic_auth


class KeyClass(StrEnum):
    SERVER = "server"  # grants server-side access: must never reach a browser
    PUBLISHABLE = "publishable"  # meant for browsers (its power is limited by the provider's rules)


@dataclass(frozen=True)
class Format:
    name: str
    pattern: re.Pattern[str]
    key_class: KeyClass
    test: bool
    source: str


def _f(name: str, pattern: str, key_class: KeyClass, source: str, *, test: bool = False) -> Format:
    return Format(name, re.compile(pattern), key_class, test, source)


S, P = KeyClass.SERVER, KeyClass.PUBLISHABLE
FORMATS: tuple[Format, ...] = (
    _f("Stripe secret key", r"\bsk_live_[0-9A-Za-z]{20,}", S, "https://docs.stripe.com/keys"),
    _f("Stripe restricted key", r"\brk_live_[0-9A-Za-z]{20,}", S, "https://docs.stripe.com/keys#limit-access"),
    _f("Stripe secret test key", r"\b[sr]k_test_[0-9A-Za-z]{20,}", S, "https://docs.stripe.com/keys", test=True),
    _f("Stripe publishable key", r"\bpk_live_[0-9A-Za-z]{20,}", P, "https://docs.stripe.com/keys"),
    _f("Stripe publishable test key", r"\bpk_test_[0-9A-Za-z]{20,}", P, "https://docs.stripe.com/keys", test=True),
    _f("Stripe webhook signing secret", r"\bwhsec_[0-9A-Za-z+/=]{24,}", S, "https://docs.stripe.com/webhooks#verify-events"),
    _f("OpenAI API key", r"\bsk-(?:proj|svcacct|admin)-[0-9A-Za-z_-]{20,}|\bsk-[0-9A-Za-z]{20}T3BlbkFJ[0-9A-Za-z]{20}", S,
       "https://platform.openai.com/docs/api-reference/authentication"),
    _f("Anthropic API key", r"\bsk-ant-(?:api|admin)\d{2}-[0-9A-Za-z_-]{40,}", S,
       "https://docs.anthropic.com/en/api/overview#authentication"),
    _f("Supabase secret key", r"\bsb_secret_[0-9A-Za-z_-]{20,}", S, "https://supabase.com/docs/guides/api/api-keys"),
    _f("Supabase publishable key", r"\bsb_publishable_[0-9A-Za-z_-]{20,}", P, "https://supabase.com/docs/guides/api/api-keys"),
    _f("Google / Firebase web API key", r"\bAIza[0-9A-Za-z_-]{35}", P, "https://firebase.google.com/docs/projects/api-keys"),
    _f("Google OAuth client secret", r"\bGOCSPX-[0-9A-Za-z_-]{28}", S, "https://developers.google.com/identity/protocols/oauth2"),
    _f("GitHub token", r"\b(?:gh[pousr]_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z_]{60,})", S,
       "https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/"),
    _f("AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", S,
       "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids"),
    _f("Slack token", r"\bxox[abposr]-[0-9A-Za-z-]{10,}", S, "https://api.slack.com/concepts/token-types"),
    _f("SendGrid API key", r"\bSG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43}", S,
       "https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys"),
    _f("Twilio API key", r"\bSK[0-9a-f]{32}\b", S, "https://www.twilio.com/docs/iam/api-keys"),
    _f("Mailgun API key", r"\bkey-[0-9a-f]{32}\b", S, "https://documentation.mailgun.com/docs/mailgun/api-reference/authentication"),
    _f("Resend API key", r"\bre_[0-9A-Za-z]{8}_[0-9A-Za-z]{20,}", S, "https://resend.com/docs/dashboard/api-keys/introduction"),
    _f("Hugging Face token", r"\bhf_[0-9A-Za-z]{34,}", S, "https://huggingface.co/docs/hub/security-tokens"),
    _f("Groq API key", r"\bgsk_[0-9A-Za-z]{48,}", S, "https://console.groq.com/docs/api-keys"),
    _f("Replicate API token", r"\br8_[0-9A-Za-z]{37}\b", S, "https://replicate.com/docs/reference/http#authentication"),
    _f("npm token", r"\bnpm_[0-9A-Za-z]{36}\b", S, "https://docs.npmjs.com/about-access-tokens"),
    _f("Mapbox secret token", r"\bsk\.eyJ[0-9A-Za-z_-]{20,}\.[0-9A-Za-z_-]{10,}", S,
       "https://docs.mapbox.com/help/glossary/access-token/"),
    _f("Mapbox public token", r"\bpk\.eyJ[0-9A-Za-z_-]{20,}\.[0-9A-Za-z_-]{10,}", P,
       "https://docs.mapbox.com/help/glossary/access-token/"),
    _f("Razorpay live key id", r"\brzp_live_[0-9A-Za-z]{10,}", P, "https://razorpay.com/docs/api/authentication/"),
    _f("Private key", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----", S,
       "https://www.rfc-editor.org/rfc/rfc7468#section-10"),
)

_JWT = re.compile(r"\beyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{8,}")
SUPABASE_KEYS = "https://supabase.com/docs/guides/api/api-keys"
# A Google service-account key file (Firebase Admin SDK's "serviceAccountKey.json"), as served JSON or as the same
# object a bundler inlined: `"type": "service_account"`, a PEM `private_key` (newlines escaped as \n in JSON) and the
# account's `client_email`. The PEM alone is the generic "Private key" format; beside these fields it is one finding,
# named with its account so the right key gets rotated.
SERVICE_ACCOUNT = "https://cloud.google.com/iam/docs/service-account-creds#key-types"
# (`[ ]` keeps this line from reading as a key to secret scanners run over this repository.)
_PEM = re.compile(r"-----BEGIN[ ]PRIVATE[ ]KEY-----(?:\\[nr]|[\sA-Za-z0-9+/=])+?-----END[ ]PRIVATE[ ]KEY-----")
_SERVICE_ACCOUNT_TYPE = re.compile(r"""["']?type["']?\s*:\s*["'`]service_account["'`]""")
_CLIENT_EMAIL = re.compile(r"""["']?client_email["']?\s*:\s*["'`]([a-z0-9-]{1,63}@[a-z0-9-]{1,63}\.iam\.gserviceaccount\.com)""")
# How far from the key the other fields may sit: a key file is about 2.4 kB, its private key alone about 1.7 kB.
SERVICE_ACCOUNT_NEAR = 3000
# detect-secrets plugins that match a token's own shape. Keyword and entropy plugins are left out: on
# minified JavaScript every variable assignment and hash looks like a secret to them.
DETECT_SECRETS_PLUGINS = (
    "AWSKeyDetector", "ArtifactoryDetector", "AzureStorageKeyDetector", "BasicAuthDetector", "DiscordBotTokenDetector",
    "GitHubTokenDetector", "GitLabTokenDetector", "JwtTokenDetector", "MailchimpDetector", "NpmDetector",
    "OpenAIDetector", "PrivateKeyDetector", "PypiTokenDetector", "SendGridDetector", "SlackDetector",
    "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector", "TwilioKeyDetector",
)
DETECT_SECRETS = "https://github.com/Yelp/detect-secrets#currently-supported-plugins"
BASIC_AUTH = "Basic Auth Credentials"  # BasicAuthDetector's secret_type
# Splitting text here keeps tokens whole (none of these occur inside the formats above) and keeps lines
# short: detect-secrets runs each regex over each line, and a minified bundle is one 2 MB line.
_SPLIT = re.compile(r"[\n;,(){}\[\]<>\s]+")
MAX_CHUNK = 4000
# detect-secrets' patterns have no word boundaries, so a key-shaped run inside a longer token matches: the tail of a
# Flask-WTF CSRF token (itsdangerous: base64 payload, 6-char timestamp, 27-char signature) reads as a Discord bot
# token on about two pages in three (4,000 tokens measured). A key is a whole token: no token character right before
# or after it.
_TOKEN = re.compile(r"[A-Za-z0-9_\-.]+")
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_\-]")


@dataclass(frozen=True)
class Found:
    """A credential found in text. `value` is for masking and hashing only; it never goes into a result."""

    value: str
    name: str
    key_class: KeyClass
    test: bool
    source: str
    claims: tuple[tuple[str, str], ...] = ()


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, decoded without verifying anything; None for something that is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeDecodeError, UnicodeEncodeError):
        return None
    return payload if isinstance(payload, dict) else None


def classify_jwt(token: str) -> Found | None:
    claims = jwt_claims(token)
    if claims is None:
        return None
    role = str(claims.get("role", ""))
    shown = tuple((k, str(claims[k])[:40]) for k in ("iss", "role", "ref") if k in claims)
    if role == "service_role":
        return Found(token, "Supabase service_role key (bypasses row-level security)", S, False, SUPABASE_KEYS, shown)
    if role == "anon":
        return Found(token, "Supabase anon key", P, False, SUPABASE_KEYS, shown)
    return None


def _service_accounts(text: str) -> list[tuple[tuple[int, int], Found]]:
    """Service-account keys: a PEM private key with `type: service_account` and a `client_email` near it."""
    out = []
    for match in _PEM.finditer(text):
        around = text[max(0, match.start() - SERVICE_ACCOUNT_NEAR):match.end() + SERVICE_ACCOUNT_NEAR]
        email = _CLIENT_EMAIL.search(around)
        if email and _SERVICE_ACCOUNT_TYPE.search(around):
            out.append((match.span(), Found(match.group(0), "Google service account key", S, False, SERVICE_ACCOUNT,
                                            (("client_email", email.group(1)),))))
    return out


def classify(value: str) -> Found | None:
    """What a single value is, if it is a credential we know (whole value or a token inside it)."""
    return next(iter(find_in_text(value, use_detect_secrets=False)), None)


def find_in_text(text: str, *, use_detect_secrets: bool = True) -> list[Found]:
    """Credentials in a text (a script, a source map's sources, a served file), de-duplicated by value."""
    found: dict[str, Found] = {}
    accounts = _service_accounts(text)
    for _, account in accounts:
        found.setdefault(account.value, account)
    for fmt in FORMATS:
        for match in fmt.pattern.finditer(text):
            if any(start <= match.start() < end for (start, end), _ in accounts):
                continue  # the key of a service account found above: one finding, not two
            found.setdefault(match.group(0), Found(match.group(0), fmt.name, fmt.key_class, fmt.test, fmt.source))
    for match in _JWT.finditer(text):
        jwt = classify_jwt(match.group(0))
        if jwt is not None:
            found.setdefault(jwt.value, jwt)
    if use_detect_secrets:
        for value, kind in _detect_secrets(text):
            if value.startswith("eyJ") or any(value in known for known in found):
                continue  # a JWT we could not classify is a session or ID token more often than a key
            if kind == BASIC_AUTH and not real_basic_auth(text, value):
                continue  # documentation's `https://username:password@www.example.com/`, not a credential
            found.setdefault(value, Found(value, f"{kind} (detect-secrets)", S, False, DETECT_SECRETS))
    return list(found.values())


def _chunks(text: str) -> Iterator[str]:
    chunk: list[str] = []
    size = 0
    for piece in _SPLIT.split(text):
        if not piece:
            continue
        if size + len(piece) > MAX_CHUNK and chunk:
            yield " ".join(chunk)
            chunk, size = [], 0
        chunk.append(piece[:MAX_CHUNK])
        size += len(piece) + 1
    if chunk:
        yield " ".join(chunk)


def _detect_secrets(text: str) -> list[tuple[str, str]]:
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import transient_settings

    out: list[tuple[str, str]] = []
    with transient_settings({"plugins_used": [{"name": name} for name in DETECT_SECRETS_PLUGINS]}):
        for chunk in _chunks(text):
            for secret in scan_line(chunk):
                value = str(secret.secret_value or "")
                if value and _whole_token(chunk, value):
                    out.append((value, str(secret.type)))
    return out


def _whole_token(text: str, value: str) -> bool:
    """Whether a token-shaped `value` stands alone somewhere in `text` (values with spaces or punctuation always do)."""
    if not _TOKEN.fullmatch(value):
        return True
    start = text.find(value)
    while start != -1:
        end = start + len(value)
        if not _TOKEN_CHAR.match(text[start - 1:start] or " ") and not _TOKEN_CHAR.match(text[end:end + 1] or " "):
            return True
        start = text.find(value, start + 1)
    return False


def server_keys(text: str) -> list[str]:
    """The server credentials of a known format in `text`: what every report masks (publishable keys are public)."""
    return [found.value for found in find_in_text(text, use_detect_secrets=False) if found.key_class is KeyClass.SERVER]
