"""The attack surface, mapped once per run and shared by every check.

Everything is lazy and memoised: a run that only needs the page's headers fetches the page once and never
downloads a script. What it maps, and its bounds:

- the root page, its forms, and its scripts: `<script src>`, module preloads, and the scripts those scripts load
  (dynamic and static imports, Next.js build manifests), at most `MAX_SCRIPTS` same-origin scripts, each cut at the
  client's byte cap; how many more were named but not read is counted (`scripts_not_read`);
- the OpenAPI document: linked from the page (`<link rel="service-desc">`, RFC 8631), named by an API documentation
  page (Swagger UI `url:`/`configUrl`, ReDoc and RapiDoc `spec-url`), or at a usual path, with or without an
  `/api` or version prefix. When none is served to strangers but a candidate refused them (401, 403), it is read
  once as a configured account (`AccountReader`, built by the runner: a non-privileged account first), a GET in
  every mode: at most `MAX_DOCUMENT_REQUESTS` requests in all. How the document was obtained is kept
  (`ApiDocument`): one read as an account is not served to everyone;
- API paths: configured ones, those in forms and scripts (fetch/axios calls, `baseURL`), and the OpenAPI
  document's, at most `MAX_PATHS`.

Two rules keep the map safe to use. In passive mode a discovered route whose path reads as an action (`ACTIONS`:
create, delete, reset, seed, logout …) is left out of the API paths, so no check requests it whatever the method;
and the `exclude` patterns leave routes out in every mode (the HTTP client refuses them too). Both are noted in the
report, with what was found where.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from probe.http import HttpError, Response, ScopedHttp, excluded
from probe.operations import base_path, template_names

T = TypeVar("T")

MAX_SCRIPTS = 40
# A list, not requests: every family bounds what it sends and picks from it (auth.public-data people-like routes
# first), so a large app's document and a few dozen scripts must not crowd the paths a family is after out of it.
MAX_PATHS = 300
MAX_FORMS = 20
# The docs pages and the usual paths below fill it exactly on a site that has none of them (2 + 8); a candidate that
# refused strangers keeps the last request for reading it as an account.
MAX_DOCUMENT_REQUESTS = 10
# API documentation pages that name their OpenAPI document (FastAPI, drf-spectacular, springdoc, Swashbuckle, NestJS).
# FastAPI's ReDoc page (/redoc) is not among them: it names the same `openapi_url` as its Swagger UI page, and that
# document sits at a usual path unless /docs names it; debug.api-docs still looks for the ReDoc page itself.
DOC_PAGES = ("/docs", "/api/docs")
# Where OpenAPI/Swagger documents are usually served (FastAPI, its full-stack template's /api/v1 prefix,
# Flask-AppBuilder's REST API at /api/v1/_openapi (Apache Superset, Airflow 2's web UI; behind a log-in there), Django
# REST drf-spectacular, springdoc, ASP.NET Swashbuckle, NestJS, Express swagger-jsdoc setups).
# (https://flask-appbuilder.readthedocs.io/en/latest/rest_api.html, "OpenAPI spec").
OPENAPI_PATHS = (
    "/openapi.json",
    "/api/openapi.json",
    "/api/v1/openapi.json",
    "/api/v1/_openapi",
    "/swagger.json",
    "/api/schema/",
    "/v3/api-docs",
    "/swagger/v1/swagger.json",
)
# What strangers are answered at a document they may not read: a candidate answering so is read as an account.
REFUSED = frozenset({401, 403})
# Path words that mean the request does something (OWASP WSTG-CONF-05 style admin/maintenance routes, and the routes
# real apps expose for their own setup): a passive scan never requests a discovered route named with one of them.
ACTIONS = frozenset({
    "create", "createdb", "new", "add", "delete", "remove", "drop", "dropdb", "destroy", "truncate", "wipe", "purge",
    "flush", "clear", "reset", "seed", "init", "initialize", "initialise", "setup", "install", "migrate", "migration",
    "migrations", "logout", "signout", "shutdown", "restart", "reboot", "deactivate", "revoke", "unsubscribe",
    "cancel", "refund", "pay", "charge", "send", "invite", "approve", "publish", "import", "sync", "rebuild", "reindex",
    # Jobs and queries started or stopped by a request (Superset's GET-able /api/v1/query/stop, CI and task runners).
    "start", "stop", "kill", "terminate", "execute", "run", "trigger", "enable", "disable", "archive",
})
_WORD = re.compile(r"[a-z]+")
# Paths named in JS: fetch("/api/..."), axios.get('/v1/...'), "/auth/login" string literals, and template literals
# with a query the script fills (`/api/v1/chart/related/owners?q=${query}`): the path alone is kept.
_JS_PATH = re.compile(r"""["'`](/(?:api|v\d|auth|graphql|webhooks?|rest|rpc)(?:/[A-Za-z0-9_\-.{}:$]*)*)"""
                      r"""(?:\?[^"'`\s]{0,200})?["'`]""")
# axios.create({ baseURL: "/api/v2" }), a configured API base in the bundle.
_BASE_URL = re.compile(r"""baseURL\s*:\s*["'`]([^"'`\s]{1,200})["'`]""")
# Scripts named by scripts: import("./chunk.js"), import x from "/assets/y.js", new URL("./w.js", import.meta.url).
_JS_FILE = re.compile(r"""["'`]((?:\.{1,2}/|/)[\w\-./@~]{1,300}\.m?js)(?:\?[^"'`\s]{0,100})?["'`]""")
# Next.js build manifests list chunks relative to /_next/: "static/chunks/pages/index-abc.js".
_NEXT_CHUNK = re.compile(r"""["'](static/(?:chunks|[\w-]{1,40})/[\w\-./\[\]@]{1,300}\.js)["']""")
# webpack 5's runtime names its lazy chunks in one function, `__webpack_require__.u`, and where they are served in
# `__webpack_require__.p` (minified: `n.u=e=>e+"."+{242:"2222a8c9"}[e]+".chunk.js"`, `n.p="/static/"`; with one
# hashed name per chunk, `e=>5301===e?"80691ed8.chunk.js":...`). Source: webpack's GetChunkFilenameRuntimeModule and
# PublicPathRuntimeModule (https://github.com/webpack/webpack/tree/main/lib/runtime).
_WEBPACK_U = re.compile(r"""\.u\s*=\s*(?:function\s*\(\s*(\w+)\s*\)\s*\{\s*return\s+|\(?\s*(\w+)\s*\)?\s*=>\s*)""")
_WEBPACK_P = re.compile(r"""\.p\s*=\s*["']([^"'\s]{0,200})["']""")
_WEBPACK_LOAD = re.compile(r"""\.e\((\d{1,6})\)""")
_STRING = re.compile(r'"([^"\\]{0,300})"')
_CHUNK_MAP = re.compile(r"""\{((?:\s*"?\d{1,6}"?\s*:\s*"[^"\\]{0,200}"\s*,?)+)\}\s*\[\s*(\w+)\s*\]""")
_MAP_ENTRY = re.compile(r'"?(\d{1,6})"?\s*:\s*"([^"\\]{0,200})"')
MAX_RUNTIME_BODY = 200_000
# Swagger UI `url: "/openapi.json"` or `configUrl`, ReDoc/RapiDoc `spec-url="/openapi.json"`.
_DOCUMENT_NAME = re.compile(r"\.json$|openapi|swagger|api-docs|/schema/?$", re.IGNORECASE)
_SPEC_URL = re.compile(r"""(?:\burl|configUrl|spec-url|specUrl)\s*[:=]\s*["']([^"'\s]{1,300})["']""")


def reads_as_action(path: str) -> bool:
    """Does the path name an action (create, delete, reset, logout …) in any of its words?"""
    return any(word in ACTIONS for word in _WORD.findall(urlsplit(path).path.lower()))


@dataclass(frozen=True)
class Form:
    action: str
    method: str
    fields: tuple[tuple[str, str], ...]  # (name, input type as written, or the tag: textarea, select)
    hidden: tuple[tuple[str, str], ...] = ()  # (name, value) of its hidden inputs, as the page served them
    values: tuple[tuple[str, str], ...] = ()  # (name, value) of every field, as the page served them


@dataclass(frozen=True)
class Script:
    url: str
    response: Response


@dataclass
class _OpenForm:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    hidden: list[tuple[str, str]] = field(default_factory=list)
    values: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, kind: str, value: str) -> None:
        self.fields.append((name, kind))
        self.values.append((name, value))
        if kind.lower() == "hidden":
            self.hidden.append((name, value))

    def done(self) -> Form:
        return Form(self.action, self.method, tuple(self.fields), tuple(self.hidden), tuple(self.values))


class _Page(HTMLParser):
    """One pass over a page: its scripts, OpenAPI links, forms, and the named fields outside any form. A form left
    open ends with the page, and a form inside a form is no form of its own, as browsers parse them (HTML's form
    element pointer)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.inline: list[str] = []
        self.api_links: list[str] = []
        self._forms: list[_OpenForm] = []
        self._loose = _OpenForm("", "GET")
        self._form: _OpenForm | None = None
        self._in_script = False

    @property
    def forms(self) -> tuple[Form, ...]:
        return tuple(form.done() for form in self._forms)

    @property
    def loose(self) -> Form:
        """The named fields outside any form (a page whose script posts them), as a form without an action."""
        return self._loose.done()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script":
            if a.get("src"):
                self.scripts.append(a["src"])
            else:
                self._in_script = True
        elif tag == "link" and a.get("href"):
            rel = a.get("rel", "").lower().split()
            if "modulepreload" in rel or ("preload" in rel and a.get("as") == "script"):
                self.scripts.append(a["href"])
            elif "service-desc" in rel:
                self.api_links.append(a["href"])
        elif tag == "form" and self._form is None and len(self._forms) < MAX_FORMS:
            self._form = _OpenForm(a.get("action", ""), (a.get("method") or "get").upper())
            self._forms.append(self._form)
        elif tag in ("input", "textarea", "select") and a.get("name"):
            (self._form or self._loose).add(a["name"], a.get("type", tag), a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        elif tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline.append(data)


def parse_forms(html: str) -> tuple[Form, ...]:
    """The forms of an HTML page other than the root (a log-in page), parsed as the root page's are."""
    return parse_fields(html)[0]


def parse_fields(html: str) -> tuple[tuple[Form, ...], Form]:
    """The forms of an HTML page, and its named fields outside any form (as a form without an action)."""
    parser = _Page()
    parser.feed(html)
    return parser.forms, parser.loose


@dataclass(frozen=True)
class Scripts:
    loaded: tuple[Script, ...]
    unread: tuple[str, ...]  # "URL: why" for scripts that could not be read
    not_read: int  # scripts named by the page or its scripts beyond MAX_SCRIPTS


@dataclass(frozen=True)
class AccountReader:
    """Reads a URL (GET) as one configured account, for an OpenAPI document that refuses strangers. The runner builds
    it from the configured accounts; this is all the surface knows of them."""

    account: str
    get: Callable[[str], Awaitable[Response]]


@dataclass(frozen=True)
class ApiDocument:
    """The OpenAPI document and how it was obtained."""

    document: dict[str, Any]
    path: str
    how: str  # where it was found: "linked from the page", "named by ...", "at a usual path"
    account: str | None = None  # the account it was read as, after strangers were refused
    refused: int | None = None  # the status strangers got there (401, 403), when read as an account

    @property
    def public(self) -> bool:
        """Served to strangers: not read as an account."""
        return self.account is None

    @property
    def note(self) -> str:
        how = self.how if self.public else f"{self.how}; refused strangers with {self.refused}, read as account {self.account!r}"
        return f"OpenAPI document at {self.path} ({how}): {len(self.document['paths'])} paths"


@dataclass(frozen=True)
class RefusedDocument:
    """A document candidate that refused strangers and could not be read as an account: nothing was found."""

    path: str
    how: str
    status: int
    account: str | None  # the account it was read as, or None when the run has none
    why: str  # what reading it as that account gave ("" when no account was configured)

    @property
    def note(self) -> str:
        head = f"{self.path} ({self.how}) refused strangers with {self.status}"
        if self.account is None:
            return (f"{head} and no account is configured: an OpenAPI document there, if any, was not read and its routes "
                    "are unknown to this run; configure an account ([accounts.NAME]) and probe reads it as that account "
                    "(a non-privileged one first)")
        return f"{head}; read as account {self.account!r} {self.why}, so no OpenAPI document was read there"


@dataclass(frozen=True)
class DocumentSearch:
    found: ApiDocument | None
    refused: RefusedDocument | None  # only when nothing was found


class Surface:
    def __init__(self, http: ScopedHttp, configured_routes: list[str], *, passive: bool = True,
                 exclude: Sequence[str] = (), reader: AccountReader | None = None) -> None:
        self.http = http
        self.configured_routes = tuple(configured_routes)
        self.passive = passive
        self.exclude = tuple(exclude)
        self.reader = reader
        self._cache: dict[str, asyncio.Task[Any]] = {}

    async def _once(self, key: str, factory: Callable[[], Awaitable[T]]) -> T:
        task = self._cache.get(key)
        if task is None:
            task = asyncio.ensure_future(factory())
            self._cache[key] = task
        return await asyncio.shield(task)  # type: ignore[no-any-return]

    async def page(self) -> Response:
        """The target's root page. The runner fetches it first: if it fails, nothing can be scanned."""
        return await self._once("page", lambda: self.http.get(self.http.base_url))

    async def _parsed(self) -> _Page:
        async def parse() -> _Page:
            page = await self.page()
            parser = _Page()
            if "html" in page.content_type or page.text.lstrip()[:1] == "<":
                parser.feed(page.text)
            return parser

        return await self._once("parsed", parse)

    async def forms(self) -> tuple[Form, ...]:
        return tuple((await self._parsed()).forms)

    async def inline_scripts(self) -> tuple[str, ...]:
        return tuple((await self._parsed()).inline)

    async def scripts(self) -> tuple[Script, ...]:
        """Same-origin (in-scope) scripts the page loads, and those they load in turn, fetched once, bounded in
        count and bytes."""
        return (await self._scripts()).loaded

    async def unread_scripts(self) -> tuple[str, ...]:
        """Scripts the page loads that could not be read ("URL: why"): a server error, a 429, no answer. What
        they hold was not seen, so a check that reads scripts must not pass on their account. A 404 or 403 is
        not among them: a stranger is served nothing there."""
        return (await self._scripts()).unread

    async def scripts_not_read(self) -> int:
        """How many more scripts the page and its scripts name than `MAX_SCRIPTS` lets the run read."""
        return (await self._scripts()).not_read

    async def _scripts(self) -> Scripts:
        async def fetch() -> Scripts:
            page = await self.page()
            parsed = await self._parsed()
            queue = [u for u in dict.fromkeys(urljoin(page.url, src) for src in parsed.scripts) if self.http.scope.allows(u)]
            named = set(queue)
            for text in parsed.inline:
                queue += [u for u in _script_references(page.url, text) if u not in named and self.http.scope.allows(u)]
                named.update(queue)
            loaded: list[Script] = []
            unread: list[str] = []
            fetched = 0
            while queue and fetched < MAX_SCRIPTS:
                batch, queue = queue[: MAX_SCRIPTS - fetched], queue[MAX_SCRIPTS - fetched:]
                fetched += len(batch)
                answers = await asyncio.gather(*(self.http.get(u) for u in batch), return_exceptions=True)
                for url, answer in zip(batch, answers, strict=True):
                    if isinstance(answer, Response) and answer.status == 200:
                        loaded.append(Script(url=url, response=answer))
                        found = [u for u in _script_references(url, answer.text) if u not in named]
                        found = [u for u in found if self.http.scope.allows(u)]
                        named.update(found)
                        queue += found
                    elif isinstance(answer, Response) and (answer.status == 429 or answer.status >= 500):
                        unread.append(f"{url}: answered {answer.status}")
                    elif isinstance(answer, HttpError):
                        unread.append(f"{url}: {answer}")
                    elif isinstance(answer, BaseException):
                        raise answer
            if queue:
                self.http.note(f"read {MAX_SCRIPTS} same-origin scripts (the cap); {len(queue)} more that the page "
                               "and its scripts load were not read")
            return Scripts(tuple(loaded), tuple(unread), len(queue))

        return await self._once("scripts", fetch)

    async def openapi(self) -> dict[str, Any] | None:
        """The site's OpenAPI/Swagger document, however it was obtained (served to strangers or read as an account):
        the routes it lists are the app's either way."""
        found = (await self._documents()).found
        return found.document if found is not None else None

    async def openapi_document(self) -> ApiDocument | None:
        """The OpenAPI document with where it was found and whether it was read as an account."""
        return (await self._documents()).found

    async def openapi_refused(self) -> RefusedDocument | None:
        """When no document was found: the candidate that refused strangers (401, 403), and why it was not read."""
        return (await self._documents()).refused

    async def _documents(self) -> DocumentSearch:
        """Linked from the page, named by an API documentation page, or at a usual path (first found wins; JSON
        documents only); else the first candidate that refused strangers, read once as the reader's account."""

        async def find() -> DocumentSearch:
            page = await self.page()
            parsed = await self._parsed()
            candidates: list[tuple[str, str]] = [(urljoin(page.url, href), "linked from the page") for href in parsed.api_links]
            candidates += [(u, "named by the page") for u in _spec_urls(page.url, page.text)]
            tried: set[str] = set()
            refusals: list[tuple[str, str, int]] = []
            sent = 0

            async def get(url: str) -> Response | None:
                nonlocal sent
                # Once a candidate refused strangers, the last request is kept for reading it as an account.
                bound = MAX_DOCUMENT_REQUESTS - (1 if refusals and self.reader is not None else 0)
                if url in tried or sent >= bound or not self.http.scope.allows(url):
                    return None
                tried.add(url)
                sent += 1
                try:
                    return await self.http.get(url)
                except HttpError:
                    return None

            async def document(url: str, how: str) -> ApiDocument | None:
                response = await get(url)
                if response is not None and response.status in REFUSED:
                    refusals.append((url, how, response.status))
                doc = _document(response)
                return ApiDocument(doc, urlsplit(url).path, how) if doc is not None else None

            async def search() -> ApiDocument | None:
                for url, how in candidates:
                    if found := await document(url, how):
                        return found
                for path in DOC_PAGES:
                    docs_page = await get(self.http.url(path))
                    if docs_page is None or docs_page.status != 200:
                        continue
                    for url in _spec_urls(docs_page.url, docs_page.text):
                        if found := await document(url, f"named by the API documentation page {path}"):
                            return found
                for path in OPENAPI_PATHS:
                    if found := await document(self.http.url(path), "at a usual path"):
                        return found
                return None

            result = await search()
            if result is None and refusals:
                url, how, status = refusals[0]
                result, refused = await self._read_as_account(url, how, status)
                if refused is not None:
                    self.http.note(refused.note)
                    return DocumentSearch(None, refused)
            if result is not None:
                self.http.note(result.note)
            return DocumentSearch(result, None)

        return await self._once("openapi", find)

    async def _read_as_account(self, url: str, how: str, status: int) -> tuple[ApiDocument | None, RefusedDocument | None]:
        """A candidate that refused strangers, read once (GET, in every mode) as the reader's account."""
        path = urlsplit(url).path
        reader = self.reader
        if reader is None:
            return None, RefusedDocument(path, how, status, None, "")
        try:
            response = await reader.get(url)
        except HttpError as exc:
            return None, RefusedDocument(path, how, status, reader.account, f"failed ({exc})")
        doc = _document(response)
        if doc is None:
            what = f"answered {response.status}" + (", not an OpenAPI document" if response.status == 200 else "")
            return None, RefusedDocument(path, how, status, reader.account, what)
        return ApiDocument(doc, path, how, reader.account, status), None

    async def api_paths(self, include_openapi: bool = True) -> tuple[str, ...]:
        """API routes known without guessing: configured ones, those named in the page and its scripts, and (if
        asked) those of the OpenAPI document. Templates keep their `{param}`. Discovered routes that read as actions
        are left out in passive mode, and routes matching `exclude` in every mode (both noted once)."""
        found: list[str] = list(self.configured_routes)
        texts = [*(await self.inline_scripts()), *(s.response.text for s in await self.scripts())]
        for form in await self.forms():
            if form.action.startswith("/"):
                found.append(urlsplit(form.action).path)
        for text in texts:
            found.extend(p for p in (m.group(1) for m in _JS_PATH.finditer(text)) if not _partial_template(p))
            found.extend(base for base in (m.group(1) for m in _BASE_URL.finditer(text)) if base.startswith("/"))
        if include_openapi:
            doc = await self.openapi()
            if doc:
                base = base_path(doc)
                found.extend(base + p for p in doc["paths"] if isinstance(p, str))
        paths = list(dict.fromkeys(p.split("?")[0] for p in found if p.startswith("/")))
        return tuple(self._allowed(paths))[:MAX_PATHS]

    def may_request(self, path: str) -> bool:
        """Whether a discovered route may be requested in this run: not `exclude`d, and not an action in passive mode."""
        return excluded(path, self.exclude) is None and not (self.passive and reads_as_action(path))

    def _allowed(self, paths: list[str]) -> list[str]:
        configured = set(self.configured_routes)
        kept: list[str] = []
        actions: list[str] = []
        for path in paths:
            pattern = excluded(path, self.exclude)
            if pattern is not None:
                self.http.note(f"left alone: {path} (matches exclude {pattern!r})")
            elif self.passive and path not in configured and reads_as_action(path):
                actions.append(path)
            else:
                kept.append(path)
        if actions:
            self.http.note(f"passive mode: {len(actions)} discovered route(s) that read as actions were not requested: "
                           + ", ".join(actions[:10]) + (" …" if len(actions) > 10 else ""))
        return kept


def _document(response: Response | None) -> dict[str, Any] | None:
    """The OpenAPI/Swagger document a response carries (JSON, with `paths`), or None."""
    doc = response.json() if response is not None and response.status == 200 else None
    if isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc) and isinstance(doc.get("paths"), dict):
        return doc
    return None


def _partial_template(path: str) -> bool:
    """A segment that mixes text and a script's template (`/permalink/kv:${key}`): its literal form is no route."""
    return any(name is None and ("{" in segment or "$" in segment)
               for segment, name in zip(path.split("/"), template_names(path), strict=True))


def _script_references(base: str, text: str) -> list[str]:
    """Same-origin script URLs a script or page text names: imports, module URLs, Next.js build-manifest chunks,
    webpack's lazy chunks."""
    head = text[:2_000_000]
    found = [urljoin(base, m.group(1)) for m in _JS_FILE.finditer(head)]
    next_root = base.split("/_next/", 1)[0] + "/_next/" if "/_next/" in base else None
    if next_root is not None:
        found += [urljoin(next_root, m.group(1)) for m in _NEXT_CHUNK.finditer(head)]
    found += _webpack_chunks(base, head)
    return list(dict.fromkeys(found))


def _runtime_body(text: str, start: int) -> str:
    """The expression of webpack's chunk-file function from `start`: up to the first `,` or `;` outside brackets,
    parentheses, braces and strings."""
    depth, quote = 0, ""
    for i in range(start, min(len(text), start + MAX_RUNTIME_BODY)):
        c = text[i]
        if quote:
            quote = "" if c == quote and text[i - 1] != "\\" else quote
        elif c in "\"'":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return text[start:i]
            depth -= 1
        elif c in ",;" and depth == 0:
            return text[start:i]
    return ""


def _webpack_chunks(base: str, text: str) -> list[str]:
    """The lazy chunks a webpack 5 runtime can load, as URLs (see `_WEBPACK_U`)."""
    runtime = _WEBPACK_U.search(text)
    if runtime is None:
        return []
    arg = runtime.group(1) or runtime.group(2)
    body = _runtime_body(text, runtime.end())
    public = _WEBPACK_P.search(text)
    # `auto` (or no public path) is the directory of the script that holds the runtime.
    root = urljoin(base, public.group(1)) if public and public.group(1) not in ("", "auto") else base
    if "?" in body:  # one hashed name per chunk, chosen by comparisons
        names = [m.group(1) for m in _STRING.finditer(body) if m.group(1).endswith(".js")]
    else:
        maps = [(m.group(0), dict(_MAP_ENTRY.findall(m.group(1)))) for m in _CHUNK_MAP.finditer(body)]
        ids = list(dict.fromkeys([k for _, table in maps for k in table] or _WEBPACK_LOAD.findall(text)))
        names = [name for chunk in ids if (name := _chunk_name(body, arg, maps, chunk))]
    return [urljoin(root, name) for name in names]


def _chunk_name(body: str, arg: str, maps: list[tuple[str, dict[str, str]]], chunk: str) -> str | None:
    """The file name `body` gives one chunk: its `+`-joined terms are strings, the chunk id, a map looked up by the
    id, or such a lookup falling back to the id (`({1:"name"}[e]||e)`); None for anything else."""
    expression = body
    for looked_up, table in maps:
        expression = expression.replace(looked_up, f'"{table[chunk]}"' if chunk in table else "undefined")
    parts: list[str] = []
    for term in expression.replace("(", "").replace(")", "").split("+"):
        choice = [t.strip() for t in term.split("||")]
        value = next((t for t in choice if t != "undefined"), "")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            parts.append(value[1:-1])
        elif value == arg:
            parts.append(chunk)
        else:
            return None
    name = "".join(parts)
    return name if name.endswith(".js") else None


def _spec_urls(base: str, text: str) -> list[str]:
    """OpenAPI document URLs an API documentation page names (Swagger UI, ReDoc, RapiDoc)."""
    named = (urljoin(base, m.group(1)) for m in _SPEC_URL.finditer(text[:200_000]))
    return [u for u in dict.fromkeys(named) if u != base and _DOCUMENT_NAME.search(urlsplit(u).path)]
