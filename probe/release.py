"""Release N copies of one request together: last-byte synchronisation over HTTP/1.1, as close as httpx allows.

How the copies are sent (the technique James Kettle's "Smashing the state machine" (2023) describes for HTTP/1.1):

1. Each copy gets its own connection (its own single-connection httpx client), opened before the release.
2. A copy with a body is sent with an explicit `Content-Length` and a streamed body: the request line, the headers
   and every byte of the body but the last go out at once, then the copy waits at a shared gate. The server has
   read the request and is waiting for its last byte; the connection, TLS included, is established.
3. When every copy has staged (or failed), and after a short settle so the server has read what was sent, the gate
   opens: each copy writes its one last byte. The writes happen one after another in the same event-loop turn, on
   sockets with Nagle's algorithm off (asyncio sets TCP_NODELAY), so they leave within a fraction of a millisecond.
4. A copy without a body (nothing to withhold) is warmed instead: its connection first carries one `OPTIONS`
   request for the same URL (safe, and answered by frameworks without running the handler), then all copies are
   sent when the gate opens. Their spread is wider: each request is written whole after the gate.

What it is not: the HTTP/2 single-packet attack (the final frames of 20-30 requests coalesced into one TCP packet,
which removes network jitter altogether) needs an HTTP/2 client that can hold back frames of several streams and
flush them in one write; httpx cannot. Over the network each copy's last byte still travels in its own packet, so
the spread the server sees is the spread measured here plus the path's jitter.

The release spread is measured: the time between the first and the last copy's final write (`spread_ms`).
This module only sends. What may be sent is decided by `probe.http.HttpClient.release`, its one caller: scope and
`exclude` for every copy, the deadline, and the run's budget held for every request (warm-ups included) before the
first byte leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

# After every copy has staged: time for the server to read the headers and park each handler on the body.
SETTLE_S = 0.05
# Copies answer quickly or not at all; a body is read only for its status and a JSON id.
MAX_BODY_BYTES = 64_000


@dataclass(frozen=True)
class Copy:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Answer:
    """One copy's outcome: a status and body, or the transport error that stopped it."""

    status: int | None
    body: bytes = b""
    error: str | None = None


@dataclass(frozen=True)
class Release:
    answers: tuple[Answer, ...]
    spread_ms: float | None  # first to last copy's final write; None when fewer than two copies were released
    technique: str  # "last-byte" or "warmed"


def withheld(copies: Sequence[Copy]) -> bool:
    """Whether every copy has a body whose last byte can be held back (else the copies are warmed, then sent)."""
    return all(c.body for c in copies)


def requests_per_copy(last_byte: bool) -> int:
    """One request per copy, and a warm-up before it when it has no last byte to hold back."""
    return 1 if last_byte else 2


def requests_needed(copies: Sequence[Copy]) -> int:
    """Requests `release` sends for `copies`."""
    return len(copies) * requests_per_copy(withheld(copies))


async def release(copies: Sequence[Copy], *, verify: ssl.SSLContext | bool, timeout: float, user_agent: str,
                  describe: Callable[[httpx.HTTPError], str]) -> Release:
    """Send `copies` together and wait for every answer (each bounded by `timeout` seconds after the release);
    `describe` words a transport error as the run's client does."""
    last_byte = withheld(copies)
    gate = asyncio.Event()
    staged = asyncio.Event()
    waiting = [len(copies)]
    finished: list[float | None] = [None] * len(copies)

    def stage() -> None:
        waiting[0] -= 1
        if waiting[0] == 0:
            staged.set()

    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(
                verify=verify,
                timeout=httpx.Timeout(timeout),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                # Uncompressed: the body is read only up to a small cap, and never inflated.
                headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
                trust_env=False,
                follow_redirects=False,
            ))
            for _ in copies
        ]
        if not last_byte:
            await asyncio.gather(*(_warm(client, copy) for client, copy in zip(clients, copies, strict=True)))

        async def one(index: int) -> Answer:
            copy, client = copies[index], clients[index]
            staged_here = False

            async def body() -> AsyncIterator[bytes]:
                nonlocal staged_here
                if len(copy.body) > 1:
                    yield copy.body[:-1]
                staged_here = True
                stage()
                await gate.wait()
                yield copy.body[-1:]
                finished[index] = time.perf_counter()

            try:
                if last_byte:
                    headers = {**copy.headers, "Content-Length": str(len(copy.body))}
                    request = client.build_request(copy.method, copy.url, headers=headers, content=body())
                else:
                    staged_here = True
                    stage()
                    await gate.wait()
                    finished[index] = time.perf_counter()
                    request = client.build_request(copy.method, copy.url, headers=dict(copy.headers))
                response = await client.send(request, stream=True)
                try:
                    return Answer(response.status_code, await _read_capped(response))
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                return Answer(None, error=describe(exc))
            finally:
                if not staged_here:
                    stage()  # a copy that failed before staging must not hold the others at the gate

        tasks = [asyncio.create_task(one(i)) for i in range(len(copies))]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await staged.wait()
        await asyncio.sleep(SETTLE_S)
        gate.set()
        done, pending = await asyncio.wait(tasks, timeout=timeout + SETTLE_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        answers = [t.result() if t in done else Answer(None, error=f"no answer within {timeout:.1f} s") for t in tasks]
    times = [t for t in finished if t is not None]
    spread = (max(times) - min(times)) * 1000 if len(times) > 1 else None
    return Release(tuple(answers), spread, "last-byte" if last_byte else "warmed")


async def _warm(client: httpx.AsyncClient, copy: Copy) -> None:
    """Open the copy's connection with a request that changes nothing; its answer does not matter."""
    with contextlib.suppress(httpx.HTTPError):
        response = await client.request("OPTIONS", copy.url, headers=dict(copy.headers))
        await response.aclose()


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        chunks.append(raw[: MAX_BODY_BYTES - size])
        size += len(chunks[-1])
        if size >= MAX_BODY_BYTES:
            break
    return b"".join(chunks)
