"""The env manifest: what the app needs. Read from `.env.example` (python-dotenv, plus annotations in the
comments on or just above a line) and/or from `[env.vars]` in probe.toml, into typed `VarSpec` facts.

Annotations are words in a comment on the variable's line or on the comment lines just above it: `optional`,
`required`, `public` (meant for the browser), `secret`, `url`, `bool`, `email`.

A variable is required (must be deployed) unless annotated `optional` or given `required = false` in
`[env.vars]`. It may be deployed empty when it is optional, or when the manifest itself leaves it empty
(`SENTRY_DSN=`, `SMTP_HOST=`: the app runs without it) and it is not annotated `required`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from probe.checks.env.rules import SECRET_NAME, browser_prefix

Kind = Literal["secret", "url", "bool", "email", "string"]
KINDS: tuple[Kind, ...] = ("secret", "url", "bool", "email", "string")
TAGS = frozenset({"optional", "required", "public", "secret", "url", "bool", "email"})
_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*=(.*)$")
_WORD = re.compile(r"[a-z]+")
_URL_NAME = re.compile(r"(?:_URL|_URI|_ENDPOINT|_HOST|_ORIGIN|_DOMAIN)$|^(?:URL|HOST)$", re.IGNORECASE)
_BOOL_VALUES = frozenset({"true", "false", "0", "1", "yes", "no", "on", "off"})
MAX_MANIFEST_BYTES = 1_000_000


class ManifestError(Exception):
    """The manifest cannot be read; the message is one line naming the file."""


@dataclass(frozen=True)
class VarSpec:
    name: str
    required: bool
    kind: Kind
    public: bool
    sample: str | None = None
    pattern: str | None = None
    min_length: int | None = None
    line: int | None = None
    declared_kind: bool = False  # the kind was stated (annotation or [env.vars]), not guessed from the name
    may_be_empty: bool = False  # optional, or left empty in the manifest itself (see the module docstring)


@dataclass(frozen=True)
class Manifest:
    path: str | None  # None when the manifest is only the [env.vars] table
    vars: tuple[VarSpec, ...]

    def get(self, name: str) -> VarSpec | None:
        return next((v for v in self.vars if v.name == name), None)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(v.name for v in self.vars)


def guess_kind(name: str, sample: str | None) -> Kind:
    if sample and sample.strip().lower() in _BOOL_VALUES and not SECRET_NAME.search(name):
        return "bool"
    if SECRET_NAME.search(name) and not re.search(r"PUBLISHABLE|PUBLIC_KEY|_ID$", name, re.IGNORECASE):
        return "secret"
    if _URL_NAME.search(name) or (sample and re.match(r"^[a-z][a-z0-9+.-]*://", sample.strip())):
        return "url"
    return "string"


def _tags(comment: str) -> set[str]:
    return set(_WORD.findall(comment.lower())) & TAGS


def _inline_comment(rest: str) -> str:
    """The comment after a value: python-dotenv treats ` #` after an unquoted value as a comment; after a
    quoted value, anything following the closing quote."""
    rest = rest.strip()
    if rest[:1] in ("'", '"'):
        close = rest.find(rest[0], 1)
        tail = rest[close + 1:] if close > 0 else ""
        return tail.split("#", 1)[1] if "#" in tail else ""
    if rest.startswith("#"):
        return rest[1:]
    match = re.search(r"\s#(.*)$", rest)
    return match.group(1) if match else ""


def parse_dotenv_manifest(text: str) -> list[VarSpec]:
    """Parse a `.env.example`. Values come from python-dotenv; annotations and line numbers from the lines."""
    import io

    from dotenv import dotenv_values

    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    specs: list[VarSpec] = []
    above: set[str] = set()
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            above = set()
            continue
        if stripped.startswith("#"):
            above |= _tags(stripped[1:])
            continue
        match = _ASSIGN.match(line)
        if not match:
            above = set()
            continue
        name = match.group(1)
        tags = above | _tags(_inline_comment(match.group(2)))
        above = set()
        if name in seen:
            continue
        seen.add(name)
        sample = values.get(name)
        stated = [k for k in KINDS if k in tags]
        kind: Kind = stated[0] if stated else guess_kind(name, sample)
        optional = "optional" in tags
        specs.append(VarSpec(
            name=name,
            required=not optional,
            may_be_empty=optional or (sample == "" and "required" not in tags),
            kind=kind,
            public="public" in tags or browser_prefix(name) is not None,
            sample=sample,
            line=number,
            declared_kind=bool(stated),
        ))
    return specs


def load_manifest(path: Path | None, table: Mapping[str, Any], *, explicit: bool) -> Manifest | None:
    """The manifest file (when it exists, or an error when it was named and does not), with `[env.vars]`
    rules layered on top: the keys a rule sets override the file's annotations for its variable, or add one.
    `table` holds only the keys each rule sets (`model_dump(exclude_unset=True)`)."""
    specs: dict[str, VarSpec] = {}
    shown: str | None = None
    if path is not None and (explicit or path.is_file()):
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_MANIFEST_BYTES)
        except OSError as exc:
            raise ManifestError(f"{path}: cannot read the env manifest ({exc.strerror or exc})") from None
        shown = str(path)
        specs = {s.name: s for s in parse_dotenv_manifest(raw.decode("utf-8", errors="replace"))}
    for name, rule in table.items():
        base = specs.get(name)
        kind = rule.get("kind") or (base.kind if base else guess_kind(name, None))
        public = rule.get("public")
        required = bool(rule["required"]) if "required" in rule else (base.required if base else True)
        specs[name] = VarSpec(
            name=name,
            required=required,
            may_be_empty=not required or ("required" not in rule and base is not None and base.may_be_empty),
            kind=kind,
            public=bool(public) if public is not None else (base.public if base else browser_prefix(name) is not None),
            sample=base.sample if base else None,
            pattern=rule.get("pattern"),
            min_length=rule.get("min_length"),
            line=base.line if base else None,
            declared_kind=bool(rule.get("kind")) or (base.declared_kind if base else False),
        )
    if shown is None and not specs:
        return None
    return Manifest(path=shown, vars=tuple(specs.values()))
