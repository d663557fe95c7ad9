"""Authentication: records readable with no credentials, admin routes open to ordinary accounts, and JWTs
that are accepted unsigned, tampered, expired, or were signed with a guessable secret.

`auth.unauthenticated-access` and `auth.missing-role-check` judge the idor matrix (see `checks.idor`):
no extra requests. The JWT checks share one pass (`auth:jwt`): the first account whose token is a JWT,
and a request that succeeds with the token and does not without it (the account's `control`, else the
first list request, else one of its records). Forged tokens replace the genuine one wherever the
account sends it (Authorization header, cookie, custom header), one request per forgery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from probe.accounts import LoginFailed, parse_request_line
from probe.checks import wordlists
from probe.checks.idor.matrix import (
    RESOURCES,
    ResourceSettings,
    carries_record,
    how,
    login_note,
    matrix,
    pair_evidence,
    readers,
    resource_status,
    unsure,
)
from probe.config import Section
from probe.context import CheckContext, MemoKey
from probe.guards import Skip, Unavailable, accounts, configured, needs
from probe.http import Response
from probe.model import Result, Severity
from probe.redact import mask
from probe.registry import Family, check

FAMILY = Family(
    group="authorization",
    unlock="add [login] and an [accounts.NAME] with a control request, so signed-in routes can be compared",
)

OWASP_AUTH = "https://owasp.org/API-Security/editions/2023/en/0xa2-broken-authentication/"
OWASP_BFLA = "https://owasp.org/API-Security/editions/2023/en/0xa5-broken-function-level-authorization/"
OWASP_JWT = "https://cheatsheetseries.owasp.org/cheatsheets/JSON_Web_Token_for_Java_Cheat_Sheet.html"
RFC8725 = "https://www.rfc-editor.org/rfc/rfc8725"
HMAC_ALGORITHMS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
# Spellings of "none" that case-sensitive and case-insensitive libraries have each accepted (CVE-2015-9235 and kin).
NONE_SPELLINGS = ("none", "None")


class AuthSettings(Section):
    """`[auth]`: the key the app signs its HS256 tokens with, to test expiry on a staging target."""

    jwt_secret: str | None = None


CONFIG_SECTIONS = {"auth": AuthSettings}


# --- unauthenticated and role-less access (the idor matrix) ----------------------------------------


@check(
    id="auth.unauthenticated-access",
    title="Records are not readable without logging in",
    severity=Severity.CRITICAL,
    cwe=306,
    summary="The configured resources requested with no credentials at all must not return the owner's data.",
    risk="A route that forgot its login requirement (an export, a JSON twin of a page, a new endpoint) hands "
    "private data to anyone who finds the URL, including search engines and scrapers.",
    fix="Require authentication by default and opt out explicitly: Flask `@login_required` or a `before_request` "
    "guard, Django `LoginRequiredMiddleware` (5.1+) or DRF `DEFAULT_PERMISSION_CLASSES = [IsAuthenticated]`, "
    "FastAPI a router-level `dependencies=[Depends(current_user)]`, Express an auth middleware before the router, "
    "Next.js middleware matching /api.",
    references=(OWASP_AUTH,),
)
@needs(RESOURCES, accounts(1))
async def unauthenticated_access(ctx: CheckContext) -> list[Result]:
    m = await matrix(ctx)
    results: list[Result] = []
    for t in m.tested:
        status = resource_status(ctx, t)
        if status:
            results.append(status)
            continue
        location, owner = ctx.http.url(t.resource.path), t.resource.owner
        if t.anonymous.leaks:
            leak = t.anonymous.leaks[0]
            results.append(ctx.fail(location, f"{leak.path} returned {owner}'s data with no credentials ({how(leak)}).",
                                    kind="no-credentials", evidence=pair_evidence(leak)))
            continue
        results.append(unsure(ctx, location, t.resource.label, t.anonymous) or ctx.passed(
            location, f"{t.anonymous.sent} of {owner}'s records requested with no credentials: none came back "
                      f"(statuses {t.anonymous.statuses})."))
    return results


@check(
    id="auth.missing-role-check",
    title="Admin routes refuse accounts without the role",
    severity=Severity.CRITICAL,
    cwe=285,
    summary="`[[resources]]` marked `role = \"admin\"`, requested by an account without that role, must not return "
    "what the admin sees.",
    risk="An admin page that only checks \"logged in\" lets every customer list all users, read every order or "
    "change settings: one sign-up away from the whole database.",
    fix="Check the role on the server for every admin route, not just in the UI: Django `@user_passes_test`/"
    "`permission_required` or DRF `IsAdminUser`, Flask a role decorator (Flask-Principal, flask-security "
    "`@roles_required`), FastAPI a `Depends(require_admin)` on the admin router, Express a role middleware.",
    references=(OWASP_BFLA,),
)
@needs(RESOURCES, accounts(2), configured(ResourceSettings, "mark an admin-only [[resources]] entry with role = "
                                        "\"admin\" (its owner an account with role = \"admin\") to test it",
                                        lambda resources: any(r.role for r in resources)))
async def missing_role_check(ctx: CheckContext) -> list[Result]:
    m = await matrix(ctx)
    results: list[Result] = []
    for t in (t for t in m.tested if t.resource.role):
        status = resource_status(ctx, t)
        if status:
            results.append(status)
            continue
        location, owner, role = ctx.http.url(t.resource.path), t.resource.owner, t.resource.role
        actors = readers(ctx, t.resource, m.unavailable)
        if not actors:
            failed = [n for n in m.login_errors if ctx.accounts.role(n) != role and n not in t.resource.shared_with]
            report = ctx.error if failed else ctx.skip
            results.append(report(location, f"{t.resource.label}: needs an account without role {role!r} that can "
                                             f"log in.{login_note(m)}"))
            continue
        if t.across.leaks:
            leak = t.across.leaks[0]
            results.append(ctx.fail(location, f"{leak.who} (role {ctx.accounts.role(leak.who)!r}) got what {owner} "
                                              f"(role {role!r}) sees at {leak.path} ({how(leak)}).",
                                    kind="missing-role-check", evidence=pair_evidence(leak)))
            continue
        results.append(unsure(ctx, location, t.resource.label, t.across) or ctx.passed(
            location, f"{', '.join(actors)} requested {t.resource.label}: refused "
                      f"(statuses {t.across.statuses}).{login_note(m)}"))
    return results


# --- JWT --------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Token:
    raw: str
    header: Mapping[str, Any]
    claims: Mapping[str, Any]

    @property
    def alg(self) -> str:
        return str(self.header.get("alg", ""))

    @property
    def parts(self) -> list[str]:
        return self.raw.split(".")


def parse_jwt(value: str | None) -> Token | None:
    """A JWS in compact form with a JSON header and JSON object claims, or None (never raises)."""
    if not value or value.count(".") != 2:
        return None
    try:
        header = jwt.get_unverified_header(value)
        claims = jwt.decode(value, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    return Token(value, header, claims) if isinstance(claims, dict) else None


def crack(token: Token, candidates: tuple[str, ...]) -> str | None:
    """The HMAC key among `candidates` that produced the token's signature, offline."""
    digest = HMAC_ALGORITHMS.get(token.alg)
    if digest is None:
        return None
    head, body, signature = token.parts
    try:
        wanted = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except ValueError:
        return None
    signing_input = f"{head}.{body}".encode()
    for secret in candidates:
        if hmac.compare_digest(hmac.new(secret.encode(), signing_input, digest).digest(), wanted):
            return secret
    return None


def unsigned(token: Token, alg: str) -> str:
    header = {**token.header, "alg": alg}
    return f"{_b64(json.dumps(header, separators=(',', ':')).encode())}.{token.parts[1]}."


def tampered(token: Token) -> str:
    """Claims changed (iat moved back one second, or a claim added), header and signature kept."""
    claims = dict(token.claims)
    if isinstance(claims.get("iat"), int) and not isinstance(claims.get("iat"), bool):
        claims["iat"] -= 1
    else:
        claims["probe"] = "tampered"
    head, _, signature = token.parts
    return f"{head}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}.{signature}"


def resigned(token: Token, key: str, **changes: Any) -> str:
    claims = {**token.claims, **changes}
    extra = {k: v for k, v in token.header.items() if k not in ("alg", "typ")}
    with warnings.catch_warnings():
        # PyJWT warns about short HMAC keys; a short key is exactly what a weak-secret finding is about.
        warnings.simplefilter("ignore")
        return jwt.encode(claims, key, algorithm=token.alg, headers=extra or None)


@dataclass(frozen=True)
class JwtTarget:
    """A request that needs the token: it succeeds with it (`genuine`) and is refused both without it (`anonymous`)
    and with a garbage token in its place (the control that makes "a forged token was accepted" mean something)."""

    account: str
    token: Token
    method: str
    path: str
    headers: Mapping[str, str]
    genuine: Response
    anonymous: Response


@dataclass(frozen=True)
class JwtFacts:
    target: JwtTarget | None = None
    token: Token | None = None
    account: str | None = None
    skip: str | None = None
    error: str | None = None
    secret: str | None = None
    secret_source: str | None = None


def _candidate_lines(ctx: CheckContext, name: str) -> list[str]:
    lines: list[str] = []
    if ctx.accounts.settings(name).control:
        lines.append(ctx.accounts.settings(name).control or "")
    for resource in ctx.sections(ResourceSettings):
        if resource.list_request and resource.owner == name:
            lines.append(resource.list_request)
        elif resource.owner == name and not resource.role:
            first = str(resource.ids[0]) if resource.ids else None
            if first is not None or not resource.templated:
                lines.append("GET " + resource.at(first))
    for resource in ctx.sections(ResourceSettings):
        if resource.list_request:
            lines.append(resource.list_request)
    return list(dict.fromkeys(lines))[:3]


JWT: MemoKey[JwtFacts] = MemoKey("auth:jwt")


async def jwt_facts(ctx: CheckContext) -> JwtFacts:
    return await ctx.memo.get(JWT, lambda: _jwt_facts(ctx))


async def _jwt_facts(ctx: CheckContext) -> JwtFacts:
    if not len(ctx.accounts):
        return JwtFacts(skip="needs an account whose token is a JWT: add [accounts.NAME] (see docs/authorization.md)")
    failures: list[str] = []
    account, token = None, None
    for name in ctx.accounts.names:
        try:
            session = await ctx.accounts.session(name)
        except LoginFailed as exc:
            failures.append(str(exc))
            continue
        token = parse_jwt(session.token)
        if token is not None:
            account = name
            break
    if account is None or token is None:
        if failures:
            return JwtFacts(error="; ".join(failures))
        return JwtFacts(skip="no account's token is a JWT (opaque session tokens and cookies are not tested here)")
    settings = ctx.section(AuthSettings)
    await wordlists.loaded()
    secret = await wordlists.first_in_turns(wordlists.secrets(), lambda some: crack(token, some))
    source = wordlists.describe(secret) if secret is not None else None
    if secret is not None:
        ctx.redactor.add(secret)
    elif settings.jwt_secret:
        secret, source = settings.jwt_secret, "[auth] jwt_secret"
        ctx.redactor.add(secret)
    session = await ctx.accounts.session(account)
    tried: list[str] = []
    for line in _candidate_lines(ctx, account):
        method, path = parse_request_line(line)
        genuine = await ctx.http.request(method, path, headers=dict(session.headers), follow_redirects=False)
        if not 200 <= genuine.status < 300:
            tried.append(f"{line} → {genuine.status} with the token")
            continue
        anonymous = await ctx.http.request(method, path, follow_redirects=False)
        if _answered(anonymous):
            # A route that answers anyone is public: auth.unauthenticated-access judges it, once.
            tried.append(f"{line} answers without a token too ({anonymous.status}): a public route")
            continue
        garbage = {k: v.replace(token.raw, GARBAGE_TOKEN) for k, v in session.headers.items()}
        refused = await ctx.http.request(method, path, headers=garbage, follow_redirects=False)
        if _answered(refused):
            tried.append(f"{line} answers a garbage token too ({refused.status}): the token is not what it checks")
            continue
        target = JwtTarget(account, token, method, path, dict(session.headers), genuine, anonymous)
        return JwtFacts(target, token, account, secret=secret, secret_source=source)
    reason = "; ".join(tried) or "no request to try: set control = 'GET /api/me' on the account"
    return JwtFacts(None, token, account, skip=f"no request that refuses no token and a garbage token but accepts "
                                               f"{account}'s ({reason})", secret=secret, secret_source=source)


# Sent where the genuine token goes: a route that accepts it checks no token, so forged ones prove nothing there.
GARBAGE_TOKEN = "probe-not-a-token"


def _answered(response: Response) -> bool:
    """Not refused: any 2xx. A refusal is what a missing or garbage token must get (401, 403, a redirect to log in)."""
    return 200 <= response.status < 300


async def _send_forged(ctx: CheckContext, target: JwtTarget, forged: str) -> Response:
    headers = {k: v.replace(target.token.raw, forged) for k, v in target.headers.items()}
    return await ctx.http.request(target.method, target.path, headers=headers, follow_redirects=False)


def _accepted(target: JwtTarget, response: Response) -> bool:
    if not 200 <= response.status < 300:
        return False
    same = response.body == target.genuine.body
    return same or carries_record(response, target.genuine, generic=target.anonymous) is not None


async def _jwt_token(ctx: CheckContext) -> JwtFacts:
    """The account's JWT; raises Unavailable (a login failed) or Skip (no JWT) when there is none."""
    facts = await jwt_facts(ctx)
    if facts.error:
        raise Unavailable(facts.error)
    if facts.token is None:
        raise Skip(facts.skip or "no JWT to test")
    return facts


async def _jwt_target(ctx: CheckContext) -> tuple[JwtFacts, JwtTarget]:
    """The account's JWT and the request that needs it, or Skip/Unavailable saying why there is none."""
    facts = await _jwt_token(ctx)
    if facts.target is None:
        raise Skip(facts.skip or "no request that needs the token")
    return facts, facts.target


def _forgery_evidence(target: JwtTarget, response: Response, forged_header: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "account": target.account,
        "forged_header": dict(forged_header),
        "genuine_status": target.genuine.status,
        "without_token_status": target.anonymous.status,
        "forged_request": response.evidence(max_chars=200),
    }


@check(
    id="auth.jwt-none",
    title="Unsigned JWTs (alg=none) are refused",
    severity=Severity.CRITICAL,
    cwe=347,
    summary="The account's JWT re-sent with alg=none and no signature must be refused.",
    risk="If the server accepts alg=none, anyone can write their own token: any user id, any role, no key needed.",
    fix="Pass an explicit algorithm allow-list when verifying: PyJWT `jwt.decode(token, key, algorithms=[\"HS256\"])`, "
    "jsonwebtoken `jwt.verify(token, key, { algorithms: ['HS256'] })`, java-jwt `JWT.require(Algorithm.HMAC256(key))`; "
    "never decode without verification.",
    references=(RFC8725, OWASP_JWT),
)
async def jwt_none(ctx: CheckContext) -> list[Result]:
    _, target = await _jwt_target(ctx)
    location = ctx.http.url(target.path)
    statuses: list[str] = []
    for alg in NONE_SPELLINGS:
        response = await _send_forged(ctx, target, unsigned(target.token, alg))
        statuses.append(f"alg={alg} → {response.status}")
        if _accepted(target, response):
            return [ctx.fail(location, f"A copy of {target.account}'s token with alg={alg!r} and no signature was "
                                       f"accepted ({response.status}, same answer as the genuine token).",
                             kind="alg-none", evidence=_forgery_evidence(target, response, {"alg": alg}))]
    return [ctx.passed(location, f"Unsigned tokens refused ({'; '.join(statuses)}).")]


@check(
    id="auth.jwt-signature-unchecked",
    title="JWT signatures are verified",
    severity=Severity.CRITICAL,
    cwe=347,
    summary="The account's JWT with its claims changed and the original signature kept must be refused.",
    risk="A server that decodes tokens without verifying the signature trusts whatever the client writes into them: "
    "change `sub` or `role` and become anyone.",
    fix="Verify, do not just decode: PyJWT `jwt.decode(token, key, algorithms=[...])` (never "
    "`options={\"verify_signature\": False}`), jsonwebtoken `jwt.verify` (not `jwt.decode`), "
    "`JwtDecoder` in Spring Security, firebase-admin `verify_id_token`.",
    references=(RFC8725, OWASP_JWT),
)
async def jwt_signature_unchecked(ctx: CheckContext) -> list[Result]:
    _, target = await _jwt_target(ctx)
    location = ctx.http.url(target.path)
    response = await _send_forged(ctx, target, tampered(target.token))
    if _accepted(target, response):
        return [ctx.fail(location, f"{target.account}'s token with changed claims and the old signature was accepted "
                                   f"({response.status}).", kind="signature-unchecked",
                         evidence=_forgery_evidence(target, response, target.token.header))]
    return [ctx.passed(location, f"A token with changed claims was refused ({response.status}).")]


@check(
    id="auth.jwt-expired-accepted",
    title="Expired JWTs are refused",
    severity=Severity.HIGH,
    cwe=613,
    summary="The account's JWT re-signed with `exp` an hour in the past must be refused (needs the signing key: "
    "found by auth.jwt-weak-secret or given as [auth] jwt_secret).",
    risk="Without an expiry check a stolen or leaked token works forever, and logging out or rotating nothing "
    "takes it away.",
    fix="Issue tokens with a short `exp` and let the library check it (PyJWT and jsonwebtoken do unless told not "
    "to: remove `verify_exp: False` / `ignoreExpiration: true`); require the claim (PyJWT `options={\"require\": "
    "[\"exp\"]}`).",
    references=(RFC8725, OWASP_JWT),
)
async def jwt_expired_accepted(ctx: CheckContext) -> list[Result]:
    facts, target = await _jwt_target(ctx)
    location = ctx.http.url(target.path)
    if target.token.alg not in HMAC_ALGORITHMS:
        return [ctx.skip(location, f"the token is signed with {target.token.alg}: re-signing needs the private key")]
    if facts.secret is None:
        return [ctx.skip(location, "the signing key is unknown (not a common secret): set [auth] jwt_secret to the "
                                   "staging app's key to test expiry")]
    now = int(time.time())
    fresh = await _send_forged(ctx, target, resigned(target.token, facts.secret, iat=now - 60, exp=now + 600))
    if not _accepted(target, fresh):
        return [ctx.error(location, f"a token re-signed with the key from {facts.secret_source} was refused even "
                                    f"unexpired ({fresh.status}): the key is not the one the app uses")]
    response = await _send_forged(ctx, target, resigned(target.token, facts.secret, iat=now - 7200, exp=now - 3600))
    if _accepted(target, response):
        return [ctx.fail(location, f"A token that expired an hour ago was accepted ({response.status}).",
                         kind="expired-accepted", evidence=_forgery_evidence(target, response, target.token.header))]
    return [ctx.passed(location, f"A token that expired an hour ago was refused ({response.status}); the same token "
                                 f"unexpired was accepted ({fresh.status}).")]


@check(
    id="auth.jwt-weak-secret",
    title="The JWT signing secret is not a common one",
    severity=Severity.CRITICAL,
    cwe=1391,
    summary="The account's HS256/384/512 token is checked offline against published secrets: framework and tutorial "
    "defaults, self-hosted apps' shipped keys and ~56,000 keys collected from public code (no requests beyond "
    "logging in).",
    risk="A guessable HMAC secret lets anyone sign tokens the server trusts: any user, any role, no expiry. "
    "Tools crack such tokens in seconds from a single captured token.",
    fix="Generate the secret randomly (at least 32 bytes: `python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
    "or `openssl rand -base64 48`), keep it in the deployment's secret store, and rotate it; or sign with "
    "RS256/EdDSA keys.",
    references=(RFC8725, "https://github.com/wallarm/jwt-secrets", wordlists.FLASK_UNSIGN_SOURCE),
)
async def jwt_weak_secret(ctx: CheckContext) -> list[Result]:
    facts = await _jwt_token(ctx)
    token = facts.token
    assert token is not None
    location = ctx.http.url(facts.target.path) if facts.target else ctx.location
    if token.alg not in HMAC_ALGORITHMS:
        return [ctx.skip(location, f"{facts.account}'s token is signed with {token.alg!r}: no shared secret to guess")]
    found = await wordlists.first_in_turns(wordlists.secrets(), lambda some: crack(token, some))
    if found is not None:
        ctx.redactor.add(found)
        return [ctx.fail(location, f"{facts.account}'s {token.alg} token is signed with a published secret "
                                   f"({mask(found)}, from {wordlists.describe(found)}).", kind="weak-secret",
                         evidence={"account": facts.account, "alg": token.alg, "secret": mask(found),
                                   "list": wordlists.describe(found)})]
    return [ctx.passed(location, f"{facts.account}'s {token.alg} key is none of {len(wordlists.secrets())} published "
                                 "secrets.")]

