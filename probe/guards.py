"""What a check needs before it can test anything, declared beside it instead of written out at its top.

Two ways, both turned into results by the runner, so no check hand-writes the prelude (and none can forget its
early return and fall through to a false `pass`):

- `@needs(accounts(2), configured(ResourceSettings, "…"))` under `@check`: static preconditions, evaluated before
  the check runs; the first one unmet becomes a `skip` with its reason.
- `raise Skip("…")` or `raise Unavailable("…")` from the check or a shared helper it calls (a pass it awaits, a
  source it reads): `skip` when there is nothing to test here, `error` when what it needs could not be had (a
  deployed source failed, no account could log in). Neither is a finding: findings are returned, never raised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from probe.config import Section

if TYPE_CHECKING:
    from probe.context import CheckContext

F = TypeVar("F")
S = TypeVar("S", bound=Section)


class Skip(Exception):
    """Nothing applicable to test: the runner reports `skip` with the reason (at `location`, else the target)."""

    def __init__(self, reason: str, location: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.location = location


class Unavailable(Exception):
    """What the check needs could not be had (a source, a login): the runner reports `error` with the reason."""

    def __init__(self, reason: str, location: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.location = location


@dataclass(frozen=True)
class Guard:
    """A precondition: `met(ctx)` or the check is skipped with `reason`."""

    reason: str
    met: Callable[[CheckContext], bool]


def needs(*guards: Guard) -> Callable[[F], F]:
    """Attach preconditions to a check (use under `@check`); they are checked in order before it runs."""

    def mark(fn: F) -> F:
        fn.__probe_guards__ = (*getattr(fn, "__probe_guards__", ()), *guards)  # type: ignore[attr-defined]
        return fn

    return mark


def guards_of(fn: object) -> tuple[Guard, ...]:
    found: tuple[Guard, ...] = getattr(fn, "__probe_guards__", ())
    return found


def accounts(count: int) -> Guard:
    noun = "an account" if count == 1 else f"{count} accounts"
    return Guard(f"needs {noun}: add [accounts.NAME] entries (see docs/authorization.md)",
                 lambda ctx: len(ctx.accounts) >= count)


def configured(model: type[S], reason: str, when: Callable[[tuple[S, ...]], bool] = bool) -> Guard:
    """A `[[name]]` section of `model` entries that `when` accepts (default: at least one entry)."""
    return Guard(reason, lambda ctx: when(ctx.sections(model)))


def https_target(reason: str) -> Guard:
    return Guard(reason, lambda ctx: urlsplit(ctx.location).scheme == "https")
