"""The attack surface, mapped once per run and shared by every check.

Everything is lazy and memoised: a run that only needs the page's headers fetches the page once and
never downloads a script. Bounds: at most `MAX_SCRIPTS` same-origin scripts, each cut at the client's
byte cap; at most `MAX_PATHS` API paths.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from probe.http import HttpError, Response, ScopedHttp

T = TypeVar("T")

MAX_SCRIPTS = 20
MAX_PATHS = 50
MAX_FORMS = 20
# Where OpenAPI/Swagger documents are usually served (FastAPI, Django REST/drf-spectacular, Spring,
# ASP.NET Swashbuckle, NestJS).
OPENAPI_PATHS = (
    "/openapi.json",
    "/api/openapi.json",
    "/swagger.json",
    "/api/schema/",
    "/v3/api-docs",
    "/swagger/v1/swagger.json",
)
# Paths named in JS: fetch("/api/..."), axios.get('/v1/...'), "/auth/login" string literals.
_JS_PATH = re.compile(r"""["'`](/(?:api|v\d|auth|graphql|webhooks?|rest|rpc)(?:/[A-Za-z0-9_\-.{}:$]*)*)["'`]""")


@dataclass(frozen=True)
class Form:
    action: str
    method: str
    fields: tuple[tuple[str, str], ...]  # (name, input type)


@dataclass(frozen=True)
class Script:
    url: str
    response: Response


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.inline: list[str] = []
        self.forms: list[Form] = []
        self._form: dict[str, Any] | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script":
            if a.get("src"):
                self.scripts.append(a["src"])
            else:
                self._in_script = True
        elif tag == "form" and len(self.forms) < MAX_FORMS:
            self._form = {"action": a.get("action", ""), "method": (a.get("method") or "get").upper(), "fields": []}
        elif tag in ("input", "textarea", "select") and self._form is not None and a.get("name"):
            self._form["fields"].append((a["name"], a.get("type", tag)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        elif tag == "form" and self._form is not None:
            self.forms.append(Form(self._form["action"], self._form["method"], tuple(self._form["fields"])))
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline.append(data)


class Surface:
    def __init__(self, http: ScopedHttp, configured_routes: list[str]) -> None:
        self.http = http
        self.configured_routes = tuple(configured_routes)
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
        """Same-origin (in-scope) scripts the page loads, fetched once, bounded in count and bytes."""
        return (await self._scripts())[0]

    async def unread_scripts(self) -> tuple[str, ...]:
        """Scripts the page loads that could not be read ("URL: why"): a server error, a 429, no answer. What
        they hold was not seen, so a check that reads scripts must not pass on their account. A 404 or 403 is
        not among them: a stranger is served nothing there."""
        return (await self._scripts())[1]

    async def _scripts(self) -> tuple[tuple[Script, ...], tuple[str, ...]]:
        async def fetch() -> tuple[tuple[Script, ...], tuple[str, ...]]:
            page = await self.page()
            urls = [urljoin(page.url, src) for src in (await self._parsed()).scripts]
            urls = [u for u in dict.fromkeys(urls) if self.http.scope.allows(u)][:MAX_SCRIPTS]
            responses = await asyncio.gather(*(self.http.get(u) for u in urls), return_exceptions=True)
            loaded: list[Script] = []
            unread: list[str] = []
            for url, answer in zip(urls, responses, strict=True):
                if isinstance(answer, Response) and answer.status == 200:
                    loaded.append(Script(url=url, response=answer))
                elif isinstance(answer, Response) and (answer.status == 429 or answer.status >= 500):
                    unread.append(f"{url}: answered {answer.status}")
                elif isinstance(answer, HttpError):
                    unread.append(f"{url}: {answer}")
                elif isinstance(answer, BaseException):
                    raise answer
            return tuple(loaded), tuple(unread)

        return await self._once("scripts", fetch)

    async def openapi(self) -> dict[str, Any] | None:
        """An OpenAPI/Swagger document if one is served at a usual path (first found wins)."""

        async def find() -> dict[str, Any] | None:
            for path in OPENAPI_PATHS:
                try:
                    response = await self.http.get(path)
                except HttpError:
                    return None
                doc = response.json() if response.status == 200 else None
                if isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc) and isinstance(doc.get("paths"), dict):
                    return doc
            return None

        return await self._once("openapi", find)

    async def api_paths(self, include_openapi: bool = True) -> tuple[str, ...]:
        """API routes known without guessing: configured ones, those named in the page and its
        scripts, and (if asked) those of a served OpenAPI document. Templates keep their `{param}`."""
        found: list[str] = list(self.configured_routes)
        texts = [*(await self.inline_scripts()), *(s.response.text for s in await self.scripts())]
        for form in await self.forms():
            if form.action.startswith("/"):
                found.append(urlsplit(form.action).path)
        for text in texts:
            found.extend(m.group(1) for m in _JS_PATH.finditer(text))
        if include_openapi:
            doc = await self.openapi()
            if doc:
                base = _openapi_base(doc)
                found.extend(base + p for p in doc["paths"] if isinstance(p, str))
        return tuple(dict.fromkeys(p.split("?")[0] for p in found if p.startswith("/")))[:MAX_PATHS]


def _openapi_base(doc: dict[str, Any]) -> str:
    servers = doc.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        path = urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")
        return path
    base = doc.get("basePath")
    return base.rstrip("/") if isinstance(base, str) else ""
