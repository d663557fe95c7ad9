"""Posting a request the way the app's own page does: fetch the page that holds the form, keep the cookies it
sets, and send back its CSRF token and hidden fields with the values the caller fills in.

One helper for every configured request that posts a form or needs a CSRF token: the `[login]` flow
(probe/accounts.py) and the `[[rate_limit]]` bursts (checks/ratelimit.py) share the keys `csrf`
("GET /login"), `csrf_field`, `csrf_header` and `headers`, and this code, so a form that logs in also bursts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import Field, field_validator

from probe.config import Section
from probe.http import Response, ScopedHttp
from probe.surface import Form, parse_fields

_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(/\S*)$")
# Names under which login forms carry their anti-CSRF token (Django, Rails, Laravel, Express csurf,
# Flask-WTF, ASP.NET) and the cookies that hold it for double-submit schemes (Django, Angular, Express).
CSRF_FIELD_HINTS = ("csrfmiddlewaretoken", "authenticity_token", "_token", "_csrf", "csrf_token",
                    "__requestverificationtoken")
CSRF_COOKIE_HINTS = ("csrftoken", "xsrf-token", "_csrf", "csrf_token")
MAX_PAGE_CHARS = 200_000
# Headers whose values describe the request, never who sends it: shown in reports. Every other configured
# header value (an API gateway `apikey`, `X-Api-Key`, a tenant token) is treated as a secret and masked.
PLAIN_HEADERS = frozenset({
    "accept", "accept-language", "content-type", "prefer", "user-agent", "x-requested-with", "cache-control",
    "accept-profile", "content-profile",  # PostgREST / Supabase schema selection
})


def parse_request_line(value: str) -> tuple[str, str]:
    """`POST /api/login` → ("POST", "/api/login"); a bare path means GET."""
    text = value.strip()
    if text.startswith("/"):
        text = "GET " + text
    match = _REQUEST_LINE.match(text)
    if not match:
        raise ValueError(f"expected 'METHOD /path' (e.g. 'POST /api/login'), got {value!r}")
    return match.group(1), match.group(2)


def secret_header_values(headers: Mapping[str, str]) -> list[str]:
    """The configured header values to mask: all but those of plainly descriptive headers."""
    return [value for name, value in headers.items() if name.lower() not in PLAIN_HEADERS]


class FormKeys(Section):
    """The keys a configured request shares with `[login]`: extra headers and where its CSRF token comes from."""

    headers: dict[str, str] = Field(default_factory=dict, description="sent with every request of this entry")
    csrf: str | None = Field(default=None, description="'GET /login': page fetched first for its CSRF token and hidden fields")
    csrf_field: str | None = Field(default=None, description="the form field that carries the token, if not a usual one")
    csrf_header: str | None = Field(default=None, description="send the token in this header instead of the body")

    @field_validator("csrf")
    @classmethod
    def _csrf_line(cls, value: str | None) -> str | None:
        if value is not None:
            parse_request_line(value)
        return value


@dataclass(frozen=True)
class FormPage:
    """What the page holding the form gave: its cookies, the form's hidden fields and the CSRF token."""

    response: Response
    cookies: Mapping[str, str]
    hidden: Mapping[str, str]
    csrf_name: str | None
    csrf_value: str | None


class FormPageError(Exception):
    """The page holding the form could not be used; `response` is its answer when there was one."""

    def __init__(self, problem: str, response: Response | None = None) -> None:
        super().__init__(problem)
        self.response = response


def _pick(forms: tuple[Form, ...], loose: Form, page_url: str, action_path: str | None) -> Form:
    """The form that posts to `action_path` (a form without action posts to its page); else the one with a password
    field; else the first; else the page's loose fields."""
    if action_path is not None:
        for form in forms:
            if urlsplit(urljoin(page_url, form.action)).path.rstrip("/") == action_path.rstrip("/"):
                return form
    for form in forms:
        if any(kind.lower() == "password" for _, kind in form.fields):
            return form
    return forms[0] if forms else loose


def read_form(html: str, page_url: str, action_path: str | None, cookies: Mapping[str, str],
              csrf_field: str | None) -> tuple[dict[str, str], str | None, str | None]:
    """(hidden fields, CSRF field name, CSRF token) of the form posting to `action_path` on a page."""
    forms, loose = parse_fields(html[:MAX_PAGE_CHARS])
    hidden = dict(_pick(forms, loose, page_url, action_path).hidden)
    name, value = find_csrf_token(html, cookies, csrf_field)
    return hidden, name, value


def find_csrf_token(html: str, cookies: Mapping[str, str], field_name: str | None) -> tuple[str | None, str | None]:
    """(field name, token): from the named or a usual form field, else from a usual CSRF cookie."""
    forms, loose = parse_fields(html[:MAX_PAGE_CHARS])
    for name, value in [pair for form in (*forms, loose) for pair in form.values]:
        wanted = name == field_name or (field_name is None and name.lower() in CSRF_FIELD_HINTS)
        if wanted and value:
            return name, value
    for name, value in cookies.items():
        if name.lower() in CSRF_COOKIE_HINTS and value:
            return field_name or name, value
    return field_name, None


def set_cookies(response: Response) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in response.header_list("set-cookie"):
        name, sep, value = header.split(";", 1)[0].partition("=")
        if sep and name.strip():
            found[name.strip()] = value.strip().strip('"')
    return found


def cookie_header(cookies: Mapping[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


async def fetch_form(http: ScopedHttp, keys: FormKeys, action_path: str, *, extra_headers: Mapping[str, str] | None = None,
                     honour_retry_after: bool = True) -> FormPage:
    """Fetch the `csrf` page of `keys` (with its headers) and read the form that posts to `action_path`.
    Raises FormPageError when the page fails or carries no CSRF token."""
    assert keys.csrf is not None
    method, path = parse_request_line(keys.csrf)
    page = await http.request(method, path, headers={**keys.headers, **(extra_headers or {})}, follow_redirects=False,
                              honour_retry_after=honour_retry_after)
    if page.status >= 400:
        raise FormPageError(f"answered {page.status}", page)
    cookies = set_cookies(page)
    hidden, name, value = read_form(page.text, page.url, action_path, cookies, keys.csrf_field)
    if value is None:
        raise FormPageError("no CSRF token in the page's form fields or cookies (set csrf_field)", page)
    return FormPage(page, cookies, hidden, name, value)


def fill(template: Any, values: Mapping[str, str]) -> Any:
    """The template with every `{placeholder}` of `values` replaced, in strings at any depth."""
    if isinstance(template, str):
        for placeholder, replacement in values.items():
            template = template.replace(placeholder, replacement)
        return template
    if isinstance(template, Mapping):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def request_kwargs(keys: FormKeys, page: FormPage | None, *, json_body: Mapping[str, Any] | None = None,
                   form: Mapping[str, str] | None = None, extra_headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`headers`, `json` or `data` for the request itself: the entry's headers, the page's cookies, and its CSRF
    token in `csrf_header` or else in the body beside the hidden fields (the caller's own fields win)."""
    headers = {**keys.headers, **(extra_headers or {})}
    body_json = dict(json_body) if json_body is not None else None
    data = dict(form) if form is not None else None
    if page is not None:
        if page.cookies:
            headers["Cookie"] = "; ".join(c for c in (cookie_header(page.cookies), headers.get("Cookie")) if c)
        token_field = {} if keys.csrf_header or not page.csrf_name or not page.csrf_value else {
            page.csrf_name: page.csrf_value}
        if keys.csrf_header and page.csrf_value:
            headers[keys.csrf_header] = page.csrf_value
        if data is not None:
            data = {**page.hidden, **token_field, **data}
        elif body_json is not None:
            body_json = {**token_field, **body_json}
    return {"headers": headers, "json": body_json, "data": data}
