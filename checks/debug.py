"""Dev-mode error pages, interactive debuggers, stack traces, SQL errors and debug endpoints on the live URL.

One probing pass, shared through `ctx.memo` by every id here and by `input.server-error`, provokes errors
the safe way: an unknown path, an over-long path segment, a broken percent-encoding, malformed JSON and a
wrongly typed body to the API routes the surface knows, a quote in their path parameters, and blank and
wrongly typed submissions of the page's forms (in passive mode, never a form that looks like it creates,
pays or sends). A second pass asks for the usual debug and documentation endpoints, each confirmed by its
content and compared with the answer to a random path, so a catch-all route proves nothing. Every loop is
bounded: at most `MAX_API_ROUTES` routes and `MAX_FORMS` forms, so a passive run stays within a few dozen
requests. What comes back is matched against the table in `checks.debug_fingerprints`. `debug.dev-server`
reads the shared root page for development-server signs (Vite, `next dev`) and sends one request at most:
the Vite client the page names, confirmed by its content.
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
from probe.checks.debug_fingerprints import (
    DEV_SERVER_FIX,
    DEV_SERVERS,
    ENDPOINTS,
    FINGERPRINTS,
    SQL_FIX,
    Endpoint,
    Fingerprint,
    Signal,
)
from probe.config import Section
from probe.context import CheckContext
from probe.http import HttpError, Response, ScopedHttp
from probe.model import Mode, Result, Severity
from probe.registry import check
from probe.surface import Form

MAX_API_ROUTES = 4
MAX_FORMS = 3
MAX_CONFIGURED = 8
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


CONFIG_SECTIONS = {"debug": DebugSettings}


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
                        {"Accept": API_ACCEPT}, as_account=account)]
    return [
        Trigger("malformed-json", f"malformed JSON to {route}", "POST", http.url(route), api_json, MALFORMED_JSON,
                as_account=account),
        Trigger("wrong-type-json", f"a JSON array where {route} expects an object", "POST", http.url(route), api_json,
                b"[]", as_account=account),
    ]


async def _plan(ctx: CheckContext, http: ScopedHttp, token: str) -> list[Trigger]:
    page = await ctx.surface.page()
    settings: DebugSettings = ctx.section("debug")
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

    return await ctx.memo.get("debug:triggers", run)


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

    return await ctx.memo.get("debug:endpoints", run)


def _judge(ctx: CheckContext, found: TriggerPass, signal: Signal, what: str, *, skip_pages: bool = False,
           fix: str | None = None) -> list[Result]:
    """Results for one signal: a failure per fingerprint row seen (at the first trigger that showed it, with
    every trigger that did listed), or one pass saying how many triggers were answered without it."""
    answered = found.answered
    if not answered:
        reasons = "; ".join(dict.fromkeys(o.error or "" for o in found.outcomes))
        return [ctx.error(ctx.location, f"none of the {len(found.outcomes)} error triggers got an answer: {reasons}")]
    seen: dict[str, list[tuple[Outcome, Fingerprint, Response]]] = {}
    on_pages = 0
    for outcome in answered:
        fp = outcome.matching(signal)
        # A debug page always carries a trace; it is reported once, by debug.error-page or
        # debug.interactive-debugger, not again as a bare stack trace.
        if skip_pages and (outcome.matching("error-page") or outcome.matching("interactive-debugger")):
            on_pages += 1
            continue
        if fp is not None and outcome.response is not None:
            seen.setdefault(fp.name, []).append((outcome, fp, outcome.response))
    results: list[Result] = []
    for hits in seen.values():
        _, fp, response = hits[0]
        where = ", ".join(dict.fromkeys(f"{o.trigger.label} ({r.status})" for o, _, r in hits))
        results.append(ctx.fail(
            response.url,
            f"{fp.framework}: {fp.proves}. Seen on: {where}.",
            kind=fp.name,
            evidence={**response.evidence(excerpt=excerpt_around(response, fp)),
                      "framework": fp.framework, "fingerprint": fp.name, "fingerprint_source": fp.source},
            remediation=fix or f"{fp.framework}: {fp.setting}.",
        ))
    if results:
        return results
    if on_pages:
        return [ctx.passed(ctx.location, f"{len(answered) - on_pages} error triggers answered without {what}; the other "
                           f"{on_pages} got debug pages, reported by debug.error-page or debug.interactive-debugger.")]
    return [ctx.passed(ctx.location, f"{len(answered)} error triggers answered without {what}.")]


@check(
    id="debug.interactive-debugger",
    title="No interactive debugger on the live site",
    severity=Severity.CRITICAL,
    cwe=94,
    summary="Provoked errors do not open an interactive debugger (Werkzeug console, Rails web-console).",
    risk="An interactive debugger runs code on the server for whoever reaches it. Werkzeug's PIN does not save "
    "you: it is derived from machine facts that other bugs leak and can be brute-forced; the error page also "
    "shows source and local variables (secrets, tokens).",
    fix="Turn the debugger off in production. Flask: `app.run(debug=False)`, no FLASK_DEBUG=1 / `flask run --debug`, "
    "serve with gunicorn or waitress; Werkzeug: drop DebuggedApplication. Rails: keep web-console in the "
    ":development group; RAILS_ENV=production.",
    references=("https://werkzeug.palletsprojects.com/en/stable/debug/",
                "https://flask.palletsprojects.com/en/stable/debugging/",
                "https://cwe.mitre.org/data/definitions/94.html"),
)
async def interactive_debugger(ctx: CheckContext) -> list[Result]:
    return _judge(ctx, await trigger_pass(ctx), "interactive-debugger", "an interactive debugger")


@check(
    id="debug.error-page",
    title="No framework debug error pages",
    severity=Severity.HIGH,
    cwe=209,
    summary="Provoked errors (404, bad input, crashes) do not show a framework's development error page.",
    risk="Development error pages show stack traces, source code, local variables, settings and URL maps: a map "
    "of the application for an attacker, and often secrets (database URLs, API keys) in plain sight.",
    fix="Run the production configuration: Django `DEBUG = False`; Flask `debug=False`/no FLASK_DEBUG; FastAPI "
    "`FastAPI(debug=False)`; Express NODE_ENV=production; Laravel APP_DEBUG=false; Symfony APP_ENV=prod, "
    "APP_DEBUG=0; Rails `config.consider_all_requests_local = false`; Spring Boot "
    "`server.error.include-stacktrace=never`; ASP.NET `<customErrors mode=\"RemoteOnly\"/>`, ASP.NET Core "
    "ASPNETCORE_ENVIRONMENT=Production; PHP `display_errors = Off`; Phoenix `debug_errors: false`; Sinatra "
    "APP_ENV=production.",
    references=("https://owasp.org/www-community/Improper_Error_Handling",
                "https://docs.djangoproject.com/en/stable/ref/settings/#debug",
                "https://expressjs.com/en/advanced/best-practice-performance.html#set-node_env-to-production"),
)
async def error_page(ctx: CheckContext) -> list[Result]:
    return _judge(ctx, await trigger_pass(ctx), "error-page", "a framework debug page")


@check(
    id="debug.stack-trace",
    title="No stack traces in error responses",
    severity=Severity.HIGH,
    cwe=209,
    summary="Error responses (HTML, JSON, plain text) carry no stack trace or server file paths.",
    risk="A stack trace names the code paths, libraries and versions, server directories and sometimes the "
    "values involved; it turns blind probing into targeted attacks.",
    fix="Return a generic error body and log the details server-side. Node/Express: NODE_ENV=production and never "
    "put err.stack in responses; Python: debug off (FLASK_DEBUG, Django DEBUG, FastAPI debug) and no "
    "traceback.format_exc() in responses; Spring Boot: `server.error.include-stacktrace=never`; ASP.NET Core: "
    "ASPNETCORE_ENVIRONMENT=Production; Rails: consider_all_requests_local = false; PHP: display_errors = Off; "
    "Go: recover panics and log them.",
    references=("https://owasp.org/www-community/Improper_Error_Handling",
                "https://cheatsheetseries.owasp.org/cheatsheets/Error_Handling_Cheat_Sheet.html"),
)
async def stack_trace(ctx: CheckContext) -> list[Result]:
    return _judge(ctx, await trigger_pass(ctx), "stack-trace", "a stack trace", skip_pages=True)


@check(
    id="debug.sql-error",
    title="No database errors in responses",
    severity=Severity.HIGH,
    cwe=209,
    summary="Bad input does not produce database error messages (SQLSTATE, \"syntax error at or near\", ORM exceptions).",
    risk="A database error shows the query's shape and proves that input reached SQL unescaped: the usual first "
    "step of an SQL injection that reads or changes every user's data.",
    fix=SQL_FIX + " Django: DEBUG = False; Laravel: APP_DEBUG=false; Express/Node: do not send err.message of "
    "database errors; Flask/FastAPI: catch the driver's exception and return a generic 4xx/5xx.",
    references=("https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html",
                "https://cwe.mitre.org/data/definitions/89.html"),
)
async def sql_error(ctx: CheckContext) -> list[Result]:
    return _judge(ctx, await trigger_pass(ctx), "sql-error", "a database error message", fix=SQL_FIX)


@check(
    id="debug.endpoint",
    title="No debug endpoints exposed",
    severity=Severity.HIGH,
    cwe=489,
    summary="Debug consoles, profilers, actuators, phpinfo, server-status, trace pages and GraphQL introspection "
    "are not reachable (each confirmed by its content, not by the status code).",
    risk="Debug endpoints hand out what an attacker would otherwise have to steal: environment variables and "
    "secrets (actuator/env, phpinfo), heap dumps, every user's requests and sessions (profilers, Telescope, "
    "trace.axd, ELMAH), or outright code execution (Werkzeug console, Ignition).",
    fix="Remove or lock down each endpoint. Flask: debug off (no /console); Django: debug_toolbar only in "
    "development settings; Symfony: APP_ENV=prod; Laravel: gate Telescope/Horizon, APP_DEBUG=false; Spring Boot: "
    "`management.endpoints.web.exposure.include=health`; Rails: RAILS_ENV=production; Go: no net/http/pprof on the "
    "public mux; PHP: delete phpinfo.php; Apache: `Require local` on /server-status; ASP.NET: "
    "`<trace enabled=\"false\"/>`, ELMAH allowRemoteAccess=false; GraphQL: introspection and IDE off in production.",
    references=("https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/"
                "02-Configuration_and_Deployment_Management_Testing/05-Enumerate_Infrastructure_and_Application_Admin_Interfaces",),
)
async def endpoint(ctx: CheckContext) -> list[Result]:
    return _endpoint_results(ctx, await endpoint_pass(ctx), "endpoint")


@check(
    id="debug.api-docs",
    title="API documentation not public",
    severity=Severity.INFO,
    cwe=200,
    summary="Interactive API docs (Swagger UI, ReDoc) and the OpenAPI document are not served to everyone.",
    risk="Public API docs list every route, parameter and model, including internal and admin ones: a ready-made "
    "map for attackers. Fine for a public API by choice; worth knowing otherwise.",
    fix="FastAPI: `FastAPI(docs_url=None, redoc_url=None, openapi_url=None)` in production (or behind auth); "
    "springdoc: `springdoc.api-docs.enabled=false`, `springdoc.swagger-ui.enabled=false`; ASP.NET: UseSwagger/"
    "UseSwaggerUI only in Development; Express: mount swagger-ui-express only outside production.",
    references=("https://fastapi.tiangolo.com/how-to/conditional-openapi/",),
)
async def api_docs(ctx: CheckContext) -> list[Result]:
    results = _endpoint_results(ctx, await endpoint_pass(ctx), "api-docs")
    doc = await ctx.surface.openapi()
    if doc is not None:
        info = doc.get("info")
        title = str(info.get("title", "untitled") if isinstance(info, dict) else "untitled")[:80]
        failure = ctx.fail(ctx.location + "#openapi", f"An OpenAPI document ({title!r}, {len(doc['paths'])} paths) is "
                           "served at a usual path; it lists every route.", kind="openapi-document",
                           evidence={"title": title, "paths": sorted(doc["paths"])[:20]})
        results = [r for r in results if r.status.value != "pass"] + [failure]
    return results


def _endpoint_results(ctx: CheckContext, found: EndpointPass, which: str) -> list[Result]:
    rows = [c for c in found.confirmed if c.endpoint.check == which]
    if rows:
        return [
            ctx.fail(c.response.url, f"{c.endpoint.framework}: {c.endpoint.proves}.", kind=c.endpoint.name,
                     severity=Severity(c.endpoint.severity),
                     evidence={**c.response.evidence(excerpt=excerpt_around(c.response, c.endpoint)),
                               "framework": c.endpoint.framework, "fingerprint_source": c.endpoint.source},
                     remediation=f"{c.endpoint.framework}: {c.endpoint.setting}.")
            for c in rows
        ]
    total = sum(1 for e in ENDPOINTS if e.check == which)
    if len(found.errors) >= found.probed:
        return [ctx.error(ctx.location, f"no endpoint probe got an answer: {found.errors[0]}")]
    note = " (the site answers unknown paths with one catch-all page; no endpoint differed from it)" if found.catch_all else ""
    return [ctx.passed(ctx.location, f"{total} known paths probed; none answered with its content{note}.")]



@check(
    id="debug.dev-server",
    title="Not served by a development server",
    severity=Severity.HIGH,
    cwe=489,
    summary="The live page is not served by a framework's development server (Vite dev server, `next dev`).",
    risk="Development servers are built for one developer's machine: they serve unbundled source and source maps, "
    "expose file-serving and transform endpoints (Vite's have had arbitrary file read bugs), show full error "
    "overlays, run without production optimisations and fall over under real traffic.",
    fix=DEV_SERVER_FIX,
    references=("https://vite.dev/guide/static-deploy", "https://vite.dev/guide/cli#vite-preview",
                "https://nextjs.org/docs/app/getting-started/deploying"),
)
async def dev_server(ctx: CheckContext) -> list[Result]:
    page = await ctx.surface.page()
    text = page.text
    results: list[Result] = []
    unconfirmed: list[str] = []
    reported: set[str] = set()
    for row in DEV_SERVERS:
        found = row.matches(text)
        if found is None or row.framework in reported:
            continue
        response = page
        excerpt = _excerpt_at(text, found)
        if row.confirm_path is not None:
            # Only the page's own reference is fetched, and only once: a catch-all page that merely names the
            # path is told apart by the content of what comes back.
            url = urljoin(page.url, found.group("src") if "src" in found.groupdict() else row.confirm_path)
            try:
                response = await ctx.http.get(url)
            except HttpError as exc:
                results.append(ctx.error(url, f"the page loads {row.confirm_path} but fetching it failed: {exc}"))
                continue
            confirmed = row.confirmed_by(response.text) if response.status == 200 else None
            if confirmed is None:
                unconfirmed.append(f"{row.confirm_path} (answered {response.status} without {row.framework}'s code)")
                continue
            excerpt = _excerpt_at(response.text, confirmed)
        reported.add(row.framework)
        signs = [r.name for r in DEV_SERVERS if r.framework == row.framework and r.matches(text)]
        results.append(ctx.fail(
            response.url,
            f"{row.framework} development server: {row.proves}.",
            kind=f"{row.framework.lower().replace('.', '')}-dev-server",
            evidence={**response.evidence(excerpt=excerpt), "framework": row.framework, "signals": signs,
                      "fingerprint_source": row.source},
            remediation=f"{row.setting}.",
        ))
    if results:
        return results
    note = f"; the page names {', '.join(unconfirmed)}" if unconfirmed else ""
    return [ctx.passed(page.url, f"the page carries no sign of a development server ({len(DEV_SERVERS)} "
                       f"signals: Vite, Next.js){note}.")]


def _excerpt_at(text: str, found: re.Match[str], width: int = 240) -> str:
    start = max(0, found.start() - width // 3)
    return text[start:start + width]
