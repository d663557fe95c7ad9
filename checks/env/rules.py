"""Data for the env family: one row per entry, each with the document it comes from.

Adding a framework's debug flag or a payment provider's sandbox marker is adding a row here; the checks in
`checks/env.py` only judge values against these tables.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from probe.checks import wordlists

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


# Values people leave in place of a real one, matched against the whole value, case-insensitively:
# (pattern, label, where the word comes from). Starters' own samples first: a deployment that kept one of them
# runs with a value published in the starter's repository.
FASTAPI_TEMPLATE = "https://github.com/fastapi/full-stack-fastapi-template/blob/master/backend/app/core/config.py"
SUPABASE_DOCKER = "https://github.com/supabase/supabase/blob/master/docker/.env.example"
PLACEHOLDERS: tuple[tuple[str, str, str], ...] = (
    # SECRET_KEY, POSTGRES_PASSWORD and FIRST_SUPERUSER_PASSWORD=changethis; the template's Settings refuses them
    # outside `local` (`_check_default_secret`). Variants seen in forks: changethis-to-a-secure-..., ChangeThisPassword.
    (r"change[-_ ]?this.*", "change-this (FastAPI full-stack template)", FASTAPI_TEMPLATE),
    (r"change[-_ ]?me(?:[-_ ]?now|[-_ ]?please)?|change[-_ ]?it", "change-me word", "https://12factor.net/config"),
    # Plausible CE's plausible-conf.env ships BASE_URL=replace-me, SECRET_KEY_BASE=replace-me; Directus's Docker guide
    # KEY/SECRET=replace-with-random-value.
    (r"replace[-_ ]?me.*|replace[-_ ]?(?:this|with)[-_ ].*", "replace-me (Plausible, Directus)",
     "https://github.com/plausible/community-edition; https://docs.directus.io/self-hosted/docker-guide"),
    # Strapi's generated .env.example: APP_KEYS="toBeModified1,toBeModified2", JWT_SECRET=tobemodified.
    (r"to[-_ ]?be[-_ ]?modified\d*(?:,\s*to[-_ ]?be[-_ ]?modified\d*)*", "tobemodified (Strapi)",
     "https://github.com/strapi/strapi/blob/develop/packages/cli/create-strapi-app/templates/"),
    # Supabase self-hosting: DASHBOARD_PASSWORD=this_password_is_insecure_and_should_be_updated, POSTGRES_PASSWORD=
    # your-super-secret-and-long-postgres-password (the your-... row below).
    (r"this[-_ ]password[-_ ]is[-_ ]insecure.*", "insecure-password sample (Supabase)", SUPABASE_DOCKER),
    (r"x{3,}|\*{3,}|\.{3}|-{3,}|0{6,}", "filler characters", "https://12factor.net/config"),
    (r"to[-_ ]?do|tbd|fixme|fill[-_ ]?(?:me|in|this)", "TODO", "https://12factor.net/config"),
    # A JSON list (`["http://localhost"]`, BACKEND_CORS_ORIGINS) is a value, not a bracketed template: no quotes or
    # commas inside the brackets.
    (r"<[^<>\n]{1,80}>|\[[^\[\]\n\"',]{1,80}\]|\{\{[^{}\n]{1,80}\}\}", "bracketed template", "https://12factor.net/config"),
    (r"your[-_ ][a-z0-9 _-]{1,60}(?:here)?|(?:put|insert|enter|add)[-_ ].{1,60}", "your-... instruction", SUPABASE_DOCKER),
    (r"placeholder|dummy|example|sample|fake|foo|bar|baz|lorem.*|secret|password|api[-_ ]?key|token", "sample word",
     "https://12factor.net/config"),
    (r"(?:sk|pk|rk)_(?:test|live)_(?:x+|\.\.\.|[0-9]+|your.*|\*+)", "key prefix with filler", "https://docs.stripe.com/keys"),
    (r"https?://(?:www\.)?example\.(?:com|org|net)(?:[:/].*)?|.*@example\.(?:com|org|net)", "example.com",
     "https://www.rfc-editor.org/rfc/rfc2606#section-3"),
)
_PLACEHOLDER_RES = tuple((re.compile(rf"^(?:{p})$", re.IGNORECASE | re.DOTALL), label) for p, label, _ in PLACEHOLDERS)


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


# Names of variables that hold a secret (a password, token, key or DSN): their values are masked in reports and
# their manifest samples are placeholders. A `…_KEY_ID`, `PUBLISHABLE…` or `PUBLIC_KEY` is not (see `guess_kind`).
SECRET_NAME = re.compile(r"(?:SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|(?:^|_)KEY$|_KEY_|API_?KEY|DSN$)", re.IGNORECASE)


def url_password(value: str) -> str | None:
    """The password in a URL's userinfo (`postgres://app:PASSWORD@db/app`), which is secret whatever the variable."""
    if "://" not in value or "@" not in value:
        return None
    try:
        return urlsplit(value.strip()).password or None
    except ValueError:
        return None


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
    """Where the value is published: the table above (case-insensitive, prefixes for templates that append
    random characters), else the secret lists in checks/wordlists.py (exact, as an app would use it)."""
    lowered = value.strip().lower()
    for default, source in KNOWN_DEFAULT_SECRETS:
        if lowered == default or (default.endswith("-") and lowered.startswith(default)):
            return source
    return wordlists.describe(value)


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
