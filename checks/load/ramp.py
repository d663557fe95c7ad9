"""A bounded ramp of concurrent GETs: the measurement the load checks judge (this module registers no checks).

Steps of 1 → 5 → 20 → 50 concurrent clients, up to the configured `users` (a step at `users` itself when it is not
on that ladder), each client sending one GET after another to the configured read routes in turn. Each step is
bounded twice: no new request starts after `step_seconds` (at most 10 s; a request then in flight may finish, within
the run's `timeout`), and no more than `requests_per_client` (at most 10) × its clients are sent. The ramp stops after
the first step with an error (a 5xx, a timeout, a dropped or refused connection) or a 429: a larger crowd would
only add load to a target already failing or asking us to slow down.

The whole ramp's allowance is held from the run's budget before the first request (`ScopedHttp.crowd`), so it runs
whole or not at all: a ramp cut half-way by the budget would answer neither question.

Each step also measures probe's own CPU: the thread time of the event loop that sends every request, against the
step's wall time. probe's client is one asyncio thread, so it can use at most one core; above `CLIENT_BOUND` of
that core the client itself is the bottleneck (parsing, TLS, Python), the latencies it records measure probe rather
than the target, and the step is marked client-bound. The thread, not the process, is measured because the process
may host other work (a test's server, other threads) that says nothing about the client.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from probe.guards import Skip
from probe.http import ConnectionDropped, Crowd, HttpError, RequestFailed, ScopedHttp
from probe.model import Table

# The ladder of the ramp: one user, a handful, the first crowd, a busy moment.
LADDER = (1, 5, 20, 50)
MAX_USERS = 100
MAX_STEP_SECONDS = 10.0
MAX_REQUESTS_PER_CLIENT = 10
# Above this share of one core, probe's event loop is the bottleneck of the step.
CLIENT_BOUND = 0.9
COLUMNS = ("concurrency", "requests", "errors", "throughput (req/s)", "p50 (ms)", "p95 (ms)", "client CPU (%)",
           "client-bound")


def cpu_seconds() -> float:
    """CPU time of the thread running the event loop (see the module docstring); tests replace it to simulate a
    client that is CPU-bound."""
    return time.thread_time()


def steps_for(users: int) -> tuple[int, ...]:
    """The ladder's steps below `users`, then `users`: 20 → (1, 5, 20); 8 → (1, 5, 8); 100 → (1, 5, 20, 50, 100)."""
    return (*(step for step in LADDER if step < users), users)


def step_cap(concurrency: int, requests_per_client: int) -> int:
    return concurrency * requests_per_client


def ramp_requests(users: int, requests_per_client: int, paths: int) -> int:
    """The most requests a ramp may send: one check request per path, then every step's cap."""
    return paths + sum(step_cap(c, requests_per_client) for c in steps_for(users))


@dataclass(frozen=True)
class Sample:
    status: int | None  # None: no answer (timeout, dropped or refused connection)
    seconds: float
    failure: str = ""

    @property
    def error(self) -> bool:
        return self.status is None or self.status >= 500


@dataclass(frozen=True)
class Step:
    concurrency: int
    samples: tuple[Sample, ...]
    seconds: float
    client_cpu: float  # share of one core the client's event loop used during the step
    cut: str = ""  # why the step ended early (the run's deadline), if it did

    @property
    def requests(self) -> int:
        return len(self.samples)

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if s.error)

    @property
    def throttled(self) -> int:
        return sum(1 for s in self.samples if s.status == 429)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def client_bound(self) -> bool:
        return self.client_cpu > CLIENT_BOUND

    def percentile_ms(self, share: float) -> float | None:
        """Nearest-rank percentile of every request's time (answered or not), in milliseconds."""
        times = sorted(s.seconds for s in self.samples)
        if not times:
            return None
        return times[max(0, math.ceil(share * len(times)) - 1)] * 1000

    def outcomes(self) -> dict[str, int]:
        """What the requests got: statuses and failures, counted."""
        found = Counter(str(s.status) if s.status is not None else s.failure for s in self.samples)
        return dict(sorted(found.items()))

    def row(self) -> tuple[int, int, int, float, int | None, int | None, int, str]:
        p50, p95 = self.percentile_ms(0.5), self.percentile_ms(0.95)
        return (self.concurrency, self.requests, self.errors, round(self.throughput, 1),
                None if p50 is None else round(p50), None if p95 is None else round(p95), round(self.client_cpu * 100),
                "yes" if self.client_bound else "no")

    def evidence(self) -> dict[str, object]:
        return {"concurrency": self.concurrency, "requests": self.requests, "errors": self.errors,
                "outcomes": self.outcomes(), "seconds": round(self.seconds, 2),
                "throughput_rps": round(self.throughput, 1), "p50_ms": self.row()[4], "p95_ms": self.row()[5],
                "client_cpu_percent": round(self.client_cpu * 100), "client_bound": self.client_bound,
                **({"cut": self.cut} if self.cut else {})}


@dataclass(frozen=True)
class Ramp:
    users: int
    paths: tuple[str, ...]
    steps: tuple[Step, ...]
    stopped: str = ""  # why the ramp ended before `users`, if it did
    caps: dict[str, float] = field(default_factory=dict)

    def at(self, concurrency: int) -> Step | None:
        return next((s for s in self.steps if s.concurrency == concurrency), None)

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.steps)

    def table(self) -> Table:
        return Table(f"Load ramp: GET {', '.join(self.paths)}", COLUMNS, tuple(s.row() for s in self.steps))

    def evidence(self) -> dict[str, object]:
        return {"paths": list(self.paths), "users": self.users, "caps": dict(self.caps),
                "steps": [s.evidence() for s in self.steps], **({"stopped": self.stopped} if self.stopped else {})}


def _failure(exc: RequestFailed) -> str:
    """The failure without the request line: 'timeout', 'connection reset by the server', 'connection refused'."""
    if isinstance(exc, ConnectionDropped):
        return "connection dropped"
    reason = str(exc).split(": ", 1)[-1]
    return "timeout" if reason.startswith("no complete answer") or "timed out" in reason else reason


async def run_step(crowd: Crowd, urls: Sequence[str], concurrency: int, cap: int, seconds: float) -> Step:
    """`concurrency` clients sending GETs back to back, round-robin over `urls`, until `cap` requests have started
    or `seconds` have passed; then the requests in flight finish (each within the run's timeout)."""
    samples: list[Sample] = []
    started = 0
    cut = ""
    stop_at = time.monotonic() + seconds
    cpu_before, wall_before = cpu_seconds(), time.monotonic()

    async def client() -> None:
        nonlocal started, cut
        while started < cap and time.monotonic() < stop_at and not cut:
            url = urls[started % len(urls)]
            started += 1
            sent = time.monotonic()
            try:
                response = await crowd.get(url)
            except RequestFailed as exc:
                samples.append(Sample(None, time.monotonic() - sent, _failure(exc)))
                continue
            except HttpError as exc:  # the run's deadline, scope or exclude: nothing was sent
                started -= 1
                cut = str(exc)
                return
            samples.append(Sample(response.status, response.elapsed_s))

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(client())
    wall = time.monotonic() - wall_before
    cpu = (cpu_seconds() - cpu_before) / wall if wall > 0 else 0.0
    return Step(concurrency, tuple(samples), wall, cpu, cut)


async def run(http: ScopedHttp, paths: Sequence[str], users: int, step_seconds: float, requests_per_client: int) -> Ramp:
    """The ramp, holding its whole allowance first. Each path is asked once before it: an answer other than 2xx is a
    Skip, since a ramp against a 404 or a login page measures nothing."""
    urls = [http.url(p) for p in paths]
    caps = {"step_seconds": step_seconds, "requests_per_client": requests_per_client}
    steps = steps_for(users)
    done: list[Step] = []
    stopped = ""
    async with http.crowd(connections=max(steps), requests=ramp_requests(users, requests_per_client, len(paths))) as crowd:
        for path, url in zip(paths, urls, strict=True):
            try:
                first = await crowd.get(url)
            except RequestFailed as exc:
                raise Skip(f"GET {path} before the ramp failed ({_failure(exc)}): nothing to load") from None
            if not 200 <= first.status < 300:
                raise Skip(f"GET {path} answered {first.status} before the ramp: [load] paths must be read routes "
                                "that answer 2xx without signing in")
        for concurrency in steps:
            step = await run_step(crowd, urls, concurrency, step_cap(concurrency, requests_per_client), step_seconds)
            done.append(step)
            if step.errors:
                stopped = f"stopped after the step at {concurrency} clients: {step.errors} error(s)"
            elif step.throttled:
                stopped = f"stopped after the step at {concurrency} clients: the target answered 429 {step.throttled} time(s)"
            elif step.cut:
                stopped = f"cut during the step at {concurrency} clients: {step.cut}"
            if stopped:
                break
    return Ramp(users, tuple(paths), tuple(done), stopped, caps)
