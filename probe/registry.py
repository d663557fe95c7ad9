"""The check contract: a decorator that puts metadata beside a check, and the registry that finds them.

Built-in checks live in the `probe.checks` package (the repository's `checks/` folder), which lists its modules
in `BUILTIN`; they are imported by that full name, so no `checks` folder in the working directory can stand in
for them. Third-party packages add modules through the `probe.checks` entry-point group; an entry point names a
module (or a package with its own `BUILTIN` tuple).
"""

from __future__ import annotations

import importlib
import typing
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any

from probe.guards import Guard, guards_of
from probe.model import CHECK_ID, CheckInfo, Confidence, Result, Severity
from probe.redact import SecretFinder

if TYPE_CHECKING:
    from probe.context import CheckContext

ENTRY_POINT_GROUP = "probe.checks"
BUILTIN_PACKAGE = "probe.checks"
CheckFn = Callable[["CheckContext"], Awaitable[Sequence[Result]]]


class RegistryError(Exception):
    """A check module is broken: duplicate id, bad id, missing docs. A programming error, reported as such."""


@dataclass(frozen=True)
class Family:
    """What a family module declares for all its checks as `FAMILY = Family(...)`: the checklist group its checks go
    under and the hint that unlocks them. A check may override either in its own decorator."""

    group: str
    unlock: str = ""
    # Recognises secrets in any text: every report masks what it returns, in every result and note, so a key in a
    # response excerpt stays masked even when the family's own checks did not run or finish.
    finds_secrets: SecretFinder | None = None


@dataclass(frozen=True)
class CheckSpec:
    info: CheckInfo
    fn: CheckFn
    module: str
    guards: tuple[Guard, ...] = ()

    @property
    def id(self) -> str:
        return self.info.id


def check(
    *,
    id: str,  # noqa: A002 - the word the design uses
    title: str,
    severity: Severity,
    summary: str,
    risk: str,
    fix: str,
    confidence: Confidence = Confidence.HIGH,
    active: bool = False,
    cwe: int | None = None,
    references: Iterable[str] = (),
    needs_target: bool = True,
    needs_page: bool = True,
    group: str | None = None,
    unlock: str | None = None,
) -> Callable[[CheckFn], CheckFn]:
    """Mark an async function `fn(ctx) -> list[Result]` as a check with id `family.name`.

    `summary` is the one line `probe checks` shows; `risk` and `fix` are what `probe explain` and the
    SARIF rule help say: why it matters and how to turn it off, per framework where it differs.
    """
    if not CHECK_ID.match(id):
        raise RegistryError(f"check id {id!r} is not family.name with a known family")
    info = CheckInfo(
        id=id,
        title=title,
        severity=severity,
        confidence=confidence,
        active=active,
        summary=summary,
        risk=risk,
        fix=fix,
        cwe=cwe,
        references=tuple(references),
        needs_target=needs_target,
        needs_page=needs_page,
        group=group or "",
        unlock=unlock or "",
    )

    def mark(fn: CheckFn) -> CheckFn:
        specs: list[CheckInfo] = getattr(fn, "__probe_checks__", [])
        fn.__probe_checks__ = [*specs, info]  # type: ignore[attr-defined]
        return fn

    return mark


def _specs_in(module: ModuleType) -> list[CheckSpec]:
    family: Family = getattr(module, "FAMILY", Family("other"))
    found: list[CheckSpec] = []
    for value in vars(module).values():
        for info in getattr(value, "__probe_checks__", ()):
            if getattr(value, "__module__", None) == module.__name__:
                unlock = info.unlock or family.unlock or _section_hint(module, info.id)
                info = replace(info, group=info.group or family.group, unlock=unlock)
                found.append(CheckSpec(info=info, fn=value, module=module.__name__, guards=guards_of(value)))
    return found


def _section_hint(module: ModuleType, check_id: str) -> str:
    """An unlock hint from the config sections a module declares (`[[webhooks]]`, `[cors]`), for a family that
    declares none of its own."""
    tables = []
    for name, annotation in getattr(module, "CONFIG_SECTIONS", {}).items():
        origin = typing.get_origin(annotation)
        tables.append(f"[[{name}]]" if origin in (list, tuple) else f"[{name}.NAME]" if origin is dict else f"[{name}]")
    return f"configure {' and '.join(tables)} in probe.toml (see `probe explain {check_id}`)" if tables else ""


def _expand(module_name: str) -> list[ModuleType]:
    module = importlib.import_module(module_name)
    children: Sequence[str] = getattr(module, "BUILTIN", ())
    return [module, *(m for child in children for m in _expand(child))]


@dataclass(frozen=True)
class Registry:
    specs: tuple[CheckSpec, ...]
    modules: tuple[ModuleType, ...]

    def get(self, check_id: str) -> CheckSpec | None:
        return next((s for s in self.specs if s.id == check_id), None)

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.info.family for s in self.specs))

    def secret_finders(self) -> tuple[SecretFinder, ...]:
        families = (getattr(module, "FAMILY", None) for module in self.modules)
        return tuple(f.finds_secrets for f in families if isinstance(f, Family) and f.finds_secrets is not None)

    def sections(self) -> dict[str, Any]:
        """Config sections declared by check modules as `CONFIG_SECTIONS = {"cors": CorsSettings}`."""
        out: dict[str, Any] = {}
        for module in self.modules:
            for name, model in getattr(module, "CONFIG_SECTIONS", {}).items():
                if name in out and out[name] is not model:
                    raise RegistryError(f"config section [{name}] is declared twice ({module.__name__})")
                out[name] = model
        return out


def build(module_names: Iterable[str]) -> Registry:
    modules: list[ModuleType] = []
    for name in module_names:
        for module in _expand(name):
            if module not in modules:
                modules.append(module)
    specs: list[CheckSpec] = []
    seen: dict[str, str] = {}
    for module in modules:
        for spec in _specs_in(module):
            if spec.id in seen:
                raise RegistryError(f"check id {spec.id} is registered by both {seen[spec.id]} and {spec.module}")
            seen[spec.id] = spec.module
            specs.append(spec)
    return Registry(specs=tuple(sorted(specs, key=lambda s: s.id)), modules=tuple(modules))


def load() -> Registry:
    """Every check: the built-in `probe.checks` package and whatever the `probe.checks` entry points add."""
    names = [BUILTIN_PACKAGE]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.value not in names:
            names.append(ep.value)
    return build(names)
