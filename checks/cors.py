"""Cross-origin resource sharing: will the API hand a logged-in user's data to a page on another origin?

Passive. One probing pass, shared by every id of the family through the run's memo:

1. every known route (the target root, configured `[cors] paths`, API paths from the page, its
   scripts and an OpenAPI document; bounded) gets one GET from an unrelated origin;
2. routes are grouped by their first path segment (CORS middleware is configured per prefix:
   flask-cors `resources`, Express `app.use('/api', cors())`), and one route per group gets `null`,
   a preflight, the configured trusted origins (a positive control), and look-alike origins built
   from a trusted origin or the target's host: suffix, prefix, unescaped-dot, subdomain, `http://`.

A group that already reflects any origin skips the look-alikes (they prove nothing more), and a group
that does not allow the trusted origin either is not running an allowlist worth attacking. With
accounts configured, the GETs carry the first account's credentials: the response a browser would
share is the logged-in user's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import field_validator

from probe.config import RoutePath, Section
from probe.context import CheckContext, MemoKey
from probe.http import HttpError, Response
from probe.model import Confidence, Result, Severity
from probe.registry import Family, check

FAMILY = Family(group="cross-origin", unlock="set [cors] trusted_origins to the https:// origins of your own front ends")

MAX_ROUTES = 8
MAX_GROUPS = 3
MAX_TRUSTED_CONTROLS = 2
MAX_DOT_VARIANTS = 3
# Routes named in the detail of a grant seen on many; the evidence lists them all.
MAX_ROUTES_SHOWN = 3
ATTACKER_HOST = "probe-attacker.example"  # .example is reserved (RFC 2606): nobody can own it
UNRELATED = f"https://{ATTACKER_HOST}"
# Starlette's CORSMiddleware with allow_origins=["*"] and allow_credentials=True sends `*` to requests
# without cookies but echoes the origin to requests with one, as a logged-in browser's would be.
PROBE_COOKIE = "probe_cors=1"
PREFLIGHT_METHOD = "DELETE"
PREFLIGHT_HEADERS = "x-probe-custom"
# No `{` inside a placeholder: a run of braces in a hostile script would otherwise cost quadratic time.
_TEMPLATE = re.compile(r"\{[^/{}]*\}|(?<=/):[A-Za-z_]\w*|\$\{[^/{}]*\}")

MDN_CORS = "https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS"
PORTSWIGGER_CORS = "https://portswigger.net/web-security/cors"
OWASP_CORS = (
    "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/"
    "11-Client-side_Testing/07-Testing_Cross_Origin_Resource_Sharing"
)
ALLOWLIST_FIX = (
    "Allow an exact list of origins and nothing computed from the request: flask-cors "
    "`CORS(app, origins=[\"https://app.example.com\"], supports_credentials=True)` (no regexes); Starlette/FastAPI "
    "`CORSMiddleware(allow_origins=[...])` without `allow_origin_regex`; Express `cors({ origin: [\"https://app."
    "example.com\"], credentials: true })` instead of `origin: true`; Django django-cors-headers "
    "`CORS_ALLOWED_ORIGINS` instead of `CORS_ALLOW_ALL_ORIGINS`/`CORS_ALLOWED_ORIGIN_REGEXES`."
)


class CorsSettings(Section):
    """`[cors]`: the origins the app's own front ends use, and API paths to probe besides the discovered ones."""

    init_order: ClassVar[int] = 60
    init_advice: ClassVar[str] = """\
# --- cross-origin: TODO. The origins of your own front ends (every other origin must be refused):
# [cors]
# trusted_origins = ["https://app.example.com"]
"""

    trusted_origins: tuple[str, ...] = ()
    paths: tuple[RoutePath, ...] = ()

    @field_validator("trusted_origins")
    @classmethod
    def _origins(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
                raise ValueError(f"expected an origin like https://app.example.com (no path), got {value!r}")
        return tuple(v.rstrip("/") for v in values)

    def surface_routes(self) -> list[str]:
        return list(self.paths)


CONFIG_SECTIONS = {"cors": CorsSettings}


@dataclass(frozen=True)
class CorsHeaders:
    """What a browser makes of a response's CORS headers."""

    allow_origin: str | None  # the one value browsers accept; None when absent or unusable
    invalid: str | None  # why browsers ignore a present Access-Control-Allow-Origin
    allow_credentials: bool
    vary: tuple[str, ...]  # lower-cased tokens
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]

    @property
    def varies_on_origin(self) -> bool:
        return "origin" in self.vary or "*" in self.vary


def _tokens(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(t.strip().lower() for v in values for t in v.split(",") if t.strip())


def parse_cors(header_list: Callable[[str], list[str]]) -> CorsHeaders:
    """Parse from a response's `header_list`. Several Access-Control-Allow-Origin values (two middlewares
    each adding one) or a list in one value are rejected by browsers, so they count as no grant."""
    origins = [v.strip() for v in header_list("access-control-allow-origin")]
    allow_origin: str | None = None
    invalid: str | None = None
    if len(origins) > 1:
        invalid = f"{len(origins)} Access-Control-Allow-Origin headers"
    elif origins and ("," in origins[0] or " " in origins[0] or not origins[0]):
        invalid = "Access-Control-Allow-Origin is not a single origin"
    elif origins:
        allow_origin = origins[0]
    credentials = [v.strip() for v in header_list("access-control-allow-credentials")]
    return CorsHeaders(
        allow_origin=allow_origin,
        invalid=invalid,
        # Browsers accept only the exact, case-sensitive value `true`.
        allow_credentials=credentials == ["true"],
        vary=_tokens(header_list("vary")),
        allow_methods=_tokens(header_list("access-control-allow-methods")),
        allow_headers=_tokens(header_list("access-control-allow-headers")),
    )


@dataclass(frozen=True)
class Probe:
    """One request with a crafted Origin and what came back."""

    url: str
    variant: str  # unrelated, null, trusted, suffix, prefix, regex-dot, subdomain, insecure-scheme, preflight
    origin: str
    response: Response
    cors: CorsHeaders
    authenticated: bool

    @property
    def echoed(self) -> bool:
        return self.cors.allow_origin == self.origin

    @property
    def protected_route(self) -> bool:
        """The response is one a browser would only get with the user's session: 2xx to a request with an
        account's credentials, or a refusal (401/403) of an anonymous one."""
        if self.authenticated:
            # An HTML page is the app's shell, not the user's data, even when fetched logged in.
            return 200 <= self.response.status < 300 and "html" not in self.response.content_type
        return self.response.status in (401, 403)

    def evidence(self) -> dict[str, object]:
        evidence = self.response.evidence(max_chars=200)
        evidence["variant"] = self.variant
        evidence["origin_sent"] = self.origin
        if self.authenticated:
            evidence["sent_with_account_credentials"] = True
        return evidence


@dataclass(frozen=True)
class Lookalike:
    variant: str
    origin: str


@dataclass(frozen=True)
class Sweep:
    routes: tuple[str, ...]
    probes: tuple[Probe, ...]
    errors: tuple[str, ...]
    lookalike_base: str | None
    # Why look-alikes were not sent to a route group, one line per group.
    skipped_groups: tuple[str, ...]
    account: str | None
    account_problem: str | None

    def of(self, *variants: str) -> list[Probe]:
        return [p for p in self.probes if p.variant in variants]


def _has_domain_name(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "." in host and host != "localhost"
    return False


def lookalikes(base: str) -> list[Lookalike]:
    """Origins an attacker could own that sloppy allowlists confuse with `base` (scheme://host[:port])."""
    parts = urlsplit(base)
    host = (parts.hostname or "").lower()
    if not _has_domain_name(host):
        return []
    scheme = parts.scheme
    port = f":{parts.port}" if parts.port else ""
    registrable = ".".join(host.split(".")[-2:])
    found = [
        Lookalike("suffix", f"{scheme}://evil-{registrable}{port}"),
        Lookalike("prefix", f"{scheme}://{host}.{ATTACKER_HOST}{port}"),
    ]
    dots = [i for i, c in enumerate(host) if c == "."][:MAX_DOT_VARIANTS]
    found.extend(Lookalike("regex-dot", f"{scheme}://{host[:i]}x{host[i + 1:]}{port}") for i in dots)
    found.append(Lookalike("subdomain", f"{scheme}://probe-sub.{host}{port}"))
    if scheme == "https":
        found.append(Lookalike("insecure-scheme", f"http://{host}{port}"))
    return found


def _concrete(path: str) -> str:
    """`/api/notes/{id}` → `/api/notes/1`: CORS middleware answers whatever the handler says."""
    return _TEMPLATE.sub("1", path)


def _group(url: str) -> str:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return segments[0] if segments else ""


async def _routes(ctx: CheckContext) -> list[str]:
    root = ctx.target or ""
    paths = await ctx.surface.api_paths()
    urls = [root, *(ctx.http.url(_concrete(p)) for p in paths)]
    return [u for u in dict.fromkeys(urls) if ctx.http.scope.allows(u)][:MAX_ROUTES]


class _Prober:
    def __init__(self, ctx: CheckContext, account: str | None) -> None:
        self.ctx = ctx
        self.account = account
        self.errors: list[str] = []

    async def send(self, url: str, variant: str, origin: str) -> Probe | None:
        ctx = self.ctx
        preflight = variant == "preflight"
        headers = {"Origin": origin}
        try:
            if preflight:
                # Browsers never send credentials on a preflight.
                headers.update({"Access-Control-Request-Method": PREFLIGHT_METHOD,
                                "Access-Control-Request-Headers": PREFLIGHT_HEADERS})
                response = await ctx.http.options(url, headers=headers, follow_redirects=False)
            elif self.account is not None:
                response = await ctx.accounts.request(ctx.http, self.account, "GET", url,
                                                      headers={**headers, "Cookie": PROBE_COOKIE}, follow_redirects=False)
            else:
                response = await ctx.http.get(url, headers={**headers, "Cookie": PROBE_COOKIE}, follow_redirects=False)
        except HttpError as exc:
            self.errors.append(str(exc))
            return None
        return Probe(url=url, variant=variant, origin=origin, response=response, cors=parse_cors(response.header_list),
                     authenticated=self.account is not None and not preflight)

    async def many(self, jobs: Sequence[tuple[str, str, str]]) -> list[Probe]:
        done = await asyncio.gather(*(self.send(*job) for job in jobs))
        return [p for p in done if p is not None]


async def _account(ctx: CheckContext) -> tuple[str | None, str | None]:
    if not ctx.accounts.names:
        return None, None
    name = ctx.accounts.names[0]
    try:
        await ctx.accounts.session(name)
    except HttpError as exc:
        return None, f"{exc}; probed without credentials"
    return name, None


async def _sweep(ctx: CheckContext) -> Sweep:
    settings = ctx.section(CorsSettings)
    trusted = settings.trusted_origins
    account, account_problem = await _account(ctx)
    prober = _Prober(ctx, account)
    routes = await _routes(ctx)
    first = await prober.many([(url, "unrelated", UNRELATED) for url in routes])
    probes: list[Probe] = list(first)

    groups: dict[str, list[Probe]] = {}
    for probe in first:
        groups.setdefault(_group(probe.url), []).append(probe)
    base = trusted[0] if trusted else (ctx.target or "")
    variants = [v for v in lookalikes(base) if v.origin not in trusted]
    skipped: list[str] = []

    # Middleware is usually app-wide: a group whose control answers match a group already probed with
    # look-alikes has the same policy, so it is not probed again.
    probed_policies: dict[tuple[object, ...], str] = {}

    async def battery(key: str, members: list[Probe]) -> list[Probe]:
        rep = next((p for p in members if p.response.status not in (404, 405)), members[0])
        done = await prober.many([(rep.url, "null", "null"), (rep.url, "preflight", UNRELATED),
                                  *((rep.url, "trusted", t) for t in trusted[:MAX_TRUSTED_CONTROLS])])
        shown = f"/{key}" if key else "/"
        policy = tuple(sorted((p.variant, p.origin, p.cors.allow_origin, p.cors.allow_credentials)
                              for p in (rep, *done)))
        if rep.echoed:
            skipped.append(f"{shown} reflects any origin, so look-alikes prove nothing more")
        elif rep.cors.allow_origin == "*":
            skipped.append(f"{shown} sends Access-Control-Allow-Origin: * to every origin")
        elif trusted and not any(p.echoed for p in done if p.variant == "trusted"):
            skipped.append(f"{shown} does not allow the trusted origin either: no allowlist to probe there")
        elif not variants:
            skipped.append(f"no look-alike origins could be built from the trusted origin {base}" if trusted
                           else f"no host name to build look-alike origins from ({base}); set [cors] trusted_origins")
        elif policy in probed_policies:
            skipped.append(f"{shown} answers the controls like {probed_policies[policy]}: the same policy")
        else:
            probed_policies[policy] = shown
            done += await prober.many([(rep.url, v.variant, v.origin) for v in variants])
        return done

    # API groups first: when groups share one policy, the look-alikes go where the data is.
    picked = sorted(groups.items(), key=lambda item: item[0] == "")[:MAX_GROUPS]
    for key, members in picked:
        probes.extend(await battery(key, members))
    return Sweep(
        routes=tuple(routes),
        probes=tuple(probes),
        errors=tuple(prober.errors),
        lookalike_base=base if variants else None,
        skipped_groups=tuple(skipped),
        account=account,
        account_problem=account_problem,
    )


SWEEP: MemoKey[Sweep] = MemoKey("cors:sweep")


async def _get_sweep(ctx: CheckContext) -> Sweep:
    return await ctx.memo.get(SWEEP, lambda: _sweep(ctx))


def _unprobed(ctx: CheckContext, sweep: Sweep, what: str = "") -> Result:
    """The result for an id none of whose probes were made: an error when the target did not answer."""
    if sweep.errors and not sweep.probes:
        return ctx.error(ctx.location, f"no CORS probe got an answer: {sweep.errors[0]}")
    reasons = "; ".join(sweep.skipped_groups) or "no route could be probed"
    return ctx.skip(ctx.location, f"{what}: {reasons}" if what else reasons)


def _one_per_cause(failures: list[Result]) -> list[Result]:
    """One failure per kind of grant: the app's CORS policy is one setting, so the routes that show the same grant are
    one finding, reported at its most severe route with every route listed (count and first few in the detail)."""
    by_kind: dict[str, list[Result]] = {}
    for failure in failures:
        by_kind.setdefault(failure.kind, []).append(failure)
    merged: list[Result] = []
    for same in by_kind.values():
        worst = max(same, key=lambda r: r.severity.rank)
        if len(same) == 1:
            merged.append(worst)
            continue
        routes = [r.location for r in same]
        shown = ", ".join(routes[:MAX_ROUTES_SHOWN]) + (f" and {len(routes) - MAX_ROUTES_SHOWN} more"
                                                         if len(routes) > MAX_ROUTES_SHOWN else "")
        merged.append(dataclasses.replace(
            worst, detail=f"{worst.detail} The same grant is made on {len(routes)} routes: {shown}.",
            evidence={**worst.evidence, "routes": routes}))
    return merged


def _tested(sweep: Sweep) -> str:
    note = f" ({sweep.account_problem})" if sweep.account_problem else ""
    who = f" with the credentials of account {sweep.account}" if sweep.account else ""
    return f"{len(sweep.routes)} route(s) probed{who}{note}"


def _grant_severity(probe: Probe, *, base: Severity) -> Severity:
    if not probe.cors.allow_credentials:
        return Severity.LOW
    return Severity.CRITICAL if probe.protected_route else base


@check(
    id="cors.reflected-origin",
    title="API does not echo arbitrary origins",
    severity=Severity.HIGH,
    cwe=942,
    summary="No route answers an unrelated Origin by echoing it in Access-Control-Allow-Origin.",
    risk="A route that echoes any Origin with Access-Control-Allow-Credentials: true lets every website a "
    "logged-in user visits read that user's data from the API (profile, tokens, records) with their cookies.",
    fix=ALLOWLIST_FIX,
    references=(PORTSWIGGER_CORS, MDN_CORS, OWASP_CORS),
)
async def reflected_origin(ctx: CheckContext) -> list[Result]:
    sweep = await _get_sweep(ctx)
    probes = sweep.of("unrelated", "preflight")
    if not probes:
        return [_unprobed(ctx, sweep)]
    results: list[Result] = []
    simple_echo = {p.url for p in probes if p.variant == "unrelated" and p.echoed}
    for probe in probes:
        if not probe.echoed or (probe.variant == "preflight" and probe.url in simple_echo):
            continue
        credentials = probe.cors.allow_credentials
        where = "preflight" if probe.variant == "preflight" else "response"
        detail = f"The {where} echoes the unrelated origin {UNRELATED}" + (
            " with Access-Control-Allow-Credentials: true" if credentials else " (without credentials)")
        if probe.variant == "preflight" and probe.cors.allow_methods:
            detail += f"; the preflight allows {', '.join(probe.cors.allow_methods).upper()}"
        if credentials and probe.protected_route:
            detail += "; the route serves a logged-in user's data, so any site can read it"
        kind = ("preflight-" if probe.variant == "preflight" else "") + ("credentials" if credentials else "no-credentials")
        results.append(ctx.fail(probe.url, detail + ".", kind=kind, evidence=probe.evidence(),
                                severity=_grant_severity(probe, base=Severity.HIGH)))
    if results:
        return _one_per_cause(results)
    wildcard = [p.url for p in probes if p.variant == "unrelated" and p.cors.allow_origin == "*"
                and not p.cors.allow_credentials]
    detail = f"No route echoed {UNRELATED}; {_tested(sweep)}."
    if wildcard:
        detail += (f" {len(wildcard)} route(s) send `Access-Control-Allow-Origin: *` without credentials: public "
                   "data any site may read, and browsers send no cookies with it.")
        return [ctx.passed(ctx.location, detail, severity=Severity.INFO, evidence={"wildcard_routes": wildcard})]
    return [ctx.passed(ctx.location, detail)]


@check(
    id="cors.null-origin",
    title="The `null` origin is not trusted",
    severity=Severity.HIGH,
    cwe=942,
    summary="No route grants Access-Control-Allow-Origin: null.",
    risk="Any site can send `Origin: null` from a sandboxed iframe or a data: URL; allowing `null` with "
    "credentials is the same as allowing every site to read the user's data.",
    fix="Remove `null` from the allowed origins (often added for file:// or sandboxed pages during development): "
    "flask-cors `origins`, Starlette `allow_origins`, Express `cors({ origin })`, django-cors-headers "
    "`CORS_ALLOWED_ORIGINS`.",
    references=(PORTSWIGGER_CORS, MDN_CORS),
)
async def null_origin(ctx: CheckContext) -> list[Result]:
    sweep = await _get_sweep(ctx)
    probes = sweep.of("null")
    if not probes:
        return [_unprobed(ctx, sweep)]
    results = [
        ctx.fail(p.url, "Access-Control-Allow-Origin: null is granted" + (
            " with credentials: a sandboxed iframe on any site can read the user's data." if p.cors.allow_credentials
            else " (without credentials)."),
            kind="credentials" if p.cors.allow_credentials else "no-credentials", evidence=p.evidence(),
            severity=_grant_severity(p, base=Severity.HIGH))
        for p in probes if p.echoed
    ]
    return _one_per_cause(results) or [ctx.passed(ctx.location, f"`Origin: null` was refused on {len(probes)} route group(s).")]


@check(
    id="cors.origin-bypass",
    title="Origin allowlist cannot be bypassed by look-alike origins",
    severity=Severity.HIGH,
    cwe=942,
    summary="Look-alike origins (suffix, prefix, unescaped-dot regex, subdomain) of the trusted origin are refused.",
    risk="An allowlist checked with endswith/startswith/contains or an unanchored or unescaped regex accepts "
    "domains an attacker can register (evil-example.com, example.com.evil.net, exampleXcom), which can then "
    "read the logged-in user's data.",
    fix="Compare the Origin against an exact list of origins. If a regex is unavoidable, anchor both ends and "
    "escape dots (Starlette `allow_origin_regex=r\"https://([a-z0-9-]+\\.)?example\\.com\"`; flask-cors matches "
    "regexes with re.match, so end them with `$`; Express: pass an array of strings, not a RegExp).",
    references=(PORTSWIGGER_CORS, "https://cwe.mitre.org/data/definitions/942.html"),
)
async def origin_bypass(ctx: CheckContext) -> list[Result]:
    sweep = await _get_sweep(ctx)
    kinds = ("suffix", "prefix", "regex-dot", "subdomain")
    probes = sweep.of(*kinds)
    if not probes:
        return [_unprobed(ctx, sweep, "look-alike origins were not sent")]
    results: list[Result] = []
    for probe in probes:
        if not probe.echoed:
            continue
        subdomain = probe.variant == "subdomain"
        severity = _grant_severity(probe, base=Severity.MEDIUM if subdomain else Severity.HIGH)
        if subdomain and severity is Severity.CRITICAL:
            severity = Severity.MEDIUM
        detail = (f"The look-alike origin {probe.origin} ({probe.variant} variant of {sweep.lookalike_base}) "
                  "is allowed" + (" with credentials." if probe.cors.allow_credentials else "."))
        if subdomain:
            detail += " Every subdomain is trusted: one taken-over or user-content subdomain can read the API."
        results.append(ctx.fail(probe.url, detail, kind=f"variant:{probe.variant}", evidence=probe.evidence(),
                                severity=severity, confidence=Confidence.MEDIUM if subdomain else Confidence.HIGH))
    if results:
        return results
    sent = sorted({p.origin for p in probes})
    return [ctx.passed(ctx.location, f"{len(sent)} look-alike origin(s) of {sweep.lookalike_base} were refused.",
                       evidence={"origins_sent": sent})]


@check(
    id="cors.wildcard-credentials",
    title="No wildcard origin together with credentials",
    severity=Severity.LOW,
    cwe=942,
    summary="No route sends Access-Control-Allow-Origin: * together with Access-Control-Allow-Credentials: true.",
    risk="Browsers refuse this combination, so credentialed cross-origin calls fail; it shows credentials were "
    "meant to be shared with any site, and the usual 'fix' is echoing the Origin, which exposes every user.",
    fix="Decide who may call the API with cookies and list those origins exactly (Express `cors({ origin: [...], "
    "credentials: true })`); for a public API drop credentials and keep `*`.",
    references=(MDN_CORS + "/Errors/CORSNotSupportingCredentials",),
)
async def wildcard_credentials(ctx: CheckContext) -> list[Result]:
    sweep = await _get_sweep(ctx)
    probes = list(sweep.probes)
    if not probes:
        return [_unprobed(ctx, sweep)]
    seen: set[str] = set()
    results: list[Result] = []
    for probe in probes:
        if probe.cors.allow_origin == "*" and probe.cors.allow_credentials and probe.url not in seen:
            seen.add(probe.url)
            results.append(ctx.fail(probe.url, "Access-Control-Allow-Origin: * is sent with "
                                    "Access-Control-Allow-Credentials: true.", kind="wildcard-credentials",
                                    evidence=probe.evidence()))
    return results or [ctx.passed(ctx.location, f"No wildcard with credentials; {_tested(sweep)}.")]


@check(
    id="cors.insecure-scheme",
    title="The http:// twin of a trusted origin is not trusted",
    severity=Severity.MEDIUM,
    cwe=942,
    summary="The plain-HTTP version of the trusted HTTPS origin is refused.",
    risk="Anyone on the user's network (public Wi-Fi) can inject script into the http:// page of the trusted "
    "origin and, if that origin is allowed, read the HTTPS API's responses with the user's cookies.",
    fix="List only https:// origins in the CORS allowlist (flask-cors `origins`, Starlette `allow_origins`, Express "
    "`cors({ origin })`, django-cors-headers `CORS_ALLOWED_ORIGINS`), and make regexes require `https://`.",
    references=(PORTSWIGGER_CORS,),
)
async def insecure_scheme(ctx: CheckContext) -> list[Result]:
    sweep = await _get_sweep(ctx)
    probes = sweep.of("insecure-scheme")
    if not probes:
        base = sweep.lookalike_base or ""
        if sweep.probes and base and urlsplit(base).scheme != "https":
            if ctx.section(CorsSettings).trusted_origins:
                return [ctx.skip(ctx.location, f"the trusted origin {base} is itself plain HTTP: it has no http:// twin "
                                 "to test")]
            return [ctx.skip(ctx.location, f"{base} is plain HTTP; set [cors] trusted_origins to the https:// origins")]
        return [_unprobed(ctx, sweep, "the http:// origin was not sent")]
    results = [
        ctx.fail(p.url, f"{p.origin}, the plain-HTTP twin of {sweep.lookalike_base}, is allowed"
                 + (" with credentials." if p.cors.allow_credentials else "."), kind="http-origin",
                 evidence=p.evidence(), severity=Severity.MEDIUM if p.cors.allow_credentials else Severity.LOW)
        for p in probes if p.echoed
    ]
    return results or [ctx.passed(ctx.location, f"{probes[0].origin} was refused.")]


@check(
    id="cors.missing-vary",
    title="Reflected origins are sent with Vary: Origin",
    severity=Severity.LOW,
    cwe=524,
    summary="Responses whose Access-Control-Allow-Origin is computed from the request's Origin carry Vary: Origin.",
    risk="Without Vary: Origin, a browser or CDN cache may store the grant for one origin and serve it to "
    "another, breaking the app for legitimate front ends or letting a cached grant outlive the request it was for.",
    fix="Add `Vary: Origin` whenever the allowed origin is computed (flask-cors: leave `vary_header=True`; Express "
    "cors and Starlette add it themselves; hand-written middleware: `response.headers.add('Vary', 'Origin')`).",
    references=("https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches",),
)
async def missing_vary(ctx: CheckContext) -> list[Result]:
    sweep = await _get_sweep(ctx)
    probes = [p for p in sweep.probes if p.variant != "preflight"]
    if not probes:
        return [_unprobed(ctx, sweep)]
    by_url: dict[str, list[Probe]] = {}
    for probe in probes:
        by_url.setdefault(probe.url, []).append(probe)
    results: list[Result] = []
    reflecting = 0
    for url, seen in by_url.items():
        echoed = [p for p in seen if p.echoed]
        # One fixed origin is a static grant; an unrelated origin or two different ones are computed.
        if not (any(p.variant == "unrelated" for p in echoed) or len({p.origin for p in echoed}) > 1):
            continue
        reflecting += 1
        bare = [p for p in echoed if not p.cors.varies_on_origin]
        if bare:
            results.append(ctx.fail(url, f"Access-Control-Allow-Origin echoes the request's Origin ({bare[0].origin}) "
                                    "without Vary: Origin.", kind="missing", evidence=bare[0].evidence()))
    if results:
        return results
    if reflecting:
        return [ctx.passed(ctx.location, f"{reflecting} route(s) compute the allowed origin and send Vary: Origin.")]
    return [ctx.passed(ctx.location, f"No route computes Access-Control-Allow-Origin from the request; {_tested(sweep)}.")]
