"""What a check receives: the target, a scoped HTTP client, the shared attack surface, the accounts,
its own config section, the mode, and helpers that build results with its metadata filled in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from probe.accounts import Accounts
from probe.config import Section, Settings
from probe.http import ScopedHttp
from probe.model import CheckInfo, Confidence, FileLocation, Mode, Result, Severity, Status, Table
from probe.redact import Redactor
from probe.surface import Surface

T = TypeVar("T")
S = TypeVar("S", bound=Section)


@dataclass(frozen=True)
class MemoKey(Generic[T]):
    """A typed name for work shared through the memo: `MATRIX: MemoKey[Matrix] = MemoKey("idor:matrix")`."""

    name: str


class Memo:
    """Work shared by several checks of one run (one CORS probing pass feeds six ids). The first caller
    computes; concurrent callers await the same task; an exception is re-raised to every caller."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    async def get(self, key: MemoKey[T], factory: Callable[[], Awaitable[T]]) -> T:
        task = self._tasks.get(key.name)
        if task is None:
            task = asyncio.ensure_future(factory())
            self._tasks[key.name] = task
        return await asyncio.shield(task)  # type: ignore[no-any-return]

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()


@dataclass(frozen=True)
class CheckContext:
    info: CheckInfo
    target: str | None
    http: ScopedHttp
    surface: Surface
    accounts: Accounts
    settings: Settings
    mode: Mode
    memo: Memo
    redactor: Redactor

    def section(self, model: type[S]) -> S:
        """The check's `[name]` config table, by its model (declared in `CONFIG_SECTIONS`)."""
        return self.settings.section(model)

    def sections(self, model: type[S]) -> tuple[S, ...]:
        """The check's `[[name]]` config tables, by their model."""
        return self.settings.sections(model)

    def result(
        self,
        status: Status,
        location: str,
        detail: str = "",
        *,
        severity: Severity | None = None,
        evidence: dict[str, Any] | None = None,
        remediation: str | None = None,
        confidence: Confidence | None = None,
        kind: str = "",
        file: FileLocation | None = None,
        title: str | None = None,
        table: Table | None = None,
    ) -> Result:
        return Result(
            check=self.info.id,
            status=status,
            severity=severity or self.info.severity,
            title=title or self.info.title,
            location=location,
            detail=detail,
            evidence=evidence or {},
            remediation=(remediation if remediation is not None else self.info.fix) if status is Status.FAIL else "",
            references=self.info.references,
            confidence=confidence or self.info.confidence,
            kind=kind,
            file=file,
            table=table,
        )

    def fail(self, location: str, detail: str, **kwargs: Any) -> Result:
        return self.result(Status.FAIL, location, detail, **kwargs)

    def passed(self, location: str, detail: str = "", **kwargs: Any) -> Result:
        return self.result(Status.PASS, location, detail, **kwargs)

    def skip(self, location: str, reason: str, **kwargs: Any) -> Result:
        return self.result(Status.SKIP, location, reason, **kwargs)

    def error(self, location: str, reason: str, **kwargs: Any) -> Result:
        return self.result(Status.ERROR, location, reason, **kwargs)

    @property
    def location(self) -> str:
        """The default location of a result about the whole target."""
        return self.target or "(no target)"
