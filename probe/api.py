"""The engine as a library: load checks and config, plan, and scan. The CLI and the tests both use it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from probe import accounts, baseline, config
from probe.model import Report
from probe.redact import Redactor
from probe.registry import CheckSpec, Registry, load
from probe.runner import Collector, Progress, run, select

T = TypeVar("T")


def sections(registry: Registry) -> dict[str, Any]:
    """Every config section: the engine's own (accounts) and those the check modules declare."""
    return {**accounts.CONFIG_SECTIONS, **registry.sections()}


@dataclass(frozen=True)
class Plan:
    registry: Registry
    loaded: config.Loaded
    specs: tuple[CheckSpec, ...]
    collector: Collector


def plan(
    *,
    target: str | None = None,
    config_path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    env_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    registry: Registry | None = None,
) -> Plan:
    """Everything up to the first request. Raises `config.ConfigError` for anything the user must fix."""
    registry = registry or load()
    unknown = [s for s in (*only, *skip) if not _known_selector(registry, s)]
    if unknown:
        raise config.ConfigError(f"--only/--skip: unknown check or family {unknown[0]!r} (see `probe checks`)")
    specs = tuple(select(registry, only, skip))
    merged = {**(overrides or {}), "target": target}
    loaded = config.load(config_path, sections(registry), merged, env_file=env_file, environ=environ,
                         needed=needed_sections(registry, specs))
    settings = loaded.settings
    collector = Collector(
        baseline=_baseline(settings.baseline, loaded.path),
        target=settings.target or "(no target)",
        mode=settings.mode,
        checks=tuple(s.info for s in specs),
        redactor=Redactor(loaded.secrets, finders=registry.secret_finders()),
        config_path=str(loaded.path) if loaded.path else None,
    )
    return Plan(registry=registry, loaded=loaded, specs=specs, collector=collector)


def needed_sections(registry: Registry, specs: Sequence[CheckSpec]) -> set[str]:
    """The config sections a run of `specs` reads: those their modules declare, and the accounts and login when a
    check talks to the target (the runner logs the accounts in before the checks start)."""
    modules = {spec.module for spec in specs}
    needed = {name for module in registry.modules if module.__name__ in modules
              for name in getattr(module, "CONFIG_SECTIONS", {})}
    if any(spec.info.needs_target for spec in specs):
        needed |= set(accounts.CONFIG_SECTIONS)
    return needed


def _baseline(configured: str | None, config_path: Path | None) -> tuple[baseline.Entry, ...]:
    if configured:
        return baseline.load(Path(configured))
    default = (config_path.parent if config_path else Path.cwd()) / baseline.DEFAULT_FILE
    return baseline.load(default) if default.is_file() else ()


def _known_selector(registry: Registry, selector: str) -> bool:
    return any(spec.id == selector or spec.info.family == selector for spec in registry.specs)


def execute(plan: Plan, on_progress: Callable[[Progress], None] | None = None) -> Report:
    """Run the plan. Ctrl-C (SIGINT) ends it with `KeyboardInterrupt` once the run has cancelled its work and closed
    its connections; `plan.collector` then holds every result that finished."""
    return asyncio.run(interruptible(run(plan.loaded.settings, plan.registry, plan.collector, plan.specs, on_progress)))


def execute_coroutine(work: Coroutine[Any, Any, T]) -> T:
    """`work` (a fleet of scans) run to the end like `execute`, Ctrl-C included."""
    return asyncio.run(interruptible(work))


async def interruptible(work: Coroutine[Any, Any, T]) -> T:
    """`work`, cancelled by the first SIGINT and abandoned by a second. The handler is the event loop's own, installed
    before any request is sent: interruption does not depend on asyncio.run's implicit handler, which turns a cancel
    into KeyboardInterrupt only when nothing else counted a cancellation of the main task (`Task.uncancel()`) and
    otherwise lets CancelledError escape the CLI."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        if interrupted:
            raise KeyboardInterrupt
        interrupted = True
        task.cancel()

    # Not in the main thread (tests, embedding) or without loop signal support, the caller's handling applies.
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        return await task
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)


def scan(target: str | None = None, **kwargs: Any) -> Report:
    """Plan and run in one call (tests, embedding). Raises ConfigError or TargetUnreachable."""
    return execute(plan(target=target, **kwargs))
