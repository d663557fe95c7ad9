"""Signed session cookies: a framework session cookie whose signing key is a published one forges any user's session.

`auth.session-weak-secret` reads the cookies the site sets on its page and in the accounts' log-in responses (with
`[login]`; a static `cookie = "..."` account's cookies too), recognises each framework's signed format, and checks
the signature offline against the secret lists in `checks/wordlists.py`:

| framework | cookie format | what is signed, how |
| --- | --- | --- |
| Flask (itsdangerous) | `payload.timestamp.signature` | HMAC-SHA1 keyed by HMAC-SHA1(secret, "cookie-session") |
| Django `signed_cookies` | `payload:timestamp:signature` | HMAC-SHA256 (SHA1 before 3.1), key SHA256(salt + "signer" + secret) |
| express-session | `s:id.signature` (cookie-signature) | HMAC-SHA256(secret, id), base64 |
| cookie-session (Keygrip) | `NAME` + `NAME.sig` | HMAC-SHA1(secret, "NAME=value"), URL-safe base64 |

Sources: itsdangerous `Signer.derive_key` and Flask `SecureCookieSessionInterface`
(https://github.com/pallets/flask/blob/main/src/flask/sessions.py); Django `django.core.signing` and
`salted_hmac` (https://docs.djangoproject.com/en/stable/topics/signing/); cookie-signature
(https://github.com/tj/node-cookie-signature/blob/master/index.js); Keygrip
(https://github.com/crypto-utils/keygrip/blob/master/index.js) as cookie-session uses it.

Passive mode only verifies offline. Active mode re-signs an account's cookie with the found key (a value the
server never issued) and sends it, alone, to the account's `control` route, next to the genuine cookie alone and
no credentials: the result says whether the server accepted the forgery.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import unquote

from probe.accounts import LoginFailed, parse_request_line
from probe.checks import wordlists
from probe.checks.idor.matrix import carries_record
from probe.context import CheckContext
from probe.guards import Skip, Unavailable
from probe.http import Response
from probe.model import Mode, Result, Severity
from probe.redact import mask
from probe.registry import Family, check

FAMILY = Family(group="authorization",
                unlock="add [login] and an [accounts.NAME] so the session cookies set at log-in are checked too")

MAX_COOKIES = 8
DJANGO_SESSION_SALT = b"django.contrib.sessions.backends.signed_cookies"
FLASK_SALT = b"cookie-session"
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Framework:
    name: str
    rotate: str


FLASK = Framework("Flask (itsdangerous)", "Flask: set a new random SECRET_KEY (`python -c 'import secrets; print(secrets."
                  "token_hex(32))'`) from the environment, not the code; Flask 3.1+ can keep the old one in "
                  "SECRET_KEY_FALLBACKS for a day so sessions roll over instead of all logging out.")
DJANGO = Framework("Django signed_cookies", "Django: set a new SECRET_KEY (`python -c 'from django.core.management.utils "
                   "import get_random_secret_key; print(get_random_secret_key())'`) from the environment and move the old "
                   "one to SECRET_KEY_FALLBACKS until old sessions expire, then drop it; or switch SESSION_ENGINE to the "
                   "database backend, where a cookie holds only an id.")
EXPRESS = Framework("express-session", "express-session: pass a new random `secret` (`openssl rand -base64 48`) from the "
                    "environment; put it first in an array (`secret: [newSecret, oldSecret]`) so existing sessions keep "
                    "verifying while new ones are signed with the new key, then remove the old one.")
COOKIE_SESSION = Framework("cookie-session (Keygrip)", "cookie-session: set `keys: [newKey, oldKey]` with a new random "
                           "first key from the environment (cookie-session signs with the first and verifies with all); "
                           "drop the old key once sessions have rolled over. Every session issued under the old key "
                           "can be forged until then.")


@dataclass(frozen=True)
class SignedCookie:
    framework: Framework
    name: str
    value: str
    signed: bytes
    signature: bytes
    digest: str
    origin: str
    account: str | None = None


def _b64url(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_FLASK = re.compile(r"^(\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{4,8})\.([A-Za-z0-9_-]{27})$")
_DJANGO = re.compile(r"^(\.?[A-Za-z0-9_-]+:[0-9A-Za-z]{1,10}):([A-Za-z0-9_-]{43}|[A-Za-z0-9_-]{27})$")
_EXPRESS = re.compile(r"^s:([^.]+(?:\.[^.]+)*)\.([A-Za-z0-9+/]{43})$")
_KEYGRIP = re.compile(r"^[A-Za-z0-9_-]{27}$")


def recognise(cookies: Mapping[str, str], origin: str, account: str | None = None) -> list[SignedCookie]:
    """The framework-signed session cookies among `cookies` (name → value as sent)."""
    found: list[SignedCookie] = []
    for name, raw in cookies.items():
        value = unquote(raw)
        if (m := _FLASK.match(raw)) and (sig := _b64url(m.group(2))) is not None:
            found.append(SignedCookie(FLASK, name, raw, m.group(1).encode(), sig, "sha1", origin, account))
        elif (m := _DJANGO.match(raw)) and (sig := _b64url(m.group(2))) is not None:
            digest = "sha256" if len(sig) == 32 else "sha1"
            found.append(SignedCookie(DJANGO, name, raw, m.group(1).encode(), sig, digest, origin, account))
        elif m := _EXPRESS.match(value):
            sig = base64.b64decode(m.group(2) + "=")
            found.append(SignedCookie(EXPRESS, name, raw, m.group(1).encode(), sig, "sha256", origin, account))
        elif name.endswith(".sig") and name[:-4] in cookies and _KEYGRIP.match(raw):
            signed_name = name[:-4]
            sig = _b64url(raw) or b""
            found.append(SignedCookie(COOKIE_SESSION, signed_name, cookies[signed_name],
                                      f"{signed_name}={cookies[signed_name]}".encode(), sig, "sha1", origin, account))
    return found


def _signer(cookie: SignedCookie) -> Callable[[bytes], bytes]:
    """The signature `cookie` would carry under a given key."""
    signed, digest = cookie.signed, cookie.digest
    if cookie.framework is FLASK:
        return lambda key: hmac.digest(hmac.digest(key, FLASK_SALT, "sha1"), signed, "sha1")
    if cookie.framework is DJANGO:
        salt, hasher = DJANGO_SESSION_SALT + b"signer", getattr(hashlib, digest)
        return lambda key: hmac.digest(hasher(salt + key).digest(), signed, digest)
    return lambda key: hmac.digest(key, signed, digest)


def crack(cookie: SignedCookie, keys: tuple[bytes, ...]) -> bytes | None:
    """The key among `keys` that produced the cookie's signature, offline."""
    sign, wanted = _signer(cookie), cookie.signature
    return next((key for key in keys if hmac.compare_digest(sign(key), wanted)), None)



def _b62(number: int) -> str:
    out = ""
    while True:
        number, digit = divmod(number, 62)
        out = B62[digit] + out
        if not number:
            return out


def forge(cookie: SignedCookie, key: bytes) -> str | None:
    """A cookie value the server never issued, signed with `key`: the same session with a fresh timestamp (Flask,
    Django) or re-encoded with a trailing space in its JSON (cookie-session). None for express-session, whose
    cookie holds only an id the server looks up: another valid signature needs another session's id."""
    now = int(time.time())
    if cookie.framework is FLASK:
        payload, issued = cookie.signed.decode().rsplit(".", 1)
        stamp = _b64url_encode(now.to_bytes(4, "big"))
        # A second earlier when the cookie was issued this second: itsdangerous refuses timestamps from the future.
        stamp = stamp if stamp != issued else _b64url_encode((now - 1).to_bytes(4, "big"))
        signed = replace(cookie, signed=f"{payload}.{stamp}".encode())
        return f"{signed.signed.decode()}.{_b64url_encode(_signer(signed)(key))}"
    if cookie.framework is DJANGO:
        payload, issued = cookie.signed.decode().rsplit(":", 1)
        stamp = _b62(now) if _b62(now) != issued else _b62(now - 1)
        signed = replace(cookie, signed=f"{payload}:{stamp}".encode())
        return f"{signed.signed.decode()}:{_b64url_encode(_signer(signed)(key))}"
    if cookie.framework is COOKIE_SESSION:
        decoded = _b64url(cookie.value.replace("+", "-").replace("/", "_").rstrip("="))
        if decoded is None:
            return None
        return base64.b64encode(decoded + b" ").decode()
    return None


def _forged_signature(cookie: SignedCookie, value: str, key: bytes) -> str:
    """cookie-session's `.sig` for a new value: Keygrip's URL-safe base64 of HMAC-SHA1."""
    return _b64url_encode(hmac.digest(key, f"{cookie.name}={value}".encode(), cookie.digest))


def _set_cookies(response: Response) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in response.header_list("set-cookie"):
        name, sep, value = header.split(";", 1)[0].partition("=")
        if sep and name.strip() and value.strip():
            found[name.strip()] = value.strip().strip('"')
    return found


def _cookie_header(value: str) -> dict[str, str]:
    pairs = (part.strip().partition("=") for part in value.split(";"))
    return {name: v for name, sep, v in pairs if sep and name}


@dataclass(frozen=True)
class Gathered:
    cookies: tuple[SignedCookie, ...]
    failures: tuple[str, ...]
    looked: tuple[str, ...]


async def _gather(ctx: CheckContext) -> Gathered:
    page = await ctx.surface.page()
    found = recognise(_set_cookies(page), "the page")
    failures: list[str] = []
    looked = ["the page"]
    for name in ctx.accounts.names:
        try:
            session = await ctx.accounts.session(name)
        except LoginFailed as exc:
            failures.append(str(exc))
            continue
        cookies = {**_cookie_header(session.headers.get("Cookie", "")), **session.cookies}
        looked.append(f"{name}'s log-in")
        found.extend(recognise(cookies, f"{name}'s log-in", name))
    unique: dict[tuple[str, str, str], SignedCookie] = {}
    for cookie in found:
        unique.setdefault((cookie.framework.name, cookie.name, cookie.value), cookie)
    return Gathered(tuple(unique.values())[:MAX_COOKIES], tuple(failures), tuple(looked))


def _accepted(response: Response, genuine: Response, anonymous: Response) -> bool:
    if not 200 <= response.status < 300:
        return False
    return response.body == genuine.body or carries_record(response, genuine, generic=anonymous) is not None


async def _confirm(ctx: CheckContext, cookie: SignedCookie, key: bytes) -> str:
    """One forged request to the account's control route, and what it showed, in words for the finding."""
    if cookie.account is None:
        return "not confirmed: the cookie came from the page, not an account with a control route"
    control = ctx.accounts.settings(cookie.account).control
    if not control:
        return f"not confirmed: {cookie.account} has no control route (set control = 'GET /api/me')"
    forged = forge(cookie, key)
    if forged is None:
        return "not confirmed: an express-session cookie holds only a session id, so a forgery needs another " \
               "session's id; the signature was verified offline"
    method, path = parse_request_line(control)
    session = await ctx.accounts.session(cookie.account)
    cookies = {**_cookie_header(session.headers.get("Cookie", "")), **session.cookies}
    forged_cookies = {**cookies, cookie.name: forged}
    if cookie.framework is COOKIE_SESSION:
        forged_cookies[f"{cookie.name}.sig"] = _forged_signature(cookie, forged, key)

    def header(values: Mapping[str, str]) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in values.items())}

    genuine = await ctx.http.request(method, path, headers=header(cookies), follow_redirects=False)
    anonymous = await ctx.http.request(method, path, follow_redirects=False)
    if not 200 <= genuine.status < 300 or _accepted(anonymous, genuine, anonymous):
        return (f"not confirmed: {control} does not need the cookie alone ({genuine.status} with {cookie.account}'s "
                f"cookies, {anonymous.status} without)")
    response = await ctx.http.request(method, path, headers=header(forged_cookies), follow_redirects=False)
    if _accepted(response, genuine, anonymous):
        return f"confirmed: {control} accepted a cookie re-signed with this key ({response.status}, as {cookie.account})"
    return f"not confirmed: {control} refused the re-signed cookie ({response.status})"


def _named(cookies: list[SignedCookie]) -> str:
    """`session` (from the page, alice's log-in), `other` (from bob's log-in)."""
    origins: dict[str, list[str]] = {}
    for cookie in cookies:
        origins.setdefault(cookie.name, []).append(cookie.origin)
    return ", ".join(f"`{name}` (from {', '.join(where)})" for name, where in origins.items())


@check(
    id="auth.session-weak-secret",
    title="Session cookies are not signed with a published key",
    severity=Severity.CRITICAL,
    cwe=321,
    summary="Flask, Django signed-cookie, express-session and cookie-session cookies from the page and the log-in "
    "responses are verified offline against published keys (framework and tutorial defaults, self-hosted apps' "
    "shipped keys, ~56,000 keys from public code); active mode confirms with one forged request to a control route.",
    risk="Whoever knows the key signs their own session cookie: Flask and Django signed-cookie sessions then say "
    "`user_id = 1` and the server believes it (CVE-2023-27524 took over thousands of Superset servers this way); "
    "express-session and cookie-session secrets forge session ids and whole sessions.",
    fix="Rotate the key and keep it out of the code and the image. " + " ".join(
        f.rotate for f in (FLASK, DJANGO, EXPRESS, COOKIE_SESSION)),
    references=("https://nvd.nist.gov/vuln/detail/CVE-2023-27524", wordlists.FLASK_UNSIGN_SOURCE,
                "https://docs.djangoproject.com/en/stable/topics/http/sessions/#using-cookie-based-sessions"),
)
async def session_weak_secret(ctx: CheckContext) -> list[Result]:
    gathered = await _gather(ctx)
    if not gathered.cookies:
        if gathered.failures:
            raise Unavailable("; ".join(gathered.failures))
        where = ", ".join(gathered.looked)
        hint = "" if len(ctx.accounts) else "; log-in responses are checked when [login] and accounts are configured"
        raise Skip(f"no Flask, Django signed_cookies, express-session or cookie-session cookie in {where}{hint}")
    await wordlists.loaded()
    keys = wordlists.keys()
    cracked: dict[tuple[str, bytes], list[SignedCookie]] = {}
    clean: list[SignedCookie] = []
    for cookie in gathered.cookies:
        key = await wordlists.first_in_turns(keys, functools.partial(crack, cookie))
        if key is None:
            clean.append(cookie)
        else:
            cracked.setdefault((cookie.framework.name, key), []).append(cookie)
    results: list[Result] = []
    base = (await ctx.surface.page()).url
    for (_, key), cookies in cracked.items():
        first, secret = cookies[0], key.decode()
        ctx.redactor.add(secret)
        listed = wordlists.describe(secret) or "a published list"
        confirmed = await _confirm(ctx, next((c for c in cookies if c.account), first), key) \
            if ctx.mode is Mode.ACTIVE else "not confirmed: passive mode verifies offline only"
        results.append(ctx.fail(
            f"{base}#cookie:{first.name}",
            f"The {first.framework.name} session cookie {_named(cookies)} is signed with a published key "
            f"({mask(secret)}, from {listed}): anyone can sign a session for any user; {confirmed}.",
            kind=f"weak-session-secret:{first.framework.name}",
            remediation=first.framework.rotate,
            evidence={"framework": first.framework.name, "cookies": list(dict.fromkeys(c.name for c in cookies)),
                      "from": [c.origin for c in cookies], "secret": mask(secret), "list": listed,
                      "confirmation": confirmed}))
    by_name: dict[tuple[str, str], list[SignedCookie]] = {}
    for cookie in clean:
        by_name.setdefault((cookie.framework.name, cookie.name), []).append(cookie)
    for (framework, name), cookies in by_name.items():
        results.append(ctx.passed(f"{base}#cookie:{name}", f"The {framework} cookie {_named(cookies)} is signed with "
                                                           f"none of {len(keys)} published keys."))
    if gathered.failures:
        results.append(ctx.error(ctx.location, "; ".join(gathered.failures)))
    return results

