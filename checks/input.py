"""Bad input that crashes the application. Passive: it reads the error-provoking pass of the debug family
(`probe.checks.debug.triggers.trigger_pass`, shared through `ctx.memo`), so it adds no request of its own."""

from __future__ import annotations

from urllib.parse import urlsplit

from probe.checks.debug.triggers import CRASH_STATUSES, Outcome, trigger_pass
from probe.context import CheckContext
from probe.model import Result, Severity
from probe.registry import Family, check

FAMILY = Family(group="errors")


@check(
    id="input.server-error",
    title="Bad input is refused, not crashed on",
    severity=Severity.MEDIUM,
    cwe=20,
    summary="Blank forms, malformed JSON, wrongly typed bodies and odd path values get a 4xx, not a 500.",
    risk="A 500 on a blank or malformed submission means the handler trusted its input: the same bug often lets "
    "odd input reach the database or crash workers, and every real user who mistypes sees a broken page.",
    fix="Validate input at the edge and answer 400/422 with a message: Flask `request.get_json(silent=True)` and "
    "check types (or marshmallow/pydantic); Django forms/DRF serializers; FastAPI pydantic models instead of "
    "`await request.json()`; Express express-validator/zod and an error handler that maps SyntaxError to 400; "
    "use parameterised queries so quotes are just data.",
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
            crashes.setdefault((outcome.trigger.method, urlsplit(outcome.trigger.url).path), []).append(outcome)
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
        results.append(ctx.fail(response.url, f"{method} {path} crashed with {response.status} on: {labels}.{also}",
                                kind=first.trigger.kind, evidence=evidence))
    if results:
        return results
    return [ctx.passed(ctx.location, f"{len(answered)} bad-input requests were answered without a server error.")]
