"""The HTTP layer's guarantees: scope, redirects, byte cap, budget, back-off, no shared cookies."""

from __future__ import annotations

import asyncio
import gzip
import time

import pytest

from probe.http import DROPPED_RETRIES, BackedOff, BudgetExhausted, HttpClient, OutOfScope, RequestFailed, Scope
from probe.redact import Redactor
from tests.hostile.servers import Request, raw_server, response, static


def make_client(url: str, **limits: float) -> HttpClient:
    return HttpClient(
        scope=Scope(url),
        redactor=Redactor(),
        user_agent="probe-test",
        max_requests=int(limits.get("max_requests", 50)),
        rate=limits.get("rate", 1000.0),
        timeout=limits.get("timeout", 5.0),
        max_bytes=int(limits.get("max_bytes", 1_000_000)),
        per_host=4,
        deadline=time.monotonic() + limits.get("duration", 30.0),
    )


def test_scope_pins_port_when_target_names_one() -> None:
    scope = Scope("http://127.0.0.1:8000")
    assert scope.allows("http://127.0.0.1:8000/x")
    assert not scope.allows("http://127.0.0.1:8001/x")
    assert not scope.allows("http://localhost:8000/x")
    production = Scope("https://example.com")
    assert production.allows("http://example.com/")
    assert not production.allows("https://evil-example.com/")
    assert not production.allows("https://example.com.evil.net/")
    wildcard = Scope("https://example.com", ("example.com", "*.example.com"))
    assert wildcard.allows("https://api.example.com/")
    assert not wildcard.allows("https://notexample.com/")
    assert not Scope("https://example.com").allows("ftp://example.com/")


async def test_redirect_out_of_scope_is_not_followed_and_other_host_never_contacted() -> None:
    with raw_server(static(200, b"secret page")) as other:
        with raw_server(static(302, b"", {"Location": other.url + "/landing"})) as target:
            client = make_client(target.url)
            try:
                got = await client.request("GET", target.url + "/", family="t", headers={"Authorization": "Bearer tok"})
                with pytest.raises(OutOfScope):
                    await client.request("GET", other.url + "/", family="t")
            finally:
                await client.aclose()
        assert got.status == 302
        assert got.blocked_redirect == other.url + "/landing"
        assert other.requests == []


async def test_redirect_loop_is_bounded() -> None:
    async def loop_back(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(302, b"", {"Location": "/again"}))

    with raw_server(loop_back) as target:
        client = make_client(target.url)
        try:
            got = await client.request("GET", target.url + "/", family="t")
        finally:
            await client.aclose()
    assert got.status == 302
    assert len(target.requests) == 6
    assert any("redirects" in note for note in client.notes)


async def test_byte_cap_holds_after_decompression() -> None:
    bomb = gzip.compress(b"\0" * 30_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    with raw_server(static(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "text/plain"})) as target:
        client = make_client(target.url, max_bytes=200_000)
        try:
            got = await client.request("GET", target.url + "/", family="t")
        finally:
            await client.aclose()
    assert got.truncated
    assert len(got.body) == 200_000


async def test_request_budget_is_enforced() -> None:
    with raw_server(static(200, b"ok")) as target:
        client = make_client(target.url, max_requests=3)
        try:
            for _ in range(3):
                await client.request("GET", target.url + "/", family="t")
            with pytest.raises(BudgetExhausted):
                await client.request("GET", target.url + "/", family="t")
        finally:
            await client.aclose()
    assert len(target.requests) == 3
    assert client.sent == 3


async def test_short_retry_after_is_honoured_then_retried() -> None:
    answers = iter([response(429, b"slow down", {"Retry-After": "1"}), response(200, b"ok")])

    async def handle(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(next(answers))

    with raw_server(handle) as target:
        client = make_client(target.url)
        started = time.monotonic()
        try:
            got = await client.request("GET", target.url + "/", family="t")
        finally:
            await client.aclose()
    assert got.status == 200
    assert time.monotonic() - started >= 0.9
    assert any("waited" in note for note in client.notes)


async def test_long_retry_after_stops_all_further_requests_to_the_host() -> None:
    with raw_server(static(429, b"", {"Retry-After": "3600"})) as target:
        client = make_client(target.url)
        try:
            got = await client.request("GET", target.url + "/", family="t")
            with pytest.raises(BackedOff):
                await client.request("GET", target.url + "/other", family="t")
        finally:
            await client.aclose()
    assert got.status == 429
    assert len(target.requests) == 1
    assert any("Retry-After 3600" in note for note in client.notes)


async def test_slow_drip_is_cut_by_the_timeout() -> None:
    async def drip(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(20):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.5)

    with raw_server(drip) as target:
        client = make_client(target.url, timeout=1.0)
        started = time.monotonic()
        try:
            with pytest.raises(RequestFailed, match="no complete answer"):
                await client.request("GET", target.url + "/", family="t")
        finally:
            await client.aclose()
    assert time.monotonic() - started < 3


async def test_cookies_are_never_carried_between_requests() -> None:
    with raw_server(static(200, b"ok", {"Set-Cookie": "session=abc123; Path=/"})) as target:
        client = make_client(target.url)
        try:
            await client.request("GET", target.url + "/", family="t")
            await client.request("GET", target.url + "/", family="t")
        finally:
            await client.aclose()
    assert "cookie" not in target.requests[1].headers
    assert target.requests[0].headers["user-agent"] == "probe-test"


async def test_rate_ceiling_spaces_requests() -> None:
    with raw_server(static(200, b"ok")) as target:
        client = make_client(target.url, rate=10.0)
        started = time.monotonic()
        try:
            await asyncio.gather(*(client.request("GET", target.url + "/", family="t") for _ in range(5)))
        finally:
            await client.aclose()
    assert time.monotonic() - started >= 0.35


async def test_long_retry_after_on_one_route_stops_that_route_then_the_host() -> None:
    async def handle(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.path.startswith("/api/"):
            writer.write(response(429, b"", {"Retry-After": "3600"}))
        else:
            writer.write(response(200, b"ok"))

    with raw_server(handle) as target:
        client = make_client(target.url)
        try:
            assert (await client.request("GET", target.url + "/api/login", family="t")).status == 429
            with pytest.raises(BackedOff):
                await client.request("GET", target.url + "/api/login", family="t")
            assert (await client.request("GET", target.url + "/page", family="t")).status == 200
            for path in ("/api/a", "/api/b"):
                await client.request("GET", target.url + path, family="t")
            with pytest.raises(BackedOff, match="on 3 path"):
                await client.request("GET", target.url + "/page", family="t")
        finally:
            await client.aclose()
    assert [r.path for r in target.requests] == ["/api/login", "/page", "/api/a", "/api/b"]


async def test_dropped_connections_are_retried_a_bounded_number_of_times_for_safe_methods_only() -> None:
    async def answer_the_third(request: Request, writer: asyncio.StreamWriter) -> None:
        # Two stale connections in a row (a server that closed each after an app error), then an answer.
        if len(target.requests) % 3 == 0:
            writer.write(response(200, b"ok"))

    with raw_server(answer_the_third) as target:
        client = make_client(target.url)
        try:
            got = await client.request("GET", target.url + "/", family="t")
            with pytest.raises(RequestFailed, match=r"without sending a response|disconnected"):
                await client.request("POST", target.url + "/", family="t", content=b"{")
        finally:
            await client.aclose()
    assert got.status == 200
    assert [r.method for r in target.requests] == ["GET", "GET", "GET", "POST"]
    assert client.sent == 4


async def test_a_server_that_always_drops_gets_a_bounded_number_of_resends() -> None:
    async def never(request: Request, writer: asyncio.StreamWriter) -> None:
        return None

    with raw_server(never) as target:
        client = make_client(target.url)
        try:
            with pytest.raises(RequestFailed, match=r"without sending a response|disconnected"):
                await client.request("GET", target.url + "/", family="t")
        finally:
            await client.aclose()
    assert len(target.requests) == client.sent == 1 + DROPPED_RETRIES
