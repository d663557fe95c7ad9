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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from probe.config import Section

# Re-exported: the checks read request lines here, and `probe init` names CSRF fields as the log-in finds them.
from probe.forms import CSRF_FIELD_HINTS as CSRF_FIELD_HINTS
from probe.forms import (
    FormKeys,
    FormPage,
    FormPageError,
    cookie_header,
    fetch_form,
    fill,
    request_kwargs,
    secret_header_values,
    set_cookies,
)
from probe.forms import parse_request_line as parse_request_line
from probe.http import HttpError, Response, ScopedHttp
from probe.parsing import json_path
from probe.redact import Redactor
from probe.template import Block, Discovery, advice, commented, live, one_line, toml_string

_TOKEN_SOURCES = ("json:", "header:", "cookie:")
# An account whose role is anything else is privileged (an admin, a superuser, support staff): it may read
# other accounts' records by design, so the idor checks never count its reads as a leak.
DEFAULT_ROLE = "user"

class LoginSettings(FormKeys):
    """`[login]`: how an account with a username and password gets its credentials. `headers` go with the CSRF
    page and the login request (an API gateway's `apikey`); `csrf` names the page whose form's token and hidden
    fields the login request carries."""

    request: str | None = Field(default=None, description="'POST /api/login'")
    json_body: dict[str, Any] | None = Field(default=None, alias="json")
    form: dict[str, str] | None = None
    token: str = Field(default="json:token", description="json:PATH, header:NAME or cookie:NAME")
    send: str | None = Field(default=None, description="bearer, cookie, or header:NAME; defaults from `token`")

    @field_validator("request")
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

    init_order: ClassVar[int] = 10

    @classmethod
    def init_block(cls, found: Discovery) -> Block:
        """The log-in `probe init` found, as it would be configured, or a TODO with an example."""
        login = found.login
        if login is None:
            return advice(
                "# --- log-in: TODO (none found on the page). How a test account signs in, for the idor/auth checks:\n"
                '# [login]\n# request = "POST /api/login"\n# json = { email = "{username}", password = "{password}" }\n'
                '# token = "json:token"\n'
            )
        if login.body == "json":
            return live(
                one_line(f"# --- log-in: found {login.found}. TODO: check the field names and where the credential comes back.")
                + f"\n[login]\nrequest = {toml_string(f'{login.method} {login.path}')}\n{login.body_table()}\n"
                + 'token = "json:token"   # or cookie:NAME, header:NAME: where the log-in response puts the credential\n'
            )
        lines = [one_line(f"# --- log-in: found {login.found} (a server-rendered form).")]
        if login.page and login.csrf_field:
            lines.append(f"csrf = {toml_string(f'GET {login.page}')}   # fetched before each log-in for a fresh token")
            lines.append(f"csrf_field = {toml_string(login.csrf_field)}")
        else:
            lines.append(one_line(f"# The form has no CSRF field that probe recognises ({', '.join(CSRF_FIELD_HINTS)}): "
                                  "if it has one, set csrf = \"GET /login-page\" and csrf_field."))
        lines.append(f"request = {toml_string(f'{login.method} {login.path}')}")
        lines.append(login.body_table())
        if login.hidden:
            lines.append(one_line("# The form's hidden fields go with every log-in, with the values the page served: TODO "
                                  "check none changes per page load (" + ", ".join(n for n, _ in login.hidden) + ")."))
        if login.session_cookie:
            lines.append(f"token = {toml_string('cookie:' + login.session_cookie)}   # the framework's session cookie")
            block = "[login]\n" + "\n".join(line for line in lines[1:] if not line.startswith("#"))
            notes = "\n".join(line for line in lines if line.startswith("#"))
            return live(notes + "\n" + block + "\n")
        unknown = [line for line in lines if line.startswith("#")]
        unknown.append("# TODO: the session cookie's name was not recognised from the outside: log in once in a browser, "
                       "find the cookie the log-in sets, and set token = \"cookie:NAME\".")
        table = ["[login]", *(line for line in lines[1:] if not line.startswith("#")), 'token = "cookie:TODO"']
        return advice("\n".join(unknown) + "\n" + commented("\n".join(table)))

    @property
    def configured(self) -> bool:
        return self.request is not None

    def surface_routes(self) -> list[str]:
        return [parse_request_line(r)[1] for r in (self.request, self.csrf) if r]


class AccountSettings(Section):
    init_order: ClassVar[int] = 20
    init_advice: ClassVar[str] = """\
# --- accounts: TODO. Two real test accounts unlock the idor and auth checks (who can read whose data).
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

    username: str | None = None
    password: str | None = None
    bearer: str | None = None
    cookie: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, description="sent with every request of this account, its "
                                    "login and control included; alone they are its credentials")
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
        # Headers beside a username and password are extras for every request (an API gateway key), not credentials.
        return bool(self.username and self.password) and not (self.bearer or self.cookie)


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
            for secret in (account.password, account.bearer, account.cookie, *secret_header_values(account.headers)):
                self._redactor.add(secret)
        for secret in secret_header_values(self._login.headers):
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
        method, path = parse_request_line(login.request)
        page: FormPage | None = None
        if login.csrf:
            step = f"CSRF step ({login.csrf})"
            try:
                page = await fetch_form(self._http, login, path, extra_headers=account.headers)
            except FormPageError as exc:
                raise LoginFailed(name, step, str(exc)) from None
            for value in (page.csrf_value, *page.cookies.values()):
                self._redactor.add(value)
        step = f"login step ({method} {path}, username {username!r})"
        values = {"{username}": username, "{email}": username, "{password}": password}
        json_body = fill(login.json_body, values) if login.json_body is not None else None
        form: dict[str, str] | None = None
        if login.form is not None or json_body is None:
            form = {k: str(v) for k, v in fill(login.form or {"username": "{username}", "password": "{password}"},
                                               values).items()}
        sent = request_kwargs(login, page, json_body=json_body, form=form, extra_headers=account.headers)
        response = await self._http.request(method, path, follow_redirects=False, **sent)
        if response.status >= 400:
            excerpt = self._redactor.redact(response.text[:160].strip())
            raise LoginFailed(name, step, f"answered {response.status}" + (f" ({excerpt})" if excerpt else ""))
        cookies = {**(page.cookies if page else {}), **set_cookies(response)}
        # Every Set-Cookie of the log-in (its form page's too), with where it came from: headers.cookie-flags judges them.
        seen_cookies = [(r.url, h) for r in ((page.response,) if page else ()) + (response,) for h in r.header_list("set-cookie")]
        for value in cookies.values():
            self._redactor.add(value)
        token = self._token(response, cookies)
        if not token:
            raise LoginFailed(name, step, f"answered {response.status} but carried no token at {login.token}")
        self._redactor.add(token)
        return Session(name=name, headers={**account.headers, **self._send(token, cookies)}, token=token,
                       generation=generation, cookies=cookies, set_cookies=tuple(seen_cookies))

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
            return {"Cookie": cookie_header(cookies)}
        if send.startswith("header:"):
            return {send[7:]: token}
        return {"Authorization": f"Bearer {token}"}
