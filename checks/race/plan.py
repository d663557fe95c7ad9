"""`[[race]]` entries and one attempt at each: fresh setup, verify before, the release, verify after.

Registers no checks (probe.checks.race holds them). Every request of an attempt is counted against the run's budget
and deadline before it is sent: setup and verify go through the run's client's requests; the copies through its
`release` (probe.release), which takes them all from the budget first and sends them together (a plain request's
per-host concurrency limit and pace would send them one after another).
"""

from __future__ import annotations

import json
import re
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from pydantic import Field, field_validator, model_validator

from probe.accounts import parse_request_line
from probe.config import RoutePath, Section, method_in
from probe.context import CheckContext
from probe.guards import Skip, Unavailable
from probe.http import Response, excluded
from probe.parsing import json_path
from probe.release import Copy, requests_per_copy

DEFAULT_COPIES = 10
MAX_COPIES = 30  # about what fits the single-packet technique's one TCP packet; more is load, not a race
DEFAULT_ATTEMPTS = 3
MAX_ATTEMPTS = 10
METHODS = ("POST", "PUT", "PATCH", "DELETE", "GET")
PLACEHOLDER = re.compile(r"\{(setup\.[A-Za-z0-9_.\[\]*-]+|email|username)\}")
ANY_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_.\[\]*-]*)\}")
# A successful copy: 2xx. Anything else (409 already redeemed, 422, 429, 5xx, no answer) did not go through.
SUCCESS = range(200, 300)


class RaceRequest(Section):
    """A `setup` or `verify` request: `request = "POST /api/coupons"`, an optional body, headers, and the account
    that sends it (default: the entry's)."""

    request: str
    json_body: Any = Field(default=None, alias="json")
    form: dict[str, str] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    account: str | None = Field(default=None, description="default: the [[race]] entry's account")

    @field_validator("request")
    @classmethod
    def _request_line(cls, value: str) -> str:
        parse_request_line(value)
        return value

    @model_validator(mode="after")
    def _one_body(self) -> RaceRequest:
        if self.json_body is not None and self.form is not None:
            raise ValueError("give the body as json or form, not both")
        return self


class VerifyRequest(RaceRequest):
    """`verify`: a read whose JSON `value` (a number, or a list's length) must move at most once per attempt; `step`
    is how far one legitimate success moves it (the coupon's amount, the withdrawal, 1 for a count)."""

    value: str = Field(description="JSON path of the value: 'balance', 'data.votes', 'items'")
    step: float = Field(default=1.0, gt=0)


class RaceTarget(Section):
    """`[[race]]`: a request that must succeed at most once per attempt (or, with `idempotency = true`, at most once
    per Idempotency-Key)."""

    path: RoutePath
    method: str = "POST"
    json_body: Any = Field(default=None, alias="json")
    form: dict[str, str] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    account: str | None = Field(default=None, description="the [accounts.NAME] that sends it; none: anonymous")
    copies: int = Field(default=DEFAULT_COPIES, ge=2, le=MAX_COPIES)
    attempts: int = Field(default=DEFAULT_ATTEMPTS, ge=1, le=MAX_ATTEMPTS)
    setup: RaceRequest | None = None
    verify: VerifyRequest | None = None
    idempotency: bool = Field(default=False, description="race.idempotency tests this entry (not double-submit)")
    idempotency_header: str = "Idempotency-Key"
    record: str | None = Field(default=None, description="JSON path of the created record's id in a 2xx answer")

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return method_in(value, METHODS)

    @model_validator(mode="after")
    def _consistent(self) -> RaceTarget:
        if self.json_body is not None and self.form is not None:
            raise ValueError("give the body as json or form, not both")
        if self.idempotency and self.method == "GET":
            raise ValueError("idempotency: an Idempotency-Key is for requests that create or change something, not GET")
        for request in (self, self.setup, self.verify):
            if request is None:
                continue
            for name in _placeholders(request):
                if not PLACEHOLDER.fullmatch("{" + name + "}"):
                    raise ValueError(f"unknown placeholder {{{name}}}: use {{setup.KEY}}, {{email}} or {{username}}")
                if name.startswith("setup.") and self.setup is None:
                    raise ValueError(f"{{{name}}} cannot be used in an entry without a setup request")
                if name.startswith("setup.") and request is self.setup:
                    raise ValueError(f"{{{name}}} cannot be used in the setup request itself: it names the setup's answer")
        return self

    # No `surface_routes`: a raced route changes state (redeems, pays, signs up), so it is sent only by these active
    # checks, never handed to the passive checks' attack surface.
    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"


def _placeholders(request: RaceTarget | RaceRequest) -> list[str]:
    path = request.path if isinstance(request, RaceTarget) else request.request
    texts = [path, json.dumps(request.json_body), json.dumps(request.form), *request.headers.values()]
    return [m.group(1) for text in texts for m in ANY_PLACEHOLDER.finditer(text)]


def requests_per_attempt(entry: RaceTarget, copies: int) -> int:
    """The most requests one attempt sends: setup, verify before and after, the copies (and their warm-ups)."""
    per_copy = requests_per_copy(entry.json_body is not None or entry.form is not None)
    return (1 if entry.setup else 0) + (2 if entry.verify else 0) + copies * per_copy


def request_cap(entry: RaceTarget) -> int:
    """The most requests race.double-submit sends for an entry: at most 10 × (1 + 2 + 2 × 30) = 630."""
    return entry.attempts * requests_per_attempt(entry, entry.copies)


@dataclass(frozen=True)
class Attempt:
    """One attempt: what each copy answered, how tightly they left, and the verify value around them."""

    statuses: tuple[int | None, ...]
    records: tuple[str, ...]  # the `record` id of each 2xx answer that carried one
    spread_ms: float | None
    technique: str
    before: float | None
    after: float | None
    step: float
    errors: tuple[str, ...]

    @property
    def successes(self) -> int:
        return sum(1 for s in self.statuses if s is not None and s in SUCCESS)

    @property
    def moves(self) -> float | None:
        """How many legitimate successes the verify value moved by (2.0: twice)."""
        if self.before is None or self.after is None:
            return None
        return round(abs(self.after - self.before) / self.step, 2)

    @property
    def moved_more_than_once(self) -> bool:
        return self.moves is not None and self.moves > 1

    def evidence(self, number: int) -> dict[str, Any]:
        histogram = Counter("no answer" if s is None else str(s) for s in self.statuses)
        found: dict[str, Any] = {
            "attempt": number,
            "copies": len(self.statuses),
            "succeeded": self.successes,
            "statuses": dict(sorted(histogram.items())),
            "release": self.technique,
            "release_spread_ms": None if self.spread_ms is None else round(self.spread_ms, 2),
        }
        if self.before is not None:
            found["verify"] = {"before": self.before, "after": self.after, "moves": self.moves}
        if self.records:
            found["records"] = sorted(set(self.records))
        if self.errors:
            found["errors"] = sorted(set(self.errors))[:3]
        return found


def fresh_email() -> str:
    # example.com is reserved for documentation (RFC 2606): nobody can own the address.
    return f"probe-race-{secrets.token_hex(6)}@example.com"


def fill(template: Any, values: Mapping[str, Any]) -> Any:
    """`{name}` placeholders filled at any depth. A string that is one placeholder alone takes the value as it is
    (a number stays a number); inside a longer string the value is written as text."""
    if isinstance(template, str):
        whole = ANY_PLACEHOLDER.fullmatch(template)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return ANY_PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)
    if isinstance(template, Mapping):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def _path(template: str, values: Mapping[str, Any]) -> str:
    # '@' is allowed in a path segment (RFC 3986 pchar): an e-mail stays readable.
    return str(fill(template, {k: quote(str(v), safe="@") for k, v in values.items()}))


def _body(json_body: Any, form: Mapping[str, str] | None, values: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
    if json_body is not None:
        return json.dumps(fill(json_body, values)).encode(), {"Content-Type": "application/json"}
    if form is not None:
        encoded = urlencode({k: str(v) for k, v in fill(dict(form), values).items()})
        return encoded.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    return b"", {}


async def _headers(ctx: CheckContext, account: str | None) -> dict[str, str]:
    if account is None:
        return {}
    if account not in ctx.accounts.names:
        raise Unavailable(f"[[race]] names account {account!r}, which is not configured in [accounts]")
    session = await ctx.accounts.session(account)
    return dict(session.headers)


def _values(ctx: CheckContext, entry: RaceTarget) -> dict[str, Any]:
    values: dict[str, Any] = {"email": fresh_email()}
    if entry.account and entry.account in ctx.accounts.names:
        username = ctx.accounts.settings(entry.account).username
        if username:
            values["username"] = username
    return values


async def send(ctx: CheckContext, request: RaceRequest, entry: RaceTarget, values: Mapping[str, Any],
               what: str) -> Response:
    """A setup or verify request through the run's client, as its account; anything but a 2xx is Unavailable."""
    method, path = parse_request_line(request.request)
    body, content_type = _body(request.json_body, request.form, values)
    account = request.account or entry.account
    headers = {**content_type, **fill(request.headers, values), **await _headers(ctx, account)}
    response = await ctx.http.request(method, _path(path, values), headers=headers, content=body or None,
                                      follow_redirects=False)
    if response.status not in SUCCESS:
        excerpt = ctx.redactor.redact(response.text[:160].strip())
        raise Unavailable(f"the {what} request {request.request} answered {response.status}"
                          + (f" ({excerpt})" if excerpt else "") + ": fix it in the [[race]] entry for " + entry.line,
                          location=ctx.http.url(path))
    return response


async def verify_value(ctx: CheckContext, entry: RaceTarget, values: Mapping[str, Any]) -> float | None:
    if entry.verify is None:
        return None
    response = await send(ctx, entry.verify, entry, values, "verify")
    found = json_path(response.json(), entry.verify.value)
    value = found[0] if found else None
    if isinstance(value, list):
        return float(len(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)  # a decimal sent as a string ("30.00"), as many money APIs do
        except ValueError:
            pass
    raise Unavailable(f"the verify request {entry.verify.request} has no number or list at {entry.verify.value!r} "
                      f"(found {value!r}): set value to the JSON path of a balance, a count or a list")


async def setup_values(ctx: CheckContext, entry: RaceTarget, values: dict[str, Any]) -> None:
    """Send the setup request and add the `{setup.KEY}` values the raced request uses."""
    if entry.setup is None:
        return
    response = await send(ctx, entry.setup, entry, values, "setup")
    document = response.json()
    used = [*_placeholders(entry), *(_placeholders(entry.verify) if entry.verify else [])]
    for name in dict.fromkeys(n for n in used if n.startswith("setup.")):
        found = json_path(document, name.removeprefix("setup."))
        if not found or isinstance(found[0], (dict, list)) or found[0] is None:
            raise Unavailable(f"the setup request {entry.setup.request} answered without a value at "
                              f"{name.removeprefix('setup.')!r}, which {{{name}}} needs")
        values[name] = found[0]


async def attempt(ctx: CheckContext, entry: RaceTarget, copies: int, extra_headers: Mapping[str, str] | None = None) -> Attempt:
    """One attempt: setup, verify, release `copies` copies together, verify again."""
    values = _values(ctx, entry)
    await setup_values(ctx, entry, values)
    before = await verify_value(ctx, entry, values)
    url = ctx.http.url(_path(entry.path, values))
    pattern = excluded(url, ctx.settings.exclude)
    if pattern is not None:
        raise Skip(f"{entry.path} matches exclude {pattern!r}: not raced", location=ctx.http.url(entry.path))
    body, content_type = _body(entry.json_body, entry.form, values)
    headers = {**content_type, **fill(entry.headers, values), **(extra_headers or {}), **await _headers(ctx, entry.account)}
    copy = Copy(entry.method, url, headers, body)
    # The engine takes every copy (and warm-up) from the budget before any is sent: a budget or deadline that runs
    # out stops the attempt before its release, never half-way through it.
    released = await ctx.http.release([copy] * copies)
    after = await verify_value(ctx, entry, values)
    return Attempt(
        statuses=tuple(a.status for a in released.answers),
        records=tuple(_records(entry, [(a.status, a.body) for a in released.answers])),
        spread_ms=released.spread_ms,
        technique=released.technique,
        before=before,
        after=after,
        step=entry.verify.step if entry.verify else 1.0,
        errors=tuple(a.error for a in released.answers if a.error),
    )


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


async def sequential(ctx: CheckContext, entry: RaceTarget, extra_headers: Mapping[str, str]) -> Attempt:
    """The same request twice in a row (the second after the first has answered), with setup and verify around."""
    values = _values(ctx, entry)
    await setup_values(ctx, entry, values)
    before = await verify_value(ctx, entry, values)
    path = _path(entry.path, values)
    pattern = excluded(ctx.http.url(path), ctx.settings.exclude)
    if pattern is not None:
        raise Skip(f"{entry.path} matches exclude {pattern!r}: not sent", location=ctx.http.url(entry.path))
    body, content_type = _body(entry.json_body, entry.form, values)
    headers = {**content_type, **fill(entry.headers, values), **extra_headers, **await _headers(ctx, entry.account)}
    answers = [await ctx.http.request(entry.method, path, headers=headers, content=body or None, follow_redirects=False)
               for _ in range(2)]
    after = await verify_value(ctx, entry, values)
    return Attempt(
        statuses=tuple(a.status for a in answers),
        records=tuple(_records(entry, [(a.status, a.body) for a in answers])),
        spread_ms=None,
        technique="sequential",
        before=before,
        after=after,
        step=entry.verify.step if entry.verify else 1.0,
        errors=(),
    )


def _records(entry: RaceTarget, answers: list[tuple[int | None, bytes]]) -> list[str]:
    """The `record` id of every 2xx answer that carries one."""
    records: list[str] = []
    for status, body in answers:
        if entry.record and status in SUCCESS:
            found = json_path(_json(body), entry.record)
            if found and isinstance(found[0], (str, int)) and not isinstance(found[0], bool):
                records.append(str(found[0]))
    return records
