"""Plans and runs the checks, and assembles the report. Knows checks only through the registry."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from probe import __version__
from probe import baseline as baseline_file
from probe.accounts import Accounts, AccountSettings, LoginSettings
from probe.config import ConfigError, Settings
from probe.context import CheckContext, Memo
from probe.guards import Skip, Unavailable
from probe.http import Excluded, HttpClient, HttpError, Response, ScopedHttp, run_scope
from probe.model import PRECONDITION, CheckInfo, Mode, Report, Result, Status, Table, sort_key
from probe.redact import Redactor
from probe.registry import CheckSpec, Registry
from probe.surface import AccountReader, Surface

CHECKS_AT_ONCE = 8
# The `kind` of the error result of a check that met a configuration problem at run time.
CONFIG_PROBLEM = "configuration"
CLOSE_TIMEOUT_S = 2.0
USER_AGENT = f"probe/{__version__} (+https://github.com/deploy-probe/probe; pre-deploy security check)"


class TargetUnreachable(Exception):
    """The target could not be scanned at all (exit 3). Carries what was gathered before."""

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message)
        self.report = report


class ConfigProblem(ConfigError):
    """A check met a configuration problem at run time (a refused platform token, a missing manifest file): the user
    must fix the config (exit 2). Carries the report, in which that check is an `error` result like any other, so
    no format shows a clean run."""

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    requests_sent: int
    check: str
    results: tuple[Result, ...]


def matches(check_id: str, selectors: Sequence[str]) -> bool:
    return any(check_id == s or check_id.split(".", 1)[0] == s for s in selectors)


def select(registry: Registry, only: Sequence[str], skip: Sequence[str]) -> list[CheckSpec]:
    return [spec for spec in registry.specs if (not only or matches(spec.id, only)) and not matches(spec.id, skip)]


@dataclass
class Collector:
    """Results as they arrive, so an interrupted run can still write what it gathered."""

    target: str
    mode: Mode
    checks: tuple[CheckInfo, ...]
    redactor: Redactor
    config_path: str | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_clock: float = field(default_factory=time.monotonic)
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    client: HttpClient | None = None
    baseline: tuple[baseline_file.Entry, ...] = ()

    def add(self, results: Sequence[Result]) -> None:
        self.results.extend(results)

    def report(self, *, interrupted: bool = False) -> Report:
        """The report of what was gathered. A failure to match the results with the baseline is a note, not an
        exception: the run's results are still reported, in every requested format."""
        notes = [*self.notes, *(self.client.notes if self.client else [])]
        if interrupted:
            notes.append("interrupted: the report holds only the checks that finished")
        # Learn first, clean second: a key seen in one result's excerpt is masked in every result and note.
        for result in self.results:
            self.redactor.learn((result.title, result.detail, result.evidence, result.remediation,
                                 result.table.rows if result.table else ()))
        self.redactor.learn(notes)
        cleaned = [self._clean(r) for r in self.results]
        try:
            applied = baseline_file.apply(cleaned, self.baseline, self.started.date())
            results = list(applied.results)
            notes.extend(applied.notes)
        except Exception as exc:  # noqa: BLE001 - the report of a whole run must not be lost to one bad result
            results = cleaned
            notes.append(f"the baseline could not be applied ({type(exc).__name__}: {exc})")
        return Report(
            tool_version=__version__,
            target=self.target,
            mode=self.mode,
            started=self.started,
            duration_s=round(time.monotonic() - self.started_clock, 3),
            requests_sent=self.client.sent if self.client else 0,
            results=tuple(sorted(results, key=sort_key)),
            checks=self.checks,
            notes=tuple(self.redactor.redact(n) for n in notes),
            requests_by_family=dict(self.client.by_family) if self.client else {},
            interrupted=interrupted,
            config_path=self.config_path,
        )

    def _clean(self, result: Result) -> Result:
        """The last line of defence: no registered secret survives into any reporter. The location is not masked:
        it identifies the finding (fingerprint, baseline, route), so it is kept as the check wrote it, or rewritten
        to a stable template when it would reveal a secret (see `Redactor.template_location`)."""
        r = self.redactor
        cleaned: dict[str, Any] = {
            "title": r.redact(result.title),
            "location": r.template_location(result.location),
            "detail": r.redact(result.detail),
            "evidence": r.redact_value(result.evidence),
            "remediation": r.redact(result.remediation),
            "table": self._clean_table(result.table),
        }
        if all(value is getattr(result, name) for name, value in cleaned.items()):
            return result  # nothing to mask: a large report is not copied
        return dataclasses.replace(result, **cleaned)

    def _clean_table(self, table: Table | None) -> Table | None:
        if table is None:
            return None
        rows = self.redactor.redact_value(table.rows)
        title = self.redactor.redact(table.title)
        return table if rows is table.rows and title is table.title else dataclasses.replace(table, title=title, rows=rows)


async def run(
    settings: Settings,
    registry: Registry,
    collector: Collector,
    specs: Sequence[CheckSpec],
    on_progress: Callable[[Progress], None] | None = None,
) -> Report:
    target = settings.target
    client: HttpClient | None = None
    deadline = time.monotonic() + settings.max_duration
    scope = run_scope(settings)
    if target and not scope.allows(target):
        raise TargetUnreachable(f"{target} is not inside the configured scope ({scope})", collector.report())
    # Without a target a run still has a client when a section needs one (a hosting platform's API to read).
    if target or settings.section_scope():
        client = HttpClient.for_settings(settings, redactor=collector.redactor, user_agent=USER_AGENT, deadline=deadline,
                                         scope=scope)
        collector.client = client
    base = target or ""
    # Left out of a run that does not need them (`probe env` with an account's ${VAR} unset): no accounts then.
    accounts = Accounts(settings.table(AccountSettings) if settings.resolved(AccountSettings) else {},
                        settings.section(LoginSettings) if settings.resolved(LoginSettings) else None,
                        ScopedHttp(client, "accounts", base), collector.redactor)
    surface_http = ScopedHttp(client, "surface", base)
    surface = Surface(surface_http, settings.section_routes(), passive=settings.mode is Mode.PASSIVE,
                      exclude=settings.exclude, reader=document_reader(accounts, surface_http))
    memo = Memo()
    try:
        unreachable = ""
        if target:
            try:
                await surface.page()
            except HttpError as exc:
                unreachable = str(exc)
            if not unreachable:
                await accounts.log_in_all()
        # An unreachable target still gets the checks that diagnose it below HTTP (an expired certificate, a
        # dangling CNAME), then the run ends (exit 3). Only their failures are kept: the diagnosis. Their
        # errors and skips would repeat the reason the target is unreachable.
        planned = [(spec, _not_run_reason(spec.info, settings.mode, target)) for spec in specs
                   if not (unreachable and spec.info.needs_page)]
        for spec, reason in planned:
            if reason and not unreachable:
                collector.add([_skip(spec.info, target, reason)])
        runnable = [spec for spec, reason in planned if not reason]
        gate = asyncio.Semaphore(CHECKS_AT_ONCE)
        done = 0

        async def one(spec: CheckSpec) -> None:
            nonlocal done
            ctx = CheckContext(
                info=spec.info,
                target=target,
                http=ScopedHttp(client, spec.info.family, base),
                surface=surface,
                accounts=accounts,
                settings=settings,
                mode=settings.mode,
                memo=memo,
                redactor=collector.redactor,
            )
            async with gate:
                try:
                    results = await _run_one(spec, ctx, deadline)
                except ConfigError as exc:
                    # The run stops here (exit 2), but the report written with what was gathered must not read as
                    # clean: the check that met the problem is an error in every format.
                    collector.add([ctx.error(ctx.location, str(exc))])
                    raise
            collector.add([r for r in results if r.status is Status.FAIL] if unreachable else results)
            done += 1
            if on_progress:
                on_progress(Progress(done, len(runnable), client.sent if client else 0, spec.id, tuple(results)))

        await asyncio.gather(*(one(spec) for spec in runnable))
        if unreachable:
            raise TargetUnreachable(unreachable, collector.report())
        problem = next((r for r in collector.results if r.kind == CONFIG_PROBLEM), None)
        if problem is not None:
            raise ConfigProblem(problem.detail, collector.report())
    finally:
        memo.cancel()
        if client is not None:
            # Bounded: an interrupted run must end promptly even if a connection does not close cleanly.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await client.aclose()
    return collector.report()


def document_reader(accounts: Accounts, http: ScopedHttp) -> AccountReader | None:
    """How the surface reads an OpenAPI document that refuses strangers: as a non-privileged account if one is
    configured (it shows what an ordinary user is shown), else the first; None without accounts."""
    if not accounts.names:
        return None
    name = next((n for n in accounts.names if not accounts.privileged(n)), accounts.names[0])

    async def get(url: str) -> Response:
        return await accounts.request(http, name, "GET", url)

    return AccountReader(name, get)


def _not_run_reason(info: CheckInfo, mode: Mode, target: str | None) -> str:
    if info.active and mode is not Mode.ACTIVE:
        return "active check (sends bursts or writes): run with --mode active, against staging or with consent"
    if info.needs_target and not target:
        return "needs a target URL"
    return ""


def _skip(info: CheckInfo, target: str | None, reason: str) -> Result:
    return Result(
        check=info.id,
        status=Status.SKIP,
        severity=info.severity,
        title=info.title,
        location=target or "(no target)",
        detail=reason,
        confidence=info.confidence,
        kind=PRECONDITION,
    )


async def _run_one(spec: CheckSpec, ctx: CheckContext, deadline: float) -> list[Result]:
    info = spec.info
    unmet = next((g for g in spec.guards if not g.met(ctx)), None)
    if unmet is not None:
        return [ctx.skip(ctx.location, unmet.reason, kind=PRECONDITION)]
    try:
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            produced = list(await spec.fn(ctx))
    except Skip as skipped:
        return [ctx.skip(skipped.location or ctx.location, skipped.reason)]
    except Excluded as left:
        return [ctx.skip(ctx.location, f"{left} (the configuration's `exclude`)")]
    except Unavailable as missing:
        return [ctx.error(missing.location or ctx.location, missing.reason)]
    except TimeoutError:
        return [ctx.error(ctx.location, "did not finish within the run's time budget (max_duration)")]
    except HttpError as exc:
        return [ctx.error(ctx.location, str(exc))]
    except ConfigError as exc:
        # A configuration problem a check found at run time: an error result, and the run ends with exit 2.
        return [ctx.error(ctx.location, str(exc), kind=CONFIG_PROBLEM)]
    except Exception as exc:  # noqa: BLE001 - one broken check must not stop the others
        return [ctx.error(ctx.location, f"the check failed unexpectedly: {type(exc).__name__}: {exc}")]
    if not produced:
        return [ctx.skip(ctx.location, "nothing applicable was found to test")]
    foreign = [r for r in produced if r.check != info.id]
    if foreign:
        return [ctx.error(ctx.location, f"the check returned results for another id ({foreign[0].check})")]
    return produced
