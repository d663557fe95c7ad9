"""Dev-mode error pages, interactive debuggers, stack traces, SQL errors and debug endpoints on the live URL.

Every id here judges the shared passes of `probe.checks.debug.triggers` (one error-provoking pass, one
debug-endpoint pass per run). `debug.dev-server` reads the shared root page for development-server signs
(Vite, `next dev`, the Server banners of Django's runserver, Werkzeug, http.server and WEBrick, Rails' development
Server-Timing) and sends one request at most: the Vite client the page names, confirmed by its content.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from probe.checks.debug.fingerprints import DEV_SERVER_FIX, DEV_SERVERS, ENDPOINTS, SQL_FIX, Fingerprint, Signal
from probe.checks.debug.triggers import (
    DebugSettings,
    EndpointPass,
    Outcome,
    TriggerPass,
    endpoint_pass,
    excerpt_around,
    trigger_pass,
)
from probe.context import CheckContext
from probe.http import HttpError, Response
from probe.model import Result, Severity
from probe.registry import Family, check

FAMILY = Family(group="errors")

CONFIG_SECTIONS = {"debug": DebugSettings}


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
    found = await ctx.surface.openapi_document()
    # A document read as an account after strangers were refused is not served to everyone: nothing to judge there.
    if found is not None and found.public:
        doc = found.document
        info = doc.get("info")
        title = str(info.get("title", "untitled") if isinstance(info, dict) else "untitled")[:80]
        failure = ctx.fail(ctx.location + "#openapi", f"An OpenAPI document ({title!r}, {len(doc['paths'])} paths) is "
                           f"served to strangers at {found.path} ({found.how}); it lists every route.",
                           kind="openapi-document", evidence={"title": title, "path": found.path,
                                                              "paths": sorted(doc["paths"])[:20]})
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
    summary="The live page is not served by a framework's development server (Vite, `next dev`, Django runserver, "
    "Werkzeug, Rails in development, ...).",
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
        seen = row.seen_in(text, page.headers)
        if seen is None or row.framework in reported:
            continue
        response = page
        matched, found = seen
        excerpt = f"{row.header}: {matched}" if row.header else _excerpt_at(text, found)
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
        signs = [r.name for r in DEV_SERVERS if r.framework == row.framework and r.seen_in(text, page.headers)]
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
    frameworks = ", ".join(dict.fromkeys(r.framework for r in DEV_SERVERS))
    return [ctx.passed(page.url, f"the page carries no sign of a development server ({len(DEV_SERVERS)} "
                       f"signals: {frameworks}){note}.")]


def _excerpt_at(text: str, found: re.Match[str], width: int = 240) -> str:
    start = max(0, found.start() - width // 3)
    return text[start:start + width]
