"""Masking of secret values. Every secret the run learns (config ${VAR}s, login tokens, keys a check
finds) is registered here, and every result passes through `redact_value` before any reporter sees it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

# Shorter values are too likely to occur by chance in ordinary text to be replaced everywhere.
MIN_SECRET_LENGTH = 4


def mask(value: str) -> str:
    """A stand-in that tells two secrets apart without revealing either: length and a short hash."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"[masked {len(value)} chars #{digest}]"


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            self._secrets.add(secret)

    def __contains__(self, value: str) -> bool:
        return value in self._secrets

    def redact(self, text: str) -> str:
        if not self._secrets or not text:
            return text
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
