"""What client libraries and apps ship in their own code and is therefore not the deployment's configuration.

A production bundle carries every library it imports, with their built-in defaults and documentation: supabase-js
names GoTrue's local URL as its fallback, Firebase documents its emulators' local addresses, OpenTelemetry (inside
Firebase Crashlytics) names the local collector and explains that `https://username:password@www.example.com/`
must not be logged; Apache Superset serves its own front-end defaults in every page. A check that reads the bundle
asks here before calling such a text a finding. Each row names the library or app, the text around the value that
identifies it, where the default is defined, and (if known) what in the same text shows the default is in use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from probe.checks.env.rules import placeholder_reason

# How far around a value the identifying text is looked for: minifiers keep a module's constants together.
CONTEXT_CHARS = 200


@dataclass(frozen=True)
class LibraryDefault:
    library: str
    url: re.Pattern[str]  # the local URL the library ships (scheme://host:port, whole)
    context: re.Pattern[str]  # text beside it that only that library's code or docs carry
    source: str
    # Text anywhere in the page or script saying the default is in use (the feature that reads it is on): then it
    # is the app's setting after all.
    used_when: re.Pattern[str] | None = None


def _d(library: str, url: str, context: str, source: str, used_when: str | None = None) -> LibraryDefault:
    return LibraryDefault(library, re.compile(url), re.compile(context), source,
                          re.compile(used_when) if used_when else None)


LOCAL = r"(?:https?|wss?)://(?:localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0)"
_QUOTE = r"(?:\"|&#34;|&quot;)"  # JSON in a script, or HTML-escaped in a data- attribute
LIBRARY_DEFAULTS: tuple[LibraryDefault, ...] = (
    _d("@supabase/auth-js (GOTRUE_URL, used when no URL is given)", r"https?://localhost:9999", r"supabase\.auth\.token|gotrue",
       "https://github.com/supabase/supabase-js/blob/master/packages/core/auth-js/src/lib/constants.ts"),
    _d("Firebase emulator addresses (connect*Emulator docs and defaults)", LOCAL + r":\d+", r"[Ee]mulator",
       "https://firebase.google.com/docs/emulator-suite/connect_and_prototype"),
    _d("OpenTelemetry OTLP/HTTP exporter default endpoint", r"https?://localhost:4318", r"(?i)otlp|v1/(?:traces|logs|metrics)",
       "https://opentelemetry.io/docs/specs/otel/protocol/exporter/#endpoint-urls-for-otlphttp"),
    # Superset serves its front-end settings in every page's bootstrap data, this one included; the browser opens the
    # socket only with GLOBAL_ASYNC_QUERIES on and its transport set to "ws" (the default transport is "polling").
    _d("Apache Superset (GLOBAL_ASYNC_QUERIES_WEBSOCKET_URL, read only with the \"ws\" async-query transport)",
       r"wss?://127\.0\.0\.1:8080", r"GLOBAL_ASYNC_QUERIES_WEBSOCKET_URL",
       "superset/config.py (GLOBAL_ASYNC_QUERIES_WEBSOCKET_URL, GLOBAL_ASYNC_QUERIES_TRANSPORT) and superset/views/base.py "
       "(FRONTEND_CONF_KEYS): https://github.com/apache/superset/blob/master/superset/config.py",
       used_when=rf"GLOBAL_ASYNC_QUERIES_TRANSPORT{_QUOTE}\s*:\s*{_QUOTE}ws{_QUOTE}"),
)


def library_default(text: str, start: int, end: int) -> LibraryDefault | None:
    """The library whose built-in default the URL at text[start:end] is, if its identifying text is beside it."""
    url = text[start:end]
    around = text[max(0, start - CONTEXT_CHARS):end + CONTEXT_CHARS]
    return next((row for row in LIBRARY_DEFAULTS if row.url.fullmatch(url.rstrip("/")) and row.context.search(around)
                 and not (row.used_when and row.used_when.search(text))), None)


# Userinfo words documentation uses where a real URL would carry values (RFC 3986 §3.2.1 examples, OpenTelemetry's
# "https://REDACTED:REDACTED@..."), beside the placeholder words of the env rules.
USERINFO_WORDS = frozenset({"user", "username", "login", "name", "pass", "pwd", "passwd", "redacted", "userinfo", "id"})
# Domains reserved for documentation (RFC 2606, RFC 6761): a URL there is an example, never a service.
_EXAMPLE_HOST = re.compile(r"(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid)$", re.IGNORECASE)
_URL_CHARS = r"[^:/?#\[\]@\s'\"`<>{}]+"


def _placeholder(word: str) -> bool:
    return not word or word.lower() in USERINFO_WORDS or placeholder_reason(word) is not None or "$" in word or "%" in word


def real_basic_auth(text: str, password: str) -> bool:
    """Whether `password` stands in a URL with credentials a service would accept: a real host, and neither the user
    nor the password a placeholder (detect-secrets' BasicAuthDetector matches any `://user:pass@`, documentation
    included)."""
    pattern = re.compile(rf"[a-z][a-z0-9+.-]*://({_URL_CHARS}):{re.escape(password)}@({_URL_CHARS})", re.IGNORECASE)
    for match in pattern.finditer(text):
        user, host = match.group(1), match.group(2).split(":")[0]
        real_host = not _EXAMPLE_HOST.search(host) and ("." in host or host == "localhost")
        if real_host and not _placeholder(user) and not _placeholder(password):
            return True
    return False
