"""Many targets in one run: a targets file, a deterministic shard of it, and a bounded number of scans at once.

Each target is an ordinary scan (`probe.api.plan` + `probe.runner.run`): its own config, HttpClient, pace, budget,
deadline and scope, exactly as `probe scan` would run it alone. The fleet adds only a cap on how many targets are in
flight; one target that hangs, refuses connections or is out of scope ends on its own terms (bounded by its own
`max_duration`) while the others go on. Knows no check family: scans are planned by a callable the caller gives.

Exit codes, per target and for the fleet (the worst of its targets, in this order):

    2  a target's configuration is wrong: that target was not scanned as intended, and only a person can fix it
    3  a target could not be scanned (unreachable, out of scope, did not finish in time): nothing is known of it
    1  findings at or above the gate
    0  every target scanned and passed

Not-scanned ranks above findings because the single code must never hide that part of the fleet went untested: a
scheduled job that alerts on 3 (a site is down) would otherwise stay quiet whenever any other site has findings,
and the findings are in every report format anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from probe import __version__
from probe.api import Plan
from probe.config import ConfigError, check_target_url, read_toml
from probe.model import Mode, Report, Severity
from probe.runner import CLOSE_TIMEOUT_S, ConfigProblem, TargetUnreachable, run

EXIT_OK, EXIT_FINDINGS, EXIT_CONFIG, EXIT_UNREACHABLE = 0, 1, 2, 3
# Worst first: see the module docstring.
SEVERITY_OF_EXIT = (EXIT_CONFIG, EXIT_UNREACHABLE, EXIT_FINDINGS, EXIT_OK)
# Past its own deadline a scan still closes its connections (bounded by CLOSE_TIMEOUT_S); past this much more the
# fleet stops waiting for it, so a target that wedges below the runner's own bounds cannot hold a slot forever.
OVERRUN_GRACE_S = CLOSE_TIMEOUT_S + 3.0


def worst(codes: Sequence[int]) -> int:
    """The fleet's exit code: the worst of its targets' (0 for none)."""
    return min(codes, key=SEVERITY_OF_EXIT.index, default=EXIT_OK)


def default_parallel() -> int:
    """Targets in flight by default. Scans wait on the network and on their own pace far more than they compute, so
    a few per core keep the CPU busy without one target's parsing delaying another's requests."""
    return max(2, 4 * (os.cpu_count() or 1))


class _TargetEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    config: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else check_target_url(value)


class _TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: tuple[_TargetEntry, ...]


@dataclass(frozen=True)
class Target:
    """One app of the fleet: a URL, a config file (relative paths are from the targets file's folder), or both (the
    URL then wins over the config's `target`). `name` identifies it in reports and decides its shard."""

    name: str
    url: str | None = None
    config: Path | None = None
    tags: tuple[str, ...] = ()


def load_targets(path: Path) -> tuple[Target, ...]:
    """The `[[targets]]` of a TOML file. Raises ConfigError (one line naming the file and the entry)."""
    raw = read_toml(path)
    try:
        parsed = _TargetsFile.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".") or "(top level)"
        why = "unknown key" if error["type"] == "extra_forbidden" else error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}: {where}: {why}") from None
    targets: list[Target] = []
    for i, entry in enumerate(parsed.targets):
        if entry.url is None and entry.config is None:
            raise ConfigError(f"{path}: targets[{i}]: give a url, a config, or both")
        config = None if entry.config is None else (path.parent / entry.config)
        name = entry.name or entry.url or str(entry.config)
        targets.append(Target(name=name, url=entry.url, config=config, tags=entry.tags))
    names = [t.name for t in targets]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ConfigError(f"{path}: two targets are named {duplicate!r}: give each a distinct `name`")
    if not targets:
        raise ConfigError(f"{path}: no [[targets]]")
    return tuple(targets)


@dataclass(frozen=True)
class Shard:
    """`index/count`, 0-based (0/4 … 3/4) so a Kubernetes Indexed Job passes JOB_COMPLETION_INDEX as it is."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, slash, count = text.partition("/")
        try:
            shard = cls(int(index), int(count))
        except ValueError:
            raise ValueError(f"expected INDEX/COUNT such as 0/4, got {text!r}") from None
        if not slash or shard.count < 1 or not 0 <= shard.index < shard.count:
            raise ValueError(f"expected INDEX/COUNT with 0 <= INDEX < COUNT, got {text!r}")
        return shard

    def holds(self, name: str) -> bool:
        # sha256, not hash(): the same on every machine and Python, whatever PYTHONHASHSEED says.
        return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard(targets: Sequence[Target], part: Shard) -> tuple[Target, ...]:
    return tuple(t for t in targets if part.holds(t.name))


@dataclass(frozen=True)
class Outcome:
    """One target's finished scan: its report (possibly empty, when it could not even be planned), its exit code and,
    when it was not scanned as asked, why."""

    target: Target
    report: Report
    exit_code: int
    error: str = ""
    fail_on: Severity = Severity.HIGH
    allow_errors: bool = False


@dataclass(frozen=True)
class FleetReport:
    outcomes: tuple[Outcome, ...]  # by target name
    started: datetime
    duration_s: float
    parallel: int
    shard: Shard | None = None
    interrupted: bool = False
    tool_version: str = __version__

    @property
    def exit_code(self) -> int:
        return worst([o.exit_code for o in self.outcomes])

    @property
    def requests_sent(self) -> int:
        return sum(o.report.requests_sent for o in self.outcomes)


@dataclass
class FleetCollector:
    """Outcomes as they finish, so an interrupted fleet still reports the targets that completed."""

    parallel: int
    shard: Shard | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_clock: float = field(default_factory=time.monotonic)
    outcomes: list[Outcome] = field(default_factory=list)

    def report(self, *, interrupted: bool = False) -> FleetReport:
        return FleetReport(
            outcomes=tuple(sorted(self.outcomes, key=lambda o: o.target.name)),
            started=self.started,
            duration_s=round(time.monotonic() - self.started_clock, 3),
            parallel=self.parallel,
            shard=self.shard,
            interrupted=interrupted,
        )


def empty_report(target: Target, note: str) -> Report:
    """The report of a target that never got as far as a plan (its config is wrong)."""
    return Report(tool_version=__version__, target=target.url or target.name, mode=Mode.PASSIVE,
                  started=datetime.now(UTC), duration_s=0.0, requests_sent=0, results=(), notes=(note,))


async def scan_fleet(
    targets: Sequence[Target],
    plan_for: Callable[[Target], Plan],
    collector: FleetCollector,
    *,
    on_start: Callable[[Target], None] | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> FleetReport:
    """Scan every target, at most `collector.parallel` at once. `plan_for` raises ConfigError for a target whose
    configuration is wrong; it is called when the target's turn comes, so its clock starts then."""
    slots = asyncio.Semaphore(collector.parallel)

    async def one(target: Target) -> None:
        async with slots:
            if on_start:
                on_start(target)
            outcome = await _scan_one(target, plan_for)
        collector.outcomes.append(outcome)
        if on_done:
            on_done(outcome)

    await asyncio.gather(*(one(t) for t in targets))
    return collector.report()


async def _scan_one(target: Target, plan_for: Callable[[Target], Plan]) -> Outcome:
    try:
        plan = plan_for(target)
    except ConfigError as exc:
        return Outcome(target, empty_report(target, str(exc)), EXIT_CONFIG, str(exc))
    settings = plan.loaded.settings

    def outcome(report: Report, code: int, error: str = "") -> Outcome:
        return Outcome(target, report, code, error, settings.fail_on, settings.allow_errors)

    if not settings.target and any(s.info.needs_target for s in plan.specs):
        why = "no target: give the entry a url, or set `target` in its config"
        return outcome(empty_report(target, why), EXIT_CONFIG, why)
    try:
        async with asyncio.timeout(settings.max_duration + OVERRUN_GRACE_S):
            report = await run(settings, plan.registry, plan.collector, plan.specs)
    except TargetUnreachable as exc:
        return outcome(exc.report, EXIT_UNREACHABLE, f"cannot scan {settings.target}: {exc}")
    except ConfigProblem as exc:
        return outcome(exc.report, EXIT_CONFIG, str(exc))
    except TimeoutError:
        why = f"did not finish within its max_duration ({settings.max_duration:g} s)"
        return outcome(plan.collector.report(interrupted=True), EXIT_UNREACHABLE, why)
    except Exception as exc:  # noqa: BLE001 - one target's failure must not end the others
        why = f"the scan failed unexpectedly: {type(exc).__name__}: {exc}"
        return outcome(plan.collector.report(), EXIT_UNREACHABLE, why)
    code = EXIT_FINDINGS if report.gate_failures(settings.fail_on, settings.allow_errors) else EXIT_OK
    return outcome(report, code)


class MergeError(Exception):
    """Shard reports that do not make one fleet (one line, exit 2)."""


def merge(parts: Sequence[FleetReport]) -> FleetReport:
    """The shards of one fleet (or separate fleets) as one report. Refuses a set with a shard missing or given twice,
    or a target in two parts: a merge that silently lost a shard would pass a fleet it never saw."""
    if not parts:
        raise MergeError("no reports to merge")
    shards = [p.shard for p in parts if p.shard is not None]
    if shards:
        counts = {s.count for s in shards}
        if len(counts) > 1 or len(shards) != len(parts):
            raise MergeError("the reports are not shards of one split: mixed --shard counts, or a whole fleet among shards")
        count = counts.pop()
        indexes = [s.index for s in shards]
        twice = sorted({i for i in indexes if indexes.count(i) > 1})
        missing = sorted(set(range(count)) - set(indexes))
        if twice:
            raise MergeError(f"shard {twice[0]}/{count} is given twice")
        if missing:
            raise MergeError(f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing: every shard's report is needed")
    outcomes = sorted((o for p in parts for o in p.outcomes), key=lambda o: o.target.name)
    names = [o.target.name for o in outcomes]
    repeated = next((a for a, b in itertools.pairwise(names) if a == b), None)
    if repeated is not None:
        raise MergeError(f"target {repeated!r} is in more than one report")
    started = min(p.started for p in parts)
    ended = max(p.started + timedelta(seconds=p.duration_s) for p in parts)
    return FleetReport(
        outcomes=tuple(outcomes),
        started=started,
        duration_s=round((ended - started).total_seconds(), 3),
        parallel=max(p.parallel for p in parts),
        interrupted=any(p.interrupted for p in parts),
        tool_version=parts[0].tool_version,
    )
