"""Bad input that crashes the application. Passive: it reads the error-provoking pass of the debug family
(`probe.checks.debug.triggers.trigger_pass`, shared through `ctx.memo`), so it adds no request of its own."""

from __future__ import annotations

from urllib.parse import urlsplit

from probe.checks.debug.triggers import CRASH_STATUSES, DebugSettings, Outcome, trigger_pass
from probe.context import CheckContext
from probe.model import Confidence, Result, Severity
from probe.registry import Family, check

FAMILY = Family(group="errors")


@check(
    id="input.server-error",
    title="Bad input is refused, not crashed on",
    severity=Severity.MEDIUM,
    cwe=20,
    summary="Blank forms, malformed JSON, wrongly typed bodies, odd path values and out-of-range or non-numeric "
    "numbers (negative, zero, beyond 64 bits, NaN in skip/limit/page/id parameters) get a 4xx, not a 500.",
    risk="A 500 on a blank or malformed submission means the handler trusted its input: the same bug often lets "
    "odd input reach the database or crash workers, and every real user who mistypes sees a broken page.",
    fix="Validate input at the edge and answer 400/422 with a message: Flask `request.get_json(silent=True)` and "
    "check types (or marshmallow/pydantic); Django forms/DRF serializers; FastAPI pydantic models instead of "
    "`await request.json()`; Express express-validator/zod and an error handler that maps SyntaxError to 400; "
    "use parameterised queries so quotes are just data; bound every number the database sees (FastAPI "
    "`Query(ge=0, le=100)` on `skip` and `limit` alike, DRF `IntegerField(min_value=0, max_value=...)`, zod "
    "`z.coerce.number().int().min(0).max(100)`).",
    references=("https://cheatsheetseries.owasp.org/cheatsheets/Input_Validation_Cheat_Sheet.html",
                "https://cwe.mitre.org/data/definitions/20.html"),
)
async def server_error(ctx: CheckContext) -> list[Result]:
    found = await trigger_pass(ctx)
    bad_input = [o for o in found.outcomes if o.trigger.bad_input]
    answered = [o for o in bad_input if o.response is not None]
    if not bad_input:
        return [ctx.skip(ctx.location, "no bad-input trigger applied")]
    if not answered:
        return [ctx.error(ctx.location, f"none of the {len(bad_input)} bad-input requests got an answer: "
                          f"{bad_input[0].error}")]
    crashes: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in answered:
        assert outcome.response is not None
        if outcome.response.status in CRASH_STATUSES:
            # By route: a quote and a bad number in the same path parameter are one unchecked parameter.
            route = outcome.trigger.route or urlsplit(outcome.trigger.url).path
            crashes.setdefault((outcome.trigger.method, route), []).append(outcome)
    results: list[Result] = []
    for (method, path), outcomes in crashes.items():
        first = outcomes[0]
        response = first.response
        assert response is not None
        labels = ", ".join(f"{o.trigger.label} ({o.response.status if o.response else '?'})" for o in outcomes)
        page = next((fp for fp in first.matches if fp.signal in ("error-page", "interactive-debugger")), None)
        also = f" The answer is also a {page.framework} debug page (see debug.{page.signal})." if page else ""
        evidence = response.evidence()
        if first.trigger.content is not None:
            evidence["request"]["body"] = first.trigger.content.decode("utf-8", errors="replace")[:200]
        control, confidence = _controlled(found.outcomes, outcomes, path)
        results.append(ctx.fail(response.url, f"{method} {path} crashed with {response.status} on: {labels}.{also}"
                                f"{control}", kind=first.trigger.kind, evidence=evidence, confidence=confidence))
    if results:
        return results
    return [ctx.passed(ctx.location, f"{len(answered)} bad-input requests were answered without a server error."
                                     f"{_refused_numbers(ctx, answered)}")]


def _controlled(found: tuple[Outcome, ...], crashed: list[Outcome], route: str) -> tuple[str, Confidence]:
    """What the controls say of bad-number crashes: each parameter that crashed was first sent an ordinary number (the
    document's example, else 1), and the crash is the value's only when that was answered without one."""
    params = list(dict.fromkeys(o.trigger.param for o in crashed if o.trigger.kind == "bad-number"))
    if not params:
        return "", Confidence.HIGH
    controls = [next((o for o in found if o.trigger.kind == "number-control" and o.trigger.route == route
                      and o.trigger.param == param), None) for param in params]
    if any(c is None or c.response is None for c in controls):
        return " The ordinary number sent as a control got no answer: nothing shows the crash is the number's.", Confidence.MEDIUM
    shown = [(c.trigger.label.split(" on ")[0], c.response.status) for c in controls if c is not None and c.response]
    crashed_too = [f"{label} got {status}" for label, status in shown if status in CRASH_STATUSES]
    if crashed_too:
        return (f" The control {'; '.join(crashed_too)} too: the route fails whatever number it is given, so the cause "
                "may be another missing or unchecked parameter."), Confidence.MEDIUM
    return " The control " + "; ".join(f"{label} was answered {status}" for label, status in shown) + ".", Confidence.HIGH


def _refused_numbers(ctx: CheckContext, answered: list[Outcome]) -> str:
    """A note naming the routes that refused every bad number (401/403): their numbers were not tested."""
    statuses: dict[str, set[int]] = {}
    for outcome in answered:
        if outcome.trigger.kind == "bad-number" and outcome.response is not None:
            statuses.setdefault(outcome.trigger.route or outcome.trigger.url, set()).add(outcome.response.status)
    locked = [route for route, seen in statuses.items() if seen <= {401, 403}]
    if not locked:
        return ""
    account = ctx.section(DebugSettings).account
    if account is None:
        return (f" Bad numbers were refused for want of a log-in, so not tested, at {', '.join(locked)}: "
                "set [debug] account to send them as a signed-in account.")
    # Sent as the account: a 403 is that account's permissions, not a missing log-in.
    return (f" Bad numbers were refused to the [debug] account {account!r}, so not tested, at {', '.join(locked)}: "
            "an account allowed to read those routes would test them.")
