"""Masking of secret values. Every secret the run learns (config `${VAR}`s under secret keys, passwords, login
tokens and cookies, secret-like deployed env values, keys a check finds) is registered here, and every result's
text passes through `redact_value` before any reporter sees it.

Only secrets are registered: usernames, test accounts' emails, roles, hosts, URLs, ports and non-secret env
values are shown, because a report that hides the wrong URL cannot say what to fix.

Two strengths of masking:
- a secret of `MIN_SUBSTRING_LENGTH` characters or more that is not a common word is masked wherever it appears
  (in a response excerpt, a header, a sentence);
- a shorter secret, or one that is a common word (`password`, `changethis`, `localhost`), is masked only where it
  is the whole of a value (an evidence field, a header value): replaced inside other text it would blank
  ordinary words and paths (`admin` in `/api/admin/users`) while protecting nothing, since such a value is
  guessable anyway.

Result locations never pass through here (they are how a finding is fingerprinted and matched with its route
and baseline); `template_location` rewrites the rare location that would carry a credential.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlunsplit

from probe.model import Location

# Shorter values are too likely to occur by chance in ordinary text to be replaced inside it.
MIN_SUBSTRING_LENGTH = 8
# Words that are both plausible (weak) secret values and ordinary words of reports, configs and URLs: masked only as
# whole values. Placeholders and defaults from framework starters (see checks/env/rules.py for their sources), the
# words of probe's own messages, and common host and database names.
COMMON_WORDS = frozenset({
    "password", "passwords", "changeme", "changethis", "changeit", "secret", "secrets", "secretkey", "supersecret",
    "localhost", "postgres", "postgresql", "mysql", "mongodb", "redis", "database", "production", "development",
    "staging", "undefined", "anonymous", "username", "usernames", "example", "examples", "administrator", "admin123",
    "password1", "qwertyuiop", "letmein123", "placeholder", "required", "optional", "variable", "variables", "session",
    "sessions", "settings", "frontend", "backend", "internal", "external", "location", "fingerprint", "evidence",
})
SECRET_TEMPLATE = "{secret}"
# Most strings of one result's fields that `learn` reads: evidence is bounded by the checks, this bounds the walk.
MAX_LEARNED_STRINGS = 500

# A family's recogniser of secrets in any text (see `probe.registry.Family.finds_secrets`): the values it returns are
# registered, so a key in a response excerpt is masked whether or not the check that reports keys ran or finished.
SecretFinder = Callable[[str], Iterable[str]]


def mask(value: str) -> str:
    """A stand-in that tells two secrets apart without revealing either: length and a short hash."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"[masked {len(value)} chars #{digest}]"


def masked_inside_text(value: str) -> bool:
    """Whether a secret with this value is masked wherever it appears (True), or only as a whole value (False)."""
    return len(value) >= MIN_SUBSTRING_LENGTH and value.strip().lower() not in COMMON_WORDS


class Redactor:
    def __init__(self, secrets: Iterable[str] = (), finders: Sequence[SecretFinder] = ()) -> None:
        self._secrets: set[str] = set()  # masked wherever they appear
        self._whole: set[str] = set()  # masked only as the whole of a value
        self._finders = tuple(finders)
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Register a secret. Callers register secrets only: a username, host or URL is never passed here."""
        if not secret or not secret.strip():
            return
        (self._secrets if masked_inside_text(secret) else self._whole).add(secret)

    def learn(self, value: Any) -> None:
        """Register what the finders recognise as a secret in any string of `value` (a text, or a result's evidence)."""
        if not self._finders:
            return
        stack, seen = [value], 0
        while stack and seen < MAX_LEARNED_STRINGS:
            item = stack.pop()
            if isinstance(item, str):
                seen += 1
                for finder in self._finders:
                    for secret in finder(item):
                        self.add(secret)
            elif isinstance(item, Mapping):
                stack.extend(item.values())
            elif isinstance(item, (list, tuple)):
                stack.extend(item)

    def __contains__(self, value: str) -> bool:
        return value in self._secrets or value in self._whole

    def found_in(self, text: str) -> list[str]:
        """The registered secrets `text` would reveal: those inside it, or the whole of it."""
        inside = [s for s in self._secrets if s in text]
        return [*inside, text] if text in self._whole else inside

    def redact(self, text: str) -> str:
        if not text or not (self._secrets or self._whole):
            return text
        if text in self._whole or text.strip() in self._whole:
            return mask(text.strip())
        # Longest first, so a secret that contains another is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, mask(secret))
        return text

    def redact_value(self, value: Any) -> Any:
        """`value` with every secret masked; the very same object when there was nothing to mask, so that
        cleaning a large report does not copy it."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            pairs = [(k, v, self.redact(str(k)), self.redact_value(v)) for k, v in value.items()]
            if all(new_k is k and new_v is v for k, v, new_k, new_v in pairs):
                return value
            return {new_k: new_v for _, _, new_k, new_v in pairs}
        if isinstance(value, (list, tuple)):
            items = [(v, self.redact_value(v)) for v in value]
            return value if all(new is v for v, new in items) else type(value)(new for _, new in items)
        return value

    def template_location(self, location: str) -> str:
        """`location` itself when it reveals no secret; otherwise a template that names the place without the
        credential: a query parameter holding one becomes `name={secret}`, any other occurrence in the path or the
        userinfo `{secret}`. A URL's host and port are never touched (they are where the finding is, never a
        credential). The template is the same on every run (unlike a mask's hash of the value), so the fingerprint
        stays stable, and it is still a URL that parses (a mask's brackets would read as an IPv6 host)."""
        if not self.found_in(location):
            return location
        parts = Location.parse(location).parts
        if parts is None:
            return self._template(location)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
        userinfo, _, _ = parts.netloc.rpartition("@")
        netloc = (f"{self._template(userinfo)}@" if userinfo else "") + (f"[{host}]" if ":" in host else host) + port
        query = "&".join(f"{k}={SECRET_TEMPLATE}" if self.found_in(v) else f"{k}={v}"
                         for k, v in parse_qsl(parts.query, keep_blank_values=True))
        return urlunsplit((parts.scheme, netloc, self._template(parts.path), query, self._template(parts.fragment)))

    def _template(self, text: str) -> str:
        for secret in sorted(self.found_in(text), key=len, reverse=True):
            text = text.replace(secret, SECRET_TEMPLATE)
        return text
