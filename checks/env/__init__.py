"""The env family: does the deployed environment have every variable the manifest declares, with real,
production-grade values? And does the live bundle show test keys, localhost URLs or unresolved config?

Needs no target: the manifest and the deployed sources are read once per run (`_state`, memoised), and each
check judges them. With a target, test-credential, localhost-url and unresolved also read the served page,
scripts and source maps that the secrets family fetched (`checks.secrets.bundle`).

Secret values are never printed: a result names the variable and shows `probe.redact.mask(value)` (length and a
short hash), and every secret value read from a source is registered with the run's redactor. A value is secret
when the variable is (`_secret_like`: kind `secret` in the manifest or guessed from its name, or a value with a
known server credential's format); the password inside a URL is secret too. Other values (hosts, URLs, ports,
project names, flags) are shown: a finding about a localhost URL shows the URL.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from probe.checks import wordlists
from probe.checks.env import rules
from probe.checks.env.manifest import KINDS, Kind, Manifest, ManifestError, VarSpec, guess_kind, load_manifest
from probe.checks.env.sources import (
    EXAMPLES,
    HOSTING,
    PLATFORMS,
    Deployed,
    DeployedVar,
    SourceError,
    SourceOptions,
    SourceSpec,
    load,
    parse_spec,
)
from probe.checks.secrets.bundle import Text, bundle, excerpt
from probe.checks.secrets.defaults import library_default
from probe.checks.secrets.formats import KeyClass, classify, jwt_claims
from probe.config import ConfigError, Section, rebase_path
from probe.context import CheckContext, MemoKey
from probe.guards import Skip, Unavailable
from probe.model import FileLocation, Result, Severity
from probe.redact import mask
from probe.registry import Family, check
from probe.template import Block, Discovery, Marker, advice, live, toml_string, wrap

FAMILY = Family(
    group="configuration",
    unlock="set [env] manifest (your .env.example) and deployed (dotenv:PATH, process, vercel:APP, heroku:APP ...)",
)

PRODUCTION_NAMES = frozenset({"production", "prod", "live"})
STAGING_NAMES = frozenset({"staging", "stage", "preview", "uat", "qa"})
TWELVE_FACTOR = "https://12factor.net/config"
OWASP_SECRETS = "https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html"
# Variable names `probe init` lists from the manifest it finds, at most.
MAX_LISTED_VARS = 40
# Characters of one served text searched by the regex rules (the same cap as the secrets scan).
SCAN_LIMIT = 8_000_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# http(s) URLs whose host is loopback, unspecified, private (RFC 1918), link-local or mDNS `.local`.
_LOCAL_HOST = re.compile(
    r"^(?:localhost|[\w-]+\.localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|0\.0\.0\.0|\[?::1\]?|10\.\d{1,3}\.\d{1,3}\.\d{1,3}|"
    r"192\.168\.\d{1,3}\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])\.\d{1,3}\.\d{1,3}|169\.254\.\d{1,3}\.\d{1,3}|[\w.-]+\.local)$",
    re.IGNORECASE,
)
_URL_IN_TEXT = re.compile(r"""\b[a-z][a-z0-9+.-]{1,15}://[^\s"'`<>()\\]{3,300}""", re.IGNORECASE)
_ESCAPED_QUOTE = re.compile(r"&(?:quot|#34|#x22|#39|#x27|apos);", re.IGNORECASE)


class VarRule(Section):
    """One `[env.vars.NAME]` table: what a variable must look like."""

    required: bool = True
    kind: Kind | None = None
    pattern: str | None = None
    min_length: int | None = Field(default=None, ge=1, le=10_000)
    public: bool | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression ({exc})") from None
        return value


class EnvSettings(Section):
    manifest: str | None = Field(default=None, description="the env manifest [default: .env.example if present]")
    deployed: tuple[str, ...] = Field(default=(), description="deployed-environment sources (dotenv:, process, vercel: ...)")
    environment: str = Field(default="production", description="which rules apply: production, staging, development")
    compare: tuple[str, ...] = Field(default=(), description="two environments to compare for shared secrets")
    vars: dict[str, VarRule] = Field(default_factory=dict)
    api: dict[str, str] = Field(default_factory=dict, description="API base URL per platform (proxies, tests)")
    command_timeout: float = Field(default=60.0, gt=0, le=600)

    @classmethod
    def rebase(cls, table: dict[str, Any], base: Path) -> dict[str, Any]:
        """`manifest` and the paths of `dotenv:` sources in `deployed` and `compare`, from the config file's folder."""
        out = dict(table)
        if "manifest" in out:
            out["manifest"] = rebase_path(out["manifest"], base)
        for key in ("deployed", "compare"):
            value = out.get(key)
            if isinstance(value, str):
                out[key] = _rebase_source(value, base)
            elif isinstance(value, list):
                out[key] = [_rebase_source(v, base) if isinstance(v, str) else v for v in value]
        return out

    @field_validator("deployed", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("deployed")
    @classmethod
    def _known_sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                parse_spec(item)
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("env.deployed: ")) from None
        return value

    @field_validator("compare")
    @classmethod
    def _two(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if value and len(value) != 2:
            raise ValueError("give exactly two environments to compare (e.g. [\"staging\", \"production\"])")
        return value

    def scope_hosts(self) -> list[str]:
        """The API hosts of the hosting platforms this section reads, so the run's client may reach them."""
        hosts: list[str] = []
        for text in (*self.deployed, *self.compare):
            try:
                spec = parse_spec(text)
            except ConfigError:
                continue  # a `compare` entry that names an environment, not a source
            if spec.kind in PLATFORMS:
                parts = urlsplit(self.api.get(spec.kind, PLATFORMS[spec.kind][0]))
                hosts.append(f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or "")
        return [h for h in hosts if h]

    @field_validator("api")
    @classmethod
    def _urls(cls, value: dict[str, str]) -> dict[str, str]:
        for platform, url in value.items():
            if urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"{platform}: expected an http(s) base URL")
        return value

    init_order: ClassVar[int] = 90
    init_hosting: ClassVar[tuple[Marker, ...]] = HOSTING

    @classmethod
    def init_block(cls, found: Discovery) -> Block:
        """The manifest `probe init` found in the folder (its variable names, never values), and the hosting
        platform to read the deployed values from when a response named one."""
        name = found.platform[0] if found.platform else ""
        deployed = (
            f'# deployed = "{name}:{EXAMPLES[name]}"   # TODO: {name} detected; the API token comes from the environment\n'
            if name in PLATFORMS
            else '# deployed = "dotenv:.env.production"   # TODO: or process, vercel:APP:ENV, heroku:APP, fly:APP, '
            "render:ID ...\n"
        )
        if found.manifest is None:
            return advice("# --- environment: TODO (no .env.example here). The manifest of variables the app reads:\n"
                          '# [env]\n# manifest = ".env.example"\n' + deployed)
        manifest, variables = found.manifest
        listed = ", ".join(variables[:MAX_LISTED_VARS]) + (" ..." if len(variables) > MAX_LISTED_VARS else "")
        lines = [f"# --- environment: {manifest} declares {len(variables)} variables:", *wrap(listed)]
        lines.append("# TODO: say where the deployed values are read from, so each one is checked for a real value.")
        return live("\n".join(lines) + f"\n[env]\nmanifest = {toml_string(manifest)}\n" + deployed)


CONFIG_SECTIONS = {"env": EnvSettings}
# `[LABEL=]dotenv:PATH`: the one source kind that names a file.
_DOTENV_SOURCE = re.compile(r"^(\s*(?:[\w-]+\s*=\s*)?dotenv:)(.+)$", re.IGNORECASE)


def _rebase_source(text: str, base: Path) -> str:
    match = _DOTENV_SOURCE.match(text)
    return f"{match.group(1)}{rebase_path(match.group(2).strip(), base)}" if match else text


@dataclass(frozen=True)
class EnvState:
    environment: str
    manifest: Manifest | None
    deployed: Deployed | None
    problem: str = ""  # a source could not be read: every check that needs it reports this as an error
    compared: tuple[Deployed, ...] = ()
    compare_problem: str = ""

    @property
    def production(self) -> bool:
        return self.environment.lower() in PRODUCTION_NAMES

    @property
    def deployed_like(self) -> bool:
        """Staging and preview get the debug and localhost rules too: they face testers, clients, crawlers."""
        return self.production or self.environment.lower() in STAGING_NAMES


def _secret_like(manifest: Manifest | None, name: str, value: str | None) -> bool:
    """A variable whose value must not be shown: the manifest says (or its name says) it is a secret, or its value
    has the format of a known server credential."""
    spec = manifest.get(name) if manifest else None
    if (spec.kind if spec else guess_kind(name, None)) == "secret":
        return True
    found = classify(value.strip()) if value and value.strip() else None
    return found is not None and found.key_class is KeyClass.SERVER


def _register_secrets(ctx: CheckContext, manifest: Manifest | None, sources: Iterable[Deployed]) -> None:
    for source in sources:
        for var in source.vars.values():
            if not var.value:
                continue
            if _secret_like(manifest, var.name, var.value):
                ctx.redactor.add(var.value)
            ctx.redactor.add(rules.url_password(var.value))


def _shown(manifest: Manifest | None, var: DeployedVar) -> str:
    """The value as a report may show it: masked when secret, with a URL's password masked, otherwise as it is."""
    value = var.value or ""
    if not value:
        return "(empty)"
    if _secret_like(manifest, var.name, value):
        return mask(value)
    password = rules.url_password(value)
    return value.replace(f":{password}@", f":{mask(password)}@") if password else value


def _options(ctx: CheckContext, settings: EnvSettings) -> SourceOptions:
    import os

    return SourceOptions(
        environ=dict(os.environ),
        endpoints=settings.api,
        environment=settings.environment,
        timeout=ctx.settings.timeout,
        deadline=time.monotonic() + ctx.settings.max_duration,
        command_timeout=settings.command_timeout,
        cwd=Path.cwd(),
        register=ctx.redactor.add,
        http=ctx.http,
    )


STATE: MemoKey[EnvState] = MemoKey("env:state")


async def _state(ctx: CheckContext) -> EnvState:
    return await ctx.memo.get(STATE, lambda: _load_state(ctx))


async def _load_state(ctx: CheckContext) -> EnvState:
    await wordlists.loaded()  # the weak-secret judgement looks values up in the published lists
    settings = ctx.section(EnvSettings)
    explicit = settings.manifest is not None
    path = Path(settings.manifest).expanduser() if explicit else Path.cwd() / ".env.example"  # type: ignore[arg-type]
    try:
        manifest = load_manifest(path, {k: v.model_dump(exclude_unset=True) for k, v in settings.vars.items()},
                                 explicit=explicit)
    except ManifestError as exc:
        raise ConfigError(f"env.manifest: {exc}") from None
    opts = _options(ctx, settings)
    specs = [parse_spec(s) for s in settings.deployed]
    deployed: Deployed | None = None
    problem = ""
    if specs:
        try:
            deployed = merge([await load(spec, opts) for spec in specs])
        except SourceError as exc:
            problem = f"cannot read the deployed environment: {exc}"
    compared: tuple[Deployed, ...] = ()
    compare_problem = ""
    if settings.compare:
        try:
            compared = tuple([await _compare_side(name, specs, deployed, settings, opts) for name in settings.compare])
        except SourceError as exc:
            compare_problem = f"cannot read an environment to compare: {exc}"
    _register_secrets(ctx, manifest, [*([deployed] if deployed else []), *compared])
    return EnvState(settings.environment, manifest, deployed, problem, compared, compare_problem)


async def _compare_side(name: str, specs: list[SourceSpec], deployed: Deployed | None, settings: EnvSettings,
                        opts: SourceOptions) -> Deployed:
    """A `compare` entry: the label of a deployed source, the environment's own name (the merged deployed
    environment), or a source of its own (`staging=dotenv:.env.staging`, `vercel:app:preview`)."""
    for spec in specs:
        if name == spec.label:
            return await load(spec, opts)
    if name == settings.environment and deployed is not None:
        return deployed
    return await load(parse_spec(name), opts)


def merge(sources: list[Deployed]) -> Deployed:
    """Several sources of one environment: names are the union; a readable value wins over a hidden one."""
    if len(sources) == 1:
        return sources[0]
    merged: dict[str, DeployedVar] = {}
    for source in sources:
        for name, var in source.vars.items():
            if name not in merged or (merged[name].value is None and var.value is not None):
                merged[name] = var
    return Deployed(label=" + ".join(s.label for s in sources), vars=merged, app_only=all(s.app_only for s in sources))


# --- helpers shared by the checks ----------------------------------------------------------------------------

NO_MANIFEST = "no env manifest: add .env.example to the working directory, or set [env] manifest / [env.vars]"
NO_DEPLOYED = "no deployed environment: pass --deployed SOURCE (dotenv:.env.production, vercel:app ...) or set [env] deployed"


def _loc(state: EnvState, name: str) -> str:
    return f"env:{state.environment}/{name}"


def _file(state: EnvState, name: str) -> FileLocation | None:
    spec = state.manifest.get(name) if state.manifest else None
    if state.manifest is None or state.manifest.path is None:
        return None
    path = Path(state.manifest.path)
    try:
        shown = str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        shown = str(path)
    return FileLocation(shown, spec.line if spec else None)


def _evidence(state: EnvState, var: DeployedVar, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"variable": var.name, "source": state.deployed.label if state.deployed else ""}
    if var.value is not None:
        out.update({"length": len(var.value), "value": _shown(state.manifest, var)})
    return {**out, **extra}


async def _deployed(ctx: CheckContext, *, manifest: bool = False) -> EnvState:
    """The run's env state with a deployed environment to judge (and a manifest, when asked for); Skip or Unavailable
    saying what is missing otherwise."""
    state = await _state(ctx)
    if manifest and state.manifest is None:
        raise Skip(NO_MANIFEST, "env")
    if state.problem:
        raise Unavailable(state.problem, "env")
    if state.deployed is None:
        raise Skip(NO_DEPLOYED, "env")
    return state


def _candidates(state: EnvState) -> list[DeployedVar]:
    """The deployed variables the value rules judge: all of an app-only source; only declared ones of the
    process environment (whose other variables belong to the OS)."""
    assert state.deployed is not None
    if state.deployed.app_only:
        return list(state.deployed.vars.values())
    declared = state.manifest.names if state.manifest else frozenset()
    return [v for n, v in state.deployed.vars.items() if n in declared]


def _judge_values(
    ctx: CheckContext,
    state: EnvState,
    judge: Callable[[DeployedVar], Result | None],
    *,
    applies: Callable[[DeployedVar], bool] = lambda _v: True,
    what: str,
) -> list[Result]:
    """Run a value rule over the candidates: a result per failing variable; otherwise one pass; and a skip
    naming the variables whose value the source would not reveal (they were not tested)."""
    failing: list[Result] = []
    hidden: list[DeployedVar] = []
    judged = 0
    for var in sorted(_candidates(state), key=lambda v: v.name):
        if not applies(var):
            continue
        if var.value is None:
            hidden.append(var)
            continue
        judged += 1
        result = judge(var)
        if result is not None:
            failing.append(result)
    results = failing
    if not failing and judged:
        results = [ctx.passed(f"env:{state.environment}", f"{judged} variable(s) checked for {what}: none found.")]
    if hidden:
        reasons = sorted({v.hidden for v in hidden if v.hidden})
        results.append(ctx.skip(
            f"env:{state.environment}",
            f"values not readable, not tested for {what}: {', '.join(v.name for v in hidden[:20])}"
            f"{' ...' if len(hidden) > 20 else ''} ({'; '.join(reasons) or 'the source gives names only'}). "
            "Run `probe env --deployed process` inside the deployment to test them.",
        ))
    if not results:
        results = [ctx.skip(f"env:{state.environment}", f"no deployed variable this rule applies to ({what})")]
    return results


def _require_environment(state: EnvState, *, staging_too: bool) -> None:
    if state.production or (staging_too and state.deployed_like):
        return
    applies = "production and staging" if staging_too else "production"
    raise Skip(f"environment is {state.environment!r}; this rule applies to {applies} (--environment production)",
               f"env:{state.environment}")


async def _served(ctx: CheckContext, find: Callable[[str], Iterable[tuple[int, int, str, str]]], kind: str,
                  what: str) -> list[Result]:
    """The served half of a check: a failure per match in the page, scripts and source maps; no result without a
    target; an error when scripts the page loads could not be read."""
    if not ctx.target:
        return []
    served = await bundle(ctx)
    hits = _bundle_hits(ctx, served.texts, find, kind)
    if hits:
        return hits
    return [served.unread_error(ctx) or ctx.passed(
        ctx.location, f"No {what} in {len(served.texts)} served text(s): {served.coverage}.")]


async def _with_deployed(ctx: CheckContext, served: list[Result],
                         judge_deployed: Callable[[EnvState], list[Result]]) -> list[Result]:
    """A check with two halves, the deployed values and the served bundle: a deployed half that cannot run adds its
    skip or error without hiding the bundle's verdict."""
    try:
        state = await _deployed(ctx)
    except Skip as skipped:
        return [ctx.skip(skipped.location or ctx.location, skipped.reason), *served]
    except Unavailable as missing:
        return [ctx.error(missing.location or ctx.location, missing.reason), *served]
    return [*judge_deployed(state), *served]


# --- the checks ----------------------------------------------------------------------------------------------


@check(
    id="env.missing",
    title="Every required variable is deployed",
    severity=Severity.HIGH,
    cwe=1188,
    needs_target=False,
    summary="Every variable the manifest (.env.example or [env.vars]) marks required exists in the deployed environment.",
    risk="A variable missing in production is how a release that worked in the preview crashes at the first "
    "request that needs it, or silently falls back to an insecure default (no webhook secret, no SMTP, test mode).",
    fix="Set the variable on the platform (vercel env add NAME production, heroku config:set NAME=..., fly secrets "
    "set NAME=..., kubectl create secret ...) or mark it `# optional` in .env.example if the app really runs without it.",
    references=(TWELVE_FACTOR,),
)
async def missing(ctx: CheckContext) -> list[Result]:
    state = await _deployed(ctx, manifest=True)
    assert state.manifest is not None and state.deployed is not None
    results = [
        ctx.fail(_loc(state, spec.name), f"{spec.name} is required by the manifest but not set in {state.deployed.label}.",
                 kind="missing", file=_file(state, spec.name),
                 evidence={"variable": spec.name, "source": state.deployed.label,
                           "manifest": state.manifest.path or "[env.vars]"})
        for spec in state.manifest.vars
        if spec.required and spec.name not in state.deployed.vars
    ]
    required = sum(1 for s in state.manifest.vars if s.required)
    shown = f"All {required} required variable(s) are set in {state.deployed.label}."
    return results or [ctx.passed(f"env:{state.environment}", shown)]


@check(
    id="env.empty",
    title="No required variable is empty",
    severity=Severity.HIGH,
    cwe=1188,
    needs_target=False,
    summary="Required variables are not set to an empty value (one the manifest leaves empty or marks optional may be).",
    risk="An empty value passes a presence check but behaves like a missing one: signatures verified with an empty "
    "secret, mail sent through no server, features that quietly switch off.",
    fix="Give the variable its real value on the platform, or mark it `# optional` in the manifest.",
    references=(TWELVE_FACTOR,),
)
async def empty(ctx: CheckContext) -> list[Result]:
    state = await _deployed(ctx)

    def required(var: DeployedVar) -> bool:
        spec = state.manifest.get(var.name) if state.manifest else None
        return not spec.may_be_empty if spec else state.manifest is None

    def judge(var: DeployedVar) -> Result | None:
        if var.value is not None and not var.value.strip():
            return ctx.fail(_loc(state, var.name), f"{var.name} is set but empty.", kind="empty",
                            file=_file(state, var.name), evidence=_evidence(state, var))
        return None

    return _judge_values(ctx, state, judge, applies=required, what="empty required values")


def _placeholder(state: EnvState, var: DeployedVar) -> str | None:
    value = var.value or ""
    if not value.strip():
        return None
    reason = rules.placeholder_reason(value)
    if reason:
        return reason
    # The manifest's sample is published with the code: a secret that kept it is known to everyone who read it.
    # A non-secret that kept it (PROJECT_NAME, POSTGRES_USER, DOCKER_IMAGE_BACKEND) is a deliberate default.
    spec = state.manifest.get(var.name) if state.manifest else None
    if spec is not None and spec.sample and value == spec.sample and _secret_like(state.manifest, var.name, value):
        return "same value as the sample in the manifest"
    return None


@check(
    id="env.placeholder",
    title="No placeholder values",
    severity=Severity.HIGH,
    cwe=1188,
    needs_target=False,
    summary="No deployed value is a placeholder (changethis, changeme, replace-me, your-api-key, <...>, TODO), and no secret "
    "is the manifest's own sample.",
    risk="A placeholder copied from .env.example is either a credential that does not work (payments, mail and "
    "logins fail) or a publicly known one (anyone who read the example can sign sessions).",
    fix="Replace the value with the real one for this environment; generate secrets with `openssl rand -hex 32`.",
    references=(TWELVE_FACTOR,),
)
async def placeholder(ctx: CheckContext) -> list[Result]:
    state = await _deployed(ctx)

    def judge(var: DeployedVar) -> Result | None:
        reason = _placeholder(state, var)
        if reason is None:
            return None
        return ctx.fail(_loc(state, var.name), f"{var.name} holds a placeholder ({reason}).", kind="placeholder",
                        file=_file(state, var.name), evidence=_evidence(state, var, looks_like=reason))

    return _judge_values(ctx, state, judge, what="placeholders")


def _bundle_hits(ctx: CheckContext, texts: Iterable[Text], find: Callable[[str], Iterable[tuple[int, int, str, str]]],
                 kind: str) -> list[Result]:
    """Fail once per (url, label) for matches in served texts. `find` yields (start, end, matched, label)."""
    results: list[Result] = []
    seen: set[tuple[str, str]] = set()
    for text in texts:
        for start, end, matched, label in find(text.text):
            if (text.url, label) in seen or len(results) >= 20:
                continue
            seen.add((text.url, label))
            if kind == "test-credential":
                ctx.redactor.add(matched)
            results.append(ctx.fail(
                text.url,
                f"{label} in the {text.origin}.",
                kind=f"bundle:{kind}:{label}",
                evidence={"request": {"method": "GET", "url": text.url}, "found": label,
                          "excerpt": excerpt(text.text, start, end, matched)},
            ))
    return results


@check(
    id="env.test-credential",
    title="No test-mode credentials in production",
    severity=Severity.HIGH,
    cwe=1188,
    needs_target=False,
    summary="Production uses live keys: no Stripe/Clerk sk_test_/pk_test_, Razorpay rzp_test_, PayPal or Paddle sandbox.",
    risk="With test keys in production, checkouts succeed without charging anyone, webhooks come from the wrong "
    "account, and real customers' payments or sign-ins fail.",
    fix="Set the live keys for production on the platform (Stripe dashboard → Developers → API keys, live mode) and "
    "rebuild the front end so the bundle carries the live publishable key.",
    references=("https://docs.stripe.com/keys#test-live-modes", "https://clerk.com/docs/deployments/overview"),
)
async def test_credential(ctx: CheckContext) -> list[Result]:
    _require_environment(await _state(ctx), staging_too=False)

    def find(text: str) -> Iterable[tuple[int, int, str, str]]:
        for marker in rules.SANDBOX_MARKERS:
            if marker.names is None:
                for match in marker.pattern.finditer(text[:SCAN_LIMIT]):
                    yield match.start(), match.end(), match.group(0), marker.provider

    def judge_deployed(state: EnvState) -> list[Result]:
        def judge(var: DeployedVar) -> Result | None:
            marker = rules.sandbox_marker(var.name, var.value or "")
            if marker is None:
                return None
            return ctx.fail(_loc(state, var.name), f"{var.name} holds a {marker.provider} in {state.environment}.",
                            kind="test-credential", file=_file(state, var.name),
                            evidence=_evidence(state, var, provider=marker.provider, reference=marker.source))

        return _judge_values(ctx, state, judge, what="test-mode credentials")

    served = await _served(ctx, find, "test-credential", "test-mode keys or sandbox URLs")
    return await _with_deployed(ctx, served, judge_deployed)



def _local_urls(text: str, own_netloc: str, *, configured: bool = False) -> Iterable[tuple[int, int, str, str]]:
    """Local URLs in `text`. `configured`: the text is a deployed value, where even a bare `http://localhost` is an
    address the app will use (in a served script it may be a parsing idiom, see below)."""
    for match in _URL_IN_TEXT.finditer(text[:SCAN_LIMIT]):
        # An HTML-escaped quote ends the URL: JSON settings in a `data-` attribute (`&#34;ws://host:8080/&#34;`).
        url = _ESCAPED_QUOTE.split(match.group(0), 1)[0].rstrip(".,;")
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = parts.port
        except ValueError:
            continue
        if not _LOCAL_HOST.match(host) or parts.netloc.lower() == own_netloc:
            continue
        # `new URL(path, "http://localhost")` is a parsing idiom in libraries, not configuration: only a URL
        # with a port or a path points at a service.
        if port is None and parts.path in ("", "/") and not configured:
            continue
        # A client library's built-in default (GoTrue's localhost:9999, an emulator's address) is not the app's setting.
        if library_default(text, match.start(), match.start() + len(url)) is not None:
            continue
        # Scheme, host and port only: the userinfo of a database URL is its password.
        shown = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
        yield match.start(), match.start() + len(url), url, shown


@check(
    id="env.localhost-url",
    title="No localhost or private-network URLs",
    severity=Severity.HIGH,
    cwe=1188,
    needs_target=False,
    summary="Deployed URLs and the served bundle do not point at localhost, 127.0.0.1, 0.0.0.0, private ranges or .local.",
    risk="A production front end calling http://localhost:8000 fails for every visitor; a server pointed at a private "
    "address talks to whatever answers there, or to nothing, and callbacks (OAuth, webhooks, emails) link to dead hosts.",
    fix="Set the real public URL for this environment (NEXT_PUBLIC_API_URL, VITE_API_URL, APP_URL ...) on the "
    "platform and rebuild: browser variables are baked in at build time.",
    references=(TWELVE_FACTOR,),
)
async def localhost_url(ctx: CheckContext) -> list[Result]:
    _require_environment(await _state(ctx), staging_too=True)
    own = urlsplit(ctx.target).netloc.lower() if ctx.target else ""
    def judge_deployed(state: EnvState) -> list[Result]:
        def judge(var: DeployedVar) -> Result | None:
            # A list of URLs (CORS origins: `http://localhost,http://localhost:5173`) is judged URL by URL.
            value = " ".join(re.split(r"[,;\s]+", (var.value or "").strip()))
            for _start, _end, _url, shown in _local_urls(value, "", configured=True):
                return ctx.fail(_loc(state, var.name), f"{var.name} points at {shown}.", kind="localhost-url",
                                file=_file(state, var.name), evidence=_evidence(state, var, host=shown))
            return None

        return _judge_values(ctx, state, judge, what="localhost or private-network URLs")

    served = await _served(ctx, lambda t: _local_urls(t, own), "localhost-url", "localhost or private-network URLs")
    return await _with_deployed(ctx, served, judge_deployed)


@check(
    id="env.debug-flag",
    title="No debug or development mode flags",
    severity=Severity.HIGH,
    cwe=489,
    needs_target=False,
    summary="DEBUG, NODE_ENV, APP_ENV, FLASK_DEBUG, RAILS_ENV, APP_DEBUG, ASPNETCORE_ENVIRONMENT ... are production values.",
    risk="Development mode turns on interactive debuggers (remote code execution with Werkzeug), detailed error pages "
    "with settings and stack traces, unminified slow builds and disabled security checks.",
    fix="Set the production value: DEBUG=False (Django), FLASK_DEBUG=0, NODE_ENV=production, APP_ENV=production and "
    "APP_DEBUG=false (Laravel), RAILS_ENV=production, ASPNETCORE_ENVIRONMENT=Production.",
    references=("https://docs.djangoproject.com/en/stable/howto/deployment/checklist/",),
)
async def debug_flag(ctx: CheckContext) -> list[Result]:
    state = await _deployed(ctx)
    _require_environment(state, staging_too=True)

    def judge(var: DeployedVar) -> Result | None:
        flag = rules.debug_flag(var.name, var.value or "")
        if flag is None:
            return None
        return ctx.fail(_loc(state, var.name), f"{var.name}={(var.value or '').strip()} turns on development mode "
                        f"({flag.framework}) in {state.environment}.", kind="debug-flag", file=_file(state, var.name),
                        remediation=f"Set {flag.setting} for {state.environment}.",
                        evidence=_evidence(state, var, framework=flag.framework, reference=flag.source))

    return _judge_values(ctx, state, judge, what="debug flags")


def _is_signing_secret(state: EnvState, var: DeployedVar) -> bool:
    spec = state.manifest.get(var.name) if state.manifest else None
    if spec is not None and spec.declared_kind:
        return spec.kind == "secret"
    return bool(rules.SIGNING_SECRET_NAMES.match(var.name)) and not (spec and spec.public)


def _weakness(var: DeployedVar, spec: VarSpec | None) -> tuple[str, str] | None:
    value = var.value or ""
    if not value.strip():
        return None  # env.empty's job
    default = rules.known_default(value)
    if default:
        return "known-default", f"a published default ({default})"
    if classify(value) is not None:
        return None  # a provider's key: its format, not ours, decides its strength
    minimum = spec.min_length if spec and spec.min_length else rules.MIN_SECRET_BYTES
    if len(value.encode()) < minimum:
        return "short", f"{len(value.encode())} bytes, fewer than {minimum}"
    bits = rules.entropy_bits_per_char(value)
    if bits < rules.MIN_ENTROPY_BITS_PER_CHAR or len(set(value)) < rules.MIN_DISTINCT_CHARS:
        return "low-entropy", f"low randomness ({bits:.1f} bits per character, {len(set(value))} distinct characters)"
    return None


@check(
    id="env.weak-secret",
    title="Signing secrets are long, random and not defaults",
    severity=Severity.HIGH,
    cwe=521,
    needs_target=False,
    summary="SECRET_KEY, JWT_SECRET, *_SECRET and the like are at least 32 bytes, random-looking and not a known default.",
    risk="A short or published secret (django-insecure-..., 'secret', 'keyboard cat') lets anyone forge session "
    "cookies, JWTs, password-reset links and webhook signatures, and log in as any user.",
    fix="Generate a new secret (`openssl rand -hex 32`, `python -c 'import secrets; print(secrets.token_urlsafe(48))'`), "
    "set it on the platform, and expect existing sessions to be logged out.",
    references=("https://docs.djangoproject.com/en/stable/ref/settings/#secret-key",
                "https://www.rfc-editor.org/rfc/rfc7518#section-3.2"),
)
async def weak_secret(ctx: CheckContext) -> list[Result]:
    state = await _deployed(ctx)

    def judge(var: DeployedVar) -> Result | None:
        spec = state.manifest.get(var.name) if state.manifest else None
        found = _weakness(var, spec)
        if found is None:
            return None
        kind, reason = found
        return ctx.fail(_loc(state, var.name), f"{var.name} is weak: {reason}.", kind=f"weak-secret:{kind}",
                        file=_file(state, var.name), evidence=_evidence(state, var, weakness=reason))

    return _judge_values(ctx, state, judge, applies=lambda v: _is_signing_secret(state, v), what="weak signing secrets")


def _exposed_to_browser(state: EnvState, var: DeployedVar) -> bool:
    spec = state.manifest.get(var.name) if state.manifest else None
    return rules.browser_prefix(var.name) is not None or bool(spec and spec.public)


@check(
    id="env.public-secret",
    title="No secret in a browser-exposed variable",
    severity=Severity.CRITICAL,
    cwe=200,
    needs_target=False,
    summary="NEXT_PUBLIC_, VITE_, REACT_APP_, PUBLIC_, EXPO_PUBLIC_, NUXT_PUBLIC_, GATSBY_ variables hold no server key.",
    risk="Bundlers copy these variables into the JavaScript every visitor downloads: a Stripe secret key or a "
    "Supabase service_role key there is published to the world.",
    fix="Rename the variable without the browser prefix and use it only in server code (API route, server action, "
    "edge function); rotate the key, since every past build published it.",
    references=(rules.BROWSER_PREFIXES[0][1], rules.BROWSER_PREFIXES[1][1]),
)
async def public_secret(ctx: CheckContext) -> list[Result]:
    state = await _deployed(ctx)

    def judge(var: DeployedVar) -> Result | None:
        value = var.value or ""
        found = classify(value)
        claims = jwt_claims(value.strip()) if value.strip().startswith("eyJ") else None
        reason = ""
        if found is not None and found.key_class is KeyClass.SERVER:
            reason = found.name
        elif claims is not None and claims.get("role") == "service_role":
            reason = "Supabase service_role JWT"
        elif value.strip() and re.search(r"SECRET|PRIVATE|PASSWORD", var.name, re.IGNORECASE):
            reason = "a value the variable's own name calls secret"
        if not reason:
            return None
        return ctx.fail(_loc(state, var.name), f"{var.name} is shipped to browsers and holds {reason}.",
                        kind="public-secret", file=_file(state, var.name), evidence=_evidence(state, var, holds=reason))

    return _judge_values(ctx, state, judge, applies=lambda v: _exposed_to_browser(state, v),
                         what="server secrets in browser variables")


@check(
    id="env.undeclared",
    title="Every deployed variable is declared in the manifest",
    severity=Severity.INFO,
    needs_target=False,
    summary="Variables set in the deployed environment that the manifest does not know (stale or undocumented).",
    risk="Undeclared variables are config nobody documents: stale credentials that still work, settings the next "
    "deploy target will not have.",
    fix="Add the variable to .env.example (with `# optional` if it is), or remove it from the platform if it is stale.",
    references=(TWELVE_FACTOR,),
)
async def undeclared(ctx: CheckContext) -> list[Result]:
    state = await _deployed(ctx, manifest=True)
    assert state.manifest is not None and state.deployed is not None
    if not state.deployed.app_only:
        return [ctx.skip(f"env:{state.environment}", "the process environment also holds the system's own variables; "
                         "undeclared variables are listed only for app-specific sources")]
    extra = sorted(set(state.deployed.vars) - state.manifest.names)
    results = [ctx.fail(_loc(state, name), f"{name} is set in {state.deployed.label} but not declared in the manifest.",
                        kind="undeclared", evidence={"variable": name, "source": state.deployed.label})
               for name in extra]
    return results or [ctx.passed(f"env:{state.environment}", "Every deployed variable is declared in the manifest.")]


def _kind_problem(spec: VarSpec, value: str) -> str | None:
    stripped = value.strip()
    if not stripped:
        return None
    if spec.kind == "url":
        parts = urlsplit(stripped)
        if not (parts.scheme and (parts.netloc or parts.scheme in ("file", "unix", "sqlite"))):
            return "not a URL (expected scheme://host...)"
    elif spec.kind == "bool" and stripped.lower() not in ("true", "false", "0", "1", "yes", "no", "on", "off"):
        return "not a boolean (true/false/1/0)"
    elif spec.kind == "email" and not _EMAIL.match(stripped):
        return "not an email address"
    if spec.pattern and not re.fullmatch(spec.pattern, stripped):
        return f"does not match the pattern {spec.pattern!r}"
    if spec.min_length and len(stripped) < spec.min_length and spec.kind != "secret":
        return f"shorter than {spec.min_length} characters"
    return None


@check(
    id="env.invalid",
    title="Values have the declared kind and shape",
    severity=Severity.MEDIUM,
    cwe=1188,
    needs_target=False,
    summary="Values match what the manifest declares: url, bool, email, a pattern or a minimum length.",
    risk="A malformed value (a URL without a scheme, 'yes please' for a boolean) fails at runtime in the code path "
    "that first reads it, often after the deploy is already live.",
    fix="Correct the value on the platform, or the declaration in .env.example / [env.vars] if it is wrong.",
    references=(TWELVE_FACTOR,),
)
async def invalid(ctx: CheckContext) -> list[Result]:
    state = await _deployed(ctx, manifest=True)
    assert state.manifest is not None
    manifest = state.manifest

    def declared(var: DeployedVar) -> bool:
        spec = manifest.get(var.name)
        return spec is not None and ((spec.declared_kind and spec.kind in KINDS[1:4]) or bool(spec.pattern or spec.min_length))

    def judge(var: DeployedVar) -> Result | None:
        spec = manifest.get(var.name)
        assert spec is not None
        problem = _kind_problem(spec, var.value or "")
        if problem is None:
            return None
        return ctx.fail(_loc(state, var.name), f"{var.name} is {problem}.", kind="invalid", file=_file(state, var.name),
                        evidence=_evidence(state, var, declared=spec.kind, problem=problem))

    return _judge_values(ctx, state, judge, applies=declared, what="declared kinds and patterns")


@check(
    id="env.unresolved",
    title="No unresolved configuration references",
    severity=Severity.MEDIUM,
    cwe=1188,
    needs_target=False,
    summary="No deployed value or served script holds `undefined`, `${VAR}`, `process.env.X` or `%VITE_X%` "
    "where config should be.",
    risk="An unresolved reference means the build or deploy ran without the variable: the front end calls "
    "`undefined/api/...`, the server connects to a host named `${DATABASE_HOST}`.",
    fix="Define the variable for the build step as well as at runtime (browser variables are read at build time: "
    "set them before `npm run build`, in the platform's build environment), and check the platform expands "
    "references (Render and Railway `${{...}}`, docker compose `${VAR}`).",
    references=("https://vite.dev/guide/env-and-mode", "https://nextjs.org/docs/app/guides/environment-variables"),
)
async def unresolved(ctx: CheckContext) -> list[Result]:
    def find(text: str) -> Iterable[tuple[int, int, str, str]]:
        for match in rules.UNRESOLVED_IN_BUNDLE.finditer(text[:SCAN_LIMIT]):
            yield match.start(), match.end(), match.group(0), match.group(0)[:60]

    def judge_deployed(state: EnvState) -> list[Result]:
        def judge(var: DeployedVar) -> Result | None:
            if not rules.UNRESOLVED_VALUE.match((var.value or "").strip()):
                return None
            return ctx.fail(_loc(state, var.name), f"{var.name} holds an unresolved reference, not a value.",
                            kind="unresolved", file=_file(state, var.name), evidence=_evidence(state, var))

        return _judge_values(ctx, state, judge, what="unresolved references")

    served = await _served(ctx, find, "unresolved", "unresolved references")
    return await _with_deployed(ctx, served, judge_deployed)


def _fingerprint(var: DeployedVar) -> str | None:
    if var.value:
        return "sha256:" + hashlib.sha256(var.value.encode()).hexdigest()
    if var.digest:
        return "digest:" + var.digest
    return None


@check(
    id="env.shared-secret",
    title="Environments do not share secrets",
    severity=Severity.MEDIUM,
    cwe=1188,
    needs_target=False,
    summary="With two environments compared (--compare staging production), no secret has the same value in both.",
    risk="A secret shared with staging is only as safe as staging: its debug pages, wider access and test data. "
    "A leak there signs production sessions and webhooks too.",
    fix="Generate a separate value per environment and rotate the production one.",
    references=(OWASP_SECRETS,),
)
async def shared_secret(ctx: CheckContext) -> list[Result]:
    state = await _state(ctx)
    if state.compare_problem:
        raise Unavailable(state.compare_problem, "env")
    if len(state.compared) != 2:
        raise Skip("compare two environments: --compare staging=dotenv:.env.staging production, or [env] compare = "
                   "[\"SOURCE_A\", \"SOURCE_B\"]", "env")
    left, right = state.compared
    results: list[Result] = []
    compared = 0
    for name in sorted(set(left.vars) & set(right.vars)):
        a, b = left.vars[name], right.vars[name]
        if not _secret_like(state.manifest, name, a.value or b.value or ""):
            continue
        fa, fb = _fingerprint(a), _fingerprint(b)
        if fa is None or fb is None or fa.split(":")[0] != fb.split(":")[0]:
            continue
        compared += 1
        if fa == fb and (a.value is None or a.value.strip()):
            results.append(ctx.fail(f"env:{left.label}~{right.label}/{name}",
                                    f"{name} has the same value in {left.label} and {right.label}.", kind="shared-secret",
                                    file=_file(state, name),
                                    evidence={"variable": name, "environments": [left.label, right.label],
                                              "compared_by": fa.split(":")[0],
                                              **({"value": mask(a.value)} if a.value else {})}))
    if results:
        return results
    if not compared:
        return [ctx.skip("env", f"no secret variable readable in both {left.label} and {right.label}")]
    return [ctx.passed("env", f"{compared} secret(s) compared between {left.label} and {right.label}: all differ.")]

