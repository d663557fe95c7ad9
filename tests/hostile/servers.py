"""Tiny raw servers on loopback for behaviour a framework would sanitise away: gzip bombs, slow
drips, redirect loops, 429 storms. Each runs its own event loop in a daemon thread, logs every request
line it receives (so a test can prove it was never contacted), and stops on exit. Bounded: a handler
never waits longer than `MAX_HOLD_S`."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

MAX_HOLD_S = 15.0

Handler = Callable[["Request", asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    url: str
    requests: list[Request] = field(default_factory=list)
    # TCP connections accepted, whether or not a request line ever arrived (TLS servers, silent peers).
    connections: int = 0
    # Servers out of the probe's scope that this one points at: their logs must stay empty.
    bystanders: list[Server] = field(default_factory=list)


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), MAX_HOLD_S)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = ([*lines[0].split(" ", 2), "", ""])[:3]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return Request(method, path, headers, body)


def response(status: int, body: bytes = b"", headers: dict[str, str] | None = None, reason: str = "X") -> bytes:
    all_headers = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in all_headers.items()) + "\r\n"
    return head.encode("latin-1") + body


Connect = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextmanager
def raw_server(handler: Handler, *, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    """An HTTP/1.x server that reads one request per connection and lets `handler` write anything back."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        if request is not None:
            server.requests.append(request)
            await handler(request, writer)

    with raw_tcp(serve, tls=tls) as server:
        yield server


@contextmanager
def raw_tcp(on_connect: Connect, *, tls: ssl.SSLContext | None = None, scheme: str | None = None) -> Iterator[Server]:
    """A TCP (or TLS) listener below HTTP: `on_connect` gets the bare streams, for peers that never speak HTTP.
    `scheme` names the URL to hand out when it is not what `tls` implies (an https:// URL for a fake TLS peer)."""
    loop = asyncio.new_event_loop()
    # Failed handshakes are the point of some servers here; asyncio would log each one.
    loop.set_exception_handler(lambda _loop, _context: None)
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            await asyncio.wait_for(on_connect(reader, writer), MAX_HOLD_S)
            await writer.drain()
        except (ConnectionError, TimeoutError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def start() -> None:
        srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls, ssl_handshake_timeout=5 if tls else None)
        holder["srv"] = srv
        holder["main"] = asyncio.current_task()
        holder["port"] = srv.sockets[0].getsockname()[1]
        ready.set()
        async with srv:
            await srv.serve_forever()

    thread = threading.Thread(target=lambda: _run(loop, start()), daemon=True)
    thread.start()
    if not ready.wait(5):
        raise RuntimeError("raw server did not start")
    server = Server(url=f"{scheme or ('https' if tls else 'http')}://127.0.0.1:{holder['port']}")
    async def stop() -> None:
        # Connections first (so none is left writing to a closed loop), then the listener.
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and t is not holder["main"]]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        holder["srv"].close()  # type: ignore[attr-defined]

    try:
        yield server
    finally:
        with suppress(TimeoutError):
            asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        thread.join(5)


def _run(loop: asyncio.AbstractEventLoop, coro: Awaitable[None]) -> None:
    asyncio.set_event_loop(loop)
    with suppress(asyncio.CancelledError, RuntimeError):
        loop.run_until_complete(coro)
    loop.close()


def static(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    async def handle(_: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(status, body, headers))

    return handle
