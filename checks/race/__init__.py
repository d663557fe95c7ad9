"""Every action twice at once: a request that must succeed once (redeem a coupon, withdraw a balance, vote, sign up)
sent as N copies released together, and an Idempotency-Key sent twice.

Active and opt-in per `[[race]]` entry: nothing is raced that the configuration does not name. Each attempt gets a
fresh `setup` (a new coupon, a new poll, a fresh `{email}`), so an attempt consumes only what it created. The
release technique and its limits are in `probe.release`; the entries and attempts in
`probe.checks.race.plan`; the request cap per entry is `plan.request_cap` (docs/race-load.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from probe.checks.race.plan import Attempt, RaceTarget, attempt, request_cap, sequential
from probe.context import CheckContext
from probe.guards import Skip, Unavailable, configured, needs
from probe.http import HttpError
from probe.model import Result, Severity
from probe.registry import Family, check

FAMILY = Family(
    group="concurrency",
    unlock="add a [[race]] entry (a request that must succeed once) and run with --mode active, against staging "
           "or with consent (see docs/race-load.md)",
)
CONFIG_SECTIONS = {"race": list[RaceTarget]}

KETTLE = "https://portswigger.net/research/smashing-the-state-machine"
OWASP_RACE = "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/10-Business_Logic_Testing/05-Test_Number_of_Times_a_Function_Can_Be_Used_Limits"
STRIPE_IDEMPOTENCY = "https://docs.stripe.com/api/idempotent_requests"
IETF_IDEMPOTENCY = "https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/"


def _once(entries: tuple[RaceTarget, ...]) -> bool:
    return any(not e.idempotency for e in entries)


def _keyed(entries: tuple[RaceTarget, ...]) -> bool:
    return any(e.idempotency for e in entries)


def _span(values: Sequence[float | int]) -> str:
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"


def _spread(attempts: Sequence[Attempt]) -> str:
    spreads = [round(a.spread_ms, 1) for a in attempts if a.spread_ms is not None]
    return f"released within {_span(spreads)} ms" if spreads else "released together"


async def _attempts(ctx: CheckContext, entry: RaceTarget) -> tuple[list[Attempt], str | None]:
    """Up to `attempts` attempts; the reason the rest could not run (budget, deadline, a failed setup), if any."""
    done: list[Attempt] = []
    for _ in range(entry.attempts):
        try:
            done.append(await attempt(ctx, entry, entry.copies))
        except Unavailable as exc:
            return done, exc.reason
        except HttpError as exc:
            return done, str(exc)
    return done, None


@check(
    id="race.double-submit",
    title="An action that must happen once happens once when sent many times at once",
    severity=Severity.HIGH,
    cwe=362,
    active=True,
    summary="N copies of a [[race]] request (redeem, withdraw, vote, sign up) released together: at most one succeeds.",
    risk="Check-then-act code (read the coupon, the balance or the existing vote; then write) lets concurrent copies "
    "all pass the check before any of them writes: a coupon redeemed ten times, a balance withdrawn twice, a second "
    "account on one e-mail. Scripts send such bursts on purpose; double-clicks and retries send them by accident.",
    fix="Make the database decide, in one statement or under a lock: a conditional `UPDATE … SET redeemed = true "
    "WHERE code = $1 AND NOT redeemed RETURNING …` (no row: refuse); `SELECT … FOR UPDATE` before checking a balance "
    "(SQLAlchemy `.with_for_update()`, Django `select_for_update()`, Prisma `$queryRaw … FOR UPDATE` in a "
    "transaction); a unique constraint with `INSERT … ON CONFLICT DO NOTHING` for votes and sign-ups (Rails/Django "
    "`unique=True` plus handling IntegrityError). A check in application code before the write is not enough at "
    "READ COMMITTED, PostgreSQL's and MySQL's default.",
    references=(KETTLE, OWASP_RACE),
)
@needs(configured(RaceTarget, "add a [[race]] entry: a request that must succeed at most once (see docs/race-load.md)",
                  _once))
async def double_submit(ctx: CheckContext) -> list[Result]:
    results: list[Result] = []
    for entry in ctx.sections(RaceTarget):
        if entry.idempotency:
            continue  # may succeed many times by design; race.idempotency tests its key
        location = ctx.http.url(entry.path)
        try:
            attempts, stopped = await _attempts(ctx, entry)
        except Skip as skipped:
            results.append(ctx.skip(skipped.location or location, skipped.reason))
            continue
        results.append(_judge_double_submit(ctx, entry, location, attempts, stopped))
    return results


def _judge_double_submit(ctx: CheckContext, entry: RaceTarget, location: str, attempts: list[Attempt],
                         stopped: str | None) -> Result:
    evidence = {"request": entry.line, "copies": entry.copies, "request_cap": request_cap(entry),
                "attempts": [a.evidence(i + 1) for i, a in enumerate(attempts)]}
    spent = [a for a in attempts if a.successes > 1 or a.moved_more_than_once]
    if spent:
        detail = (f"{len(spent)} of {len(attempts)} attempts double-spent, {_span([a.successes for a in attempts])} of "
                  f"{entry.copies} copies succeeded ({entry.line}, {_spread(attempts)})")
        moves = [a.moves for a in attempts if a.moves is not None]
        if moves and entry.verify:
            detail += f"; {entry.verify.request} {entry.verify.value!r} moved {_span(moves)}× the step of one success"
        if stopped:
            detail += f"; the remaining attempts could not run: {stopped}"
        return ctx.fail(location, detail + ".", kind=f"double-submit:{entry.line}", evidence=evidence)
    if stopped:
        return ctx.error(location, f"{len(attempts)} of {entry.attempts} attempts ran before one could not: {stopped}",
                         evidence=evidence)
    empty = [a for a in attempts if a.successes == 0]
    if len(empty) == len(attempts):
        seen = sorted({str(s) for a in attempts for s in a.statuses})
        return ctx.skip(location, f"no copy succeeded in any of {len(attempts)} attempts (statuses {', '.join(seen)}): "
                        "the request as configured is refused, so nothing was raced; check its body, account and setup",
                        evidence=evidence)
    if empty:
        return ctx.skip(location, f"{len(empty)} of {len(attempts)} attempts had no successful copy and prove nothing; "
                        "in the others exactly one copy succeeded: run again, or check what refused those attempts",
                        evidence=evidence)
    detail = (f"In each of {len(attempts)} attempts exactly 1 of {entry.copies} copies succeeded ({_spread(attempts)})"
              + (f"; {entry.verify.value!r} moved at most once" if entry.verify else "") + ".")
    return ctx.passed(location, detail, evidence=evidence)


@check(
    id="race.idempotency",
    title="A repeated Idempotency-Key does not create a second record",
    severity=Severity.MEDIUM,
    cwe=837,
    active=True,
    summary="A [[race]] entry with idempotency = true, sent twice in a row and then N times at once with one "
    "Idempotency-Key, creates one record.",
    risk="Clients retry: a mobile app on a flaky network, a payment form submitted twice, a queue redelivering. An "
    "endpoint that takes an Idempotency-Key but does not store it (or checks it before storing it) charges, orders "
    "or books twice.",
    fix="Store the key before doing the work, under a unique constraint (`INSERT INTO idempotency_keys … ON CONFLICT "
    "DO NOTHING RETURNING key`): the request that inserted it does the work and saves its answer; a repeat replays "
    "that answer, or gets 409 while the first is still running (Stripe's behaviour). Checking for the key first and "
    "inserting it afterwards lets concurrent repeats through.",
    references=(STRIPE_IDEMPOTENCY, IETF_IDEMPOTENCY),
)
@needs(configured(RaceTarget, "add a [[race]] entry with idempotency = true for a request that takes an "
                  "Idempotency-Key (see docs/race-load.md)", _keyed))
async def idempotency(ctx: CheckContext) -> list[Result]:
    results: list[Result] = []
    for entry in ctx.sections(RaceTarget):
        if not entry.idempotency:
            continue
        location = ctx.http.url(entry.path)
        try:
            phases = [
                ("twice in a row", await sequential(ctx, entry, {entry.idempotency_header: _key()})),
                (f"{entry.copies} copies at once", await attempt(ctx, entry, entry.copies, {entry.idempotency_header: _key()})),
            ]
        except Skip as skipped:
            results.append(ctx.skip(skipped.location or location, skipped.reason))
            continue
        except Unavailable as exc:
            results.append(ctx.error(exc.location or location, exc.reason))
            continue
        except HttpError as exc:
            results.append(ctx.error(location, str(exc)))
            continue
        results.append(_judge_idempotency(ctx, entry, location, phases))
    return results


def _key() -> str:
    return f"probe-{secrets.token_hex(12)}"


def _records_made(phase: Attempt) -> str:
    """What a phase made: "two" (a second record), "one", "none" (nothing succeeded) or "unknown" (2xx answers and
    nothing to tell a replay from a new record)."""
    if len(set(phase.records)) > 1 or phase.moved_more_than_once:
        return "two"
    if phase.successes == 0:
        return "none"
    if phase.successes == 1 or phase.moves is not None or (len(phase.records) == phase.successes and phase.records):
        return "one"
    return "unknown"


def _judge_idempotency(ctx: CheckContext, entry: RaceTarget, location: str, phases: list[tuple[str, Attempt]]) -> Result:
    header = entry.idempotency_header
    evidence = {"request": entry.line, "header": header,
                "phases": [{"sent": name, **phase.evidence(i + 1)} for i, (name, phase) in enumerate(phases)]}
    verdicts = [(name, phase, _records_made(phase)) for name, phase in phases]
    doubled = [(name, phase) for name, phase, verdict in verdicts if verdict == "two"]
    if doubled:
        said = "; ".join(
            f"{name}: {phase.successes} of {len(phase.statuses)} succeeded"
            + (f" with {len(set(phase.records))} different {entry.record!r} values" if len(set(phase.records)) > 1 else "")
            + (f", {phase.moves:g}× the verify step" if phase.moves is not None else "")
            for name, phase in doubled)
        return ctx.fail(location, f"One {header} created more than one record ({entry.line}; {said}).",
                        kind=f"idempotency:{entry.line}", evidence=evidence)
    refused = [name for name, _, verdict in verdicts if verdict == "none"]
    if refused:
        return ctx.skip(location, f"no copy succeeded when sent {' and '.join(refused)}: the request as configured is "
                        "refused, so the key was not tested; check its body, account and setup", evidence=evidence)
    if any(verdict == "unknown" for _, _, verdict in verdicts):
        return ctx.skip(location, "several copies answered 2xx and nothing tells a replayed answer from a second record: "
                        "set record = the JSON path of the created id, or a verify request", evidence=evidence)
    return ctx.passed(location, f"Sent twice in a row and {entry.copies} times at once with one {header}, the request "
                      "made one record each time (the repeats were replayed or refused).", evidence=evidence)
