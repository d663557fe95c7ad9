"""Security headers and cookie flags on the target's page. Passive: every check reads the one page
response the surface already fetched, so the whole family costs a single request."""

from __future__ import annotations

from urllib.parse import urlsplit

from probe.context import CheckContext
from probe.http import Response
from probe.model import Result, Severity
from probe.parsing import has_version, parse_csp, parse_hsts, parse_set_cookie
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


def _is_https(ctx: CheckContext) -> bool:
    return urlsplit(ctx.location).scheme == "https"


def _excerpt(page: Response, *names: str) -> dict[str, object]:
    evidence = page.evidence(excerpt="")
    evidence["response"]["headers"] = {n: page.headers.get(n) for n in names}
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
    page = await ctx.surface.page()
    value = page.header("content-security-policy")
    if value is None:
        kind, detail = "missing", "No Content-Security-Policy header."
        if page.header("content-security-policy-report-only"):
            kind, detail = "report-only", "Only Content-Security-Policy-Report-Only is sent: nothing is enforced."
        return [
            ctx.fail(
                page.url,
                detail,
                kind=kind,
                evidence=_excerpt(page, "content-security-policy", "content-security-policy-report-only"),
            )
        ]
    sources = parse_csp(value).sources("script-src")
    if sources is None:
        return [
            ctx.fail(
                page.url,
                "The policy has neither script-src nor default-src, so scripts are unrestricted.",
                kind="no-script-src",
                evidence=_excerpt(page, "content-security-policy"),
            )
        ]
    keyed = any(s.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) for s in sources)
    if "'unsafe-inline'" in sources and not keyed:
        return [
            ctx.fail(
                page.url,
                "script-src allows 'unsafe-inline' without a nonce or hash.",
                kind="unsafe-inline",
                evidence=_excerpt(page, "content-security-policy"),
            )
        ]
    wild = [s for s in sources if s in ("*", "http:", "https:", "data:")]
    if wild:
        return [
            ctx.fail(
                page.url,
                f"script-src allows any host ({' '.join(wild)}).",
                kind="wildcard",
                evidence=_excerpt(page, "content-security-policy"),
            )
        ]
    return [ctx.passed(page.url, "Scripts are restricted by the policy.")]


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
    page = await ctx.surface.page()
    ancestors = parse_csp(page.header("content-security-policy") or "").directives.get("frame-ancestors")
    if ancestors is not None:
        if "*" in ancestors or "http:" in ancestors or "https:" in ancestors:
            return [
                ctx.fail(
                    page.url,
                    f"frame-ancestors allows any site ({' '.join(ancestors)}).",
                    kind="wildcard",
                    evidence=_excerpt(page, "content-security-policy"),
                )
            ]
        return [ctx.passed(page.url, "CSP frame-ancestors restricts framing.")]
    xfo = (page.header("x-frame-options") or "").strip().upper()
    if xfo in ("DENY", "SAMEORIGIN"):
        return [ctx.passed(page.url, f"X-Frame-Options: {xfo}.")]
    return [
        ctx.fail(
            page.url,
            "Neither CSP frame-ancestors nor X-Frame-Options DENY/SAMEORIGIN is sent.",
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
    page = await ctx.surface.page()
    value = page.header("referrer-policy")
    if value is None:
        return [ctx.fail(page.url, "No Referrer-Policy header.", kind="missing", evidence=_excerpt(page, "referrer-policy"))]
    # A comma-separated list is allowed; browsers use the last value they understand.
    policy = value.split(",")[-1].strip().lower()
    if policy in ("unsafe-url", "no-referrer-when-downgrade"):
        return [
            ctx.fail(
                page.url,
                f"Referrer-Policy `{policy}` sends full URLs to other origins.",
                kind="weak",
                evidence=_excerpt(page, "referrer-policy"),
            )
        ]
    return [ctx.passed(page.url, f"Referrer-Policy: {policy}.")]


@check(
    id="headers.cookie-flags",
    title="Cookies carry Secure, HttpOnly and SameSite",
    severity=Severity.MEDIUM,
    cwe=614,
    summary="Cookies the site sets are Secure on HTTPS, session-like ones are HttpOnly, and all set SameSite.",
    risk="A session cookie without HttpOnly is stolen by any XSS; without Secure it travels over plain HTTP; "
    "without SameSite it rides along on cross-site requests (CSRF).",
    fix="Set the flags on the session cookie (Flask: SESSION_COOKIE_HTTPONLY/SECURE/SAMESITE; Django: "
    "SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE; Express: cookie { httpOnly, secure, sameSite } in express-session; "
    "Next.js: cookies().set(name, value, { httpOnly: true, secure: true, sameSite: 'lax' })).",
    references=("https://owasp.org/www-community/controls/SecureCookieAttribute", MDN + "Set-Cookie"),
)
async def cookie_flags(ctx: CheckContext) -> list[Result]:
    page = await ctx.surface.page()
    cookies = [c for c in (parse_set_cookie(h) for h in page.header_list("set-cookie")) if c is not None]
    if not cookies:
        return [ctx.skip(page.url, "the page set no cookies; log-in responses are checked when [login] is configured")]
    https = _is_https(ctx)
    results: list[Result] = []
    # Session-like cookies first, so the cut never drops the ones that matter.
    cookies.sort(key=lambda c: not any(h in c.name.lower() for h in SESSION_COOKIE_HINTS))
    if len(cookies) > MAX_COOKIES:
        results.append(ctx.skip(f"{page.url}#cookies", f"the page set {len(cookies)} cookies; only the first "
                                f"{MAX_COOKIES} were checked"))
    for cookie in cookies[:MAX_COOKIES]:
        name = cookie.name.lower()
        session_like = any(h in name for h in SESSION_COOKIE_HINTS) and name not in SCRIPT_READABLE_BY_DESIGN
        missing = [
            flag
            for flag, absent in (
                ("Secure", https and not cookie.secure),
                ("HttpOnly", session_like and not cookie.http_only),
                ("SameSite", cookie.same_site is None),
                ("Secure (required by SameSite=None)", cookie.same_site == "none" and not cookie.secure),
            )
            if absent
        ]
        location = f"{page.url}#cookie:{cookie.name}"
        if missing:
            severity = Severity.MEDIUM if session_like else Severity.LOW
            results.append(
                ctx.fail(
                    location,
                    f"Cookie `{cookie.name}` lacks {', '.join(missing)}.",
                    severity=severity,
                    kind="missing:" + ",".join(sorted(missing)),
                    evidence={"cookie": cookie.name, "missing": missing, "session_like": session_like},
                )
            )
        else:
            results.append(ctx.passed(location, f"Cookie `{cookie.name}` has the expected flags."))
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
