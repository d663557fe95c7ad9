"""`probe init URL`: a commented probe.toml for a live site, from a short passive look at it.

It reads the page the engine's `Surface` fetches (headers, cookies, forms, markers), the same-origin
scripts the page loads and an OpenAPI document where a scan looks for one: a bounded handful of GET requests
through the same scoped client a scan uses. From that it names the framework and the hosting platform (by the
markers the sections declare), the log-in route, webhook routes, and finds the env manifest in the working
directory. Secrets are never written: accounts and webhook secrets are TODO blocks with `${VAR}` references.

What is written for each section is the section's own (`Section.init_block`, declared beside the checks that read
it): this module knows no family. Every section written live is validated against the sections the installed
checks declare, so the file loads with `probe.config.load`; a block that would not load is written as comments.
"""

from __future__ import annotations

import asyncio
import re
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ValidationError

from probe.accounts import CSRF_FIELD_HINTS
from probe.config import ConfigError, Settings, check_target_url, settings_model
from probe.http import HttpClient, HttpError, Response, ScopedHttp
from probe.operations import resolve
from probe.parsing import parse_set_cookie
from probe.redact import Redactor
from probe.surface import Form, RefusedDocument, Surface, parse_forms
from probe.template import Discovery, Login, Marker, one_line, toml_string

# A look, not a scan: the page, a few scripts, the OpenAPI paths.
MAX_REQUESTS = 30
RATE = 10.0
TIMEOUT_S = 10.0
DURATION_S = 60.0
MAX_PATH_CHARS = 200
MAX_PAGE_CHARS = 200_000


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

# Env manifests, in the order frameworks' templates and tutorials use them.
MANIFEST_NAMES = (".env.example", ".env.sample", ".env.template", ".env.dist", "env.example", "example.env")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
_LOGIN_PATH = re.compile(r"/(?:log-?in|sign-?in|sign_in|sessions?|authenticate|auth/token|token)/?$", re.IGNORECASE)
_WEBHOOK_PATH = re.compile(r"/(?:web-?hooks?|hooks)(?:/|$)", re.IGNORECASE)
_USERNAME_FIELD = re.compile(r"user|email|login|identifier", re.IGNORECASE)
_PASSWORD_FIELD = re.compile(r"pass", re.IGNORECASE)
_JSON_HINT = re.compile(r"application/json|JSON\.stringify")


@dataclass
class Findings:
    target: str
    frameworks: list[tuple[str, str]] = field(default_factory=list)  # (name, what showed it)
    platform: tuple[str, str] | None = None
    login: Login | None = None
    webhooks: list[str] = field(default_factory=list)
    openapi: tuple[str, int] | None = None  # (title, paths)
    openapi_refused: tuple[str, int] | None = None  # (path, status): no document found, a candidate refused strangers
    requests: int = 0
    problem: str = ""
    notes: tuple[str, ...] = ()  # what the look found where (the OpenAPI document, routes left alone)


def generate(url: str | None, *, cwd: Path, ca_bundle: str | None = None) -> tuple[str, list[str]]:
    """The config text and one line per thing found (for the terminal). Raises ValueError for a bad URL."""
    from probe.api import sections
    from probe.registry import load

    if url is not None:
        check_target_url(url)
    declared = sections(load())
    findings = asyncio.run(discover(url, ca_bundle, hosting(declared))) if url else Findings(target="")
    manifest = find_manifest(cwd)
    text = render(findings, manifest, declared)
    return text, summary(findings, manifest)


async def discover(url: str, ca_bundle: str | None = None, platforms: Sequence[Marker] = ()) -> Findings:
    """A look at the site; `platforms` are the markers that name a hosting platform (see `hosting`)."""
    from probe.runner import USER_AGENT

    look = Settings(target=url, max_requests=MAX_REQUESTS, rate=RATE, timeout=TIMEOUT_S, max_duration=DURATION_S,
                    ca_bundle=ca_bundle)
    client = HttpClient.for_settings(look, redactor=Redactor(()), user_agent=USER_AGENT,
                                     deadline=time.monotonic() + DURATION_S)
    found = Findings(target=url)
    surface = Surface(ScopedHttp(client, "surface", url), [])
    refused: RefusedDocument | None = None
    try:
        page = await surface.page()
        found.frameworks = match(FRAMEWORKS, page)
        hosts = match(platforms, page)
        found.platform = hosts[0] if hosts else None
        scripts = [s.response.text for s in await surface.scripts()]
        doc = await surface.openapi()
        refused = await surface.openapi_refused()
        if refused is not None:
            found.openapi_refused = (refused.path, refused.status)
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
        # The refused document is the OpenAPI line of the summary (`summary`), said once.
        found.notes = tuple(n for n in client.notes if refused is None or n != refused.note)
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


def _login_from_paths(paths: Sequence[str], doc: dict[str, Any] | None, scripts: Sequence[str]) -> Login | None:
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


def _openapi_fields(doc: dict[str, Any], path: str) -> tuple[str, ...]:
    """Property names of the JSON body of `POST path` (following a local $ref), or () if not described."""
    item = doc.get("paths", {}).get(path)
    post = item.get("post") if isinstance(item, dict) else None
    body = post.get("requestBody") if isinstance(post, dict) else None
    content = body.get("content") if isinstance(body, dict) else None
    media = content.get("application/json") if isinstance(content, dict) else None
    schema = resolve(doc, media.get("schema")) if isinstance(media, dict) else None
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
        lines.append("OpenAPI: " + _openapi_line(findings))
        lines += findings.notes
    lines.append("env manifest: " + (f"{manifest[0]} ({len(manifest[1])} variables)" if manifest else "none in this folder"))
    return [one_line(line) for line in lines]


def _openapi_line(findings: Findings) -> str:
    if findings.openapi:
        return f"{findings.openapi[1]} paths"
    if findings.openapi_refused:
        path, status = findings.openapi_refused
        return (f"{path} needs a log-in ({status}); probe scan reads it as a configured account (a non-privileged one "
                "first)")
    return "none found"


# --- writing ------------------------------------------------------------------------------------------------


def render(findings: Findings, manifest: tuple[str, tuple[str, ...]] | None, sections: Mapping[str, Any]) -> str:
    """The file: the engine's keys, then each declared section's block (its model's `init_block`), in their order."""
    model = settings_model(sections)
    head = [
        "# probe.toml: what `probe scan` checks and how. Written by `probe init`; read it top to bottom.",
        "# Secrets never go in this file: write ${VAR} and put the value in the environment (CI secrets) or in a",
        "# .env file beside this one (keep it out of git). Reference: docs/usage.md, `probe checks`, `probe explain ID`.",
        "#",
    ]
    if findings.target:
        frameworks = ", ".join(f"{n} ({why})" for n, why in findings.frameworks) or "not recognised from the outside"
        head.append(one_line(f"# Framework: {frameworks}."))
        if findings.platform:
            head.append(one_line(f"# Hosting: {findings.platform[0]} ({findings.platform[1]})."))
        if findings.openapi:
            title, count = findings.openapi
            head.append(one_line(f"# OpenAPI document found ({title or 'untitled'}, {count} paths): scans read its routes."))
        elif findings.openapi_refused:
            path, status = findings.openapi_refused
            head.append(one_line(f"# OpenAPI: {path} needs a log-in ({status}): scans read it as a configured account (a "
                                 "non-privileged one first), so configure the accounts below and scans read its routes."))
        if findings.problem:
            head.append(one_line(f"# The site could not be looked at fully: {findings.problem}"))
        head += ["", f"target = {toml_string(findings.target)}"]
    else:
        head += ["", "# TODO: the site to scan (or give it on the command line: probe scan https://...)"]
        head.append('# target = "https://staging.example.com"')
    head += [
        'mode = "passive"     # "active" adds bursts, cross-account writes, webhook posts: staging, or production with consent',
        'fail_on = "high"     # probe exits 1 on a failure at or above this severity',
        "",
    ]
    text = "\n".join(head)
    found = Discovery(findings.target, findings.login, tuple(findings.webhooks), findings.platform, manifest)
    for section in sorted(model.section_names, key=lambda section: section.init_order):
        block = section.init_block(found)
        if block is not None:
            text += "\n" + (block.live if block.live and _valid(model, text + "\n" + block.live) else block.fallback)
    _valid(model, text, strict=True)
    return text.rstrip("\n") + "\n"


def hosting(sections: Mapping[str, Any]) -> tuple[Marker, ...]:
    """The markers that name a hosting platform, as the declared sections give them."""
    return tuple(marker for section in settings_model(sections).section_names for marker in section.init_hosting)


def _valid(model: type[BaseModel], text: str, *, strict: bool = False) -> bool:
    try:
        model.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        if strict:
            raise ConfigError(f"probe init wrote a config that does not load ({exc}); please report this") from None
        return False
    return True
