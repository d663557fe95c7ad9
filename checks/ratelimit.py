"""Brute-force protection on login, sign-up, password-reset, OTP and magic-link endpoints.

Active: each endpoint gets one bounded burst of failed attempts (default 25, at most 200), sequential
and paced by the run's rate ceiling, against a made-up user, stopping at the first sign of protection.
A burst may lock out the account it names, so it names a real one only when its `[[rate_limit]]` entry
says so (`username` with `allow_lockout = true`, a throw-away account's); it never touches the run's
configured accounts otherwise. A form behind a CSRF token is posted as its page does: per attempt the page
is fetched and its token and hidden fields are sent back (probe/forms.py, shared with `[login]`).
The burst is shared by the three ids through
the run's memo; the follow-ups (spoofed client-IP headers, a second user for the lockout comparison)
are small and run one at a time per endpoint, so they do not disturb each other's counters.

The engine backs off when a target answers 429 with Retry-After; these requests ask it not to
(`honour_retry_after=False`), because a 429 is exactly what they are looking for, and they stop there.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

from pydantic import Field, field_validator, model_validator

from probe.config import RoutePath, method_in
from probe.context import CheckContext, MemoKey
from probe.forms import (
    CSRF_FIELD_HINTS,
    FormKeys,
    FormPage,
    FormPageError,
    fetch_form,
    fill,
    request_kwargs,
    secret_header_values,
)
from probe.guards import Skip
from probe.http import BackedOff, HttpError, Response
from probe.model import Confidence, Result, Severity
from probe.parsing import leaves
from probe.registry import Family, check
from probe.template import Block, Discovery, live, toml_string

FAMILY = Family(
    group="abuse",
    unlock="add [[rate_limit]] with your log-in path and run with --mode active (staging, or with consent)",
)

DEFAULT_ATTEMPTS = 25
MAX_ATTEMPTS = 200
MAX_DISCOVERED = 3
METHODS = ("POST", "PUT", "PATCH", "GET")
# A step to a sustained delay: the last few attempts each this much slower than the first few, both
# relatively and absolutely, so ordinary jitter on a busy host is not mistaken for a progressive delay.
DELAY_WINDOW = 3
DELAY_FACTOR = 3.0
DELAY_MIN_STEP_S = 1.0
# After the burst: how many more attempts the lockout comparison may send beyond the test account's count.
LOCKOUT_MARGIN = 2
BODY_SCAN_CHARS = 4000
SPOOF_HEADERS = ("X-Forwarded-For", "X-Real-IP", "True-Client-IP")

# Statuses that mean "slow down" whatever the body says.
THROTTLE_STATUSES = {
    429: "429 Too Many Requests",  # RFC 6585 §4
    423: "423 Locked",  # RFC 4918 §11.3, used by lockout middleware (django-axes can be set to it)
}
# Statuses that count as protection only when the burst did not start with them (a WAF or lockout
# switching in), since a plain 403 may also be the endpoint's normal "wrong password".
SWITCHED_STATUSES = (403, 503)
# Response text that appears once a limiter or lockout kicks in. One row per phrase family, with where
# it comes from.
THROTTLE_TEXT: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("message", "flask-limiter / slowapi / express-rate-limit default message",
     re.compile(r"too many (?:requests|attempts|login attempts|failed (?:login )?attempts)", re.I)),
    ("message", "limits / ratelimit libraries ('rate limit exceeded', '5 per 1 minute')",
     re.compile(r"rate[ -]?limit(?:ed| exceeded)?|\b\d+ per \d* ?(?:second|minute|hour|day)\b", re.I)),
    ("message", "generic throttling copy", re.compile(r"try again (?:later|in \d+)|slow down|temporarily blocked", re.I)),
    ("lockout", "django-axes 'Account locked', Devise :lockable 'Your account is locked', generic copy",
     re.compile(r"account (?:is |has been )?(?:temporarily )?(?:locked|disabled|suspended)|locked out", re.I)),
    ("captcha", "reCAPTCHA, hCaptcha, Cloudflare Turnstile challenges",
     re.compile(r"captcha|g-recaptcha|h-captcha|cf-turnstile|challenge-platform", re.I)),
)
# Routes worth a burst when none are configured, with the body a made-up user would send.
# Sources: common route names of Django/allauth, Devise, NextAuth, Supabase/Firebase auth, Laravel Breeze.
ENDPOINT_KINDS: tuple[tuple[str, re.Pattern[str], dict[str, str]], ...] = (
    ("otp", re.compile(r"otp|2fa|mfa|totp|verify[-_]?code|one[-_]?time", re.I),
     {"email": "{username}", "code": "{code}", "otp": "{code}"}),
    ("password-reset", re.compile(r"(?:password|pass|pwd)[-_/]?(?:reset|forgot|recover)|(?:reset|forgot|recover)[-_/]?"
                                  r"(?:password|pass)", re.I), {"email": "{username}"}),
    ("magic-link", re.compile(r"magic[-_]?link|passwordless|email[-_]?link", re.I), {"email": "{username}"}),
    ("signup", re.compile(r"sign[-_]?up|register", re.I),
     {"email": "{username}", "username": "{username}", "password": "{password}"}),
    ("login", re.compile(r"log[-_]?in|sign[-_]?in|auth/token|sessions?$|authenticate", re.I),
     {"email": "{username}", "username": "{username}", "password": "{password}"}),
)
_CSRF_HINT = re.compile(r"csrf|xsrf|authenticity.token", re.I)
# A body that says the credential was wrong (or the user unknown): the endpoint's normal refusal, whatever the
# status. Phrases from Django ("Please enter a correct username and password"), FastAPI's full-stack template
# ("Incorrect email or password", "The user with this email does not exist"), Devise ("Invalid Email or
# password"), Laravel ("These credentials do not match our records"), Supabase ("Invalid login credentials").
_CREDENTIAL = r"(?:credentials?|password|e-?mail|username|user|login|account|code|otp|token)"
_REFUSAL_TEXT = re.compile(
    rf"\b(?:invalid|incorrect|wrong|bad|unknown|correct)\s+(?:[\w-]+\s+){{0,3}}?{_CREDENTIAL}"
    rf"|\b{_CREDENTIAL}s?\s+(?:[\w-]+\s+){{0,4}}?(?:invalid|incorrect|wrong|not (?:found|valid|match|recogni[sz]ed)|"
    r"do(?:es)? not (?:exist|match)|doesn't exist)"
    r"|authentication failed|login failed|unauthori[sz]ed|no (?:such )?(?:user|account)", re.I)
# An API gateway refusing a request without its key (Kong and Supabase: "No API key found in request"; AWS API
# Gateway: "Missing Authentication Token"): no attempt reached the endpoint, so nothing is tested.
_GATEWAY_TEXT = re.compile(r"no api ?key found|(?:missing|invalid|no) api[ _-]?key|api[ _-]?key (?:is )?(?:missing|required|"
                           r"invalid)|missing authentication token", re.I)
# A body that complains about the request itself: the body template does not fit the endpoint.
_VALIDATION_TEXT = re.compile(r"field required|is required|required field|missing|not a valid|validation|value_error|"
                              r"type_error|unprocessable|malformed|expected", re.I)
_USER_FIELD = re.compile(r"e-?mail|user|login|account|phone", re.I)
_CODE_FIELD = re.compile(r"code|otp|token|pin", re.I)

OWASP_AUTH = "https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html"
OWASP_BRUTE = "https://owasp.org/www-community/controls/Blocking_Brute_Force_Attacks"
LIMITER_FIX = (
    "Limit failed attempts per client and per account on every credential endpoint: Flask "
    "`@limiter.limit(\"5 per minute\")` (Flask-Limiter); FastAPI/Starlette `@limiter.limit(\"5/minute\")` "
    "(slowapi); Express `app.post('/login', rateLimit({ windowMs: 60_000, limit: 5 }), ...)` (express-rate-limit); "
    "Django django-axes or django-ratelimit; Rails rack-attack; or a rate-limiting rule at the proxy/WAF."
)


class RateLimitTarget(FormKeys):
    """`[[rate_limit]]`: an endpoint to burst. The path and body may use {username} (also {email}), {password} and
    {code}; `headers` and `csrf`/`csrf_field`/`csrf_header` work as in `[login]`."""

    path: RoutePath
    method: str = "POST"
    json_body: dict[str, Any] | None = Field(default=None, alias="json")
    form: dict[str, str] | None = None
    attempts: int = Field(default=DEFAULT_ATTEMPTS, ge=1, le=MAX_ATTEMPTS)
    username: str | None = Field(default=None, description="a throw-away account to burst (needs allow_lockout); "
                                 "default: a made-up user")
    allow_lockout: bool = Field(default=False, description="accept that the burst may lock `username` out")

    init_order: ClassVar[int] = 40

    @classmethod
    def init_block(cls, found: Discovery) -> Block | None:
        """The log-in `probe init` found, as the endpoint to burst; nothing without one."""
        login = found.login
        if login is None:
            return None
        return live("# --- rate limits: bursts of failed log-ins (active mode only).\n"
                    f"[[rate_limit]]\npath = {toml_string(login.path)}\nmethod = {toml_string(login.method)}\n"
                    f"{login.body_table()}\n")

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return method_in(value, METHODS)

    @model_validator(mode="after")
    def _consistent(self) -> RateLimitTarget:
        if self.json_body is not None and self.form is not None:
            raise ValueError("give the body as json or form, not both")
        if self.username is not None and not self.allow_lockout:
            raise ValueError("username: a burst of failed attempts may lock that account out (many apps lock after "
                             "5-20 failures); name a throw-away account and set allow_lockout = true, or remove "
                             "username to burst a made-up user")
        return self

    def surface_routes(self) -> list[str]:
        return [self.path] if "{" not in self.path else []


CONFIG_SECTIONS = {"rate_limit": list[RateLimitTarget]}
# A discovered form posts as its page does: the page is fetched for its CSRF token and hidden fields.
NO_FORM_KEYS = FormKeys()


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # may hold {username}/{email}/{password}/{code}, filled per attempt
    kind: str
    json_body: Mapping[str, Any] | None
    form: Mapping[str, str] | None
    attempts: int
    username: str | None  # an opted-in throw-away account; None means a made-up user
    configured: bool
    keys: FormKeys = NO_FORM_KEYS
    allow_lockout: bool = False

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def values(self, username: str) -> dict[str, str]:
        """A fresh wrong password (and code) per attempt, as a guessing script would send."""
        return {"{username}": username, "{email}": username, "{password}": "probe-wrong-" + secrets.token_hex(6),
                "{code}": f"{secrets.randbelow(1_000_000):06d}"}

    def url_path(self, values: Mapping[str, str]) -> str:
        # '@' is allowed in a path segment (RFC 3986 pchar): an e-mail stays readable in the route.
        return str(fill(self.path, {k: quote(v, safe="@") for k, v in values.items()}))

    def request(self, values: Mapping[str, str], page: FormPage | None,
                extra_headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        if self.form is not None:
            form = {k: str(v) for k, v in fill(dict(self.form), values).items()}
            return request_kwargs(self.keys, page, form=form, extra_headers=extra_headers)
        json_body = fill(dict(self.json_body or {}), values)
        return request_kwargs(self.keys, page, json_body=json_body, extra_headers=extra_headers)

    def template(self) -> Mapping[str, Any]:
        return dict(self.form if self.form is not None else self.json_body or {})


@dataclass(frozen=True)
class Signal:
    kind: str  # status, retry-after, message, lockout, captcha, delay
    description: str


@dataclass(frozen=True)
class Burst:
    endpoint: Endpoint
    username: str
    responses: tuple[Response, ...]
    signal: Signal | None
    error: str | None
    unusable: str | None  # why the endpoint cannot be judged (404, 5xx, CSRF)

    @property
    def protected_at(self) -> int | None:
        return len(self.responses) if self.signal else None

    def histogram(self) -> dict[str, int]:
        return {str(k): v for k, v in sorted(Counter(r.status for r in self.responses).items())}

    def timing_ms(self) -> dict[str, int]:
        times = [r.elapsed_s * 1000 for r in self.responses] or [0.0]
        return {"min": round(min(times)), "median": round(statistics.median(times)), "max": round(max(times))}


def _made_up_user() -> str:
    # example.com is reserved for documentation (RFC 2606): no real person can hold this address.
    return f"probe-{secrets.token_hex(5)}@example.com"


def _text_signals(text: str) -> dict[str, str]:
    head = text[:BODY_SCAN_CHARS]
    found: dict[str, str] = {}
    for kind, _, pattern in THROTTLE_TEXT:
        match = pattern.search(head)
        if match and kind not in found:
            found[kind] = match.group(0)
    return found


def signal_of(first: Response, latest: Response, history: tuple[Response, ...] = ()) -> Signal | None:
    """Protection visible in `latest` that the burst's `first` response did not already show."""
    if latest.status in THROTTLE_STATUSES:
        return Signal("status", THROTTLE_STATUSES[latest.status])
    retry_after = latest.header("retry-after")
    if retry_after and not first.header("retry-after"):
        return Signal("retry-after", f"Retry-After: {retry_after[:40]}")
    if latest.status in SWITCHED_STATUSES and latest.status != first.status:
        return Signal("status", f"status switched from {first.status} to {latest.status}")
    before = _text_signals(first.text)
    for kind, phrase in _text_signals(latest.text).items():
        if kind not in before:
            return Signal(kind, f"the response says {phrase!r}")
    if len(history) >= 2 * DELAY_WINDOW:
        base = statistics.median(r.elapsed_s for r in history[:DELAY_WINDOW])
        threshold = max(base * DELAY_FACTOR, base + DELAY_MIN_STEP_S)
        recent = history[-DELAY_WINDOW:]
        if all(r.elapsed_s >= threshold for r in recent):
            return Signal("delay", f"answers slowed from {base * 1000:.0f} ms to {recent[-1].elapsed_s * 1000:.0f} ms")
    return None


def refusal(response: Response) -> str | None:
    """How the endpoint refused a wrong credential, when the answer says so: a 401/403, or a 400/422/404 whose body
    names the credential as wrong (FastAPI's `400 {"detail": "Incorrect email or password"}`, `404 "The user with
    this email does not exist"`). None for a success, a bare status, or a body that complains about the request."""
    text = response.text[:BODY_SCAN_CHARS]
    if response.status in (401, 403) and not _CSRF_HINT.search(text):
        return f"{response.status}"
    if response.status in (400, 404, 422) and _REFUSAL_TEXT.search(text):
        return f"{response.status} ({_REFUSAL_TEXT.search(text).group(0)!r})"  # type: ignore[union-attr]
    return None


def _template_hint(first: Response) -> str | None:
    """A true hint when the first answer is a 400/422 that does not read as a refused credential."""
    if first.status not in (400, 422) or refusal(first):
        return None
    problem = _VALIDATION_TEXT.search(first.text[:BODY_SCAN_CHARS])
    said = f"naming a problem with the request ({problem.group(0)!r})" if problem else "without saying the credentials were wrong"
    return f"The endpoint answered {first.status} {said}: check the body template (json or form) in [[rate_limit]]."


def _csrf_problem(endpoint: Endpoint, first: Response) -> str | None:
    if first.status not in (400, 403, 419) or not _CSRF_HINT.search(first.text[:BODY_SCAN_CHARS]):
        return None
    where = f"{first.method} {urlsplit(first.url).path}"
    if endpoint.keys.csrf:
        return (f"{where} refused the attempt for its CSRF token although the token from {endpoint.keys.csrf} was sent "
                "(not tested): set csrf_field to the form field that carries it, or csrf_header if the app reads it "
                "from a header, in this [[rate_limit]] entry")
    entry = "this [[rate_limit]] entry" if endpoint.configured else f"a [[rate_limit]] entry for {endpoint.path}"
    return (f"{where} refused the attempt for a missing CSRF token (not tested): add csrf = \"GET /path-of-the-form-page\" "
            f"to {entry}, so each attempt carries the form's token and hidden fields")


def _unusable(endpoint: Endpoint, first: Response) -> str | None:
    if first.status in (401, 403) and (said := _GATEWAY_TEXT.search(first.text[:BODY_SCAN_CHARS])):
        return (f"{first.method} {urlsplit(first.url).path} answered {first.status} {said.group(0)!r} (not tested): the "
                "route sits behind a gateway key; add headers = { apikey = \"${VAR}\" } (the header the gateway "
                "reads) to " + ("this [[rate_limit]] entry" if endpoint.configured else
                                f"a [[rate_limit]] entry for {endpoint.path}"))
    if first.status in (404, 405, 501) and not refusal(first):
        return f"{first.method} {first.url} answered {first.status}: check the path and method in [[rate_limit]]"
    if first.status >= 500 and first.status not in SWITCHED_STATUSES:
        return f"{first.method} {first.url} answered {first.status} to the first attempt"
    return _csrf_problem(endpoint, first)


async def _attempt(ctx: CheckContext, endpoint: Endpoint, username: str, headers: Mapping[str, str] | None = None
                   ) -> Response:
    """One attempt; with `csrf` configured, the form's page is fetched first for a fresh token and hidden fields.
    A page that fails is answered in the attempt's place (a 429 there is the limiter too)."""
    values = endpoint.values(username)
    path = endpoint.url_path(values)
    page = None
    if endpoint.keys.csrf:
        try:
            page = await fetch_form(ctx.http, endpoint.keys, path, honour_retry_after=False)
        except FormPageError as exc:
            if exc.response is None or exc.response.status < 400:
                raise HttpError(f"the form page {endpoint.keys.csrf}: {exc}") from None
            return exc.response
    return await ctx.http.request(endpoint.method, path, follow_redirects=False, honour_retry_after=False,
                                  **endpoint.request(values, page, headers))


async def burst(ctx: CheckContext, endpoint: Endpoint, username: str, attempts: int) -> Burst:
    responses: list[Response] = []
    for _ in range(attempts):
        try:
            responses.append(await _attempt(ctx, endpoint, username))
        except BackedOff as exc:
            # The route already answered this run's earlier requests (log-ins, other checks) with a long
            # Retry-After: the limiter engaged before the burst began, which is the protection sought.
            return Burst(endpoint, username, tuple(responses), Signal("retry-after", f"earlier in this run: {exc}"),
                         None, None)
        except HttpError as exc:
            return Burst(endpoint, username, tuple(responses), None, str(exc), None)
        history = tuple(responses)
        if len(history) == 1 and (problem := _unusable(endpoint, history[0])):
            return Burst(endpoint, username, history, None, None, problem)
        found = signal_of(history[0], history[-1], history)
        if found:
            return Burst(endpoint, username, history, found, None, None)
    return Burst(endpoint, username, tuple(responses), None, None, None)


def _kind_of(path: str) -> str | None:
    return next((kind for kind, pattern, _ in ENDPOINT_KINDS if pattern.search(path)), None)


def _default_body(kind: str) -> dict[str, str]:
    return next(dict(body) for name, _, body in ENDPOINT_KINDS if name == kind)


async def endpoints(ctx: CheckContext) -> list[Endpoint]:
    configured = ctx.sections(RateLimitTarget)
    if configured:
        out: list[Endpoint] = []
        for t in configured:
            for secret in secret_header_values(t.headers):
                ctx.redactor.add(secret)
            kind = _kind_of(t.path)
            template = t.json_body if t.json_body is not None or t.form is not None else _default_body(kind or "login")
            out.append(Endpoint(method=t.method, path=t.path, kind=kind or "configured", json_body=template, form=t.form,
                                attempts=t.attempts, username=t.username, configured=True, keys=t,
                                allow_lockout=t.allow_lockout))
        return out
    found: dict[str, Endpoint] = {}
    page = await ctx.surface.page()
    for form in await ctx.surface.forms():
        path = urlsplit(form.action).path or urlsplit(page.url).path or "/"
        has_password = any(t == "password" for _, t in form.fields)
        kind = _kind_of(path) or ("login" if has_password else None)
        if form.method != "POST" or kind is None or not path.startswith("/"):
            continue
        fields: dict[str, str] = {}
        keys = NO_FORM_KEYS
        if any(t == "hidden" and name.lower() in CSRF_FIELD_HINTS for name, t in form.fields):
            keys = FormKeys(csrf=f"GET {urlsplit(page.url).path or '/'}")
        for name, field_type in form.fields:
            if field_type in ("submit", "button", "hidden"):
                continue  # hidden fields come from the page itself, per attempt, when it carries a CSRF token
            if field_type == "password":
                fields[name] = "{password}"
            elif _USER_FIELD.search(name) or field_type == "email":
                fields[name] = "{username}"
            elif _CODE_FIELD.search(name):
                fields[name] = "{code}"
            else:
                fields[name] = "x"
        found.setdefault(path, Endpoint("POST", path, kind, None, fields, DEFAULT_ATTEMPTS, None, False, keys))
    for path in await ctx.surface.api_paths():
        kind = _kind_of(path)
        if kind and "{" not in path and ":" not in path:
            found.setdefault(path, Endpoint("POST", path, kind, _default_body(kind), None, DEFAULT_ATTEMPTS, None, False))
    return list(found.values())[:MAX_DISCOVERED]


async def _warm_accounts(ctx: CheckContext) -> None:
    """Log the configured accounts in before the burst: a throttled login endpoint must not lock the run's
    own checks out of it."""
    for name in ctx.accounts.names:
        try:
            await ctx.accounts.session(name)
        except HttpError:
            continue


async def _plan(ctx: CheckContext) -> tuple[list[Endpoint], dict[str, asyncio.Lock]]:
    found = await endpoints(ctx)
    if found:
        await _warm_accounts(ctx)
    return found, {e.key: asyncio.Lock() for e in found}


async def _first_burst(ctx: CheckContext, endpoint: Endpoint) -> Burst:
    async def run() -> Burst:
        account = _named_account(ctx, endpoint)
        if account is not None:
            return Burst(endpoint, "", (), None, None,
                         f"not sent: this [[rate_limit]] entry names the configured account {account!r}, which a burst "
                         "of failed attempts may lock out; use {username} (a made-up user), or a throw-away account's "
                         "username with allow_lockout = true")
        return await burst(ctx, endpoint, endpoint.username or _made_up_user(), endpoint.attempts)

    return await ctx.memo.get(MemoKey[Burst](f"ratelimit:burst:{endpoint.key}"), run)


PLAN: MemoKey[tuple[list[Endpoint], dict[str, asyncio.Lock]]] = MemoKey("ratelimit:plan")


async def _endpoints_and_locks(ctx: CheckContext) -> tuple[list[Endpoint], dict[str, asyncio.Lock]]:
    """The endpoints to burst and a lock per endpoint; Skip when there is none."""
    found, locks = await ctx.memo.get(PLAN, lambda: _plan(ctx))
    if not found:
        raise Skip("no login, sign-up, password-reset, OTP or magic-link endpoint was found: add [[rate_limit]] path = "
                   "\"/api/login\" (with its json or form body) to probe.toml")
    return found, locks


def _who(burst: Burst) -> str:
    return "the throw-away account" if burst.endpoint.username else "a made-up user"


def _named_account(ctx: CheckContext, endpoint: Endpoint) -> str | None:
    """The configured account whose username a burst without allow_lockout would send, if any."""
    if endpoint.allow_lockout or not endpoint.configured:
        return None
    # Whole values only: a body value, or an e-mail address as a path segment. A username that is also a word of the
    # route (`admin` in `/admin/login/`) names nobody.
    sent = {segment for segment in unquote(endpoint.path).split("/") if "@" in segment}
    sent |= {value for _, value in leaves(endpoint.template())}
    for name in ctx.accounts.names:
        username = ctx.accounts.settings(name).username
        if username and username in sent:
            return name
    return None


def _burst_problem(ctx: CheckContext, location: str, found: Burst) -> Result | None:
    if found.unusable:
        return ctx.skip(location, found.unusable)
    if found.error and not found.signal:
        return ctx.error(location, f"stopped after {len(found.responses)} attempt(s): {found.error}")
    return None


def _burst_evidence(found: Burst) -> dict[str, Any]:
    last = found.responses[-1]
    evidence: dict[str, Any] = last.evidence(max_chars=200)
    evidence.update({
        "attempts": len(found.responses),
        "status_histogram": found.histogram(),
        "timing_ms": found.timing_ms(),
        "user": _who(found),
        "body_template": found.endpoint.template(),
    })
    return evidence


@check(
    id="ratelimit.missing",
    title="Credential endpoints throttle repeated failures",
    severity=Severity.HIGH,
    cwe=307,
    active=True,
    summary="Login, sign-up, password-reset and OTP endpoints slow down or stop a burst of failed attempts.",
    risk="Without a limit, a script can guess passwords (credential stuffing with leaked lists), brute-force "
    "6-digit OTP codes in minutes, or flood users with reset e-mails and run up the e-mail/SMS bill.",
    fix=LIMITER_FIX,
    references=(OWASP_AUTH, OWASP_BRUTE),
)
async def missing(ctx: CheckContext) -> list[Result]:
    found_endpoints, _ = await _endpoints_and_locks(ctx)
    results: list[Result] = []
    for endpoint in found_endpoints:
        found = await _first_burst(ctx, endpoint)
        location = ctx.http.url(endpoint.path)
        problem = _burst_problem(ctx, location, found)
        if problem:
            results.append(problem)
        elif found.signal:
            results.append(ctx.passed(location, f"Throttled after {found.protected_at} attempt(s): "
                                      f"{found.signal.description}.", evidence={"status_histogram": found.histogram()}))
        else:
            hint = _template_hint(found.responses[0])
            confidence = Confidence.MEDIUM if hint else Confidence.HIGH
            detail = (f"{len(found.responses)} failed attempts as {_who(found)} were all answered with no sign of "
                      f"throttling (statuses {found.histogram()}, median {found.timing_ms()['median']} ms).")
            if hint:
                detail += " " + hint
            results.append(ctx.fail(location, detail, kind=f"no-throttling:{endpoint.kind}", confidence=confidence,
                                    evidence=_burst_evidence(found)))
    return results


def _spoofed(headers: tuple[str, ...], counter: list[int]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in headers:
        counter[0] += 1
        # TEST-NET-3 (RFC 5737): never a real client.
        values[name] = f"203.0.113.{counter[0] % 254 + 1}"
    return values


@check(
    id="ratelimit.bypass-header",
    title="Throttling cannot be lifted with spoofed client-IP headers",
    severity=Severity.HIGH,
    cwe=348,
    active=True,
    summary="Once throttled, rotating X-Forwarded-For / X-Real-IP / True-Client-IP does not lift the limit.",
    risk="A limiter that keys on a client-supplied X-Forwarded-For gives every request a new identity: the "
    "limit exists on paper, and a guessing script simply sends a different fake IP each time.",
    fix="Key the limiter on the address your own proxy saw, trusting exactly as many proxy hops as you run: "
    "Flask `ProxyFix(app.wsgi_app, x_for=1)` only behind one proxy; Express `app.set('trust proxy', 1)` (not "
    "`true`); never a key_func that reads X-Forwarded-For directly; have the edge proxy overwrite, not append, "
    "X-Forwarded-For/X-Real-IP.",
    references=(OWASP_BRUTE, "https://express-rate-limit.mintlify.app/guides/troubleshooting-proxy-issues"),
)
async def bypass_header(ctx: CheckContext) -> list[Result]:
    found_endpoints, locks = await _endpoints_and_locks(ctx)
    results: list[Result] = []
    counter = [secrets.randbelow(200)]
    for endpoint in found_endpoints:
        found = await _first_burst(ctx, endpoint)
        location = ctx.http.url(endpoint.path)
        problem = _burst_problem(ctx, location, found)
        if problem:
            results.append(problem)
            continue
        if not found.signal:
            results.append(ctx.skip(location, "no throttling was observed (see ratelimit.missing): nothing to bypass"))
            continue
        if not found.responses:
            results.append(ctx.skip(location, "the route was already backing off this run's earlier requests "
                                    "(Retry-After), so no spoofed request could be sent: run --only ratelimit"))
            continue
        async with locks[endpoint.key]:
            results.append(await _try_bypass(ctx, found, location, counter))
    return results


async def _try_bypass(ctx: CheckContext, found: Burst, location: str, counter: list[int]) -> Result:
    first, endpoint = found.responses[0], found.endpoint

    def throttled(response: Response) -> bool:
        return signal_of(first, response, (*found.responses, response)) is not None

    try:
        spoofed = await _attempt(ctx, endpoint, found.username, _spoofed(SPOOF_HEADERS, counter))
        if throttled(spoofed):
            return ctx.passed(location, f"Still throttled with {', '.join(SPOOF_HEADERS)} set to new addresses.")
        control = await _attempt(ctx, endpoint, found.username)
        if not throttled(control):
            return ctx.skip(location, "the limit lifted on its own before it could be tested (a very short window); "
                            "raise attempts in [[rate_limit]]")
        lifting: list[str] = []
        last = spoofed
        for name in SPOOF_HEADERS:
            alone = await _attempt(ctx, endpoint, found.username, _spoofed((name,), counter))
            if not throttled(alone):
                lifting.append(name)
                last = alone
    except HttpError as exc:
        return ctx.error(location, f"the bypass attempts failed: {exc}")
    named = lifting or list(SPOOF_HEADERS)
    detail = (f"Throttled after {found.protected_at} attempts ({found.signal.description if found.signal else ''}), "
              f"then accepted again with a new {' / '.join(named)} value"
              + ("" if lifting else " (only all three together)") + ", while a request without it stayed throttled.")
    evidence = last.evidence(max_chars=200)
    evidence.update({"throttled_after": found.protected_at, "bypass_headers": named, "control_status": control.status})
    return ctx.fail(location, detail, kind="header:" + ",".join(h.lower() for h in named), evidence=evidence)


@check(
    id="ratelimit.lockout-enumeration",
    title="Lockout does not reveal which usernames exist",
    severity=Severity.INFO,
    cwe=204,
    active=True,
    summary="A made-up username meets the same lockout or throttling as an existing throw-away account (named in "
    "[[rate_limit]] with allow_lockout = true).",
    risk="If only real accounts get locked ('account locked' after N tries, 'invalid password' forever for unknown "
    "users), the lockout tells an attacker which e-mail addresses have accounts, for phishing and targeted guessing.",
    fix="Count failures per submitted username whether or not it exists, and answer locked and unknown users "
    "alike (django-axes locks by username regardless of existence; Flask-Limiter/slowapi with a key_func on the "
    "submitted username; express-rate-limit keyGenerator on req.body.email).",
    references=(OWASP_AUTH + "#account-lockout",),
)
async def lockout_enumeration(ctx: CheckContext) -> list[Result]:
    found_endpoints, locks = await _endpoints_and_locks(ctx)
    results: list[Result] = []
    for endpoint in found_endpoints:
        location = ctx.http.url(endpoint.path)
        if not endpoint.username:
            # Never advise bursting a configured or real account: a lockout may shut its owner out for a day.
            results.append(ctx.skip(location, "needs an existing throw-away account, one nobody needs and that may be "
                                    "locked out, to compare with a made-up user: set username = its username and "
                                    "allow_lockout = true in a [[rate_limit]] entry for this route"))
            continue
        found = await _first_burst(ctx, endpoint)
        problem = _burst_problem(ctx, location, found)
        if problem:
            results.append(problem)
            continue
        if found.signal and not found.responses:
            results.append(ctx.skip(location, "the route was already backing off this run's earlier requests "
                                    "(Retry-After): run --only ratelimit to compare lockouts"))
            continue
        if not found.signal or found.protected_at is None:
            results.append(ctx.skip(location, "the throw-away account was neither locked nor throttled (see "
                                    "ratelimit.missing): no lockout to compare"))
            continue
        async with locks[endpoint.key]:
            other = await burst(ctx, endpoint, _made_up_user(), found.protected_at + LOCKOUT_MARGIN)
        results.append(_compare(ctx, location, found, other))
    return results


def _compare(ctx: CheckContext, location: str, account: Burst, other: Burst) -> Result:
    if other.unusable or (other.error and not other.signal):
        return ctx.error(location, f"the made-up user's attempts failed: {other.unusable or other.error}")
    assert account.signal is not None
    if other.signal:
        return ctx.passed(location, f"A made-up user was stopped too, after {other.protected_at} attempt(s) "
                          f"({other.signal.description}); the throw-away account after {account.protected_at}.")
    evidence = {
        "throwaway_account": {"stopped_after": account.protected_at, "signal": account.signal.description,
                         "status": account.responses[-1].status,
                         "body_excerpt": account.responses[-1].text[:160]},
        "made_up_user": {"attempts": len(other.responses), "status_histogram": other.histogram(),
                         "body_excerpt": other.responses[-1].text[:160]},
    }
    return ctx.fail(location, f"The throw-away account was stopped after {account.protected_at} attempts "
                    f"({account.signal.description}), but a made-up user was still answered normally after "
                    f"{len(other.responses)}: the lockout tells real accounts from unknown ones.",
                    kind="lockout-differs", evidence=evidence)
