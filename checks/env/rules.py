"""Data for the env family: one row per entry, each with the document it comes from.

Adding a framework's debug flag or a payment provider's sandbox marker is adding a row here; the checks in
`checks/env.py` only judge values against these tables.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# Prefixes that bundlers inline into the JavaScript every visitor downloads.
BROWSER_PREFIXES: tuple[tuple[str, str], ...] = (
    ("NEXT_PUBLIC_", "https://nextjs.org/docs/app/guides/environment-variables#bundling-environment-variables-for-the-browser"),
    ("VITE_", "https://vite.dev/guide/env-and-mode#env-variables"),
    ("REACT_APP_", "https://create-react-app.dev/docs/adding-custom-environment-variables/"),
    ("PUBLIC_", "https://svelte.dev/docs/kit/$env-static-public"),  # SvelteKit and Astro
    ("EXPO_PUBLIC_", "https://docs.expo.dev/guides/environment-variables/"),
    ("NUXT_PUBLIC_", "https://nuxt.com/docs/guide/going-further/runtime-config#environment-variables"),
    ("GATSBY_", "https://www.gatsbyjs.com/docs/how-to/local-development/environment-variables/"),
)


def browser_prefix(name: str) -> str | None:
    upper = name.upper()
    return next((p for p, _ in BROWSER_PREFIXES if upper.startswith(p)), None)


# Values people leave in place of a real one. Matched against the whole value, case-insensitively.
PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    (r"change[-_ ]?me(?:[-_ ]?now|[-_ ]?please)?", "change-me word"),
    (r"replace[-_ ]?me|replace[-_ ]?this.*", "replace-me"),
    (r"x{3,}|\*{3,}|\.{3}|-{3,}|0{6,}", "filler characters"),
    (r"to[-_ ]?do|tbd|fixme|fill[-_ ]?(?:me|in|this)", "TODO"),
    (r"<[^<>\n]{1,80}>|\[[^\[\]\n]{1,80}\]|\{\{[^{}\n]{1,80}\}\}", "bracketed template"),
    (r"your[-_ ][a-z0-9 _-]{1,60}(?:here)?|(?:put|insert|enter|add)[-_ ].{1,60}", "your-... instruction"),
    (r"placeholder|dummy|example|sample|fake|foo|bar|baz|lorem.*|secret|password|api[-_ ]?key|token", "sample word"),
    (r"(?:sk|pk|rk)_(?:test|live)_(?:x+|\.\.\.|[0-9]+|your.*|\*+)", "key prefix with filler"),
    (r"https?://(?:www\.)?example\.(?:com|org|net)(?:[:/].*)?|.*@example\.(?:com|org|net)", "example.com"),
)
_PLACEHOLDER_RES = tuple((re.compile(rf"^(?:{p})$", re.IGNORECASE | re.DOTALL), label) for p, label in PLACEHOLDERS)


def placeholder_reason(value: str) -> str | None:
    stripped = value.strip().strip("'\"")
    return next((label for pattern, label in _PLACEHOLDER_RES if pattern.match(stripped)), None)


@dataclass(frozen=True)
class SandboxMarker:
    pattern: re.Pattern[str]
    provider: str
    source: str
    # For name-and-value rows (PAYPAL_MODE=sandbox): the variable names the row applies to.
    names: re.Pattern[str] | None = None


def _m(pattern: str, provider: str, source: str, names: str | None = None) -> SandboxMarker:
    return SandboxMarker(re.compile(pattern), provider, source, re.compile(names, re.IGNORECASE) if names else None)


# Test-mode credentials and sandbox endpoints. Value rows are searched in values and in served scripts.
SANDBOX_MARKERS: tuple[SandboxMarker, ...] = (
    _m(r"\b(?:sk|rk)_test_[0-9A-Za-z]{10,}", "Stripe (or Clerk/Paystack) secret test key", "https://docs.stripe.com/keys"),
    _m(r"\bpk_test_[0-9A-Za-z$]{10,}", "Stripe (or Clerk/Paystack) publishable test key", "https://clerk.com/docs/deployments/overview"),
    _m(r"\brzp_test_[0-9A-Za-z]{8,}", "Razorpay test key", "https://razorpay.com/docs/api/authentication/"),
    _m(r"\bpdl_sdbx_apikey_[0-9A-Za-z_]{8,}", "Paddle sandbox API key", "https://developer.paddle.com/api-reference/about/api-keys"),
    _m(r"\btest_[0-9a-f]{27,}\b", "Paddle sandbox client token", "https://developer.paddle.com/paddlejs/client-side-tokens"),
    _m(r"\bsandbox-(?:api|vendors|checkout)\.paddle\.com", "Paddle sandbox endpoint", "https://developer.paddle.com/api-reference/about/paddle-api"),
    _m(r"\b(?:api-m|api|www)\.sandbox\.paypal\.com", "PayPal sandbox endpoint", "https://developer.paypal.com/api/rest/requests/"),
    _m(r"\bapi\.sandbox\.braintreegateway\.com", "Braintree sandbox endpoint", "https://developer.paypal.com/braintree/docs/start/overview"),
    _m(r"\bconnect\.squareupsandbox\.com|\bsandbox-sq0(?:idb|csb)-[0-9A-Za-z_-]{10,}", "Square sandbox",
       "https://developer.squareup.com/docs/devtools/sandbox/overview"),
    _m(r"\bsandbox\.plaid\.com", "Plaid sandbox endpoint", "https://plaid.com/docs/sandbox/"),
    _m(r"\bcheckout-test\.adyen\.com|\bpal-test\.adyen\.com", "Adyen test endpoint",
       "https://docs.adyen.com/development-resources/live-endpoints"),
    _m(r"\bFLW(?:SECK|PUBK)_TEST-[0-9A-Za-z-]{10,}", "Flutterwave test key",
       "https://developer.flutterwave.com/docs/integration-guides/authentication"),
    _m(r"^test_[0-9A-Za-z]{25,}$", "Mollie test API key", "https://docs.mollie.com/reference/authentication", names=r"MOLLIE"),
    _m(r"^(?:sandbox|test|development)$", "PayPal sandbox mode", "https://developer.paypal.com/api/rest/sandbox/",
       names=r"^PAYPAL_(?:MODE|ENV|ENVIRONMENT)$"),
    _m(r"^sandbox$", "Braintree sandbox environment", "https://developer.paypal.com/braintree/docs/start/hello-server",
       names=r"^BRAINTREE_ENV(?:IRONMENT)?$"),
    _m(r"^sandbox$", "Plaid sandbox environment", "https://plaid.com/docs/sandbox/", names=r"^PLAID_ENV(?:IRONMENT)?$"),
    _m(r"^sandbox$", "Paddle sandbox environment", "https://developer.paddle.com/paddlejs/methods/paddle-environment-set",
       names=r"^(?:NEXT_PUBLIC_|VITE_)?PADDLE_ENV(?:IRONMENT)?$"),
    _m(r"^(?i:test)$", "Adyen test environment", "https://docs.adyen.com/development-resources/live-endpoints",
       names=r"^ADYEN_ENV(?:IRONMENT)?$"),
    _m(r"^sandbox$", "Square sandbox environment", "https://developer.squareup.com/docs/devtools/sandbox/overview",
       names=r"^SQUARE_ENV(?:IRONMENT)?$"),
)


def sandbox_marker(name: str, value: str) -> SandboxMarker | None:
    for marker in SANDBOX_MARKERS:
        if marker.names is not None and not marker.names.search(name):
            continue
        if marker.pattern.search(value):
            return marker
    return None


@dataclass(frozen=True)
class DebugFlag:
    names: re.Pattern[str]
    values: re.Pattern[str]
    framework: str
    setting: str
    source: str


def _d(names: str, values: str, framework: str, setting: str, source: str) -> DebugFlag:
    return DebugFlag(re.compile(names, re.IGNORECASE), re.compile(rf"^(?:{values})$", re.IGNORECASE), framework, setting, source)


_TRUE = r"1|true|yes|on|y"
DEBUG_FLAGS: tuple[DebugFlag, ...] = (
    _d(r"^(?:DJANGO_)?DEBUG$", _TRUE, "Django and most frameworks", "DEBUG=False",
       "https://docs.djangoproject.com/en/stable/ref/settings/#debug"),
    _d(r"^FLASK_DEBUG$", _TRUE, "Flask", "FLASK_DEBUG=0 (never run `flask run --debug` in production)",
       "https://flask.palletsprojects.com/en/stable/config/#DEBUG"),
    _d(r"^FLASK_ENV$", r"development", "Flask", "remove FLASK_ENV", "https://flask.palletsprojects.com/en/2.2.x/config/#ENV"),
    _d(r"^NODE_ENV$", r"development|dev|local", "Node.js (Express, Next.js)", "NODE_ENV=production",
       "https://nodejs.org/en/learn/getting-started/nodejs-the-difference-between-development-and-production"),
    _d(r"^APP_ENV$", r"local|development|dev", "Laravel / Symfony", "APP_ENV=production (Laravel) or prod (Symfony)",
       "https://laravel.com/docs/configuration#environment-configuration"),
    _d(r"^APP_DEBUG$", _TRUE, "Laravel / Symfony", "APP_DEBUG=false",
       "https://laravel.com/docs/configuration#debug-mode"),
    _d(r"^(?:RAILS|RACK)_ENV$", r"development|test", "Rails / Rack", "RAILS_ENV=production",
       "https://guides.rubyonrails.org/configuring.html#rails-environment-settings"),
    _d(r"^ASPNETCORE_ENVIRONMENT$|^DOTNET_ENVIRONMENT$", r"development", "ASP.NET Core", "ASPNETCORE_ENVIRONMENT=Production",
       "https://learn.microsoft.com/en-us/aspnet/core/fundamentals/environments"),
    _d(r"^MIX_ENV$", r"dev|test", "Elixir / Phoenix", "MIX_ENV=prod", "https://hexdocs.pm/phoenix/deployment.html"),
    _d(r"^GIN_MODE$", r"debug", "Gin (Go)", "GIN_MODE=release", "https://gin-gonic.com/en/docs/deployment/"),
    _d(r"^SPRING_PROFILES_ACTIVE$", r"dev|development|local", "Spring Boot", "SPRING_PROFILES_ACTIVE=prod",
       "https://docs.spring.io/spring-boot/reference/features/profiles.html"),
    _d(r"^WP_DEBUG$", _TRUE, "WordPress", "WP_DEBUG=false",
       "https://developer.wordpress.org/advanced-administration/debug/debug-wordpress/"),
    _d(r"^(?:ENV|ENVIRONMENT|APP_ENVIRONMENT)$", r"development|dev|local", "generic", "set it to production",
       "https://12factor.net/config"),
)


def debug_flag(name: str, value: str) -> DebugFlag | None:
    return next((f for f in DEBUG_FLAGS if f.names.search(name) and f.values.match(value.strip())), None)


# Names of signing/encryption secrets the app itself relies on (not third-party API keys, whose format the
# provider decides). Matched case-insensitively against the whole name.
SIGNING_SECRET_NAMES = re.compile(
    r"^(?:.*_)?(?:SECRET|SECRET_KEY|SECRET_KEY_BASE|JWT_SECRET|JWT_KEY|SESSION_SECRET|SESSION_KEY|COOKIE_SECRET|"
    r"APP_KEY|SIGNING_KEY|SIGNING_SECRET|ENCRYPTION_KEY|AUTH_SECRET|HMAC_SECRET|HMAC_KEY)$",
    re.IGNORECASE,
)
MIN_SECRET_BYTES = 32  # 256 bits: what HS256 needs (RFC 7518 §3.2) and what Django's check --deploy asks for (50 chars)

# Secrets copied from tutorials, framework templates and docs. (value or prefix, where it comes from)
KNOWN_DEFAULT_SECRETS: tuple[tuple[str, str], ...] = (
    ("django-insecure-", "Django startproject template: https://docs.djangoproject.com/en/stable/ref/settings/#secret-key"),
    ("dev", "Flask tutorial SECRET_KEY='dev': https://flask.palletsprojects.com/en/stable/tutorial/factory/"),
    ("keyboard cat", "express-session README: https://github.com/expressjs/session#example"),
    ("shhhhh", "jsonwebtoken README: https://github.com/auth0/node-jsonwebtoken#usage"),
    ("your-256-bit-secret", "jwt.io debugger default: https://jwt.io/"),
    ("a-string-secret-at-least-256-bits-long", "jwt.io debugger default: https://jwt.io/"),
    ("secret", "common default"),
    ("secretkey", "common default"),
    ("secret-key", "common default"),
    ("secret_key", "common default"),
    ("supersecret", "common default"),
    ("mysecret", "common default"),
    ("changeme", "common default"),
    ("password", "common default"),
    ("development", "common default"),
    ("jwt-secret", "common default"),
    ("jwt_secret", "common default"),
    ("my-secret-key", "common default"),
    ("your-secret-key", "common default"),
    ("s3cr3t", "common default"),
    ("notasecret", "common default"),
)


def known_default(value: str) -> str | None:
    lowered = value.strip().lower()
    for default, source in KNOWN_DEFAULT_SECRETS:
        if lowered == default or (default.endswith("-") and lowered.startswith(default)):
            return source
    return None


def entropy_bits_per_char(value: str) -> float:
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


# Below this a long value is a word, a repeated pattern or a keyboard walk, not random bytes: a random
# 32-char hex string has ~3.8 bits/char, base64 ~4.7; English text ~3.5-4.1 with spaces, less without.
MIN_ENTROPY_BITS_PER_CHAR = 3.0
MIN_DISTINCT_CHARS = 10

# Values that are plainly not secret: registering them with the redactor would mask ordinary words
# ("production", "true") all over the report without protecting anything.
PLAIN_VOCABULARY = frozenset({
    "true", "false", "yes", "no", "on", "off", "none", "null", "production", "prod", "staging", "development",
    "dev", "test", "local", "debug", "info", "warn", "warning", "error", "release", "sandbox", "live", "preview",
})


def is_plain_value(value: str) -> bool:
    stripped = value.strip().lower()
    return stripped in PLAIN_VOCABULARY or (stripped.isdigit() and len(stripped) <= 6)


# Literal leftovers of a build or deploy that did not substitute configuration.
UNRESOLVED_VALUE = re.compile(
    r"^(?:undefined|null|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Z_][A-Z0-9_]+|%[A-Z_][A-Z0-9_]*%|process\.env\.[A-Za-z_]\w*|"
    r"import\.meta\.env\.[A-Za-z_]\w*|\{\{\s*[A-Za-z_.]+\s*\}\})$"
)
# In served scripts and the page: an HTML placeholder Vite did not replace (`%VITE_X%`), a browser-prefixed
# `process.env.X` / `import.meta.env.VITE_X` the bundler left in, or a URL that a minifier folded from
# `undefined + "/api"` because the variable was missing at build time.
# Sources: https://vite.dev/guide/env-and-mode#html-constant-replacement,
# https://create-react-app.dev/docs/adding-custom-environment-variables/
UNRESOLVED_IN_BUNDLE = re.compile(
    r"%(?:VITE|REACT_APP|NEXT_PUBLIC|PUBLIC)_[A-Z0-9_]+%"
    r"|\bprocess\.env\.(?:NEXT_PUBLIC|REACT_APP|VITE|GATSBY|EXPO_PUBLIC|NUXT_PUBLIC)_[A-Z0-9_]+"
    r"|\bimport\.meta\.env\.VITE_[A-Z0-9_]+"
    r"""|["'`](?:undefined|null)/[\w/.:-]*["'`]"""
    r"""|["'`]\$\{(?:VITE|REACT_APP|NEXT_PUBLIC|PUBLIC|API|BACKEND)_[A-Z0-9_]*\}[\w/.:-]*["'`]"""
)
