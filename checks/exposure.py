"""Sensitive data anyone can read: API routes that answer a request with no credentials with records carrying
passwords, password hashes, tokens, keys or a list of people's email addresses.

Passive and read-only: each route is requested once with GET and no credentials. The routes are the discovered
ones (`ctx.surface.api_paths()`: configured, named in the page and its scripts, listed in an OpenAPI document) and
the document's GET operations, without path parameters (a template needs an id probe does not have) or required
query parameters. Never requested: a route the document lists without a GET, one whose path reads as an action
(`/createdb`, `/logout`), one that takes credentials or events (`/login`, `/webhooks/stripe`), the caller's own
record (`/api/me`) and a bare API prefix (`/api`); a route and its trailing-slash twin are requested once. At most
`MAX_ROUTES` routes, those whose names suggest people or accounts first.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from probe.context import CheckContext
from probe.guards import Skip
from probe.http import HttpError, Response
from probe.model import Result, Severity
from probe.operations import operations, template_names
from probe.redact import mask
from probe.registry import Family, check
from probe.surface import reads_as_action

FAMILY = Family(group="authorization")

MAX_ROUTES = 10
API_ACCEPT = "application/json, text/plain, */*"
# Field names (lower case, separators removed) whose value is a credential: what OWASP API3:2023 "Broken Object
# Property Level Authorization" and CWE-200 name as data a response must not carry, spelled as the frameworks do
# (Django `password`, Rails/has_secure_password `password_digest`, Devise `encrypted_password`, FastAPI's tutorial
# `hashed_password`, OAuth `access_token`/`refresh_token`/`client_secret`, TOTP `otp_secret`).
CREDENTIAL_FIELDS = frozenset({
    "password", "passwd", "pwd", "passwordhash", "hashedpassword", "passworddigest", "encryptedpassword",
    "passwordsalt", "salt", "token", "accesstoken", "refreshtoken", "authtoken", "apitoken", "sessiontoken",
    "resettoken", "passwordresettoken", "confirmationtoken", "verificationtoken", "apikey", "secret", "secretkey",
    "clientsecret", "privatekey", "otpsecret", "totpsecret", "mfasecret", "twofactorsecret", "ssn", "cardnumber",
    "creditcard", "cvv",
})
EMAIL_FIELDS = frozenset({"email", "emailaddress"})
# Fields shown as they are beside the masked ones, so the finding names whose data it is.
IDENTITY_FIELDS = frozenset({"id", "username", "user", "login", "name"})
MIN_VALUE = 3
# A list of people's addresses needs more than one: a single contact address in a health check is no leak.
MIN_EMAILS = 2
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Values that already hide what they stand for.
_HIDDEN = re.compile(r"(?i)^(?:[*•x●.\-]+|\[?(?:redacted|hidden|filtered|masked|removed)\]?|null|none)$")
# Route words that suggest people or accounts: requested first when there are more routes than the bound.
_PEOPLE = re.compile(r"(?i)user|account|member|customer|admin|staff|profile|people|person|owner|author|debug|dump|export|"
                     r"employee|auth")
# Routes that take credentials or events rather than list records (log-in, sign-up, webhook receivers, OAuth
# callbacks): a GET there reads nothing, so the bounded requests go elsewhere.
_INTAKE = re.compile(r"(?i)(?:^|/)(?:log-?in|sign-?in|sign-?up|register|webhooks?|callback|oauth)(?:/|$)")
# The caller's own record (`/api/me`): asked with no credentials it describes no one, so it lists nobody's data; an
# account's control route is checked for refusing strangers by the authorization checks.
_SELF = re.compile(r"(?i)(?:^|/)(?:me|self|whoami|current[-_]?user)(?:/|$)")
# A bare API prefix (a script's `baseURL`, `/api`, `/v2`) names where routes live, not a route that lists records.
_PREFIX = re.compile(r"(?i)^(?:/(?:api|rest))?(?:/v\d+)?/?$")
_CSRF = re.compile(r"(?i)csrf|xsrf")
MAX_NODES = 5_000


@dataclass(frozen=True)
class Exposure:
    fields: tuple[str, ...]  # as the response spells them
    records: int  # records carrying at least one of them
    sample: dict[str, str]  # the first such record's identifying fields as they are, its sensitive ones masked
    values: tuple[str, ...]  # the sensitive values, for the redactor


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _records(doc: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in the document, breadth first, bounded."""
    queue: deque[Any] = deque([doc])
    seen = 0
    while queue and seen < MAX_NODES:
        item = queue.popleft()
        seen += 1
        if isinstance(item, dict):
            yield item
            queue.extend(item.values())
        elif isinstance(item, list):
            queue.extend(item)


def _shown(key: str, value: Any) -> str | None:
    """The value as text when it could be the data itself: not a container, empty, hidden, or a label (a
    translation file's `"password": "Password"`, a form's `"Enter your password"`)."""
    if isinstance(value, (bool, dict, list)) or value is None:
        return None
    text = str(value).strip()
    if len(text) < MIN_VALUE or _HIDDEN.match(text) or _norm(text) == _norm(key) or re.search(r"\s", text):
        return None
    return text


def exposure(doc: Any, *, tokens_public: bool = False) -> Exposure | None:
    """What credential or personal fields the JSON document carries with values shown; None if none.
    `tokens_public`: the route hands out CSRF tokens by design, so a `token` field is no finding."""
    hits: list[tuple[dict[str, Any], dict[str, str]]] = []  # (record, its sensitive fields and values)
    emails: set[str] = set()
    for record in _records(doc):
        found: dict[str, str] = {}
        for key, value in record.items():
            name, shown = _norm(str(key)), _shown(str(key), value)
            if shown is None or (tokens_public and "token" in name):
                continue
            if name in CREDENTIAL_FIELDS:
                found[str(key)] = shown
            elif name in EMAIL_FIELDS and _EMAIL.match(shown):
                found[str(key)] = shown
                emails.add(shown.lower())
        if found:
            hits.append((record, found))
    if len(emails) < MIN_EMAILS:
        kept = ((r, {k: v for k, v in f.items() if _norm(k) not in EMAIL_FIELDS}) for r, f in hits)
        hits = [(r, f) for r, f in kept if f]
    if not hits:
        return None
    fields = tuple(dict.fromkeys(k for _, f in hits for k in f))
    record, first = hits[0]
    sample = {k: str(v) for k, v in record.items() if _norm(str(k)) in IDENTITY_FIELDS and isinstance(v, (str, int))}
    sample.update({k: mask(v) for k, v in first.items()})
    return Exposure(fields, len(hits), sample, tuple(dict.fromkeys(v for _, f in hits for v in f.values())))


async def candidates(ctx: CheckContext) -> list[str]:
    """Routes to read: discovered paths and the document's GET operations, without templates or required query
    parameters, never one that reads as an action or that the document lists without a GET."""
    doc = await ctx.surface.openapi()
    ops = operations(doc) if doc else ()
    gets = {op.path for op in ops if op.method == "GET" and not any(p.required for p in op.parameters)}
    listed = {op.path for op in ops}
    routes = [p for p in await ctx.surface.api_paths() if p not in listed or p in gets]
    routes.extend(sorted(gets))
    # The surface leaves out actions in passive mode and `exclude`d routes; a read never needs an action, so the
    # document's own routes are held to that in every mode.
    plain = [r for r in routes if ctx.surface.may_request(r) and not reads_as_action(r) and not _PREFIX.match(r)
             and not any(n is not None for n in template_names(r)) and not _INTAKE.search(r) and not _SELF.search(r)]
    # A route and its trailing-slash twin (`/api/notes`, `/api/notes/` built by a script) are one route: the first seen.
    unique: dict[str, str] = {}
    for route in plain:
        unique.setdefault(route.rstrip("/"), route)
    return sorted(unique.values(), key=lambda r: not _PEOPLE.search(r))[:MAX_ROUTES]


async def _read(ctx: CheckContext, route: str) -> Response | str:
    try:
        return await ctx.http.get(route, headers={"Accept": API_ACCEPT}, follow_redirects=False)
    except HttpError as exc:
        return str(exc)


@check(
    id="auth.public-data",
    title="No credentials or personal data readable without logging in",
    severity=Severity.CRITICAL,
    cwe=200,
    summary="Discovered GET routes (page, scripts, OpenAPI document) requested with no credentials do not return "
    "records with passwords, password hashes, tokens, keys or a list of people's email addresses.",
    risk="A debug or admin listing left open (`/users/v1/_debug`, `/api/users`) hands every account's password or "
    "hash, reset token or address to whoever reads the API's own documentation: accounts are taken over and the "
    "addresses end up in spam and phishing lists. Serialising whole database rows is how such fields reach a response.",
    fix="Require authentication on every route that returns user records, and serialise an explicit list of "
    "public fields instead of whole rows: FastAPI a `response_model` without the password field and "
    "`dependencies=[Depends(current_user)]`; DRF a serializer with explicit `fields` (never `__all__`) and "
    "`IsAuthenticated`; Flask/marshmallow a schema with `load_only=(\"password\",)` and `@login_required`; Rails "
    "`as_json(only: ...)`; Express pick the fields before `res.json`. Remove debug listings before deploying.",
    references=("https://owasp.org/API-Security/editions/2023/en/0xa3-broken-object-property-level-authorization/",
                "https://cwe.mitre.org/data/definitions/200.html"),
)
async def public_data(ctx: CheckContext) -> list[Result]:
    routes = await candidates(ctx)
    if not routes:
        raise Skip("no discovered GET route without path parameters to read (add `routes` to probe.toml)")
    answers = await asyncio.gather(*(_read(ctx, r) for r in routes))
    results: list[Result] = []
    clean: list[str] = []
    errors: list[str] = []
    for route, answer in zip(routes, answers, strict=True):
        if isinstance(answer, str):
            errors.append(f"{route}: {answer}")
            continue
        found = exposure(answer.json(), tokens_public=bool(_CSRF.search(route))) if 200 <= answer.status < 300 else None
        if found is None:
            clean.append(f"{route} ({answer.status})")
            continue
        for value in found.values:
            ctx.redactor.add(value)
        names = ", ".join(found.fields)
        evidence = answer.evidence(excerpt="(not shown: it carries the values below, masked)")
        evidence.update(fields=list(found.fields), records=found.records, sample=found.sample)
        results.append(ctx.fail(answer.url, f"GET {route} answered {answer.status} with no credentials: "
                                             f"{found.records} records with {names}.",
                                kind="public-sensitive-data", evidence=evidence))
    if results:
        return results
    if not clean:
        return [ctx.error(ctx.location, f"none of the {len(routes)} routes answered: {errors[0]}")]
    also = f" {len(errors)} got no answer: {'; '.join(errors)}." if errors else ""
    return [ctx.passed(ctx.location, f"{len(clean)} routes read with no credentials, none with credential or personal "
                                     f"fields: {', '.join(clean)}.{also}")]
