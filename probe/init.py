"""`probe init URL`: a commented probe.toml for a live site, from a short passive look at it.

It reads the page the engine's `Surface` fetches (headers, cookies, forms, markers), the same-origin
scripts the page loads and an OpenAPI document at the usual paths: a bounded handful of GET requests
through the same scoped client a scan uses. From that it names the framework and the hosting platform,
the log-in route, webhook routes, and lists the env manifest found in the working directory. Secrets are
never written: accounts and webhook secrets are TODO blocks with `${VAR}` references to uncomment.

Every section written live is validated against the sections the installed checks declare, so the file
loads with `probe.config.load`; a section a check module does not declare (yet) is written as a comment.
"""

from __future__ import annotations

import asyncio
import re
import time
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ValidationError

from probe.accounts import CSRF_FIELD_HINTS
from probe.config import ConfigError, Settings, check_target_url, settings_model
from probe.http import HttpClient, HttpError, Response, ScopedHttp
from probe.parsing import parse_set_cookie
from probe.redact import Redactor
from probe.surface import Form, Surface, parse_forms

# A look, not a scan: the page, a few scripts, the OpenAPI paths.
MAX_REQUESTS = 30
RATE = 10.0
TIMEOUT_S = 10.0
DURATION_S = 60.0
MAX_PATH_CHARS = 200
MAX_LISTED_VARS = 40
MAX_PAGE_CHARS = 200_000


@dataclass(frozen=True)
class Marker:
    name: str
    where: str  # "header:NAME", "cookie" (a cookie name) or "body" (the page's HTML)
    pattern: str
    source: str


FRAMEWORKS = (
    Marker("Flask (Werkzeug)", "header:server", r"\bWerkzeug/", "https://werkzeug.palletsprojects.com/en/stable/serving/"),
    Marker("Django", "cookie", r"^(csrftoken|sessionid)$", "https://docs.djangoproject.com/en/stable/ref/settings/#csrf-cookie-name"),
    Marker("Django", "body", r"csrfmiddlewaretoken", "https://docs.djangoproject.com/en/stable/howto/csrf/"),
    Marker("Express", "header:x-powered-by", r"^Express$", "https://expressjs.com/en/advanced/best-practice-security.html"),
    Marker("Express", "cookie", r"^connect\.sid$", "https://github.com/expressjs/session#name"),
    Marker("Next.js", "header:x-powered-by", r"Next\.js", "https://nextjs.org/docs/app/api-reference/config/next-config-js/poweredByHeader"),
    Marker("Next.js", "body", r"__NEXT_DATA__|/_next/static/", "https://nextjs.org/docs/app/building-your-application/deploying"),
    Marker("Nuxt", "body", r"__NUXT__|/_nuxt/", "https://nuxt.com/docs/guide/concepts/rendering"),
    Marker("SvelteKit", "body", r"__sveltekit_|/_app/immutable/", "https://kit.svelte.dev/docs/configuration#appdir"),
    Marker("FastAPI / Starlette (uvicorn)", "header:server", r"^uvicorn", "https://www.uvicorn.org/settings/#http"),
    Marker("Python (gunicorn)", "header:server", r"^gunicorn", "https://docs.gunicorn.org/en/stable/settings.html"),
    Marker("Ruby on Rails", "body", r"name=\"csrf-param\" content=\"authenticity_token\"", "https://api.rubyonrails.org/classes/ActionView/Helpers/CsrfHelper.html"),
    Marker("Laravel", "cookie", r"^laravel_session$", "https://laravel.com/docs/session#configuration"),
    Marker("PHP", "header:x-powered-by", r"^PHP/", "https://www.php.net/manual/en/ini.core.php#ini.expose-php"),
    Marker("ASP.NET", "header:x-powered-by", r"^ASP\.NET", "https://learn.microsoft.com/en-us/iis/configuration/system.webserver/httpprotocol/customheaders/"),
    Marker("ASP.NET", "cookie", r"^(ASP\.NET_SessionId|\.AspNetCore\.)", "https://learn.microsoft.com/en-us/aspnet/core/fundamentals/app-state"),
    Marker("Java servlet (Spring, Tomcat, ...)", "cookie", r"^JSESSIONID$", "https://jakarta.ee/specifications/servlet/6.0/"),
)

# The cookie a framework keeps its session in, by default: what a server-rendered log-in hands back.
SESSION_COOKIES = {
    "Django": ("sessionid", "https://docs.djangoproject.com/en/stable/ref/settings/#session-cookie-name"),
    "Flask (Werkzeug)": ("session", "https://flask.palletsprojects.com/en/stable/config/#SESSION_COOKIE_NAME"),
    "Express": ("connect.sid", "https://github.com/expressjs/session#name"),
    "Laravel": ("laravel_session", "https://laravel.com/docs/session#configuration"),
    "Java servlet (Spring, Tomcat, ...)": ("JSESSIONID", "https://jakarta.ee/specifications/servlet/6.0/"),
}
# Where server-rendered apps put their log-in page, looked at (GET, at most these) when the root page has no form:
# Django's and Wagtail's admin, django-allauth and Django's auth views, Devise, Laravel Breeze, common choices.
LOGIN_PAGES = ("/login", "/accounts/login/", "/admin/login/", "/users/sign_in", "/auth/login", "/signin")

# Hosting platforms, named as the env family's `deployed` sources name them.
PLATFORMS = (
    Marker("vercel", "header:server", r"^Vercel$", "https://vercel.com/docs/headers/response-headers#server"),
    Marker("vercel", "header:x-vercel-id", r".", "https://vercel.com/docs/headers/response-headers#x-vercel-id"),
    Marker("netlify", "header:server", r"^Netlify$", "https://docs.netlify.com/routing/headers/"),
    Marker("netlify", "header:x-nf-request-id", r".", "https://docs.netlify.com/routing/headers/"),
    Marker("heroku", "header:via", r"\bvegur\b", "https://devcenter.heroku.com/articles/http-routing#heroku-headers"),
    Marker("fly", "header:fly-request-id", r".", "https://fly.io/docs/networking/request-headers/"),
    Marker("render", "header:rndr-id", r".", "https://render.com/docs/web-services"),
    Marker("railway", "header:x-railway-request-id", r".", "https://docs.railway.com/reference/public-networking"),
)
DEPLOYED_EXAMPLES = {
    "vercel": "vercel:my-app:production",
    "netlify": "netlify:my-site",
    "heroku": "heroku:my-app",
    "fly": "fly:my-app",
    "render": "render:srv-abc123",
    "railway": "railway:PROJECT_ID:ENVIRONMENT_ID",
}

# Env manifests, in the order frameworks' templates and tutorials use them.
MANIFEST_NAMES = (".env.example", ".env.sample", ".env.template", ".env.dist", "env.example", "example.env")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
_LOGIN_PATH = re.compile(r"/(?:log-?in|sign-?in|sign_in|sessions?|authenticate|auth/token|token)/?$", re.IGNORECASE)
_WEBHOOK_PATH = re.compile(r"/(?:web-?hooks?|hooks)(?:/|$)", re.IGNORECASE)
_USERNAME_FIELD = re.compile(r"user|email|login|identifier", re.IGNORECASE)
_PASSWORD_FIELD = re.compile(r"pass", re.IGNORECASE)
_JSON_HINT = re.compile(r"application/json|JSON\.stringify")


@dataclass(frozen=True)
class Login:
    method: str
    path: str
    username_field: str
    password_field: str
    body: str  # "json" or "form"
    found: str
    page: str | None = None  # the page that serves a server-rendered form (fetched before each log-in for its token)
    csrf_field: str | None = None
    hidden: tuple[tuple[str, str], ...] = ()  # the form's other hidden fields and the values the page gave them
    session_cookie: str | None = None  # the framework's session cookie, when it is known


@dataclass
class Findings:
    target: str
    frameworks: list[tuple[str, str]] = field(default_factory=list)  # (name, what showed it)
    platform: tuple[str, str] | None = None
    login: Login | None = None
    webhooks: list[str] = field(default_factory=list)
    openapi: tuple[str, int] | None = None  # (title, paths)
    requests: int = 0
    problem: str = ""
    notes: tuple[str, ...] = ()  # what the look found where (the OpenAPI document, routes left alone)


def generate(url: str | None, *, cwd: Path, ca_bundle: str | None = None) -> tuple[str, list[str]]:
    """The config text and one line per thing found (for the terminal). Raises ValueError for a bad URL."""
    from probe.api import sections
    from probe.registry import load

    if url is not None:
        check_target_url(url)
    findings = asyncio.run(discover(url, ca_bundle)) if url else Findings(target="")
    manifest = find_manifest(cwd)
    text = render(findings, manifest, sections(load()))
    return text, summary(findings, manifest)


async def discover(url: str, ca_bundle: str | None = None) -> Findings:
    from probe.runner import USER_AGENT

    look = Settings(target=url, max_requests=MAX_REQUESTS, rate=RATE, timeout=TIMEOUT_S, max_duration=DURATION_S,
                    ca_bundle=ca_bundle)
    client = HttpClient.for_settings(look, redactor=Redactor(()), user_agent=USER_AGENT,
                                     deadline=time.monotonic() + DURATION_S)
    found = Findings(target=url)
    surface = Surface(ScopedHttp(client, "surface", url), [])
    try:
        page = await surface.page()
        found.frameworks = match(FRAMEWORKS, page)
        platforms = match(PLATFORMS, page)
        found.platform = platforms[0] if platforms else None
        scripts = [s.response.text for s in await surface.scripts()]
        doc = await surface.openapi()
        paths = await surface.api_paths()
        found.login = _login_from_forms(page, await surface.forms(), scripts, found.frameworks)
        if found.login is None:
            found.login = await _login_page(surface, scripts, found.frameworks)
        found.login = found.login or _login_from_paths(paths, doc, scripts)
        found.webhooks = [p for p in paths if _WEBHOOK_PATH.search(p) and _plain_path(p)][:5]
        if doc is not None:
            info = doc.get("info")
            title = str(info.get("title", "")) if isinstance(info, dict) else ""
            found.openapi = (title, len(doc["paths"]))
    except HttpError as exc:
        found.problem = str(exc)
    finally:
        found.requests = client.sent
        found.notes = tuple(client.notes)
        await client.aclose()
    return found


def match(markers: Sequence[Marker], page: Response) -> list[tuple[str, str]]:
    """(name, evidence) for each marker the page shows, one per name, in table order."""
    cookies = [c.name for c in (parse_set_cookie(v) for v in page.header_list("set-cookie")) if c is not None]
    out: dict[str, str] = {}
    for marker in markers:
        if marker.name in out:
            continue
        kind, _, header = marker.where.partition(":")
        if kind == "header":
            value = page.header(header) or ""
            if value and re.search(marker.pattern, value):
                out[marker.name] = f"{header}: {value}"
        elif kind == "cookie":
            hit = next((c for c in cookies if re.search(marker.pattern, c)), None)
            if hit:
                out[marker.name] = f"cookie {hit}"
        elif re.search(marker.pattern, page.text[:200_000]):
            out[marker.name] = "a marker in the page"
    return list(out.items())


def _login_from_forms(page: Response, forms: Sequence[Form], scripts: Sequence[str],
                      frameworks: Sequence[tuple[str, str]]) -> Login | None:
    for form in forms:
        names = [(name, kind.lower()) for name, kind in form.fields]
        password = next((n for n, k in names if k == "password"), None)
        if password is None:
            continue
        username = next((n for n, k in names if k != "password" and (k == "email" or _USERNAME_FIELD.search(n))), "username")
        path = urlsplit(urljoin(page.url, form.action or page.url)).path or "/"
        if not _plain_path(path):
            continue
        method = form.method if form.method in ("POST", "PUT") else "POST"
        # A form under /api/ (or a page whose script posts JSON) is sent by script as JSON, not as a form.
        if path.startswith("/api") or any(_JSON_HINT.search(s) for s in scripts):
            return Login(method, path, username, password, "json", f"the sign-in form on the page posts to {path}")
        # A server-rendered form: its page is fetched before each log-in for a fresh CSRF token, its other hidden
        # fields go with every attempt (without them a form may do something else: send a magic link), and the
        # credential comes back as the framework's session cookie.
        page_path = urlsplit(page.url).path or "/"
        csrf = next((n for n, _ in form.hidden if n.lower() in CSRF_FIELD_HINTS), None)
        hidden = tuple((n, v) for n, v in form.hidden if n != csrf)
        # A cookie or a marker in the page names the framework more surely than a server header (a Django app may be
        # served by Werkzeug or gunicorn).
        ranked = sorted(frameworks, key=lambda found: found[1].startswith(("server:", "x-powered-by:")))
        cookie = next((SESSION_COOKIES[name][0] for name, _ in ranked if name in SESSION_COOKIES), None)
        return Login(method, path, username, password, "form", f"the sign-in form at {page_path} posts to {path}",
                     page=page_path if _plain_path(page_path) else None, csrf_field=csrf, hidden=hidden,
                     session_cookie=cookie)
    return None


async def _login_page(surface: Surface, scripts: Sequence[str], frameworks: Sequence[tuple[str, str]]) -> Login | None:
    """A sign-in form on one of the usual log-in pages, when the root page has none (bounded: LOGIN_PAGES)."""
    for path in LOGIN_PAGES:
        try:
            page = await surface.http.get(path)
        except HttpError:
            return None
        if page.status != 200 or "html" not in page.content_type:
            continue
        found = match(FRAMEWORKS, page)
        login = _login_from_forms(page, parse_forms(page.text[:MAX_PAGE_CHARS]), scripts, [*found, *frameworks])
        if login is not None:
            return login
    return None


def _login_from_paths(paths: Sequence[str], doc: Mapping[str, Any] | None, scripts: Sequence[str]) -> Login | None:
    for path in paths:
        if not _LOGIN_PATH.search(path) or not _plain_path(path):
            continue
        username, password = "email", "password"
        where = "named in the page's scripts"
        fields = _openapi_fields(doc, path) if doc else ()
        if fields:
            where = "in the OpenAPI document"
            username = next((f for f in fields if _USERNAME_FIELD.search(f)), username)
            password = next((f for f in fields if _PASSWORD_FIELD.search(f)), password)
        return Login("POST", path, username, password, "json", f"{path}, {where}")
    return None


def _openapi_fields(doc: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """Property names of the JSON body of `POST path` (following one $ref), or () if not described."""
    item = doc.get("paths", {}).get(path)
    post = item.get("post") if isinstance(item, dict) else None
    body = post.get("requestBody") if isinstance(post, dict) else None
    content = body.get("content") if isinstance(body, dict) else None
    media = content.get("application/json") if isinstance(content, dict) else None
    schema = media.get("schema") if isinstance(media, dict) else None
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        name = schema["$ref"].rsplit("/", 1)[-1]
        components = doc.get("components")
        schemas = components.get("schemas") if isinstance(components, dict) else None
        schema = schemas.get(name) if isinstance(schemas, dict) else None
    props = schema.get("properties") if isinstance(schema, dict) else None
    return tuple(str(k) for k in props) if isinstance(props, dict) else ()


def _plain_path(path: str) -> bool:
    """A path safe to write into the config as is: printable, no quotes, no template braces, not huge."""
    return path.startswith("/") and len(path) <= MAX_PATH_CHARS and path.isprintable() and not re.search(r"[\"'\\{}\s]", path)


def find_manifest(cwd: Path) -> tuple[str, tuple[str, ...]] | None:
    """The first env manifest in `cwd` and the variable names it declares (never the values)."""
    for name in MANIFEST_NAMES:
        candidate = cwd / name
        if candidate.is_file():
            try:
                lines = candidate.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            names = (m.group(1) for m in map(_ENV_LINE.match, lines) if m)
            return name, tuple(dict.fromkeys(names))
    return None


def summary(findings: Findings, manifest: tuple[str, tuple[str, ...]] | None) -> list[str]:
    lines = []
    if findings.target:
        lines.append(f"looked at {findings.target} with {findings.requests} request(s)")
        if findings.problem:
            lines.append(f"could not finish looking: {findings.problem}")
        lines.append("framework: " + (", ".join(f"{n} ({why})" for n, why in findings.frameworks) or "not recognised"))
        platform = findings.platform
        lines.append("hosting: " + (f"{platform[0]} ({platform[1]})" if platform else "not recognised"))
        lines.append("log-in: " + (f"{findings.login.method} {findings.login.path}" if findings.login else "none found"))
        lines.append("webhooks: " + (", ".join(findings.webhooks) or "none found"))
        lines.append("OpenAPI: " + (f"{findings.openapi[1]} paths" if findings.openapi else "none found"))
        lines += findings.notes
    lines.append("env manifest: " + (f"{manifest[0]} ({len(manifest[1])} variables)" if manifest else "none in this folder"))
    return [_comment(line) for line in lines]


# --- writing ------------------------------------------------------------------------------------------------


def render(findings: Findings, manifest: tuple[str, tuple[str, ...]] | None, sections: Mapping[str, Any]) -> str:
    model = settings_model(sections)
    head = [
        "# probe.toml: what `probe scan` checks and how. Written by `probe init`; read it top to bottom.",
        "# Secrets never go in this file: write ${VAR} and put the value in the environment (CI secrets) or in a",
        "# .env file beside this one (keep it out of git). Reference: docs/usage.md, `probe checks`, `probe explain ID`.",
        "#",
    ]
    if findings.target:
        frameworks = ", ".join(f"{n} ({why})" for n, why in findings.frameworks) or "not recognised from the outside"
        head.append(_comment(f"# Framework: {frameworks}."))
        if findings.platform:
            head.append(_comment(f"# Hosting: {findings.platform[0]} ({findings.platform[1]})."))
        if findings.openapi:
            title, count = findings.openapi
            head.append(_comment(f"# OpenAPI document found ({title or 'untitled'}, {count} paths): scans read its routes."))
        if findings.problem:
            head.append(_comment(f"# The site could not be looked at fully: {findings.problem}"))
        head += ["", f"target = {_q(findings.target)}"]
    else:
        head += ["", "# TODO: the site to scan (or give it on the command line: probe scan https://...)"]
        head.append('# target = "https://staging.example.com"')
    head += [
        'mode = "passive"     # "active" adds bursts, cross-account writes, webhook posts: staging, or production with consent',
        'fail_on = "high"     # probe exits 1 on a failure at or above this severity',
        "",
    ]
    text = "\n".join(head)
    for block in _blocks(findings, manifest, sections):
        text += "\n" + (block.live if block.live and _valid(model, text + "\n" + block.live) else block.fallback)
    _valid(model, text, strict=True)
    return text.rstrip("\n") + "\n"


@dataclass(frozen=True)
class _Block:
    live: str  # written as TOML when it validates ("" for comment-only blocks)
    fallback: str  # the same advice as comments


def _blocks(
    findings: Findings, manifest: tuple[str, tuple[str, ...]] | None, sections: Mapping[str, Any]
) -> list[_Block]:
    blocks: list[_Block] = []
    login = findings.login
    if "login" in sections:
        blocks.append(_login_block(login))
    if "accounts" in sections:
        blocks.append(_Block("", _ACCOUNTS_TODO))
    if "resources" in sections:
        blocks.append(_Block("", _RESOURCES_TODO))
    if "rate_limit" in sections and login is not None:
        body = _body(login)
        live = (
            "# --- rate limits: bursts of failed log-ins (active mode only).\n"
            f"[[rate_limit]]\npath = {_q(login.path)}\nmethod = {_q(login.method)}\n{body}\n"
        )
        blocks.append(_Block(live, _commented(live)))
    if "webhooks" in sections:
        blocks.append(_webhooks_block(findings.webhooks, sections["webhooks"]))
    if "cors" in sections:
        blocks.append(_Block("", _CORS_TODO))
    env = _env_block(manifest, findings.platform)
    # Without the env checks installed the manifest is still worth listing, as comments.
    blocks.append(env if "env" in sections else _Block("", env.fallback))
    return blocks


def _login_block(login: Login | None) -> _Block:
    if login is None:
        todo = (
            "# --- log-in: TODO (none found on the page). How a test account signs in, for the idor/auth checks:\n"
            '# [login]\n# request = "POST /api/login"\n# json = { email = "{username}", password = "{password}" }\n'
            '# token = "json:token"\n'
        )
        return _Block("", todo)
    if login.body == "json":
        live = (
            _comment(f"# --- log-in: found {login.found}. TODO: check the field names and where the credential comes back.")
            + f"\n[login]\nrequest = {_q(f'{login.method} {login.path}')}\n{_body(login)}\n"
            + 'token = "json:token"   # or cookie:NAME, header:NAME: where the log-in response puts the credential\n'
        )
        return _Block(live, _commented(live))
    lines = [_comment(f"# --- log-in: found {login.found} (a server-rendered form).")]
    if login.page and login.csrf_field:
        lines.append(f"csrf = {_q(f'GET {login.page}')}   # fetched before each log-in for a fresh token")
        lines.append(f"csrf_field = {_q(login.csrf_field)}")
    else:
        lines.append(_comment(f"# The form has no CSRF field that probe recognises ({', '.join(CSRF_FIELD_HINTS)}): if "
                              "it has one, set csrf = \"GET /login-page\" and csrf_field."))
    lines.append(f"request = {_q(f'{login.method} {login.path}')}")
    lines.append(_body(login))
    if login.hidden:
        lines.append(_comment("# The form's hidden fields go with every log-in, with the values the page served: TODO "
                              "check none changes per page load (" + ", ".join(n for n, _ in login.hidden) + ")."))
    if login.session_cookie:
        lines.append(f"token = {_q('cookie:' + login.session_cookie)}   # the framework's session cookie")
        block = "[login]\n" + "\n".join(line for line in lines[1:] if not line.startswith("#"))
        notes = "\n".join(line for line in lines if line.startswith("#"))
        live = notes + "\n" + block + "\n"
        return _Block(live, _commented(live))
    unknown = [line for line in lines if line.startswith("#")]
    unknown.append("# TODO: the session cookie's name was not recognised from the outside: log in once in a browser, "
                 "find the cookie the log-in sets, and set token = \"cookie:NAME\".")
    table = ["[login]", *(line for line in lines[1:] if not line.startswith("#")), 'token = "cookie:TODO"']
    return _Block("", "\n".join(unknown) + "\n" + _commented("\n".join(table)))


def _body(login: Login) -> str:
    key = "json" if login.body == "json" else "form"
    fields = [f'{_key(login.username_field)} = "{{username}}"', f'{_key(login.password_field)} = "{{password}}"']
    fields += [f"{_key(name)} = {_q(value)}" for name, value in login.hidden]
    return f"{key} = {{ {', '.join(fields)} }}"


_ACCOUNTS_TODO = """# --- accounts: TODO. Two real test accounts unlock the idor and auth checks (who can read whose data).
# Create them in the app, put their credentials in the environment or .env (never here), then uncomment:
# [accounts.alice]
# username = "${ALICE_EMAIL}"
# password = "${ALICE_PASSWORD}"
# control  = "GET /api/me"      # a request only this account can make (proves the log-in worked)
#
# [accounts.bob]
# username = "${BOB_EMAIL}"
# password = "${BOB_PASSWORD}"
"""

_RESOURCES_TODO = """# --- records: TODO. Which records belong to whom, so probe can try one account's ids as the other:
# [[resources]]
# path  = "/api/notes/{id}"
# owner = "alice"
# list  = "GET /api/notes"      # alice's own list, where the ids come from
"""

_CORS_TODO = """# --- cross-origin: TODO. The origins of your own front ends (every other origin must be refused):
# [cors]
# trusted_origins = ["https://app.example.com"]
"""


def _webhooks_block(paths: Sequence[str], annotation: Any) -> _Block:
    if not paths:
        return _Block(
            "",
            "# --- webhooks: TODO (none found from the outside). One table per receiver; the secret stays in the environment:\n"
            '# [[webhooks]]\n# path     = "/api/webhooks/stripe"\n# provider = "stripe"\n'
            '# secret   = "${STRIPE_WEBHOOK_SECRET}"\n',
        )
    live = ["# --- webhooks: found from the outside. TODO: add each one's signing secret as ${VAR} (enables the"]
    live.append("# tampered and replayed-event tests); probe posts test events only in active mode.")
    fallback = list(live)
    recognised = False
    for path in paths:
        provider = _provider(path, annotation)
        recognised = recognised or provider is not None
        var = f"{(provider or 'WEBHOOK').upper().replace('-', '_')}_WEBHOOK_SECRET"
        table = f"[[webhooks]]\npath     = {_q(path)}\nprovider = {_q(provider or 'TODO')}\n# secret   = \"${{{var}}}\""
        live.append(table if provider else _commented(table))
        fallback.append(_commented(table))
    return _Block("\n".join(live) + "\n" if recognised else "", "\n".join(fallback) + "\n")


def _provider(path: str, annotation: Any) -> str | None:
    """The provider a path segment names, if the webhooks section's own model accepts it."""
    model = _item_model(annotation)
    if model is None:
        return None
    for segment in reversed([s for s in path.lower().split("/") if s]):
        try:
            model.model_validate({"path": path, "provider": segment})
        except ValidationError:
            continue
        return segment
    return None


def _item_model(annotation: Any) -> type[BaseModel] | None:
    args = typing.get_args(annotation)
    candidate = args[0] if args else annotation
    return candidate if isinstance(candidate, type) and issubclass(candidate, BaseModel) else None


def _env_block(manifest: tuple[str, tuple[str, ...]] | None, platform: tuple[str, str] | None) -> _Block:
    name = platform[0] if platform else ""
    example = DEPLOYED_EXAMPLES.get(name, "")
    deployed = (
        f'# deployed = "{example}"   # TODO: {name} detected; the API token comes from the environment\n'
        if example
        else '# deployed = "dotenv:.env.production"   # TODO: or process, vercel:APP:ENV, heroku:APP, fly:APP, render:ID ...\n'
    )
    if manifest is None:
        return _Block("", "# --- environment: TODO (no .env.example here). The manifest of variables the app reads:\n"
                      '# [env]\n# manifest = ".env.example"\n' + deployed)
    name, variables = manifest
    listed = ", ".join(variables[:MAX_LISTED_VARS]) + (" ..." if len(variables) > MAX_LISTED_VARS else "")
    lines = [f"# --- environment: {name} declares {len(variables)} variables:"]
    lines += _wrap(listed)
    lines.append("# TODO: say where the deployed values are read from, so each one is checked for a real value.")
    live = "\n".join(lines) + f"\n[env]\nmanifest = {_q(name)}\n" + deployed
    return _Block(live, _commented(live))


def _wrap(text: str, width: int = 110) -> list[str]:
    lines, line = [], "#"
    for word in text.split(" "):
        if len(line) + len(word) > width:
            lines.append(line)
            line = "#"
        line += " " + word
    return [*lines, line]


def _valid(model: type[BaseModel], text: str, *, strict: bool = False) -> bool:
    try:
        model.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        if strict:
            raise ConfigError(f"probe init wrote a config that does not load ({exc}); please report this") from None
        return False
    return True


def _commented(block: str) -> str:
    return "\n".join(line if line.startswith("#") or not line else f"# {line}" for line in block.splitlines()) + "\n"


def _comment(text: str) -> str:
    """Text from the site made safe inside a TOML comment: one printable line."""
    return "".join(ch if ch.isprintable() else " " for ch in " ".join(text.split()))[:300]


def _q(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{"".join(ch if ch.isprintable() else " " for ch in escaped)}"'


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _q(name)
