"""A module that reuses an id from tests.sample_checks, to prove the registry refuses it."""

from __future__ import annotations

from probe.context import CheckContext
from probe.model import Result, Severity
from probe.registry import check


@check(id="input.sample-ok", title="again", severity=Severity.LOW, summary="s", risk="r", fix="f")
async def again(ctx: CheckContext) -> list[Result]:
    return []
