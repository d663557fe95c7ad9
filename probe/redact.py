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
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.redact(str(k)): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.redact_value(v) for v in value)
        return value
