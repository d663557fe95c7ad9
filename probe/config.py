"""probe.toml (or `[tool.probe]` in pyproject.toml) into typed, frozen, validated settings.

The engine declares its own keys here. A check module that needs configuration declares a section as
`CONFIG_SECTIONS = {"name": Model}` (a pydantic model, or `list[Model]` for `[[name]]` tables), so adding
a section is declaring a typed model beside the check that reads it. The model also declares what `probe init`
writes for it (`Section.init_block`, probe/template.py).

`${VAR}` in any string is resolved from the process environment, then from an optional dotenv file.
A resolved value is a secret when its key, a table above it or the variable is named like one (`SECRET_NAME`:
password, bearer, cookie, account headers, jwt_secret ...); the redactor masks those in every output. Usernames,
roles, URLs and paths are shown.
"""

from __future__ import annotations

import os
import re
import tomllib
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    field_validator,
)

from probe.model import Mode, Severity
from probe.template import Block, Discovery, Marker, advice

DEFAULT_FILES = ("probe.toml", ".probe.toml")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# An interpolated value is a secret when the key that holds it, a table above it, or the variable it comes from is
# named like one (`password`, `bearer`, `jwt_secret`, `[accounts.x.headers]`, `${STRIPE_API_KEY}`). Everything else
# (usernames, emails, roles, URLs, paths, hosts) is shown in reports: masking it would hide what a finding is about
# without protecting anything.
SECRET_NAME = re.compile(
    r"pass(?:word|wd|phrase)?|secret|token|bearer|cookie|credential|authori[sz]ation|session|private|(?:^|[_-])key$|api[_-]?key|"
    r"signature|dsn|otp|pin$|^headers$",
    re.IGNORECASE,
)


S = TypeVar("S", bound="Section")


def route_path(value: str) -> str:
    """A route as a section names it: a path starting with `/` (the target's origin comes from the command line)."""
    if not value.startswith("/"):
        raise ValueError(f"expected a path starting with /, got {value!r}")
    return value


RoutePath = Annotated[str, AfterValidator(route_path)]


def method_in(value: str, allowed: Collection[str]) -> str:
    """An HTTP method from `allowed`, upper-cased, for a section's `method` key."""
    if value.upper() not in allowed:
        raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
    return value.upper()


class ConfigError(Exception):
    """A configuration problem; the message is one line naming the file and key."""


class Section(BaseModel):
    """Base for every config table: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # What `probe init` writes for the section, declared beside the check that reads it (probe/template.py):
    # static advice as comments, or `init_block` overridden to write from what the look at the site found.
    init_advice: ClassVar[str] = ""
    # Where the block stands in the written file, lower first: how to sign in leads, the environment closes.
    init_order: ClassVar[int] = 100
    # Response markers that name a hosting platform this section's checks read from (`probe init` names it).
    init_hosting: ClassVar[tuple[Marker, ...]] = ()

    @classmethod
    def init_block(cls, found: Discovery) -> Block | None:
        """The section's block in the file `probe init` writes; None: the section is left out."""
        return advice(cls.init_advice) if cls.init_advice else None

    def surface_routes(self) -> list[str]:
        """Paths this section names (login, webhooks, resources): extra routes for the attack surface."""
        return []

    def scope_hosts(self) -> list[str]:
        """Hosts besides the target that this section's checks must reach (a hosting platform's API): scope entries."""
        return []

    @classmethod
    def rebase(cls, table: dict[str, Any], base: Path) -> dict[str, Any]:
        """The section's table as read from a config file in folder `base`, with its relative file paths made
        relative to `base` (a section with paths overrides this). Command-line values are not rebased: they are
        relative to the working directory, where the user typed them."""
        return table


def rebase_path(value: Any, base: Path) -> Any:
    """A relative path from a config file, resolved from the file's folder; anything else unchanged."""
    if not isinstance(value, str) or not value:
        return value
    path = Path(value).expanduser()
    return value if path.is_absolute() else str(base / path)


class Settings(Section):
    target: str | None = None
    scope: tuple[str, ...] = ()
    mode: Mode = Mode.PASSIVE
    fail_on: Severity = Severity.HIGH
    allow_errors: bool = False
    max_requests: int = Field(default=400, ge=1, le=100_000)
    rate: float = Field(default=20.0, gt=0, le=1000, description="requests per second, all hosts together")
    timeout: float = Field(default=10.0, gt=0, le=120, description="seconds per request (connect, read, total)")
    max_duration: float = Field(default=300.0, gt=0, le=86_400, description="seconds for the whole run")
    max_bytes: int = Field(default=2_000_000, ge=1024, le=200_000_000, description="bytes read per response")
    per_host: int = Field(default=4, ge=1, le=64, description="concurrent requests per host")
    ca_bundle: str | None = None
    routes: tuple[str, ...] = Field(default=(), description="extra paths to include in the attack surface")
    exclude: tuple[str, ...] = Field(default=(), description="paths never requested, in any mode: '/logout', '/admin/*'")
    baseline: str | None = Field(default=None, description="accepted-risks file (default: probe-baseline.toml if present)")

    sections_declared: ClassVar[tuple[str, ...]] = ()
    # Sections left out because a ${VAR} in them is not set and the run does not need them: name → the error,
    # raised if anything asks for the section after all.
    _unresolved: dict[str, str] = PrivateAttr(default_factory=dict)
    # Each declared section's model class → its name, so checks ask for their section by type, not by string.
    section_names: ClassVar[Mapping[type[Section], str]] = {}

    @field_validator("target")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_target_url(value)
        return value

    @classmethod
    def rebase(cls, table: dict[str, Any], base: Path) -> dict[str, Any]:
        return {**table, **{k: rebase_path(table[k], base) for k in ("baseline", "ca_bundle") if k in table}}

    def _declared(self, model: type[Section]) -> Any:
        name = self.section_names.get(model)
        if name is None:
            raise KeyError(f"{model.__name__} is not a declared config section")
        if name in self._unresolved:
            raise ConfigError(self._unresolved[name])
        return getattr(self, name)

    def resolved(self, model: type[Section]) -> bool:
        """False when the section was left out of this run because a ${VAR} in it is not set (see `load`)."""
        return self.section_names.get(model) not in self._unresolved

    def section(self, model: type[S]) -> S:
        """A `[name]` table, as its model."""
        value = self._declared(model)
        if not isinstance(value, model):
            raise TypeError(f"{model.__name__} is declared as a list or table of entries, not one table")
        return value

    def sections(self, model: type[S]) -> tuple[S, ...]:
        """A `[[name]]` list of tables, as its model's entries."""
        return tuple(self._declared(model))

    def table(self, model: type[S]) -> Mapping[str, S]:
        """A `[name.KEY]` family of tables (accounts), by key."""
        value: Mapping[str, S] = self._declared(model)
        return value

    def _declared_entries(self) -> list[Section]:
        entries: list[Section] = []
        for name in self.sections_declared:
            value = getattr(self, name)
            entries += [i for i in (value if isinstance(value, (list, tuple)) else [value]) if isinstance(i, Section)]
        return entries

    def section_routes(self) -> list[str]:
        found: list[str] = list(self.routes)
        for entry in self._declared_entries():
            found.extend(entry.surface_routes())
        return list(dict.fromkeys(found))

    def section_scope(self) -> list[str]:
        """Scope entries the sections add to the run's (platform APIs the env sources read)."""
        return list(dict.fromkeys(host for entry in self._declared_entries() for host in entry.scope_hosts()))


def check_target_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    if not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError(f"the URL contains a space or a control character: {value!r}")
    if parts.username or parts.password:
        raise ValueError("the URL carries credentials; put them in [accounts] as ${VAR} references instead")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError(f"bad port in {value!r}") from exc
    return value


@dataclass(frozen=True)
class Loaded:
    settings: Settings
    path: Path | None
    secrets: tuple[str, ...]


def settings_model(sections: Mapping[str, Any]) -> type[Settings]:
    """The Settings model with the check modules' sections added as typed fields."""
    fields: dict[str, Any] = {}
    for name, annotation in sections.items():
        if name in Settings.model_fields:
            raise ConfigError(f"config section [{name}] clashes with an engine key")
        origin = typing.get_origin(annotation)
        factory = origin if origin in (list, tuple, dict) else annotation
        fields[name] = (annotation, Field(default_factory=factory))
    model = create_model("Settings", __base__=Settings, **fields)
    model.sections_declared = tuple(sections)
    model.section_names = {_entry_model(annotation): name for name, annotation in sections.items()}
    return model


def _entry_model(annotation: Any) -> type[Section]:
    """The model of a section's tables: `M`, `list[M]` or `dict[str, M]` → `M`."""
    args = typing.get_args(annotation)
    found = args[-1] if args else annotation
    if not (isinstance(found, type) and issubclass(found, Section)):
        raise ConfigError(f"config section type {annotation!r} is not a Section model")
    return found


def find_config(explicit: Path | None, cwd: Path | None = None) -> tuple[Path | None, dict[str, Any]]:
    """The config file and its raw table: explicit path, else probe.toml, else pyproject's [tool.probe]."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: no such config file")
        return explicit, _read_toml(explicit, tool_table=explicit.name == "pyproject.toml")
    here = cwd or Path.cwd()
    for name in DEFAULT_FILES:
        candidate = here / name
        if candidate.is_file():
            return candidate, _read_toml(candidate, tool_table=False)
    pyproject = here / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject, tool_table=True)
        if table:
            return pyproject, table
    return None, {}


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's table; a file that cannot be read or parsed is a ConfigError naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None


def _read_toml(path: Path, *, tool_table: bool) -> dict[str, Any]:
    data = read_toml(path)
    if tool_table:
        table = data.get("tool", {}).get("probe", {})
        return table if isinstance(table, dict) else {}
    return data


def load(
    path: Path | None,
    sections: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    env_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    needed: Collection[str] | None = None,
) -> Loaded:
    """Read, interpolate and validate. `overrides` are CLI flags (already typed), which win over the file.

    `needed` names the sections the run will read (None: all of them). A section outside it whose ${VAR} is not
    set is left out instead of stopping the run (`probe env` does not need the accounts' passwords); asking for
    it later raises the same ConfigError. Engine keys and needed sections fail at once, as before. Relative
    paths in the file (`baseline`, `[env] manifest` ...) are resolved from the file's folder."""
    config_path, raw = find_config(path)
    label = str(config_path) if config_path else "command line"
    variables = _variables(config_path, env_file, environ)
    secrets: list[str] = []
    resolved: dict[str, Any] = {}
    unresolved: dict[str, str] = {}
    for key, value in raw.items():
        found: list[str] = []
        try:
            resolved[key] = _interpolate(value, variables, label, (key,), found)
        except ConfigError as exc:
            if needed is None or key not in sections or key in needed:
                raise
            unresolved[key] = str(exc)
            continue
        secrets.extend(found)
    if config_path is not None:
        resolved = _rebase(resolved, sections, config_path.parent)
    _merge(resolved, overrides or {})
    for key in unresolved:
        resolved.pop(key, None)  # a command-line flag for a section left out does not bring it back half-resolved
    model = settings_model(sections)
    try:
        settings = model.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(f"{label}: {_first_error(exc)}") from None
    settings._unresolved.update(unresolved)
    return Loaded(settings=settings, path=config_path, secrets=tuple(s for s in secrets if s))


def _rebase(table: dict[str, Any], sections: Mapping[str, Any], base: Path) -> dict[str, Any]:
    out = Settings.rebase(table, base)
    for name, annotation in sections.items():
        if isinstance(out.get(name), dict) and isinstance(annotation, type) and issubclass(annotation, Section):
            out[name] = annotation.rebase(out[name], base)
    return out


def _merge(into: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """CLI flags win over the file; a flag for one key of a section (`--resolver` → dns.resolver)
    leaves the section's other keys alone. None means the flag was not given."""
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = {k: v for k, v in value.items() if v is not None}
        elif value is not None:
            into[key] = value


def _variables(config_path: Path | None, env_file: Path | None, environ: Mapping[str, str] | None) -> dict[str, str]:
    from dotenv import dotenv_values

    values: dict[str, str] = {}
    candidate = env_file or ((config_path.parent if config_path else Path.cwd()) / ".env")
    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"{env_file}: no such env file")
    if candidate.is_file():
        values.update({k: v for k, v in dotenv_values(candidate).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return values


def _interpolate(value: Any, variables: Mapping[str, str], label: str, keys: tuple[str, ...], secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, variables, label, (*keys, k), secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, variables, label, (*keys, str(i)), secrets) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise ConfigError(f"{label}: {_dotted(keys)}: ${{{name}}} is not set (environment or .env)")
        found = variables[name]
        if any(SECRET_NAME.search(part) for part in (*keys, name)):
            secrets.append(found)
        return found

    return _VAR.sub(substitute, value)


def _dotted(keys: tuple[str, ...]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if key.isdigit() else (f".{key}" if out else key)
    return out or "(top level)"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    key = _dotted(tuple(str(part) for part in error["loc"])) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message}"
