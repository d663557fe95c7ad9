"""Where the deployed environment comes from: one small adapter per source, each returning variable names and,
where the source reveals them, values.

Sources are written `kind:argument`, optionally with a label for `--compare`: `staging=dotenv:.env.staging`.

- `dotenv:PATH`, `process` (the environment probe runs in: a deploy job, `heroku run`, `fly ssh console`,
  `kubectl exec`), `command:CMD` (a command printing dotenv or JSON: `heroku config --json`,
  `fly secrets list --json`, `kubectl get secret NAME -o json`).
- Hosting APIs, each with its usual token variable and a base URL that `[env] api = {vercel = "..."}` overrides:
  `vercel:PROJECT[:TARGET]`, `netlify:SITE[:CONTEXT]`, `render:SERVICE_ID`, `heroku:APP`,
  `railway:PROJECT_ID:ENVIRONMENT_ID[:SERVICE_ID]`, `fly:APP`, `github:OWNER/REPO[:ENVIRONMENT]`.

Platform requests go through the run's HTTP client like every other request (the platform's API host is in the
run's scope, see `EnvSettings.scope_hosts`): the same budget, pace, timeouts, byte cap, back-off on 429 with
Retry-After, and redaction. The token goes only in the Authorization header, only to the platform. A refused token
is a configuration error (`ConfigError`, exit 2); paging is followed to a bound.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import shlex
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from probe.config import ConfigError
from probe.http import HttpError, Response, ScopedHttp
from probe.template import Marker

MAX_PAGES = 50
# Vercel lists encrypted values without their plain text: each is read on its own request, at most this many.
MAX_DECRYPTS = 100
MAX_OUTPUT_BYTES = 2_000_000

# Default API base URLs and the variables their CLIs and CI integrations read tokens from.
PLATFORMS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "vercel": ("https://api.vercel.com", ("VERCEL_TOKEN",), "https://vercel.com/docs/rest-api#authentication"),
    "netlify": ("https://api.netlify.com", ("NETLIFY_AUTH_TOKEN",), "https://docs.netlify.com/api/get-started/#authentication"),
    "render": ("https://api.render.com", ("RENDER_API_KEY",), "https://api-docs.render.com/reference/authentication"),
    "heroku": ("https://api.heroku.com", ("HEROKU_API_KEY",), "https://devcenter.heroku.com/articles/platform-api-quickstart"),
    "railway": ("https://backboard.railway.com", ("RAILWAY_API_TOKEN", "RAILWAY_TOKEN"), "https://docs.railway.com/guides/public-api"),
    "fly": ("https://api.machines.dev", ("FLY_API_TOKEN",), "https://fly.io/docs/machines/api/working-with-machines-api/"),
    "github": ("https://api.github.com", ("GITHUB_TOKEN", "GH_TOKEN"), "https://docs.github.com/en/rest/authentication"),
}
# What a response from a site hosted on a platform shows of it: how `probe init` names the platform to read from.
HOSTING = (
    Marker("vercel", "header:server", r"^Vercel$", "https://vercel.com/docs/headers/response-headers#server"),
    Marker("vercel", "header:x-vercel-id", r".", "https://vercel.com/docs/headers/response-headers#x-vercel-id"),
    Marker("netlify", "header:server", r"^Netlify$", "https://docs.netlify.com/routing/headers/"),
    Marker("netlify", "header:x-nf-request-id", r".", "https://docs.netlify.com/routing/headers/"),
    Marker("heroku", "header:via", r"\bvegur\b", "https://devcenter.heroku.com/articles/http-routing#heroku-headers"),
    Marker("fly", "header:fly-request-id", r".", "https://fly.io/docs/networking/request-headers/"),
    Marker("render", "header:rndr-id", r".", "https://render.com/docs/web-services"),
    Marker("railway", "header:x-railway-request-id", r".", "https://docs.railway.com/reference/public-networking"),
)
LOCAL_KINDS = ("dotenv", "process", "command")


class SourceError(Exception):
    """A source that could not be read (network failure, command failed); one line, reported as an error."""


@dataclass(frozen=True)
class DeployedVar:
    name: str
    value: str | None  # None: the source does not reveal it
    hidden: str = ""  # why the value is not readable
    digest: str | None = None


@dataclass(frozen=True)
class Deployed:
    label: str
    vars: Mapping[str, DeployedVar]
    # False for the process environment: it also holds the OS's own variables (PATH, HOME), so "not in the
    # manifest" says nothing about the app.
    app_only: bool = True
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceOptions:
    environ: Mapping[str, str]
    endpoints: Mapping[str, str]
    environment: str
    timeout: float
    deadline: float  # time.monotonic() by which everything must be done
    command_timeout: float
    cwd: Path
    # Hands a platform token to the run's redactor. Values are registered by the env family, which knows from the
    # manifest and the names which of them are secrets.
    register: Callable[[str], None]
    http: ScopedHttp | None = None  # the run's client (platform sources only)


@dataclass(frozen=True)
class SourceSpec:
    label: str
    kind: str
    argument: str


def parse_spec(text: str) -> SourceSpec:
    raw = text.strip()
    label = ""
    head, sep, rest = raw.partition("=")
    if sep and ":" not in head and head and head.replace("-", "").replace("_", "").isalnum():
        label, raw = head, rest.strip()
    kind, _, argument = raw.partition(":")
    kind = kind.strip().lower()
    if kind not in LOCAL_KINDS and kind not in PLATFORMS:
        known = ", ".join((*LOCAL_KINDS, *PLATFORMS))
        raise ConfigError(f"env.deployed: unknown source {text!r} (use one of {known}, e.g. dotenv:.env.production)")
    if kind != "process" and not argument.strip():
        raise ConfigError(f"env.deployed: {kind}: needs an argument (e.g. {kind}:{EXAMPLES[kind]})")
    return SourceSpec(label=label or raw, kind=kind, argument=argument.strip())


EXAMPLES = {
    "dotenv": ".env.production", "command": "heroku config --json -a my-app", "vercel": "my-app:production",
    "netlify": "my-site", "render": "srv-abc123", "heroku": "my-app", "railway": "PROJECT_ID:ENVIRONMENT_ID",
    "fly": "my-app", "github": "owner/repo:production",
}


async def load(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    return await _LOADERS[spec.kind](spec, opts)


# --- local sources -------------------------------------------------------------------------------------------


def parse_dotenv_text(text: str) -> dict[str, str | None]:
    from dotenv import dotenv_values

    # Raw values: a deployed `${VAR}` that nothing expanded is a finding (env.unresolved), not something to resolve.
    return dict(dotenv_values(stream=io.StringIO(text), interpolate=False))


def _from_values(label: str, values: Mapping[str, str | None], *, app_only: bool = True) -> Deployed:
    return Deployed(label=label, vars={k: DeployedVar(k, "" if v is None else str(v)) for k, v in values.items()},
                    app_only=app_only)


async def _dotenv(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    path = Path(spec.argument).expanduser()
    path = path if path.is_absolute() else opts.cwd / path
    if not path.is_file():
        raise ConfigError(f"env.deployed: {spec.label}: no such file")
    try:
        text = path.read_bytes()[:MAX_OUTPUT_BYTES].decode("utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"env.deployed: {spec.label}: cannot be read ({exc.strerror or exc})") from None
    return _from_values(spec.label, parse_dotenv_text(text))


async def _process(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    return _from_values(spec.label, dict(opts.environ), app_only=False)


async def _command(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    try:
        argv = shlex.split(spec.argument)
    except ValueError as exc:
        raise ConfigError(f"env.deployed: {spec.label}: cannot split the command ({exc})") from None
    if not argv:
        raise ConfigError(f"env.deployed: {spec.label}: empty command")
    timeout = max(0.1, min(opts.command_timeout, opts.deadline - time.monotonic()))
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=opts.cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise ConfigError(f"env.deployed: {spec.label}: cannot run {argv[0]!r} ({exc.strerror or exc})") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise SourceError(f"{spec.label}: no answer within {timeout:.0f} s") from None
    if proc.returncode != 0:
        # The command's own error line, cut short: it names the problem (not logged in, no such app).
        first = next((line for line in err.decode("utf-8", "replace").splitlines() if line.strip()), "")
        raise SourceError(f"{spec.label}: exited with status {proc.returncode}: {first[:200]}")
    return parse_command_output(spec.label, out[:MAX_OUTPUT_BYTES].decode("utf-8", errors="replace"))


def parse_command_output(label: str, text: str) -> Deployed:
    """dotenv text, or JSON: an object of names to values (`heroku config --json`), a Kubernetes Secret or
    ConfigMap or a List of them (`kubectl get secret NAME -o json`, base64 `data` decoded), or a list of
    `{name, digest}` / `{name, value}` rows (`fly secrets list --json`)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return _from_values(label, parse_dotenv_text(text))
    if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        merged: dict[str, DeployedVar] = {}
        for item in doc["items"][:100]:
            if isinstance(item, dict):
                merged.update(_kubernetes(item))
        return Deployed(label=label, vars=merged)
    if isinstance(doc, dict) and doc.get("kind") in ("Secret", "ConfigMap"):
        return Deployed(label=label, vars=_kubernetes(doc))
    if isinstance(doc, dict):
        return _from_values(label, {str(k): _scalar(v) for k, v in doc.items()})
    if isinstance(doc, list):
        found: dict[str, DeployedVar] = {}
        for row in doc[:5000]:
            if not isinstance(row, dict):
                continue
            name = row.get("name", row.get("Name", row.get("key", row.get("Key"))))
            if not isinstance(name, str):
                continue
            if "value" in row or "Value" in row:
                found[name] = DeployedVar(name, _scalar(row.get("value", row.get("Value"))) or "")
            else:
                digest = row.get("digest", row.get("Digest"))
                found[name] = DeployedVar(name, None, "the command printed names only", str(digest) if digest else None)
        return Deployed(label=label, vars=found)
    raise SourceError(f"{label}: printed JSON that is neither an object of variables nor a list of them")


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _kubernetes(doc: Mapping[str, Any]) -> dict[str, DeployedVar]:
    found: dict[str, DeployedVar] = {}
    data = doc.get("data")
    if isinstance(data, dict):
        for key, value in data.items():
            if doc.get("kind") == "Secret" and isinstance(value, str):
                try:
                    decoded = base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
                except (binascii.Error, ValueError):
                    decoded = value
                found[str(key)] = DeployedVar(str(key), decoded)
            else:
                found[str(key)] = DeployedVar(str(key), _scalar(value) or "")
    string_data = doc.get("stringData")
    if isinstance(string_data, dict):
        found.update({str(k): DeployedVar(str(k), _scalar(v) or "") for k, v in string_data.items()})
    return found


# --- platform APIs -------------------------------------------------------------------------------------------


@dataclass
class _Api:
    platform: str
    spec: SourceSpec
    opts: SourceOptions
    auth: dict[str, str] = field(default_factory=dict)
    extra_headers: dict[str, str] = field(default_factory=dict)
    token_var: str = ""

    @classmethod
    def connect(cls, platform: str, spec: SourceSpec, opts: SourceOptions, *, scheme: str = "Bearer",
                headers: Mapping[str, str] | None = None) -> _Api:
        _, variables, doc = PLATFORMS[platform]
        token_var = next((v for v in variables if opts.environ.get(v)), "")
        if not token_var:
            raise ConfigError(f"env.deployed: {spec.label} needs an API token in {' or '.join(variables)} (see {doc})")
        token = opts.environ[token_var]
        opts.register(token)
        auth = {"Authorization": token if token.startswith("FlyV1 ") else f"{scheme} {token}"}
        if platform == "railway" and token_var == "RAILWAY_TOKEN":
            auth = {"Project-Access-Token": token}  # project tokens use their own header (Railway public API docs)
        return cls(platform, spec, opts, auth, dict(headers or {}), token_var)

    @property
    def base(self) -> str:
        return self.opts.endpoints.get(self.platform, PLATFORMS[self.platform][0]).rstrip("/")

    async def call(self, method: str, url: str, *, what: str, params: Mapping[str, str] | None = None,
                   json_body: Any = None) -> Response:
        if self.opts.http is None:
            raise SourceError(f"{self.spec.label}: this run has no HTTP client for the {self.platform} API")
        full = url if url.startswith(("http://", "https://")) else self.base + url
        headers = {"Accept": "application/json", **self.auth, **self.extra_headers}
        try:
            response = await self.opts.http.request(method, full, params=params, json=json_body, headers=headers,
                                                    follow_redirects=False)
        except HttpError as exc:
            raise SourceError(f"{self.spec.label}: {self.platform} API: {exc}") from None
        status = response.status
        if _rate_limited(response):
            # The client already waited once for a Retry-After that fit in the run's time; this one did not.
            wait = response.header("retry-after")
            shown = f"Retry-After {wait}" if wait else "no Retry-After"
            raise SourceError(f"{self.spec.label}: {self.platform} API rate limit ({status}, {shown}); try again later")
        if status in (401, 403):
            raise ConfigError(f"env.deployed: {self.spec.label}: the {self.platform} API refused the token in "
                              f"{self.token_var} ({status}: {_error_message(response)})")
        if status == 404:
            raise ConfigError(f"env.deployed: {self.spec.label}: {what} not found on {self.platform} (404); check the "
                              f"name and that the token in {self.token_var} can see it")
        if status >= 400:
            raise SourceError(f"{self.spec.label}: {self.platform} API answered {status} ({_error_message(response)})")
        return response


def _rate_limited(response: Response) -> bool:
    if response.status == 429:
        return True
    # GitHub signals an exhausted primary limit with 403 and x-ratelimit-remaining: 0.
    return response.status == 403 and response.header("x-ratelimit-remaining") == "0"


def _error_message(response: Response) -> str:
    body = response.json()
    if body is None:
        return _reason(response.status)
    message: Any = None
    if isinstance(body, dict):
        error = body.get("error")
        message = (error.get("message") if isinstance(error, dict) else error) or body.get("message") or body.get("id")
        errors = body.get("errors")
        if not message and isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message = errors[0].get("message")
    return str(message or _reason(response.status))[:160]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "no details"


def _json(response: Response, label: str) -> Any:
    body = response.json()
    if body is None:
        raise SourceError(f"{label}: the API answered with something that is not JSON")
    return body


async def _vercel(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    # GET /v10/projects/{idOrName}/env lists variables; an encrypted one comes back as ciphertext with
    # `decrypted: false` (https://vercel.com/docs/rest-api/projects/retrieve-the-environment-variables-of-a-project-by-id-or-name;
    # its `decrypt` query parameter is deprecated), so its plain value is read with GET /v1/projects/{idOrName}/env/{id}
    # (https://vercel.com/docs/rest-api/projects/retrieve-the-decrypted-value-of-an-environment-variable-of-a-project-by-id),
    # one request per variable, at most MAX_DECRYPTS. Paging: `pagination.next` is passed back as `until`
    # (https://vercel.com/docs/rest-api#pagination).
    project, _, target = spec.argument.partition(":")
    target = target or opts.environment
    api = _Api.connect("vercel", spec, opts)
    team = opts.environ.get("VERCEL_TEAM_ID") or opts.environ.get("VERCEL_ORG_ID")
    team_params = {"teamId": team} if team else {}
    params = dict(team_params)
    listed: list[Mapping[str, Any]] = []
    for _ in range(MAX_PAGES):
        response = await api.call("GET", f"/v10/projects/{quote(project, safe='')}/env", params=params,
                                  what=f"project {project!r}")
        body = _json(response, spec.label)
        envs = body.get("envs", []) if isinstance(body, dict) else body if isinstance(body, list) else []
        listed += [env for env in envs if isinstance(env, dict) and isinstance(env.get("key"), str)
                   and _vercel_targets(env, target)]
        nxt = body.get("pagination", {}).get("next") if isinstance(body, dict) else None
        if not nxt:
            break
        params = {**params, "until": str(nxt)}
    found: dict[str, DeployedVar] = {}
    decrypts = 0
    for env in listed:
        if _vercel_encrypted(env) and isinstance(env.get("id"), str) and decrypts < MAX_DECRYPTS:
            decrypts += 1
            one = await api.call("GET", f"/v1/projects/{quote(project, safe='')}/env/{quote(env['id'], safe='')}",
                                 params=team_params, what=f"variable {env['key']!r} of project {project!r}")
            detail = _json(one, spec.label)
            env = {**env, **detail} if isinstance(detail, dict) else env
        found[env["key"]] = _vercel_var(env, decrypts >= MAX_DECRYPTS)
    return Deployed(label=spec.label, vars=found)


def _vercel_encrypted(env: Mapping[str, Any]) -> bool:
    return env.get("type") in ("encrypted", "secret") and not env.get("decrypted")


def _vercel_targets(env: Mapping[str, Any], target: str) -> bool:
    targets = env.get("target")
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, list):
        return True
    return target in targets or target in (env.get("customEnvironmentIds") or [])


def _vercel_var(env: Mapping[str, Any], capped: bool) -> DeployedVar:
    name, value = env["key"], env.get("value")
    if env.get("type") == "sensitive":
        return DeployedVar(name, None, "Vercel sensitive variable: its value cannot be read back")
    if _vercel_encrypted(env):
        why = f"more than {MAX_DECRYPTS} encrypted variables: the rest were not read" if capped \
            else "Vercel encrypted variable the token cannot decrypt"
        return DeployedVar(name, None, why)
    return DeployedVar(name, value if isinstance(value, str) else "")


def _next_link(response: Response) -> str | None:
    """RFC 8288 `Link: <url>; rel="next"` (GitHub, Netlify), parsed the way httpx parses it."""
    link = httpx.Response(response.status, headers=response.headers).links.get("next")
    return link.get("url") if link else None


async def _netlify(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    # GET /api/v1/sites/{site_id} for the account, then GET /api/v1/accounts/{account_id}/env?site_id=&context_name=
    # (https://open-api.netlify.com/#tag/environmentVariables/operation/getEnvVars); lists page with Link headers
    # (https://docs.netlify.com/api/get-started/#pagination).
    site, _, context = spec.argument.partition(":")
    context = context or opts.environment
    api = _Api.connect("netlify", spec, opts)
    found: dict[str, DeployedVar] = {}
    site_doc = _json(await api.call("GET", f"/api/v1/sites/{quote(site, safe='')}", what=f"site {site!r}"),
                     spec.label)
    account = site_doc.get("account_id") if isinstance(site_doc, dict) else None
    site_id = site_doc.get("id", site) if isinstance(site_doc, dict) else site
    if not isinstance(account, str):
        raise SourceError(f"{spec.label}: the site document has no account_id")
    url: str | None = f"/api/v1/accounts/{quote(account, safe='')}/env"
    params: Mapping[str, str] | None = {"site_id": str(site_id), "context_name": context}
    for _ in range(MAX_PAGES):
        if url is None:
            break
        response = await api.call("GET", url, params=params, what=f"environment of site {site!r}")
        body = _json(response, spec.label)
        for env in body if isinstance(body, list) else []:
            if isinstance(env, dict) and isinstance(env.get("key"), str):
                found[env["key"]] = _netlify_var(env, context)
        url, params = _next_link(response), None
    return Deployed(label=spec.label, vars=found)


def _netlify_var(env: Mapping[str, Any], context: str) -> DeployedVar:
    values = [v for v in env.get("values") or [] if isinstance(v, dict)]
    chosen = next((v for v in values if v.get("context") == context), None) or next(
        (v for v in values if v.get("context") == "all"), None)
    value = chosen.get("value") if chosen else None
    if env.get("is_secret") and not value:
        return DeployedVar(env["key"], None, "Netlify secret variable: its value is not returned by the API")
    if chosen is None:
        return DeployedVar(env["key"], "")
    return DeployedVar(env["key"], value if isinstance(value, str) else "")


async def _render(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    # GET /v1/services/{serviceId}/env-vars?limit=&cursor= answers [{"envVar": {"key", "value"}, "cursor"}]
    # (https://api-docs.render.com/reference/get-env-vars-for-service); an empty page ends the list.
    api = _Api.connect("render", spec, opts)
    found: dict[str, DeployedVar] = {}
    params = {"limit": "100"}
    for _ in range(MAX_PAGES):
        response = await api.call("GET", f"/v1/services/{quote(spec.argument, safe='')}/env-vars",
                                  params=params, what=f"service {spec.argument!r}")
        body = _json(response, spec.label)
        rows = [r for r in body if isinstance(r, dict)] if isinstance(body, list) else []
        for row in rows:
            env = row.get("envVar")
            if isinstance(env, dict) and isinstance(env.get("key"), str):
                value = env.get("value")
                found[env["key"]] = DeployedVar(env["key"], value if isinstance(value, str) else "")
        cursor = rows[-1].get("cursor") if rows else None
        if not rows or not isinstance(cursor, str) or len(rows) < int(params["limit"]):
            break
        params = {**params, "cursor": cursor}
    return Deployed(label=spec.label, vars=found)


async def _heroku(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    # GET /apps/{app}/config-vars answers one object of names to values; no paging
    # (https://devcenter.heroku.com/articles/platform-api-reference#config-vars-info-for-app).
    api = _Api.connect("heroku", spec, opts, headers={"Accept": "application/vnd.heroku+json; version=3"})
    response = await api.call("GET", f"/apps/{quote(spec.argument, safe='')}/config-vars",
                              what=f"app {spec.argument!r}")
    body = _json(response, spec.label)
    if not isinstance(body, dict):
        raise SourceError(f"{spec.label}: config-vars is not an object")
    return _from_values(spec.label, {str(k): _scalar(v) for k, v in body.items()})


_RAILWAY_QUERY = (
    "query variables($projectId: String!, $environmentId: String!, $serviceId: String) "
    "{ variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) }"
)


async def _railway(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    # POST /graphql/v2 `variables(projectId, environmentId, serviceId)` answers a JSON object of names to values
    # (https://docs.railway.com/guides/manage-variables#using-the-public-api). GraphQL reports refused
    # tokens as `errors` in a 200 answer.
    parts = spec.argument.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise ConfigError(f"env.deployed: {spec.label}: use railway:PROJECT_ID:ENVIRONMENT_ID[:SERVICE_ID]")
    variables = {"projectId": parts[0], "environmentId": parts[1], "serviceId": parts[2] if len(parts) == 3 else None}
    api = _Api.connect("railway", spec, opts)
    response = await api.call("POST", "/graphql/v2", json_body={"query": _RAILWAY_QUERY, "variables": variables},
                              what=f"project {parts[0]!r}")
    body = _json(response, spec.label)
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        message = _error_message(response)
        if "auth" in message.lower() or "token" in message.lower():
            raise ConfigError(f"env.deployed: {spec.label}: the railway API refused the token in {api.token_var} ({message})")
        raise SourceError(f"{spec.label}: railway API error: {message}")
    data = body.get("data", {}).get("variables") if isinstance(body, dict) and isinstance(body.get("data"), dict) else None
    if not isinstance(data, dict):
        raise SourceError(f"{spec.label}: the answer has no data.variables object")
    return _from_values(spec.label, {str(k): _scalar(v) for k, v in data.items()})


async def _fly(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    # GET /v1/apps/{app_name}/secrets answers {"secrets": [{"name", "digest", "created_at", ...}]}; values are
    # write-only (https://fly.io/docs/apps/secrets/, https://fly.io/docs/machines/api/).
    api = _Api.connect("fly", spec, opts)
    response = await api.call("GET", f"/v1/apps/{quote(spec.argument, safe='')}/secrets",
                              what=f"app {spec.argument!r}")
    body = _json(response, spec.label)
    rows = body.get("secrets") if isinstance(body, dict) else body
    found: dict[str, DeployedVar] = {}
    for row in rows if isinstance(rows, list) else []:
        name = row.get("name", row.get("label")) if isinstance(row, dict) else None
        if isinstance(name, str):
            digest = row.get("digest")
            found[name] = DeployedVar(name, None, "Fly.io secrets are write-only: the API returns names and digests",
                                      str(digest) if digest else None)
    return Deployed(label=spec.label, vars=found)


async def _github(spec: SourceSpec, opts: SourceOptions) -> Deployed:
    # Organisation, repository and environment secrets (names only) and variables (names and values):
    # https://docs.github.com/en/rest/actions/secrets#list-repository-organization-secrets,
    # https://docs.github.com/en/rest/actions/variables#list-repository-organization-variables,
    # https://docs.github.com/en/rest/actions/secrets#list-repository-secrets,
    # https://docs.github.com/en/rest/actions/variables#list-repository-variables, and the
    # /environments/{environment_name}/ forms; paged with Link headers
    # (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api).
    repo, _, environment = spec.argument.partition(":")
    if repo.count("/") != 1:
        raise ConfigError(f"env.deployed: {spec.label}: use github:OWNER/REPO[:ENVIRONMENT]")
    owner, name = (quote(p, safe="") for p in repo.split("/"))
    api = _Api.connect("github", spec, opts, headers={"Accept": "application/vnd.github+json",
                                                      "X-GitHub-Api-Version": "2022-11-28"})
    lists = [(f"/repos/{owner}/{name}/actions/organization-{c}", c) for c in ("secrets", "variables")]
    lists += [(f"/repos/{owner}/{name}/actions/{c}", c) for c in ("secrets", "variables")]
    if environment:
        lists += [(f"/repos/{owner}/{name}/environments/{quote(environment, safe='')}/{c}", c) for c in ("secrets", "variables")]
    found: dict[str, DeployedVar] = {}
    # Organisation entries the repository can see, then the repository's, then the environment's: a later level
    # overrides an earlier one, as in a workflow run.
    for url, collection in lists:
        await _github_list(api, url, collection, found)
    return Deployed(label=spec.label, vars=found)


async def _github_list(api: _Api, url: str, collection: str,
                       found: dict[str, DeployedVar]) -> None:
    params: Mapping[str, str] | None = {"per_page": "30" if collection == "variables" else "100"}
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        response = await api.call("GET", next_url, params=params, what=f"{api.spec.argument} ({collection})")
        body = _json(response, api.spec.label)
        for row in body.get(collection, []) if isinstance(body, dict) else []:
            if not isinstance(row, dict) or not isinstance(row.get("name"), str):
                continue
            if collection == "secrets":
                found[row["name"]] = DeployedVar(row["name"], None, "GitHub Actions secrets are write-only")
            else:
                value = row.get("value")
                found[row["name"]] = DeployedVar(row["name"], value if isinstance(value, str) else "")
        next_url, params = _next_link(response), None


_LOADERS: dict[str, Callable[[SourceSpec, SourceOptions], Awaitable[Deployed]]] = {
    "dotenv": _dotenv,
    "process": _process,
    "command": _command,
    "vercel": _vercel,
    "netlify": _netlify,
    "render": _render,
    "heroku": _heroku,
    "railway": _railway,
    "fly": _fly,
    "github": _github,
}
