"""The configured test accounts and the credentials each one sends.

An account has static credentials (`bearer`, `cookie`, `headers`) or a username and password used
with the `[login]` flow. Credentials are attached only through `Accounts.session(name)` and
`Accounts.request(...)`; the HTTP layer never sends a request outside scope, so they cannot leave it.

Each account logs in once per run (concurrent callers share the one login), and is logged in again
at most once when the target answers 401, so an expiring session does not turn into a login storm.
A login that fails is remembered and raised as `LoginFailed` to every caller: which account, which
step, which status and which username, with the password masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator, model_validator

from probe.config import Section
from probe.http import HttpError, Response, ScopedHttp
from probe.parsing import json_path
from probe.redact import Redactor

_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(/\S*)$")
_TOKEN_SOURCES = ("json:", "header:", "cookie:")
# Names under which login forms carry their anti-CSRF token (Django, Rails, Laravel, Express csurf,
# Flask-WTF, ASP.NET) and the cookies that hold it for double-submit schemes (Django, Angular, Express).
CSRF_FIELD_HINTS = ("csrfmiddlewaretoken", "authenticity_token", "_token", "_csrf", "csrf_token",
                    "__requestverificationtoken")
CSRF_COOKIE_HINTS = ("csrftoken", "xsrf-token", "_csrf", "csrf_token")
_HIDDEN_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
# The lookbehind starts a name only at its first letter: linear on a hostile tag with a very long name.
_ATTR = re.compile(r"""(?<![a-zA-Z_:-])([a-zA-Z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
MAX_CSRF_PAGE_CHARS = 200_000
# An account whose role is anything else is privileged (an admin, a superuser, support staff): it may read
# other accounts' records by design, so the idor checks never count its reads as a leak.
DEFAULT_ROLE = "user"


def parse_request_line(value: str) -> tuple[str, str]:
    """`POST /api/login` → ("POST", "/api/login"); a bare path means GET."""
    text = value.strip()
    if text.startswith("/"):
        text = "GET " + text
    match = _REQUEST_LINE.match(text)
    if not match:
        raise ValueError(f"expected 'METHOD /path' (e.g. 'POST /api/login'), got {value!r}")
    return match.group(1), match.group(2)


class LoginSettings(Section):
    """`[login]`: how an account with a username and password gets its credentials."""

    request: str | None = Field(default=None, description="'POST /api/login'")
    json_body: dict[str, Any] | None = Field(default=None, alias="json")
    form: dict[str, str] | None = None
    token: str = Field(default="json:token", description="json:PATH, header:NAME or cookie:NAME")
    send: str | None = Field(default=None, description="bearer, cookie, or header:NAME; defaults from `token`")
    csrf: str | None = Field(default=None, description="'GET /login': page fetched first for its CSRF token")
    csrf_field: str | None = None
    csrf_header: str | None = None

    @field_validator("request", "csrf")
    @classmethod
    def _request_line(cls, value: str | None) -> str | None:
        if value is not None:
            parse_request_line(value)
        return value

    @field_validator("token")
    @classmethod
    def _token_source(cls, value: str) -> str:
        if not value.startswith(_TOKEN_SOURCES) or not value.partition(":")[2]:
            raise ValueError(f"expected json:PATH, header:NAME or cookie:NAME, got {value!r}")
        return value

    @field_validator("send")
    @classmethod
    def _send(cls, value: str | None) -> str | None:
        if value is not None and value not in ("bearer", "cookie") and not (value.startswith("header:") and value[7:]):
            raise ValueError(f"expected bearer, cookie or header:NAME, got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> LoginSettings:
        if self.json_body is not None and self.form is not None:
            raise ValueError("give the login body as json or form, not both")
        return self

    @property
    def configured(self) -> bool:
        return self.request is not None

    def surface_routes(self) -> list[str]:
        return [parse_request_line(r)[1] for r in (self.request, self.csrf) if r]


class AccountSettings(Section):
    username: str | None = None
    password: str | None = None
    bearer: str | None = None
    cookie: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    role: str = Field(default=DEFAULT_ROLE, description="'admin': a privileged account, never counted as a leak")
    control: str | None = Field(default=None, description="'GET /api/me': a request this account alone can make")

    @field_validator("control")
    @classmethod
    def _control(cls, value: str | None) -> str | None:
        if value is not None:
            parse_request_line(value)
        return value

    @model_validator(mode="after")
    def _has_credentials(self) -> AccountSettings:
        if not (self.bearer or self.cookie or self.headers or (self.username and self.password)):
            raise ValueError("an account needs bearer, cookie, headers, or username and password with [login]")
        return self

    @property
    def logs_in(self) -> bool:
        return bool(self.username and self.password) and not (self.bearer or self.cookie or self.headers)


CONFIG_SECTIONS = {"accounts": dict[str, AccountSettings], "login": LoginSettings}


class LoginFailed(HttpError):
    """An account could not log in. The message names the account, the step and the status."""

    def __init__(self, account: str, step: str, problem: str) -> None:
        super().__init__(f"account {account!r} could not log in: {step}: {problem}")
        self.account = account


@dataclass(frozen=True)
class Session:
    """What one account sends: headers (Authorization, Cookie, custom) and its token if it has one."""

    name: str
    headers: Mapping[str, str]
    token: str | None = None
    # Bumped on every re-login, so two callers that both saw a 401 refresh once, not twice.
    generation: int = 0
    cookies: Mapping[str, str] = field(default_factory=dict)
    # (URL, Set-Cookie header) of every response of the log-in (CSRF page, login step), for judging cookie flags.
    set_cookies: tuple[tuple[str, str], ...] = ()


class Accounts:
    def __init__(
        self,
        accounts: Mapping[str, AccountSettings],
        login: LoginSettings | None = None,
        http: ScopedHttp | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self._settings = dict(accounts)
        self._login = login or LoginSettings()
        self._http = http
        self._redactor = redactor or Redactor()
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, LoginFailed] = {}
        self._refreshed: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        for account in self._settings.values():
            for secret in (account.password, account.bearer, account.cookie, *account.headers.values()):
                self._redactor.add(secret)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._settings)

    def __len__(self) -> int:
        return len(self._settings)

    def settings(self, name: str) -> AccountSettings:
        return self._settings[name]

    def role(self, name: str) -> str:
        return self._settings[name].role

    def privileged(self, name: str) -> bool:
        return self._settings[name].role != DEFAULT_ROLE

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    async def session(self, name: str) -> Session:
        """The account's credentials, logging in on first use. Raises `LoginFailed`."""
        async with self._lock(name):
            if name in self._failures:
                raise self._failures[name]
            if name not in self._sessions:
                self._sessions[name] = await self._establish(name, 0)
            return self._sessions[name]

    async def log_in_all(self) -> None:
        """Log every account in now. The runner calls this before any check runs, so that the checks' own
        traffic (bursts on the login route, malformed bodies) cannot trip a strict login limiter first and
        lock the run's accounts out. A failure is kept and re-raised to each check that needs the account."""
        for name in self.names:
            with contextlib.suppress(LoginFailed):
                await self.session(name)

    async def refresh(self, name: str, stale: Session) -> Session | None:
        """A new session after `stale` was refused, or None when the account cannot or may not log in again
        (static credentials, or its one refresh per run is used up)."""
        async with self._lock(name):
            current = self._sessions.get(name)
            if current is not None and current.generation != stale.generation:
                return current
            if not self._settings[name].logs_in or name in self._refreshed:
                return None
            self._refreshed.add(name)
            self._sessions[name] = await self._establish(name, stale.generation + 1)
            return self._sessions[name]

    async def request(self, http: ScopedHttp, name: str, method: str, path: str, **kwargs: Any) -> Response:
        """A request as account `name` through the caller's client; on 401 it logs in again once and retries."""
        extra: Mapping[str, str] = kwargs.pop("headers", None) or {}
        session = await self.session(name)
        response = await http.request(method, path, headers={**extra, **session.headers}, **kwargs)
        if response.status == 401:
            fresh = await self.refresh(name, session)
            if fresh is not None:
                response = await http.request(method, path, headers={**extra, **fresh.headers}, **kwargs)
        return response

    async def _establish(self, name: str, generation: int) -> Session:
        account = self._settings[name]
        if not account.logs_in:
            headers = dict(account.headers)
            if account.bearer:
                headers["Authorization"] = f"Bearer {account.bearer}"
            if account.cookie:
                headers["Cookie"] = account.cookie
            return Session(name=name, headers=headers, token=account.bearer, generation=generation)
        try:
            return await self._log_in(name, account, generation)
        except LoginFailed as exc:
            self._failures[name] = exc
            raise
        except HttpError as exc:
            failed = LoginFailed(name, "login request", self._redactor.redact(str(exc)))
            self._failures[name] = failed
            raise failed from None

    async def _log_in(self, name: str, account: AccountSettings, generation: int) -> Session:
        login = self._login
        if not login.configured or login.request is None:
            raise LoginFailed(name, "configuration", "it has a username and password but there is no [login] request")
        if self._http is None:
            raise LoginFailed(name, "configuration", "this run has no target URL")
        username, password = account.username or "", account.password or ""
        # The password is a secret; the username is shown (it names the account the finding is about).
        self._redactor.add(password)
        cookies: dict[str, str] = {}
        set_cookies: list[tuple[str, str]] = []
        headers: dict[str, str] = {}
        csrf_value: str | None = None
        csrf_name = login.csrf_field
        if login.csrf:
            method, path = parse_request_line(login.csrf)
            step = f"CSRF step ({method} {path})"
            page = await self._http.request(method, path, follow_redirects=False)
            if page.status >= 400:
                raise LoginFailed(name, step, f"answered {page.status}")
            cookies.update(_set_cookies(page))
            set_cookies += [(page.url, h) for h in page.header_list("set-cookie")]
            csrf_name, csrf_value = find_csrf_token(page.text[:MAX_CSRF_PAGE_CHARS], cookies, login.csrf_field)
            if csrf_value is None:
                raise LoginFailed(name, step, "no CSRF token in the page's form fields or cookies (set csrf_field)")
            self._redactor.add(csrf_value)
            if login.csrf_header:
                headers[login.csrf_header] = csrf_value
        method, path = parse_request_line(login.request)
        step = f"login step ({method} {path}, username {username!r})"
        json_body = _fill(login.json_body, username, password) if login.json_body is not None else None
        form: dict[str, str] | None = None
        if login.form is not None or json_body is None:
            form = {k: str(v) for k, v in _fill(login.form or {"username": "{username}", "password": "{password}"},
                                                 username, password).items()}
            if csrf_value is not None and csrf_name and not login.csrf_header:
                form[csrf_name] = csrf_value
        if cookies:
            headers["Cookie"] = _cookie_header(cookies)
        response = await self._http.request(method, path, headers=headers, json=json_body, data=form, follow_redirects=False)
        if response.status >= 400:
            excerpt = self._redactor.redact(response.text[:160].strip())
            raise LoginFailed(name, step, f"answered {response.status}" + (f" ({excerpt})" if excerpt else ""))
        cookies.update(_set_cookies(response))
        set_cookies += [(response.url, h) for h in response.header_list("set-cookie")]
        for value in cookies.values():
            self._redactor.add(value)
        token = self._token(response, cookies)
        if not token:
            raise LoginFailed(name, step, f"answered {response.status} but carried no token at {login.token}")
        self._redactor.add(token)
        return Session(name=name, headers=self._send(token, cookies), token=token, generation=generation,
                       cookies=cookies, set_cookies=tuple(set_cookies))

    def _token(self, response: Response, cookies: Mapping[str, str]) -> str | None:
        source, _, where = self._login.token.partition(":")
        if source == "json":
            found = json_path(response.json(), where)
            return str(found[0]) if found and isinstance(found[0], (str, int)) else None
        if source == "header":
            value = response.header(where)
            return value.removeprefix("Bearer ").strip() if value else None
        return cookies.get(where)

    def _send(self, token: str, cookies: Mapping[str, str]) -> dict[str, str]:
        source = self._login.token.partition(":")[0]
        send = self._login.send or ("cookie" if source == "cookie" else "bearer")
        if send == "cookie":
            return {"Cookie": _cookie_header(cookies)}
        if send.startswith("header:"):
            return {send[7:]: token}
        return {"Authorization": f"Bearer {token}"}


def _fill(template: Mapping[str, Any], username: str, password: str) -> dict[str, Any]:
    def one(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{username}", username).replace("{password}", password)
        if isinstance(value, Mapping):
            return {k: one(v) for k, v in value.items()}
        return value

    return {k: one(v) for k, v in template.items()}


def _set_cookies(response: Response) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in response.header_list("set-cookie"):
        name, sep, value = header.split(";", 1)[0].partition("=")
        if sep and name.strip():
            found[name.strip()] = value.strip().strip('"')
    return found


def _cookie_header(cookies: Mapping[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def find_csrf_token(html: str, cookies: Mapping[str, str], field_name: str | None) -> tuple[str | None, str | None]:
    """(field name, token): from the named or a usual hidden form field, else from a usual CSRF cookie."""
    for tag in _HIDDEN_INPUT.findall(html):
        attrs = {m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or "" for m in _ATTR.finditer(tag)}
        name = attrs.get("name", "")
        wanted = name == field_name or (field_name is None and name.lower() in CSRF_FIELD_HINTS)
        if name and wanted and attrs.get("value"):
            return name, attrs["value"]
    for name, value in cookies.items():
        if name.lower() in CSRF_COOKIE_HINTS and value:
            return field_name or name, value
    return field_name, None
