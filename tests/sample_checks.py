"""Checks that misbehave on purpose, to prove the runner contains them. Not part of the built-ins."""

from __future__ import annotations

from probe.context import CheckContext
from probe.model import Result, Severity
from probe.registry import check

META = {"summary": "test", "risk": "test", "fix": "test"}


@check(id="input.sample-raises", title="raises", severity=Severity.HIGH, **META)
async def raises(ctx: CheckContext) -> list[Result]:
    await ctx.surface.page()
    raise ValueError("boom with token s3cr3t-value-123")


@check(id="input.sample-ok", title="fine", severity=Severity.LOW, **META)
async def fine(ctx: CheckContext) -> list[Result]:
    page = await ctx.surface.page()
    return [ctx.passed(page.url, "looked")]


@check(id="input.sample-greedy", title="greedy", severity=Severity.LOW, **META)
async def greedy(ctx: CheckContext) -> list[Result]:
    for i in range(1000):
        await ctx.http.get(f"/item/{i}")
    return [ctx.passed(ctx.location)]


@check(id="input.sample-active", title="active", severity=Severity.LOW, active=True, **META)
async def active(ctx: CheckContext) -> list[Result]:
    return [ctx.fail(ctx.location, "should not run in passive mode")]


@check(id="input.sample-foreign", title="foreign", severity=Severity.LOW, **META)
async def foreign(ctx: CheckContext) -> list[Result]:
    return [Result(check="input.sample-ok", status=ctx.passed("x").status, severity=Severity.LOW, title="t", location="x")]


@check(id="input.sample-silent", title="silent", severity=Severity.LOW, **META)
async def silent(ctx: CheckContext) -> list[Result]:
    return []
