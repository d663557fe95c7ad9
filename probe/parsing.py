"""Parsers for what targets send: typed facts, never an exception, whatever the input.

Checks judge the facts; keeping the two apart lets the hostile-input tests exercise parsing alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# The lookbehind keeps a long run of digits (a hostile header) linear instead of quadratic.
_VERSION = re.compile(r"(?<!\d)\d+\.\d+")


@dataclass(frozen=True)
class Cookie:
    name: str
    secure: bool
    http_only: bool
    same_site: str | None  # "lax", "strict", "none", or None when absent or unrecognised
    domain: str | None
    path: str | None


def parse_set_cookie(header: str) -> Cookie | None:
    """One Set-Cookie header value. None for something that is not a cookie at all."""
    parts = [p.strip() for p in header.split(";")]
    name, sep, _ = parts[0].partition("=")
    if not sep or not name.strip():
        return None
    attrs: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        attrs[key.strip().lower()] = value.strip()
    same_site = attrs.get("samesite", "").lower() or None
    return Cookie(
        name=name.strip(),
        secure="secure" in attrs,
        http_only="httponly" in attrs,
        same_site=same_site if same_site in ("lax", "strict", "none") else None,
        domain=attrs.get("domain") or None,
        path=attrs.get("path") or None,
    )


@dataclass(frozen=True)
class Csp:
    directives: dict[str, tuple[str, ...]]

    def sources(self, directive: str) -> tuple[str, ...] | None:
        """Sources for a fetch directive, falling back to default-src as browsers do."""
        if directive in self.directives:
            return self.directives[directive]
        return self.directives.get("default-src")


def parse_csp(header: str) -> Csp:
    directives: dict[str, tuple[str, ...]] = {}
    for chunk in header.split(";"):
        words = chunk.strip().split()
        if words:
            name = words[0].lower()
            # The first occurrence wins; browsers ignore repeats.
            directives.setdefault(name, tuple(w.lower() for w in words[1:]))
    return Csp(directives=directives)


@dataclass(frozen=True)
class Hsts:
    max_age: int | None
    include_subdomains: bool
    preload: bool


def parse_hsts(header: str) -> Hsts:
    max_age: int | None = None
    flags: set[str] = set()
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        key = key.strip().lower()
        if key == "max-age":
            digits = value.strip().strip('"')
            max_age = int(digits) if digits.isdigit() else None
        elif key:
            flags.add(key)
    return Hsts(max_age=max_age, include_subdomains="includesubdomains" in flags, preload="preload" in flags)


def has_version(value: str) -> bool:
    """`nginx/1.25.3`, `PHP/8.2.1`, `Werkzeug/3.0.1 Python/3.11.7`: a product with a version number."""
    return bool(_VERSION.search(value))


_PATH_STEP = re.compile(r"([^.\[\]]+)|\[(\*|\d+)\]")
MAX_PATH_VALUES = 1000


def json_path(document: object, path: str) -> list[object]:
    """Values at a simple JSON path (`token`, `data.access_token`, `[*].id`, `data.items[*].id`, `items[0].id`).
    Missing keys, wrong types and hostile documents give fewer values, never an exception."""
    current: list[object] = [document]
    for match in _PATH_STEP.finditer(path.strip().lstrip("$").lstrip(".")):
        key, index = match.group(1), match.group(2)
        following: list[object] = []
        for value in current:
            if key is not None and isinstance(value, dict) and key in value:
                following.append(value[key])
            elif index == "*" and isinstance(value, list):
                following.extend(value[:MAX_PATH_VALUES])
            elif index is not None and index != "*" and isinstance(value, list) and int(index) < len(value):
                following.append(value[int(index)])
        current = following[:MAX_PATH_VALUES]
    return current


Leaf = tuple[str, str]
MAX_LEAVES = 2000  # values read from one JSON body


def leaves(document: Any) -> set[Leaf]:
    """(key, value) pairs of a JSON document's scalars (bounded), keyed by their nearest key name so that a record
    seen in a list and on its own page match. Booleans and nulls say nothing about whose record it is."""
    found: set[Leaf] = set()
    stack: list[tuple[str, Any]] = [("", document)]
    seen = 0
    while stack and seen < MAX_LEAVES:
        key, value = stack.pop()
        seen += 1
        if isinstance(value, dict):
            stack.extend((str(k), v) for k, v in list(value.items())[:MAX_LEAVES])
        elif isinstance(value, list):
            stack.extend((key, v) for v in value[:MAX_LEAVES])
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            found.add((key, str(value)))
    return found
