"""The first users at the same time: errors and latency under a bounded ramp of concurrent reads, and list routes
whose cost grows with the page they are asked for.

Active and opt-in: nothing is sent unless `[load] paths` (or `list_path`) names the routes and the run is
`--mode active`. The ramp (`probe.checks.load.ramp`) sends at most `requests_per_client` × clients per step for at
most `step_seconds` per step and stops at the first step with errors; the two ramp checks share one ramp through the
run's memo. The family's measurements never overlap each other (one lock), so the page-size timings are not taken
while the ramp loads the same server. Other families may still run beside them: `--only load` gives the cleanest
numbers. See docs/race-load.md for what is sent, how much, and why it belongs on staging.
"""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

from pydantic import Field

from probe.checks.load.ramp import MAX_REQUESTS_PER_CLIENT, MAX_STEP_SECONDS, MAX_USERS, Ramp, ramp_requests
from probe.checks.load.ramp import run as run_ramp
from probe.config import RoutePath, Section
from probe.context import CheckContext, MemoKey
from probe.guards import Guard, Skip, Unavailable, needs
from probe.http import HttpError, Response, excluded
from probe.model import Result, Severity
from probe.registry import Family, check

FAMILY = Family(
    group="concurrency",
    unlock='add [load] paths = ["/api/..."] (read routes) to probe.toml and run with --mode active, against staging '
           "or with consent",
)

# k6's documentation states its thresholds as `http_req_duration: ['p(95)<…']` and the usual service-level objective
# for an interactive read is that 95% of requests finish within a second: slower, users notice and retry, which adds
# load. A p95 rather than a mean, because a mean hides the one user in twenty who waits.
DEFAULT_P95_MS = 1000
DEFAULT_USERS = 20
# The page sizes `load.page-size` asks for, in rounds: a second and third round (medians kept) only when the first
# is near a threshold, since the big page of a route with per-row queries takes seconds.
PAGE_SIZES = (10, 100, 1000)
PAGE_REPEATS = 3
# A query per row costs at least a database round trip: ~0.1 ms on loopback, 0.5–2 ms across a network; serialising a
# row costs microseconds. Above this per extra row, and with the big page at least twice as slow as the medium one,
# the time grows with the rows the way per-row queries make it.
PER_ROW_SECONDS = 0.0001
GROWTH_FACTOR = 2.0
# JSON keys a list endpoint commonly puts its page under (DRF `results`, JSON:API `data`, `items`, Spring `content`).
LIST_KEYS = ("items", "results", "data", "content", "rows", "records")

K6_THRESHOLDS = "https://grafana.com/docs/k6/latest/using-k6/thresholds/"
SQLALCHEMY_POOL = "https://docs.sqlalchemy.org/en/20/core/pooling.html"
OWASP_API4 = "https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/"


class LoadSettings(Section):
    """`[load]`: read routes to ramp up and the latency they must keep; optionally a list route to page through."""

    paths: tuple[RoutePath, ...] = Field(default=(), description="read routes (GET, no sign-in) to load: ['/api/products']")
    users: int = Field(default=DEFAULT_USERS, ge=1, le=MAX_USERS, description="the concurrency to judge at")
    p95_ms: int = Field(default=DEFAULT_P95_MS, ge=1, le=60_000, description="the p95 budget at `users`, in ms")
    step_seconds: float = Field(default=MAX_STEP_SECONDS, gt=0, le=MAX_STEP_SECONDS,
                                description="seconds of sending per step (at most 10)")
    requests_per_client: int = Field(default=MAX_REQUESTS_PER_CLIENT, ge=1, le=MAX_REQUESTS_PER_CLIENT,
                                     description="requests per client per step (at most 10)")
    list_path: RoutePath | None = Field(default=None, description="a list route for load.page-size: '/api/items'")
    limit_param: str = Field(default="limit", description="the list route's page-size query parameter")

    def surface_routes(self) -> list[str]:
        return [*self.paths, *([self.list_path] if self.list_path else [])]


CONFIG_SECTIONS = {"load": LoadSettings}

PATHS = Guard('needs [load] paths = ["/api/..."]: read routes (GET, answering without sign-in) to ramp up',
              lambda ctx: bool(ctx.section(LoadSettings).paths))
LIST_PATH = Guard('needs [load] list_path = "/api/...": a list route that takes a page size (limit_param)',
                  lambda ctx: bool(ctx.section(LoadSettings).list_path))

RAMP: MemoKey[Ramp] = MemoKey("load:ramp")
# One measurement of the family at a time: page-size timings taken during the ramp would measure the ramp.
MEASURING: MemoKey[asyncio.Lock] = MemoKey("load:measuring")


async def _new_lock() -> asyncio.Lock:
    return asyncio.Lock()


async def shared_ramp(ctx: CheckContext) -> Ramp:
    return await ctx.memo.get(RAMP, lambda: _ramp(ctx))


async def _ramp(ctx: CheckContext) -> Ramp:
    settings = ctx.section(LoadSettings)
    for path in settings.paths:
        pattern = excluded(ctx.http.url(path), ctx.settings.exclude)
        if pattern is not None:
            raise Skip(f"{path} matches exclude {pattern!r}: not loaded")
    needed = ramp_requests(settings.users, settings.requests_per_client, len(settings.paths))
    lock = await ctx.memo.get(MEASURING, _new_lock)
    async with lock:
        if needed > ctx.http.remaining:
            raise Skip(f"the ramp to {settings.users} clients may send up to {needed} requests and the run's budget has "
                       f"{ctx.http.remaining} left: raise --max-requests by at least {needed - ctx.http.remaining}, or "
                       "lower [load] users or requests_per_client (nothing was sent: a ramp cut half-way judges nothing)")
        return await run_ramp(ctx.http, settings.paths, settings.users, settings.step_seconds,
                              settings.requests_per_client)


def _steps_text(found: Ramp) -> str:
    return " → ".join(str(s.concurrency) for s in found.steps)


@check(
    id="load.errors-under-concurrency",
    title="Reads stay error-free with the first users at once",
    severity=Severity.HIGH,
    cwe=400,
    active=True,
    summary="Ramps concurrent GETs to the [load] read routes (1 → 5 → 20 clients, up to `users`, capped per step); "
    "any 5xx, timeout or dropped connection at or below `users` fails.",
    risk="A connection pool of one (or a handful), a single worker, or a database with too few connections answers "
    "one visitor well and the twentieth with a 500: the launch-day crowd, a newsletter or one busy office is enough. "
    "The errors arrive exactly when most people are looking.",
    fix="Size the database pool for the workers that share it and let requests wait a little rather than fail: "
    "SQLAlchemy `create_engine(url, pool_size=<worker threads>, max_overflow=..., pool_timeout=10)`; Django "
    "`CONN_MAX_AGE` with a pooler (PgBouncer) sized for the workers; Prisma `connection_limit` in the URL; node-postgres "
    "`new Pool({ max })`; run more than one worker (gunicorn/uvicorn `--workers`), and check the database's "
    "`max_connections` covers every instance's pool.",
    references=(SQLALCHEMY_POOL, K6_THRESHOLDS),
)
@needs(PATHS)
async def errors_under_concurrency(ctx: CheckContext) -> list[Result]:
    found = await shared_ramp(ctx)
    users = ctx.section(LoadSettings).users
    table, evidence = found.table(), found.evidence()
    failing = next((s for s in found.steps if s.errors and s.concurrency <= users), None)
    if failing is not None:
        clean = [s.concurrency for s in found.steps if not s.errors]
        before = f" (clean at {', '.join(map(str, clean))} client(s))" if clean else ""
        outcomes = ", ".join(f"{k} ×{v}" for k, v in failing.outcomes().items())
        return [ctx.fail(ctx.location, f"At {failing.concurrency} concurrent clients, {failing.errors} of "
                         f"{failing.requests} GETs failed ({outcomes}){before}.", evidence=evidence, table=table,
                         kind=f"errors-at:{failing.concurrency}")]
    if found.at(users) is None:
        raise Skip(f"the ramp did not reach {users} clients ({found.stopped}): no verdict at [load] users")
    throttled = next((s for s in found.steps if s.throttled), None)
    if throttled is not None:
        return [ctx.skip(ctx.location, f"the target answered 429 to {throttled.throttled} of {throttled.requests} GETs "
                         f"at {throttled.concurrency} clients: a limiter answers before the app, so the app's behaviour "
                         "under this load was not seen", evidence=evidence, table=table)]
    return [ctx.passed(ctx.location, f"{found.requests} GETs over {_steps_text(found)} concurrent clients: no 5xx, "
                       "timeout or dropped connection.", evidence=evidence, table=table)]


@check(
    id="load.latency-budget",
    title="Reads stay within the latency budget at `users` clients",
    severity=Severity.MEDIUM,
    active=True,
    summary="The p95 of the ramp's step at [load] users stays within [load] p95_ms (default 1000 ms); a step where "
    "probe itself was CPU-bound gives no verdict.",
    risk="Requests that queue for a scarce resource (a pool of one connection, a single worker, a lock) stay fast for "
    "one user and slow for everyone once a few arrive together: pages time out, users retry, and the retries add load.",
    fix="Find what requests wait for: a database pool smaller than the workers that share it (SQLAlchemy `pool_size`, "
    "node-postgres `max`, Prisma `connection_limit`), a single worker process, a slow query per request (add the "
    "index, cache the answer), or blocking calls inside an async server (use the async driver or a thread pool).",
    references=(K6_THRESHOLDS, SQLALCHEMY_POOL),
)
@needs(PATHS)
async def latency_budget(ctx: CheckContext) -> list[Result]:
    settings = ctx.section(LoadSettings)
    found = await shared_ramp(ctx)
    table, evidence = found.table(), found.evidence()
    step = found.at(settings.users)
    if step is None:
        raise Skip(f"the ramp did not reach {settings.users} clients ({found.stopped}): no latency measured at "
                   "[load] users (see load.errors-under-concurrency)")
    if step.errors:
        return [ctx.skip(ctx.location, f"the step at {step.concurrency} clients had {step.errors} error(s) (reported by "
                         "load.errors-under-concurrency): the times of failing requests are not the route's latency",
                         evidence=evidence, table=table)]
    if step.throttled:
        return [ctx.skip(ctx.location, f"the target answered 429 at {step.concurrency} clients: the times are the "
                         "limiter's, not the route's", evidence=evidence, table=table)]
    if step.client_bound:
        return [ctx.skip(ctx.location, f"client-bound: probe's own CPU was {step.client_cpu:.0%} of a core during the "
                         f"step at {step.concurrency} clients, so its latencies measure probe, not the target; run "
                         "probe on a less busy machine or lower [load] users", evidence=evidence, table=table,
                         kind="client-bound")]
    p95 = step.percentile_ms(0.95) or 0.0
    p50 = step.percentile_ms(0.5) or 0.0
    if p95 > settings.p95_ms:
        return [ctx.fail(ctx.location, f"p95 at {step.concurrency} concurrent clients was {p95:.0f} ms (p50 {p50:.0f} ms "
                         f"over {step.requests} GETs), over the {settings.p95_ms} ms budget ([load] p95_ms).",
                         evidence=evidence, table=table, kind="p95-over-budget")]
    return [ctx.passed(ctx.location, f"p95 at {step.concurrency} concurrent clients was {p95:.0f} ms, within "
                       f"{settings.p95_ms} ms.", evidence=evidence, table=table)]


def page_items(body: Any) -> int | None:
    """How many items a list answer holds: a JSON array, or an object with one under a common key."""
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        for key in LIST_KEYS:
            if isinstance(body.get(key), list):
                return len(body[key])
    return None


async def _ask(ctx: CheckContext, path: str, param: str, size: int) -> tuple[int, float, Response]:
    """One page: its item count and time."""
    location = ctx.http.url(path)
    try:
        response = await ctx.http.get(path, params={param: str(size)})
    except HttpError as exc:
        raise Unavailable(f"GET {path}?{param}={size} failed: {exc}", location=location) from None
    if response.status != 200:
        raise Skip(f"GET {path}?{param}={size} answered {response.status}: not a list route that answers without "
                   "sign-in", location=location)
    if response.truncated:
        raise Skip(f"the answer to {param}={size} was cut at the run's max_bytes: raise max_bytes to measure it",
                   location=location)
    items = page_items(response.json())
    if items is None:
        raise Skip(f"GET {path}?{param}={size} is not a JSON list (nor an object with one under "
                   f"{', '.join(LIST_KEYS)})", location=location)
    return items, response.elapsed_s, response


def _clear(per_row: float, growth: float) -> bool:
    """Whether one round's numbers are far enough from both thresholds (twice over or half under) that noise cannot
    change the verdict."""
    over = per_row >= 2 * PER_ROW_SECONDS and growth >= 2 * GROWTH_FACTOR
    under = per_row <= PER_ROW_SECONDS / 2 or growth <= GROWTH_FACTOR / 2
    return over or under


@check(
    id="load.page-size",
    title="List routes cap the page or cost the same per page",
    severity=Severity.MEDIUM,
    cwe=770,
    active=True,
    summary="Asks the [load] list_path for 10, 100 and 1000 items (up to three rounds): passes when the route caps the "
    "page, fails when it serves the big page and its time grows with the rows (a query per row, N+1).",
    risk="A list that returns whatever page size is asked for, and loads each row's relations with a query of its own, "
    "costs one query per row: fine with ten rows in development, seconds per request with real data, and one request "
    "with limit=100000 ties up a worker and a database connection.",
    fix="Cap the page on the server (`limit = min(limit, 100)`; DRF `max_page_size`; FastAPI `Query(le=100)`) and load "
    "relations with the page in one or two queries: SQLAlchemy `selectinload()`/`joinedload()`, Django "
    "`select_related()`/`prefetch_related()`, Prisma `include`, ActiveRecord `includes`.",
    references=(OWASP_API4, "https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html"),
)
@needs(LIST_PATH)
async def page_size(ctx: CheckContext) -> list[Result]:
    settings = ctx.section(LoadSettings)
    path, param = settings.list_path or "", settings.limit_param
    location = ctx.http.url(path)
    lock = await ctx.memo.get(MEASURING, _new_lock)
    times: dict[int, list[float]] = {size: [] for size in PAGE_SIZES}
    counts: dict[int, int] = {}
    async with lock:
        big: Response | None = None
        for round_ in range(PAGE_REPEATS):
            for size in PAGE_SIZES:
                counts[size], elapsed, big = await _ask(ctx, path, param, size)
                times[size].append(elapsed)
            if round_ == 0 and (counts[10] > 10 or counts[100] < 100 or counts[1000] <= counts[100]):
                break  # counts decide it: no timing is needed
            t100, t1000 = (statistics.median(times[s]) for s in (100, 1000))
            if _clear((t1000 - t100) / max(1, counts[1000] - counts[100]), t1000 / t100 if t100 else GROWTH_FACTOR):
                break
    assert big is not None
    (n10, t10), (n100, t100), (n1000, t1000) = ((counts[s], statistics.median(times[s])) for s in PAGE_SIZES)
    evidence: dict[str, Any] = {
        "pages": [{param: size, "items": counts[size], "median_ms": round(statistics.median(times[size]) * 1000, 1)}
                  for size in PAGE_SIZES],
        "rounds": len(times[10]),
    }
    if n10 > 10:
        raise Skip(f"{param}=10 returned {n10} items: the route does not page by {param!r} (set [load] limit_param)",
                   location=location)
    if n100 < 100:
        raise Skip(f"{param}=100 returned only {n100} items: too few rows to tell a cap or a per-row cost; run against "
                   "staging with a realistic data volume (over 100 rows)", location=location)
    if n1000 <= n100:
        return [ctx.passed(location, f"The page is capped: {param}=1000 returned {n1000} items, as many as {param}=100.",
                           evidence=evidence)]
    per_row = (t1000 - t100) / (n1000 - n100)
    evidence["per_row_ms"] = round(per_row * 1000, 3)
    if per_row >= PER_ROW_SECONDS and t1000 >= GROWTH_FACTOR * t100:
        evidence.update(big.evidence(excerpt=""))
        return [ctx.fail(location, f"{param}=1000 returned {n1000} items in {t1000 * 1000:.0f} ms against {n100} in "
                         f"{t100 * 1000:.0f} ms and {n10} in {t10 * 1000:.0f} ms: {per_row * 1000:.2f} ms per extra "
                         "row, the cost of a query per row (N+1), and no cap on the page.", evidence=evidence,
                         kind="uncapped-per-row")]
    return [ctx.passed(location, f"Not capped ({param}=1000 returned {n1000} items), but the time stays flat: "
                       f"{per_row * 1000:.3f} ms per extra row, no sign of a query per row.", evidence=evidence)]
