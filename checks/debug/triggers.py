"""The debug family's shared passes, which register no checks: the error-provoking trigger pass (also read by
`input.server-error`) and the debug-endpoint pass.

The trigger pass provokes errors the safe way: an unknown path, an over-long path segment, a broken
percent-encoding, malformed JSON and a wrongly typed body to the API routes the surface knows, a quote in their
path parameters, bad numbers (negative, zero, beyond 64 bits, NaN) in the numeric query and path parameters of GET
routes (known from the OpenAPI document's parameter schemas, from conventional names such as skip/limit/page/id,
and from values seen in configured URLs; never to a route that reads as an action), and blank and wrongly typed
submissions of the page's forms (in passive mode, never a form that looks like it creates, pays or sends). The
endpoint pass asks for the usual debug and documentation endpoints, each confirmed by its content and compared with
the answer to a random path, so a catch-all route proves nothing. Every loop is bounded: at most `MAX_API_ROUTES`
routes, `MAX_FORMS` forms and `MAX_NUMBER_ROUTES` x `MAX_NUMBER_PARAMS` x 4 bad numbers (24). What comes back is
matched against the table in `probe.checks.debug.fingerprints`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

from pydantic import Field

from probe.accounts import parse_request_line
from probe.checks.debug.fingerprints import ENDPOINTS, FINGERPRINTS, Endpoint, Fingerprint, Signal
from probe.config import Section
from probe.context import CheckContext, MemoKey
from probe.http import HttpError, Response, ScopedHttp
from probe.model import Mode
from probe.operations import Parameter, numeric_name, operations, template_names
from probe.surface import Form, reads_as_action

MAX_API_ROUTES = 4
MAX_FORMS = 3
MAX_CONFIGURED = 8
# Bad numbers: at most this many routes, and numeric parameters per route, each sent an ordinary number first (the
# control: the document's example, else 1) and then every value of `BAD_NUMBERS` (a path parameter:
# `PATH_BAD_NUMBERS`) one at a time, the route's other parameters at their defaults: at most 10 requests a route and
# 3 x 2 x 5 = 30 a run.
MAX_NUMBER_ROUTES = 3
MAX_NUMBER_PARAMS = 2
# Out-of-range and wrongly typed numbers. 20 digits is beyond any 64-bit integer (2**64 is about 1.8e19): SQLite's
# Python driver raises OverflowError, PostgreSQL "value out of range for type bigint". A negative offset or limit is
# what PostgreSQL refuses ("OFFSET must not be negative"); NaN passes float parsing and breaks what follows.
BAD_NUMBERS = (("negative", "-1"), ("zero", "0"), ("beyond 64 bits", "99999999999999999999"), ("not a number", "NaN"))
# In a path, a non-number is the quote trigger's job and a zero or negative id one more missing record (or no route
# at all: Flask's `<int:>` takes no sign), so an id gets the value beyond 64 bits alone.
PATH_BAD_NUMBERS = (BAD_NUMBERS[2],)
ORDINARY_NUMBER = "an ordinary number"
# A control value: positive and small, so it is never one of the bad numbers (an example of 0 is one).
_ORDINARY = re.compile(r"^[1-9]\d{0,8}$")
_INTEGER = re.compile(r"^-?\d+$")
# Long enough to overflow file-name limits (ENAMETOOLONG is 255 bytes per segment on Linux) in static
# file handlers, short enough for every server's request-line limit.
LONG_SEGMENT = 1024
# A value that is the wrong type for a numeric id and unbalances any SQL string it is pasted into.
BAD_VALUE = "1'\""
MALFORMED_JSON = b'{"probe": '
# Browsers ask for HTML; debug pages (Django, Starlette) choose HTML or plain text by this header.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
API_ACCEPT = "application/json, text/plain, */*"
# Forms whose action or fields suggest they create, pay, send or delete something are not submitted in
# passive mode, even blank: a lax handler might act on an empty submission.
UNSAFE_FORM_WORDS = re.compile(
    r"(?i)(?<![a-z])(?:create|new|add|register|registration|sign-?up|pay|payment|checkout|order|buy|purchase|charge|"
    r"donate|donation|subscribe|send|message|contact|invite|transfer|upload|comment|post|delete|remove|destroy|"
    r"cancel|amount|card|recipient)s?(?![a-z])"
)
# Status codes that mean the application crashed rather than refused: 503/504 are left out because they
# also mean "overloaded" or "upstream slow".
CRASH_STATUSES = frozenset({500, 502})
_TEMPLATE_SEGMENT = re.compile(r"^(?:\{[^/]*\}|\$\{[^/]*\}|:[A-Za-z_]\w*|<[^/]*>)$")
_WERKZEUG_SECRET = re.compile(r"SECRET = \"([^\"]{8,})\"")
MAX_JSON_STRINGS = 200


class DebugSettings(Section):
    """`[debug]`: routes the surface cannot discover (query parameters, routes behind a log-in)."""

    paths: tuple[str, ...] = Field(
        default=(), description="'/api/search?q=x' or 'POST /api/items': bad values replace query values and "
        "{param} segments; bodyless routes get malformed and wrongly typed JSON")
    account: str | None = Field(default=None, description="send the API triggers as this [accounts] entry")

    def requests(self) -> list[tuple[str, str]]:
        return [parse_request_line(p) for p in self.paths[:MAX_CONFIGURED]]


@dataclass(frozen=True)
class Trigger:
    """One request sent to provoke an error; `kind` is stable and part of result fingerprints."""

    kind: str
    label: str
    method: str
    url: str
    headers: Mapping[str, str]
    content: bytes | None = None
    bad_input: bool = True
    as_account: str | None = None
    route: str | None = None  # the route template a path-parameter trigger filled in, for grouping by route
    param: str | None = None  # the numeric parameter a bad number or its control was sent in


@dataclass(frozen=True)
class Outcome:
    trigger: Trigger
    response: Response | None
    error: str | None
    matches: tuple[Fingerprint, ...] = ()

    def matching(self, signal: Signal) -> Fingerprint | None:
        return next((fp for fp in self.matches if fp.signal == signal), None)


@dataclass(frozen=True)
class Confirmed:
    endpoint: Endpoint
    response: Response


@dataclass(frozen=True)
class EndpointPass:
    confirmed: tuple[Confirmed, ...]
    probed: int
    errors: tuple[str, ...]
    catch_all: bool


@dataclass(frozen=True)
class TriggerPass:
    outcomes: tuple[Outcome, ...]

    @property
    def answered(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.response is not None)


def haystack(response: Response) -> str:
    """The text fingerprints run over: the body, plus the string values of a JSON body decoded, so a stack
    trace inside `{"stack": "Error\\n    at ..."}` shows its real line breaks."""
    text = response.text
    doc = response.json()
    if doc is None:
        return text
    strings: list[str] = []
    stack: list[Any] = [doc]
    while stack and len(strings) < MAX_JSON_STRINGS:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item[:MAX_JSON_STRINGS])
    return text + "\n" + "\n".join(strings)


def fingerprint(response: Response) -> tuple[Fingerprint, ...]:
    text = haystack(response)
    return tuple(fp for fp in FINGERPRINTS if fp.matches(text))


def excerpt_around(response: Response, fp: Fingerprint | Endpoint, width: int = 360) -> str:
    text = haystack(response)
    found = fp.matches(text)
    if found is None:
        return text[:width]
    start = max(0, found.start() - width // 3)
    return text[start:start + width]


def _fill_template(path: str) -> str | None:
    segments = path.split("/")
    if not any(_TEMPLATE_SEGMENT.match(s) for s in segments):
        return None
    return "/".join(quote(BAD_VALUE, safe="") if _TEMPLATE_SEGMENT.match(s) else s for s in segments)


def _form_is_safe(form: Form) -> bool:
    words = " ".join([form.action, *(name for name, _ in form.fields)])
    return not UNSAFE_FORM_WORDS.search(words)


def _form_triggers(page_url: str, form: Form) -> list[Trigger]:
    action = urljoin(page_url, form.action or page_url)
    fields = [(name, kind) for name, kind in form.fields if kind not in ("submit", "button", "image", "reset", "file")]
    out: list[Trigger] = []
    variants = (("blank-form", "", "blank submission"), ("wrong-type-form", BAD_VALUE, "wrongly typed submission"))
    for kind, value, label in variants:
        values = {name: value for name, _ in fields}
        if form.method == "GET":
            url = action.split("?")[0] + "?" + urlencode(values)
            out.append(Trigger(kind, f"{label} of the form at {urlsplit(action).path}", "GET", url,
                               {"Accept": BROWSER_ACCEPT}))
        else:
            out.append(Trigger(kind, f"{label} of the form at {urlsplit(action).path}", "POST", action,
                               {"Accept": BROWSER_ACCEPT, "Content-Type": "application/x-www-form-urlencoded"},
                               urlencode(values).encode()))
    return out


def _route_triggers(http: ScopedHttp, method: str, path: str, account: str | None) -> list[Trigger]:
    """Bad input for one API route: a quote in its query values or path parameters, else malformed JSON and
    a JSON array where an object is expected."""
    api_json = {"Accept": API_ACCEPT, "Content-Type": "application/json"}
    route, _, query = path.partition("?")
    filled = _fill_template(route)
    if query:
        values = urlencode([(name, BAD_VALUE) for name, _ in parse_qsl(query, keep_blank_values=True)])
        return [Trigger("bad-query-parameter", f"quote in the query of {route}", method if method != "POST" else "GET",
                        http.url((filled or route) + "?" + values), {"Accept": API_ACCEPT}, as_account=account)]
    if filled is not None:
        return [Trigger("bad-path-parameter", f"quote in the path parameter of {route}", "GET", http.url(filled),
                        {"Accept": API_ACCEPT}, as_account=account, route=route)]
    return [
        Trigger("malformed-json", f"malformed JSON to {route}", "POST", http.url(route), api_json, MALFORMED_JSON,
                as_account=account),
        Trigger("wrong-type-json", f"a JSON array where {route} expects an object", "POST", http.url(route), api_json,
                b"[]", as_account=account),
    ]


@dataclass(frozen=True)
class NumericRoute:
    """A GET route and what is known of its parameters: `fill` gives every parameter the route needs a usable value,
    `numeric` names the ones to send bad numbers to."""

    path: str  # template kept
    fill: tuple[Parameter, ...]
    numeric: tuple[Parameter, ...]


def observed_route(path: str) -> NumericRoute | None:
    """A configured or discovered URL (`/api/items/?skip=0&limit=10`, `/api/notes/{id}`): a parameter is numeric by
    its name or by the value seen."""
    route, _, query = path.partition("?")
    params = [Parameter(name, "query", True, numeric_name(name) or bool(_INTEGER.match(value)), value)
              for name, value in parse_qsl(query, keep_blank_values=True)]
    params.extend(Parameter(name, "path", True, numeric_name(name)) for name in template_names(route) if name is not None)
    numeric = tuple(p for p in params if p.numeric)
    return NumericRoute(route, tuple(params), numeric) if numeric else None


def _document_route(path: str, params: tuple[Parameter, ...]) -> NumericRoute | None:
    numeric = tuple(p for p in params if p.numeric)
    return NumericRoute(path, tuple(p for p in params if p.required or p.numeric), numeric) if numeric else None


def number_triggers(http: ScopedHttp, target: NumericRoute, account: str | None) -> list[Trigger]:
    """Each bad number in each numeric parameter, one at a time; the other required parameters get the document's
    example (or the value seen), else 1 (a number) or "probe"; optional ones are left out."""
    names = template_names(target.path)
    out: list[Trigger] = []
    for param in sorted(target.numeric, key=lambda p: p.location != "query")[:MAX_NUMBER_PARAMS]:
        control = (ORDINARY_NUMBER, param.example if param.example and _ORDINARY.match(param.example) else "1")
        for what, value in (control, *(BAD_NUMBERS if param.location == "query" else PATH_BAD_NUMBERS)):
            segments, query = target.path.split("/"), []
            for other in target.fill:
                given = value if other == param else other.example or ("1" if other.numeric else "probe")
                if other.location == "path":
                    segments = [quote(given, safe="") if n == other.name else s for s, n in zip(segments, names, strict=True)]
                elif other == param or other.required:
                    query.append((other.name, given))
            url = http.url("/".join(segments) + ("?" + urlencode(query) if query else ""))
            ordinary = what == ORDINARY_NUMBER
            out.append(Trigger("number-control" if ordinary else "bad-number", f"{param.name}={value} ({what}) on "
                               f"{target.path}", "GET", url, {"Accept": API_ACCEPT}, bad_input=not ordinary,
                               as_account=account, route=target.path, param=param.name))
    return out


async def _numeric_routes(ctx: CheckContext, settings: DebugSettings) -> list[NumericRoute]:
    """GET routes with numeric parameters: configured ones first, then the OpenAPI document's (those with numeric
    query parameters before those with ids), then discovered templates with id-like names. Never an action."""
    found = [r for method, path in settings.requests() if method == "GET" and (r := observed_route(path))]
    doc = await ctx.surface.openapi()
    ops = [op for op in (operations(doc) if doc else ()) if op.method == "GET"]
    documented = [r for op in sorted(ops, key=lambda op: not any(p.numeric and p.location == "query" for p in op.parameters))
                  if (r := _document_route(op.path, op.parameters))]
    listed = {op.path for op in ops}
    discovered = [r for p in await ctx.surface.api_paths() if p not in listed and (r := observed_route(p))]
    unique: dict[str, NumericRoute] = {}
    for route in (*found, *documented, *discovered):
        # The document's routes do not pass through the surface's filter: held to it here, and never an action.
        # A route under another's template (`/api/notes/{id}/export` under `/api/notes/{id}`) reads the same
        # parameter, most often through the same lookup: one root cause, tested once.
        nested = any(route.path.startswith(kept + "/") for kept in unique)
        if ctx.surface.may_request(route.path) and not reads_as_action(route.path) and not nested:
            unique.setdefault(route.path, route)
    return list(unique.values())[:MAX_NUMBER_ROUTES]


async def _plan(ctx: CheckContext, http: ScopedHttp, token: str) -> list[Trigger]:
    page = await ctx.surface.page()
    settings = ctx.section(DebugSettings)
    browser = {"Accept": BROWSER_ACCEPT}
    triggers = [
        Trigger("not-found", "unknown path", "GET", http.url(f"/probe-{token}-missing"), browser, bad_input=False),
        Trigger("long-segment", "over-long path segment", "GET", http.url("/" + "x" * LONG_SEGMENT), browser),
        Trigger("bad-percent-encoding", "invalid percent-encoding", "GET", http.url(f"/probe-{token}%E0%A4%A"), browser),
    ]
    for method, path in settings.requests():
        triggers.extend(_route_triggers(http, method, path, settings.account))
    configured = {p.split("?")[0] for _, p in settings.requests()}
    routes = [p for p in await ctx.surface.api_paths() if p not in configured][:MAX_API_ROUTES]
    for path in routes:
        triggers.extend(_route_triggers(http, "POST", path, settings.account))
    for target in await _numeric_routes(ctx, settings):
        triggers.extend(number_triggers(http, target, settings.account))
    forms = [f for f in await ctx.surface.forms() if ctx.mode is Mode.ACTIVE or _form_is_safe(f)][:MAX_FORMS]
    for form in forms:
        triggers.extend(_form_triggers(page.url, form))
    return list({(t.method, t.url, t.content): t for t in triggers}.values())


async def _send(ctx: CheckContext, trigger: Trigger) -> Outcome:
    if trigger.as_account is not None and trigger.as_account not in ctx.accounts.names:
        return Outcome(trigger, None, f"[debug] account {trigger.as_account!r} is not one of the configured [accounts]")
    try:
        if trigger.as_account is not None:
            response = await ctx.accounts.request(ctx.http, trigger.as_account, trigger.method, trigger.url,
                                                  headers=trigger.headers, content=trigger.content, follow_redirects=False)
        else:
            response = await ctx.http.request(trigger.method, trigger.url, headers=trigger.headers,
                                              content=trigger.content, follow_redirects=False)
    except HttpError as exc:
        return Outcome(trigger, None, str(exc))
    return Outcome(trigger, response, None, fingerprint(response))


TRIGGERS: MemoKey[TriggerPass] = MemoKey("debug:triggers")
ENDPOINT_PASS: MemoKey[EndpointPass] = MemoKey("debug:endpoints")


async def trigger_pass(ctx: CheckContext) -> TriggerPass:
    """The shared error-provoking pass (one per run, whichever check asks first)."""

    async def run() -> TriggerPass:
        triggers = await _plan(ctx, ctx.http, secrets.token_hex(6))
        outcomes = await asyncio.gather(*(_send(ctx, t) for t in triggers))
        for outcome in outcomes:
            if outcome.response is not None:
                for found in _WERKZEUG_SECRET.finditer(outcome.response.text[:4000]):
                    ctx.redactor.add(found.group(1))
        return TriggerPass(tuple(outcomes))

    return await ctx.memo.get(TRIGGERS, run)


def _same_page(a: Response, b: Response) -> bool:
    """Two answers are one catch-all page when their bodies agree once the requested paths are removed."""

    def norm(r: Response) -> str:
        return r.text.replace(urlsplit(r.url).path, "").strip()

    return a.status == b.status and norm(a) == norm(b)


async def endpoint_pass(ctx: CheckContext) -> EndpointPass:
    async def probe(endpoint: Endpoint) -> Response | str:
        headers = {"Accept": BROWSER_ACCEPT} if endpoint.json is None else {"Accept": API_ACCEPT}
        try:
            return await ctx.http.request(endpoint.method, endpoint.path, headers=headers, json=endpoint.json)
        except HttpError as exc:
            return str(exc)

    async def run() -> EndpointPass:
        baseline = next((o.response for o in (await trigger_pass(ctx)).outcomes if o.trigger.kind == "not-found"), None)
        answers = await asyncio.gather(*(probe(e) for e in ENDPOINTS))
        confirmed: list[Confirmed] = []
        errors: list[str] = []
        catch_all = False
        for endpoint, answer in zip(ENDPOINTS, answers, strict=True):
            if isinstance(answer, str):
                errors.append(answer)
                continue
            if baseline is not None and answer.status < 300 and _same_page(answer, baseline):
                catch_all = True
                continue
            if 200 <= answer.status < 300 and endpoint.matches(haystack(answer)):
                confirmed.append(Confirmed(endpoint, answer))
        return EndpointPass(tuple(confirmed), len(ENDPOINTS), tuple(errors), catch_all)

    return await ctx.memo.get(ENDPOINT_PASS, run)
