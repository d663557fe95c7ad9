"""The only way a check talks to the network.

Every request goes through `HttpClient.request`, which enforces, in this order: scope (host and, when
the target names one, port), the run's deadline, the request budget, a back-off the target asked for,
the requests-per-second ceiling and the per-host concurrency limit. A measured load step goes through
`HttpClient.crowd` instead: scope, `exclude`, deadline, budget and byte cap as above, but neither paced nor
limited per host, since concurrency is what it measures; it holds its whole allowance when it opens. Copies of
one request released together (`HttpClient.release`, see probe.release) are admitted the same way.
Responses are streamed and cut at `max_bytes` after decompression. Redirects are followed by hand, only
inside scope. There is no cookie jar: a cookie one account receives must never ride along with another
account's request, so accounts send their cookies explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import fnmatch
import json as jsonlib
import logging
import socket
import ssl
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from probe.redact import Redactor
from probe.release import Copy, Release, release, requests_needed

if TYPE_CHECKING:
    from probe.config import Settings

log = logging.getLogger("probe.http")

MAX_REDIRECTS = 5
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Resends of a safe request whose pooled connection the server had closed: one per connection the per-host limit
# (default 4) can have had open to a server that closed each after an app error.
DROPPED_RETRIES = 4
# A target may ask us to wait; we wait at most this long per request, and never past the deadline.
MAX_BACKOFF_S = 30.0
# Distinct paths that may ask for a long back-off before the whole host is left alone.
HOST_STOP_AFTER_PATHS = 3
SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key", "x-auth-token", "set-cookie"})
EVIDENCE_HEADERS = (
    "content-type",
    "location",
    "server",
    "x-powered-by",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "vary",
    "retry-after",
    "www-authenticate",
)


class HttpError(Exception):
    """A request that could not be made or completed; the message is one readable line."""


class OutOfScope(HttpError):
    pass


class Excluded(HttpError):
    """The path matches an `exclude` pattern: no request is sent to it, in any mode."""


class BudgetExhausted(HttpError):
    pass


class DeadlineReached(HttpError):
    pass


class BackedOff(HttpError):
    """The target asked us to stop for longer than we may wait."""


class RequestFailed(HttpError):
    """Connection refused, DNS failure, timeout, TLS failure, broken response."""


class ConnectionDropped(RequestFailed):
    """The connection closed before any response arrived."""


class Scope:
    """Which hosts may be contacted. Entries are `host`, `host:port` or `*.domain`.

    With no entries: the target's host, pinned to its port when the URL names one (a loopback test
    server on an ephemeral port), any port when it does not (production, where http→https is one host).
    """

    def __init__(self, target: str, entries: tuple[str, ...] = ()) -> None:
        parts = urlsplit(target)
        host = (parts.hostname or "").lower()
        default = entries or ((f"{host}:{parts.port}",) if parts.port else (host,))
        self.entries = tuple(e.lower().strip() for e in default)

    def including(self, entries: Sequence[str]) -> Scope:
        """This scope with more entries (a platform's API host that a check must also reach)."""
        wider = Scope("", ())
        wider.entries = tuple(dict.fromkeys((*self.entries, *(e.lower().strip() for e in entries))))
        return wider

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        host = parts.hostname.lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return any(_entry_matches(entry, host, port) for entry in self.entries)

    def __str__(self) -> str:
        return ", ".join(self.entries)


def _entry_matches(entry: str, host: str, port: int) -> bool:
    name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
    if entry_port and entry_port.isdigit() and int(entry_port) != port:
        return False
    name = name or entry
    name = name.strip("[]")
    if name.startswith("*."):
        return host.endswith(name[1:])
    return host == name


@dataclass(frozen=True)
class Response:
    method: str
    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    elapsed_s: float
    request_headers: Mapping[str, str] = field(default_factory=dict)
    redirects: tuple[str, ...] = ()
    blocked_redirect: str | None = None

    @property
    def text(self) -> str:
        charset = "utf-8"
        content_type = self.headers.get("content-type", "")
        if "charset=" in content_type:
            charset = content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """Parsed JSON, or None when the body is not JSON (whatever the content type claims)."""
        try:
            return jsonlib.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "")).split(";")[0].strip().lower()

    def header(self, name: str) -> str | None:
        value: str | None = self.headers.get(name)
        return value

    def header_list(self, name: str) -> list[str]:
        return self.headers.get_list(name)

    def evidence(self, excerpt: str | None = None, max_chars: int = 400) -> dict[str, Any]:
        """What a person needs to reproduce this: request line and headers (credentials masked),
        status, the headers that matter, and a short body excerpt."""
        body = excerpt if excerpt is not None else self.text[:max_chars]
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": {k: ("***" if k.lower() in SENSITIVE_HEADERS else v) for k, v in self.request_headers.items()},
            },
            "response": {
                "status": self.status,
                "headers": {k: self.headers[k] for k in EVIDENCE_HEADERS if k in self.headers},
                "body_excerpt": body[:max_chars],
                **({"truncated": True} if self.truncated else {}),
            },
        }


class _NoCookies(CookieJar):
    """The client's jar keeps nothing and parses nothing. A refusing policy is not enough: the standard
    library still parses every Set-Cookie of every response before asking it, and a target sending
    thousands of them per response held the event loop for a tenth of a second each time."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Any) -> None:
        return None


@dataclass
class _Limits:
    max_requests: int
    rate: float
    timeout: float
    max_bytes: int
    per_host: int
    deadline: float


class HttpClient:
    """One pooled client for the run. Checks reach it through `ScopedHttp`, which names their family."""

    def __init__(
        self,
        *,
        scope: Scope,
        redactor: Redactor,
        user_agent: str,
        max_requests: int,
        rate: float,
        timeout: float,
        max_bytes: int,
        per_host: int,
        deadline: float,
        verify: ssl.SSLContext | str | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        exclude: tuple[str, ...] = (),
    ) -> None:
        self.scope = scope
        self.exclude = exclude
        self.redactor = redactor
        self.limits = _Limits(max_requests, rate, timeout, max_bytes, per_host, deadline)
        self.sent = 0
        # Requests a crowd holds for its load steps: not sent yet, but no longer anyone else's to spend.
        self.held = 0
        self.by_family: Counter[str] = Counter()
        self.notes: list[str] = []
        self._options: dict[str, Any] = {
            "follow_redirects": False,
            "timeout": httpx.Timeout(timeout),
            # Only what `_read_capped` can inflate within the byte cap (httpx would add br/zstd when installed).
            "headers": {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            "verify": verify,
            "transport": transport,
            "trust_env": False,
        }
        self._client = self._new_client(max(per_host * 4, 10), per_host * 2)
        self._release_verify: ssl.SSLContext | bool | None = None
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._pace = asyncio.Lock()
        self._next_slot = 0.0
        self._backoff_until: dict[str, float] = {}
        # (host, path) → why; path "" stops the whole host.
        self._stopped: dict[tuple[str, str], str] = {}

    @classmethod
    def for_settings(cls, settings: Settings, *, redactor: Redactor, user_agent: str, deadline: float,
                     scope: Scope | None = None) -> HttpClient:
        """The run's client as the settings describe it: scope (the target's host unless `scope` is set, plus what
        the sections add), budget, pace, timeouts, byte cap, per-host concurrency and the trusted CAs."""
        return cls(
            scope=scope or run_scope(settings),
            redactor=redactor,
            user_agent=user_agent,
            max_requests=settings.max_requests,
            rate=settings.rate,
            timeout=settings.timeout,
            max_bytes=settings.max_bytes,
            per_host=settings.per_host,
            deadline=deadline,
            verify=ssl_context(settings.ca_bundle),
            exclude=settings.exclude,
        )

    def _new_client(self, connections: int, keepalive: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=keepalive),
            cookies=_NoCookies(),
            **self._options,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def remaining(self) -> int:
        """Requests the budget still allows, after what is sent and what crowds hold."""
        return max(0, self.limits.max_requests - self.sent - self.held)

    def _admit(self, url: str) -> None:
        """Scope and `exclude`: what every request, crowd request and released copy passes before it is sent."""
        if not self.scope.allows(url):
            raise OutOfScope(f"{self.redactor.redact(url)} is outside the scope ({self.scope})")
        pattern = excluded(url, self.exclude)
        if pattern is not None:
            path = urlsplit(url).path or "/"
            self.note(f"left alone: {path} (matches exclude {pattern!r})")
            raise Excluded(f"{path} matches exclude {pattern!r}: not requested")

    def _check_deadline(self) -> None:
        if time.monotonic() >= self.limits.deadline:
            raise DeadlineReached("the run's time budget (max_duration) is used up")

    def _check_allowance(self, requests: int) -> None:
        """Whether `requests` may be taken from the budget at once (a crowd or a release): all of them, or none."""
        self._check_deadline()
        if requests > self.remaining:
            raise BudgetExhausted(f"needs {requests} requests, the budget ({self.limits.max_requests}) has {self.remaining} "
                                  "left; raise --max-requests")

    @contextlib.asynccontextmanager
    async def crowd(self, family: str, *, connections: int, requests: int) -> AsyncIterator[Crowd]:
        """Up to `requests` requests at up to `connections` at once, for a measured load step (see `Crowd`).

        The allowance is taken from the budget whole when the crowd opens, or not at all (BudgetExhausted), so a
        ramp either has every request it may need or does not start; what it does not send goes back on exit."""
        self._check_allowance(requests)
        self.held += requests
        crowd = Crowd(self, family, requests, self._new_client(connections, connections))
        try:
            yield crowd
        finally:
            self.held -= crowd.left
            await crowd.client.aclose()

    async def release(self, family: str, copies: Sequence[Copy]) -> Release:
        """Send `copies` of a request together (see `probe.release`): each in scope and not excluded, within the
        deadline, and every request it sends (warm-ups included) taken from the budget before the first byte leaves,
        or none (BudgetExhausted). Not limited per host: the copies' concurrency is the point."""
        for copy in copies:
            self._admit(copy.url)
        needed = requests_needed(copies)
        self._check_allowance(needed)
        self.sent += needed
        self.by_family[family] += needed
        await self._wait_pace()
        if self._release_verify is None:
            # One TLS context for every connection of every release: building one per connection costs milliseconds.
            verify = self._options["verify"]
            self._release_verify = (httpx.create_ssl_context() if verify is True
                                    else ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify)
        timeout = max(0.05, min(self.limits.timeout, self.limits.deadline - time.monotonic()))
        return await release(copies, verify=self._release_verify, timeout=timeout,
                             user_agent=self._options["headers"]["User-Agent"], describe=describe_transport_error)

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    async def request(
        self,
        method: str,
        url: str,
        *,
        family: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        follow_redirects: bool = True,
        honour_retry_after: bool = True,
        max_bytes: int | None = None,
    ) -> Response:
        redirects: list[str] = []
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._send_once(
                method,
                current,
                family=family,
                headers=headers,
                params=params,
                json=json,
                data=data,
                content=content,
                honour_retry_after=honour_retry_after,
                max_bytes=max_bytes,
            )
            location = response.header("location")
            if not (follow_redirects and location and 300 <= response.status < 400):
                return _with_history(response, redirects, None)
            nxt = urljoin(current, location)
            if not self.scope.allows(nxt):
                log.debug("not following redirect out of scope: %s", self.redactor.redact(nxt))
                return _with_history(response, redirects, nxt)
            redirects.append(current)
            if response.status in (301, 302, 303) and method.upper() not in ("GET", "HEAD"):
                method, json, data, content = "GET", None, None, None
            current, params = nxt, None
        self.note(f"stopped following redirects after {MAX_REDIRECTS} hops at {self.redactor.redact(url)}")
        return _with_history(response, redirects, None)

    async def _send_once(
        self,
        method: str,
        url: str,
        *,
        family: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        json: Any,
        data: Mapping[str, str] | None,
        content: bytes | str | None,
        honour_retry_after: bool,
        max_bytes: int | None,
    ) -> Response:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        route = (host, parts.path or "/")
        self._admit(url)
        for attempt in range(2):
            stopped = self._stopped.get((host, "")) or self._stopped.get(route)
            if stopped:
                raise BackedOff(stopped)
            await self._wait_backoff(host)
            self._take_budget(family)
            await self._wait_pace()
            for retry in range(DROPPED_RETRIES + 1):
                try:
                    response = await self._transfer(method, url, host, headers, params, json, data, content, max_bytes)
                    break
                except ConnectionDropped:
                    # A pooled keep-alive connection the server closed as we sent (servers close after an app
                    # error, so several can be stale at once): no answer was read, so a request that changes
                    # nothing is sent again; httpx has dropped that connection from its pool.
                    if method.upper() not in IDEMPOTENT_METHODS or retry == DROPPED_RETRIES:
                        raise
                    self._take_budget(family)
                    await self._wait_pace()
            if not (honour_retry_after and attempt == 0 and response.status in (429, 503)):
                return response
            delay = retry_after_seconds(response.header("retry-after"))
            if delay is None:
                return response
            remaining = self.limits.deadline - time.monotonic()
            if delay > min(MAX_BACKOFF_S, remaining):
                self._stop(host, route[1], response.status, delay)
                return response
            self.note(f"{host} answered {response.status} with Retry-After; waited {delay:.0f} s before going on")
            self._backoff_until[host] = time.monotonic() + delay
        return response

    async def reserve(self, family: str, url: str | None = None) -> float:
        """Account for an exchange that is not an HTTP request (a TLS handshake, a DNS query) as for one:
        scope when it names a URL, the deadline, the budget and the pace. Returns the seconds it may take."""
        if url is not None and not self.scope.allows(url):
            raise OutOfScope(f"{self.redactor.redact(url)} is outside the scope ({self.scope})")
        self._take_budget(family)
        await self._wait_pace()
        return max(0.05, min(self.limits.timeout, self.limits.deadline - time.monotonic()))

    def _stop(self, host: str, path: str, status: int, delay: float) -> None:
        """Honour a Retry-After longer than we may wait. Login and API limiters answer per route, so the stop
        starts with that path; when the site root or several paths ask, the whole host is left alone."""
        self._stopped[(host, path)] = (
            f"{host}{path} answered {status} with Retry-After {delay:.0f} s; no further requests were sent to it"
        )
        self.note(self._stopped[(host, path)])
        paths = [p for h, p in self._stopped if h == host and p]
        if path == "/" or len(paths) >= HOST_STOP_AFTER_PATHS:
            self._stopped[(host, "")] = (
                f"{host} answered {status} with Retry-After {delay:.0f} s on {len(paths)} path(s); "
                "no further requests were sent to the host"
            )
            self.note(self._stopped[(host, "")])

    def _take_budget(self, family: str) -> None:
        self._check_deadline()
        if self.sent + self.held >= self.limits.max_requests:
            raise BudgetExhausted(f"the request budget ({self.limits.max_requests}) is used up; raise --max-requests")
        self.sent += 1
        self.by_family[family] += 1

    async def _wait_backoff(self, host: str) -> None:
        until = self._backoff_until.get(host, 0.0)
        delay = until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(min(delay, max(0.0, self.limits.deadline - time.monotonic())))

    async def _wait_pace(self) -> None:
        async with self._pace:
            now = time.monotonic()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + 1.0 / self.limits.rate
        if wait > 0:
            await asyncio.sleep(wait)

    async def _transfer(
        self,
        method: str,
        url: str,
        host: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        json: Any,
        data: Mapping[str, str] | None,
        content: bytes | str | None,
        max_bytes: int | None,
        crowd: httpx.AsyncClient | None = None,
    ) -> Response:
        cap = min(max_bytes or self.limits.max_bytes, self.limits.max_bytes)
        # A crowd's requests are outside the per-host limit: how many go at once is what a load step sets.
        slot = contextlib.nullcontext() if crowd else self._host_slots.setdefault(host, asyncio.Semaphore(self.limits.per_host))
        client = crowd or self._client
        budget = max(0.05, min(self.limits.timeout, self.limits.deadline - time.monotonic()))
        started = time.monotonic()
        shown = self.redactor.redact(url)
        async with slot:
            try:
                async with asyncio.timeout(budget):
                    request = client.build_request(
                        method, url, headers=headers, params=params, json=json, data=data, content=content
                    )
                    try:
                        upstream = await client.send(request, stream=True)
                    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
                        raise ConnectionDropped(f"{method} {shown}: {describe_transport_error(exc)}") from None
                    try:
                        body, truncated = await _read_capped(upstream, cap)
                    finally:
                        await upstream.aclose()
            except TimeoutError:
                raise RequestFailed(f"{method} {shown}: no complete answer within {budget:.1f} s") from None
            except httpx.HTTPError as exc:
                raise RequestFailed(f"{method} {shown}: {describe_transport_error(exc)}") from None
            except httpx.InvalidURL as exc:
                # Not an HTTPError: a URL a check built from hostile input (a control character) must not crash it.
                raise RequestFailed(f"{method} {shown}: not a valid URL ({exc})") from None
            except zlib.error:
                raise RequestFailed(f"{method} {shown}: broken response (the compressed body does not decompress)") from None
        elapsed = time.monotonic() - started
        log.debug(
            "%s %s -> %s (%d bytes%s, %.2f s)",
            method,
            shown,
            upstream.status_code,
            len(body),
            ", cut" if truncated else "",
            elapsed,
        )
        return Response(
            method=method,
            url=str(request.url),
            status=upstream.status_code,
            headers=upstream.headers,
            body=body,
            truncated=truncated,
            elapsed_s=elapsed,
            request_headers=dict(request.headers),
        )


class Crowd:
    """Concurrent requests for a measured load step, from `HttpClient.crowd`: its own connection pool, sized to the
    step, so no request waits for a connection the client lacks. Scope, `exclude`, the deadline and the byte cap
    hold as for any request; the budget was held when the crowd opened. Not paced (`rate`) nor limited per host
    (`per_host`): concurrency is what a load step measures, bounded by its own caps instead. No redirect is followed,
    no Retry-After waited on and no dropped connection retried: each is an answer the step records."""

    def __init__(self, owner: HttpClient, family: str, allowance: int, client: httpx.AsyncClient) -> None:
        self._owner = owner
        self.family = family
        self.left = allowance
        self.client = client

    async def get(self, url: str) -> Response:
        owner = self._owner
        owner._admit(url)
        owner._check_deadline()
        if self.left <= 0:
            raise BudgetExhausted("this load step's allowance is used up")
        self.left -= 1
        owner.held -= 1
        owner.sent += 1
        owner.by_family[self.family] += 1
        host = (urlsplit(url).hostname or "").lower()
        return await owner._transfer("GET", url, host, None, None, None, None, None, None, crowd=self.client)


class _Inflate:
    """gzip/deflate decoding that never returns more than asked for, whatever the compression ratio.
    httpx's own decoder inflates each network chunk whole: one 64 KB chunk of a gzip bomb became 64 MB
    in memory, and seconds of CPU with the event loop held, before the byte cap could look at it."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._started = False

    def decode(self, data: bytes, limit: int) -> bytes:
        try:
            return self._inflater.decompress(data, limit)
        except zlib.error:
            if self._gzip or self._started:
                raise
            # "deflate" as some servers send it: raw, without the zlib header (httpx accepts both too).
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._inflater.decompress(data, limit)
        finally:
            self._started = True


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """The body, decoded and cut at `cap` bytes. Read raw and inflated here, boundedly; an encoding we
    did not ask for (br, zstd, a chain) is kept as sent rather than decoded without a bound."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    inflate = _Inflate(encoding) if encoding in ("gzip", "x-gzip", "deflate") else None
    chunks: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        room = cap - size
        chunk = inflate.decode(raw, room) if inflate else raw
        if len(chunk) >= room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def _with_history(response: Response, redirects: list[str], blocked: str | None) -> Response:
    if not redirects and blocked is None:
        return response
    return Response(
        method=response.method,
        url=response.url,
        status=response.status,
        headers=response.headers,
        body=response.body,
        truncated=response.truncated,
        elapsed_s=response.elapsed_s,
        request_headers=response.request_headers,
        redirects=tuple(redirects),
        blocked_redirect=blocked,
    )


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def describe_transport_error(exc: httpx.HTTPError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not accepted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed ({cause.reason or cause})"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name could not be resolved"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.DecodingError)):
        return f"broken response ({exc})"
    text = str(exc)
    return "connection refused" if "All connection attempts failed" in text else (text or type(exc).__name__)


def run_scope(settings: Settings) -> Scope:
    """The hosts a run may contact: the target's (or the configured `scope`) and those the sections need."""
    return Scope(settings.target or "", settings.scope).including(settings.section_scope())


def excluded(url: str, patterns: Sequence[str]) -> str | None:
    """The `exclude` pattern (fnmatch, on the path) that leaves `url` alone, if any."""
    path = urlsplit(url).path or "/"
    return next((p for p in patterns if fnmatch.fnmatchcase(path, p)), None)


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """The system's trust store, plus the CAs of `ca_bundle` (a PEM file) when one is given."""
    if ca_bundle is None:
        return True
    return ssl.create_default_context(cafile=ca_bundle)


class ScopedHttp:
    """What a check holds: the run's client, tagged with the check's family, with URL joining."""

    def __init__(self, client: HttpClient | None, family: str, base_url: str) -> None:
        self._maybe_client = client
        self.family = family
        self.base_url = base_url

    @property
    def _client(self) -> HttpClient:
        if self._maybe_client is None:
            raise HttpError("this run has no target URL")
        return self._maybe_client

    @property
    def scope(self) -> Scope:
        return self._client.scope

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def note(self, message: str) -> None:
        """Something the report must say that is not a result (what was found where, what was left alone)."""
        if self._maybe_client is not None:
            self._maybe_client.note(message)

    def for_family(self, family: str) -> ScopedHttp:
        """The same client counted under another family, for a pass one family shares with another."""
        return ScopedHttp(self._maybe_client, family, self.base_url)

    async def request(self, method: str, path_or_url: str, **kwargs: Any) -> Response:
        return await self._client.request(method, self.url(path_or_url), family=self.family, **kwargs)

    async def get(self, path_or_url: str, **kwargs: Any) -> Response:
        return await self.request("GET", path_or_url, **kwargs)

    async def post(self, path_or_url: str, **kwargs: Any) -> Response:
        return await self.request("POST", path_or_url, **kwargs)

    async def options(self, path_or_url: str, **kwargs: Any) -> Response:
        return await self.request("OPTIONS", path_or_url, **kwargs)

    async def reserve(self, url: str | None = None) -> float:
        """Count one exchange that is not HTTP (see `HttpClient.reserve`); returns its time allowance."""
        return await self._client.reserve(self.family, url)

    async def release(self, copies: Sequence[Copy]) -> Release:
        """Send copies of one request together, counted against the run's budget (see `HttpClient.release`)."""
        return await self._client.release(self.family, copies)

    def crowd(self, *, connections: int, requests: int) -> contextlib.AbstractAsyncContextManager[Crowd]:
        """Concurrent GETs for a measured load step, holding `requests` of the budget (see `HttpClient.crowd`)."""
        return self._client.crowd(self.family, connections=connections, requests=requests)

    @property
    def remaining(self) -> int:
        """Requests the run's budget still allows."""
        return self._maybe_client.remaining if self._maybe_client else 0

    @property
    def timeout(self) -> float:
        """Seconds one request may take (the run's `timeout`)."""
        return self._client.limits.timeout

    @property
    def requests_sent(self) -> int:
        return self._maybe_client.by_family[self.family] if self._maybe_client else 0
