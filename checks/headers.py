"""Security headers and cookie flags on the target's page. Passive: every check reads the one page
response the surface already fetched, so on a site whose root is an HTML page the family costs a single request.

Framing, CSP and Referrer-Policy protect documents a browser renders, so they are judged on an HTML document: the
root page when it is one, else the first HTML page found among the routes a served OpenAPI document declares as
`text/html` and the usual API-docs paths (bounded by `MAX_DOCUMENT_TRIES`). A JSON API that serves no HTML
document gets `skip` for them, not a failure judged on its JSON 404. Cookie flags are judged on the cookies the
page sets and those the `[login]` responses set."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from probe.accounts import LoginFailed
from probe.context import CheckContext, MemoKey
from probe.guards import Skip
from probe.http import HttpError, Response
from probe.model import Result, Severity
from probe.parsing import Cookie, has_version, parse_csp, parse_hsts, parse_set_cookie
from probe.registry import Family, check

FAMILY = Family(group="cross-origin")

MDN = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/"
OWASP_HEADERS = "https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html"
# Half a year: the shortest max-age the HSTS preload list accepts is a year; OWASP's cheat sheet
# recommends a year, and anything under six months protects little between visits.
HSTS_MIN_AGE = 15_552_000
# Names of cookies that carry a session or a credential (frameworks' defaults and common choices).
SESSION_COOKIE_HINTS = ("session", "sess", "sid", "token", "auth", "jwt", "remember", "login")
# Cookies that must stay readable by scripts by design (double-submit CSRF tokens).
SCRIPT_READABLE_BY_DESIGN = ("csrftoken", "xsrf-token", "csrf_token", "_csrf")
# Cookies judged per page: a hostile page setting thousands would otherwise make thousands of results.
MAX_COOKIES = 50
# Where API frameworks serve their HTML documentation when the root is not a page: FastAPI `/docs` and `/redoc`
# (https://fastapi.tiangolo.com/tutorial/metadata/#docs-urls), springdoc `/swagger-ui/index.html`
# (https://springdoc.org/#properties), Swashbuckle/NestJS `/swagger` and `/api` (https://docs.nestjs.com/openapi/introduction).
DOCUMENT_PATHS = ("/docs", "/redoc", "/swagger-ui/index.html", "/swagger", "/api/docs")
# Requests spent looking for a document beyond the root page (the OpenAPI lookup the surface shares aside).
MAX_DOCUMENT_TRIES = 6
HTML_TYPES = ("text/html", "application/xhtml+xml")
BODY_EXCERPT = 300


@dataclass(frozen=True)
class Document:
    """The HTML document the document headers are judged on, or None with what was tried."""

    page: Response | None
    tried: tuple[str, ...]

    def note(self, root: Response) -> str:
        """What was judged, when it is not the root page."""
        if self.page is None or self.page is root:
            return ""
        return f" (judged on {self.page.url}: the root page answered {root.status} {root.content_type or 'no type'})"


DOCUMENT: MemoKey[Document] = MemoKey("headers:document")


def is_document(response: Response) -> bool:
    return 200 <= response.status < 300 and any(t in response.content_type.lower() for t in HTML_TYPES)


async def _find_document(ctx: CheckContext) -> Document:
    root = await ctx.surface.page()
    if is_document(root):
        return Document(root, ())
    candidates: list[str] = []
    doc = await ctx.surface.openapi()
    for path, operations in (doc or {}).get("paths", {}).items():
        get = operations.get("get") if isinstance(operations, dict) else None
        if not isinstance(path, str) or "{" in path or not isinstance(get, dict):
            continue
        declared = [c for r in (get.get("responses") or {}).values() if isinstance(r, dict) for c in (r.get("content") or {})]
        if any(t in str(c) for c in declared for t in HTML_TYPES):
            candidates.append(path)
    candidates += DOCUMENT_PATHS
    tried: list[str] = []
    for path in [p for p in dict.fromkeys(candidates) if p != "/"][:MAX_DOCUMENT_TRIES]:
        tried.append(path)
        try:
            response = await ctx.http.get(path)
        except HttpError:
            continue
        if is_document(response):
            return Document(response, tuple(tried))
    return Document(None, tuple(tried))


async def document(ctx: CheckContext) -> tuple[Response, str]:
    """The HTML document to judge and a note saying which it is; `Skip` when the site serves none."""
    found = await ctx.memo.get(DOCUMENT, lambda: _find_document(ctx))
    root = await ctx.surface.page()
    if found.page is None:
        raise Skip(f"no HTML document found: the root page answered {root.status} "
                   f"{root.content_type or 'with no content type'}, and none of {', '.join(found.tried)} served an "
                   "HTML page; framing, CSP and Referrer-Policy protect documents a browser renders")
    return found.page, found.note(root)


def _is_https(ctx: CheckContext) -> bool:
    return urlsplit(ctx.location).scheme == "https"


def _excerpt(page: Response, *names: str) -> dict[str, object]:
    """The response's status, content type, the named headers and the start of its body: what was judged."""
    evidence = page.evidence(max_chars=BODY_EXCERPT)
    evidence["response"]["headers"] = {n: page.headers.get(n) for n in ("content-type", *names)}
    return evidence


@check(
    group="transport",
    id="headers.hsts",
    title="Strict-Transport-Security on HTTPS",
    severity=Severity.MEDIUM,
    cwe=319,
    summary="The HTTPS site sends Strict-Transport-Security with a max-age of at least six months.",
    risk="Without HSTS a visitor's first plain-HTTP request can be intercepted and downgraded (SSL stripping) "
    "on hostile networks, exposing sessions and credentials.",
    fix="Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` from the app or the proxy "
    "(Django: SECURE_HSTS_SECONDS; Express: helmet(); Flask: flask-talisman; Next.js/Vercel: headers in next.config.js).",
    references=(MDN + "Strict-Transport-Security", OWASP_HEADERS),
)
async def hsts(ctx: CheckContext) -> list[Result]:
    page = await ctx.surface.page()
    if not _is_https(ctx):
        return [ctx.skip(ctx.location, "the target is plain HTTP; HSTS applies to HTTPS (see tls.no-https-redirect)")]
    value = page.header("strict-transport-security")
    if value is None:
        return [
            ctx.fail(
                page.url,
                "No Strict-Transport-Security header on the HTTPS page.",
                kind="missing",
                evidence=_excerpt(page, "strict-transport-security"),
            )
        ]
    parsed = parse_hsts(value)
    if parsed.max_age is None or parsed.max_age < HSTS_MIN_AGE:
        return [
            ctx.fail(
                page.url,
                f"HSTS max-age is {parsed.max_age}, below six months ({HSTS_MIN_AGE} s).",
                kind="short-max-age",
                severity=Severity.LOW,
                evidence=_excerpt(page, "strict-transport-security"),
            )
        ]
    return [ctx.passed(page.url, f"HSTS max-age={parsed.max_age}.")]


@check(
    id="headers.csp",
    title="Content-Security-Policy restricts scripts",
    severity=Severity.MEDIUM,
    cwe=693,
    summary="The page sends a Content-Security-Policy whose script sources exclude 'unsafe-inline' and wildcards.",
    risk="Without a policy, or with 'unsafe-inline' or `*` script sources, any HTML injection becomes script "
    "execution (XSS) that can read the user's data and act as them.",
    fix="Send a Content-Security-Policy with `default-src 'self'` and a `script-src` without 'unsafe-inline' "
    "(use nonces or hashes for inline scripts) and without `*`, `http:` or `https:` (helmet's contentSecurityPolicy, "
    "django-csp, flask-talisman, Next.js middleware headers).",
    references=(MDN + "Content-Security-Policy", "https://csp-evaluator.withgoogle.com/"),
)
async def csp(ctx: CheckContext) -> list[Result]:
    page, judged = await document(ctx)
    value = page.header("content-security-policy")
    if value is None:
        kind, detail = "missing", "No Content-Security-Policy header."
        if page.header("content-security-policy-report-only"):
            kind, detail = "report-only", "Only Content-Security-Policy-Report-Only is sent: nothing is enforced."
        return [
            ctx.fail(
                page.url,
                detail + judged,
                kind=kind,
                evidence=_excerpt(page, "content-security-policy", "content-security-policy-report-only"),
            )
        ]
    sources = parse_csp(value).sources("script-src")
    if sources is None:
        return [
            ctx.fail(
                page.url,
                "The policy has neither script-src nor default-src, so scripts are unrestricted." + judged,
                kind="no-script-src",
                evidence=_excerpt(page, "content-security-policy"),
            )
        ]
    keyed = any(s.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) for s in sources)
    if "'unsafe-inline'" in sources and not keyed:
        return [
            ctx.fail(
                page.url,
                "script-src allows 'unsafe-inline' without a nonce or hash." + judged,
                kind="unsafe-inline",
                evidence=_excerpt(page, "content-security-policy"),
            )
        ]
    wild = [s for s in sources if s in ("*", "http:", "https:", "data:")]
    if wild:
        return [
            ctx.fail(
                page.url,
                f"script-src allows any host ({' '.join(wild)}).{judged}",
                kind="wildcard",
                evidence=_excerpt(page, "content-security-policy"),
            )
        ]
    return [ctx.passed(page.url, "Scripts are restricted by the policy." + judged)]


@check(
    id="headers.content-type-options",
    title="X-Content-Type-Options: nosniff",
    severity=Severity.LOW,
    cwe=693,
    summary="Responses carry `X-Content-Type-Options: nosniff`.",
    risk="Without it, browsers may sniff an uploaded or user-controlled file as script or HTML and run it.",
    fix="Send `X-Content-Type-Options: nosniff` on every response (helmet(), Django's SecurityMiddleware "
    "SECURE_CONTENT_TYPE_NOSNIFF, flask-talisman, or the reverse proxy).",
    references=(MDN + "X-Content-Type-Options",),
)
async def content_type_options(ctx: CheckContext) -> list[Result]:
    page = await ctx.surface.page()
    if (page.header("x-content-type-options") or "").strip().lower() != "nosniff":
        return [
            ctx.fail(
                page.url,
                "X-Content-Type-Options is not `nosniff`.",
                kind="missing",
                evidence=_excerpt(page, "x-content-type-options"),
            )
        ]
    return [ctx.passed(page.url)]


@check(
    id="headers.clickjacking",
    title="Framing by other sites is refused",
    severity=Severity.MEDIUM,
    cwe=1021,
    summary="The page refuses to be framed by other origins (CSP frame-ancestors or X-Frame-Options).",
    risk="A page that any site can frame can be overlaid with a decoy, so users click buttons they cannot see "
    "(clickjacking): changing settings, confirming payments, granting access.",
    fix="Send `Content-Security-Policy: frame-ancestors 'self'` (or 'none'), or `X-Frame-Options: DENY`/`SAMEORIGIN` "
    "(Django's XFrameOptionsMiddleware, helmet's frameguard, flask-talisman).",
    references=(MDN + "X-Frame-Options", MDN + "Content-Security-Policy/frame-ancestors"),
)
async def clickjacking(ctx: CheckContext) -> list[Result]:
    page, judged = await document(ctx)
    ancestors = parse_csp(page.header("content-security-policy") or "").directives.get("frame-ancestors")
    if ancestors is not None:
        if "*" in ancestors or "http:" in ancestors or "https:" in ancestors:
            return [
                ctx.fail(
                    page.url,
                    f"frame-ancestors allows any site ({' '.join(ancestors)}).{judged}",
                    kind="wildcard",
                    evidence=_excerpt(page, "content-security-policy"),
                )
            ]
        return [ctx.passed(page.url, "CSP frame-ancestors restricts framing." + judged)]
    xfo = (page.header("x-frame-options") or "").strip().upper()
    if xfo in ("DENY", "SAMEORIGIN"):
        return [ctx.passed(page.url, f"X-Frame-Options: {xfo}.{judged}")]
    return [
        ctx.fail(
            page.url,
            "Neither CSP frame-ancestors nor X-Frame-Options DENY/SAMEORIGIN is sent." + judged,
            kind="missing",
            evidence=_excerpt(page, "x-frame-options", "content-security-policy"),
        )
    ]


@check(
    id="headers.referrer-policy",
    title="Referrer-Policy limits what leaks in links",
    severity=Severity.LOW,
    cwe=200,
    summary="A Referrer-Policy that does not send full URLs to other origins.",
    risk="Full URLs (with tokens, ids, reset links in the query) leak to every third-party site a page links to "
    "or loads from when the policy is `unsafe-url` or, on older browsers, absent.",
    fix="Send `Referrer-Policy: strict-origin-when-cross-origin` (or stricter: `no-referrer`, `same-origin`).",
    references=(MDN + "Referrer-Policy",),
)
async def referrer_policy(ctx: CheckContext) -> list[Result]:
    page, judged = await document(ctx)
    value = page.header("referrer-policy")
    if value is None:
        return [ctx.fail(page.url, "No Referrer-Policy header." + judged, kind="missing",
                         evidence=_excerpt(page, "referrer-policy"))]
    # A comma-separated list is allowed; browsers use the last value they understand.
    policy = value.split(",")[-1].strip().lower()
    if policy in ("unsafe-url", "no-referrer-when-downgrade"):
        return [
            ctx.fail(
                page.url,
                f"Referrer-Policy `{policy}` sends full URLs to other origins.{judged}",
                kind="weak",
                evidence=_excerpt(page, "referrer-policy"),
            )
        ]
    return [ctx.passed(page.url, f"Referrer-Policy: {policy}.{judged}")]


async def _login_cookies(ctx: CheckContext) -> tuple[list[tuple[str, str]], list[str]]:
    """(URL, Set-Cookie) of the log-in responses of the accounts that log in, and the accounts that could not."""
    found: list[tuple[str, str]] = []
    failed: list[str] = []
    for name in ctx.accounts.names:
        if not ctx.accounts.settings(name).logs_in:
            continue
        try:
            session = await ctx.accounts.session(name)
        except LoginFailed:
            failed.append(name)
            continue
        found.extend(session.set_cookies)
    return found, failed


@check(
    id="headers.cookie-flags",
    title="Cookies carry Secure, HttpOnly and SameSite",
    severity=Severity.MEDIUM,
    cwe=614,
    summary="Cookies the page and the [login] responses set are Secure on HTTPS, session-like ones are HttpOnly, and "
    "all set SameSite.",
    risk="A session cookie without HttpOnly is stolen by any XSS; without Secure it travels over plain HTTP; "
    "without SameSite it rides along on cross-site requests (CSRF).",
    fix="Set the flags on the session cookie (Flask: SESSION_COOKIE_HTTPONLY/SECURE/SAMESITE; Django: "
    "SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE; Express: cookie { httpOnly, secure, sameSite } in express-session; "
    "Next.js: cookies().set(name, value, { httpOnly: true, secure: true, sameSite: 'lax' })).",
    references=("https://owasp.org/www-community/controls/SecureCookieAttribute", MDN + "Set-Cookie"),
)
async def cookie_flags(ctx: CheckContext) -> list[Result]:
    page = await ctx.surface.page()
    login_headers, failed = await _login_cookies(ctx)
    # One result per cookie name: the page and every account's log-in set the same cookies, and a flag missing
    # from any of its Set-Cookie headers is one setting to fix.
    seen: dict[str, list[tuple[str, Cookie]]] = {}
    for url, header in [*((page.url, h) for h in page.header_list("set-cookie")), *login_headers]:
        cookie = parse_set_cookie(header)
        if cookie is not None:
            seen.setdefault(cookie.name, []).append((url, cookie))
    logs_in = [n for n in ctx.accounts.names if ctx.accounts.settings(n).logs_in]
    if not seen:
        if not logs_in:
            raise Skip("the page set no cookies, and no account logs in through [login] whose responses could be checked")
        if failed and len(failed) == len(logs_in):
            raise Skip(f"the page set no cookies, and no account could log in ({', '.join(failed)}) to check the "
                       "log-in responses")
        raise Skip(f"neither the page nor the log-in responses ({len(logs_in) - len(failed)} account(s)) set cookies")
    https = _is_https(ctx)
    results: list[Result] = []
    # Session-like cookies first, so the cut never drops the ones that matter.
    names = sorted(seen, key=lambda n: not any(h in n.lower() for h in SESSION_COOKIE_HINTS))
    if len(names) > MAX_COOKIES:
        results.append(ctx.skip(f"{page.url}#cookies", f"{len(names)} cookies were set; only the first "
                                f"{MAX_COOKIES} were checked"))
    for name in names[:MAX_COOKIES]:
        lower = name.lower()
        session_like = any(h in lower for h in SESSION_COOKIE_HINTS) and lower not in SCRIPT_READABLE_BY_DESIGN
        missing: list[str] = []
        where = seen[name][0][0]
        for url, cookie in seen[name]:
            lacks = [
                flag
                for flag, absent in (
                    ("Secure", https and not cookie.secure),
                    ("HttpOnly", session_like and not cookie.http_only),
                    ("SameSite", cookie.same_site is None),
                    ("Secure (required by SameSite=None)", cookie.same_site == "none" and not cookie.secure),
                )
                if absent and flag not in missing
            ]
            if lacks and not missing:
                where = url
            missing += lacks
        set_by = list(dict.fromkeys(url for url, _ in seen[name]))
        location = f"{where}#cookie:{name}"
        if missing:
            results.append(
                ctx.fail(
                    location,
                    f"Cookie `{name}` lacks {', '.join(missing)} (set by {', '.join(set_by)}).",
                    severity=Severity.MEDIUM if session_like else Severity.LOW,
                    kind="missing:" + ",".join(sorted(missing)),
                    evidence={"cookie": name, "missing": missing, "session_like": session_like, "set_by": set_by},
                )
            )
        else:
            results.append(ctx.passed(location, f"Cookie `{name}` has the expected flags (set by {', '.join(set_by)})."))
    return results


@check(
    group="configuration",
    id="headers.version-disclosure",
    title="Server and framework versions are not announced",
    severity=Severity.LOW,
    cwe=200,
    summary="Server, X-Powered-By and similar headers do not name software versions.",
    risk="An exact version lets anyone look up its known vulnerabilities and aim at them without probing; "
    "a framework name tells them which exploits to try.",
    fix="Hide versions: nginx `server_tokens off`, Apache `ServerTokens Prod`, Express `app.disable('x-powered-by')` "
    'or helmet(), PHP `expose_php = Off`, ASP.NET `<httpRuntime enableVersionHeader="false">`; '
    "run Python apps behind gunicorn/uvicorn with a proxy rather than the development server.",
    references=(OWASP_HEADERS,),
)
async def version_disclosure(ctx: CheckContext) -> list[Result]:
    page = await ctx.surface.page()
    names = ("server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-generator", "x-runtime-version")
    seen = {n: page.header(n) for n in names if page.header(n)}
    versioned = {n: v for n, v in seen.items() if v and has_version(v)}
    if versioned:
        shown = "; ".join(f"{n}: {v}" for n, v in versioned.items())
        return [ctx.fail(page.url, f"Versions announced: {shown}.", kind="version", evidence=_excerpt(page, *versioned))]
    if "x-powered-by" in seen:
        return [
            ctx.fail(
                page.url,
                f"X-Powered-By names the framework ({seen['x-powered-by']}).",
                kind="framework",
                severity=Severity.INFO,
                evidence=_excerpt(page, "x-powered-by"),
            )
        ]
    return [ctx.passed(page.url, "No version numbers in Server or X-Powered-By.")]
