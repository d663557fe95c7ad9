"""The hostile targets: one tiny server per behaviour a broken, slow or malicious deployment can show.

Each behaviour applies to every path the probe asks for (the root page included), unless it needs a page
to lead the probe somewhere (scripts, source maps, a bundle). Everything is bounded: no handler holds a
connection longer than `servers.MAX_HOLD_S`, streams stop when the client goes away, and the bombs are
built once per process.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import importlib.util
import json
import secrets
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from fixtures.tls import Pki, server_context
from tests.hostile.servers import MAX_HOLD_S, Connect, Handler, Request, Server, raw_server, raw_tcp, response

# The probe's default cap is 2 MB per response; every bomb and stream goes far beyond it.
BOMB_BYTES = 64 * 1024 * 1024
BUNDLE_BYTES = 50 * 1024 * 1024
CHUNK = 64 * 1024
SCRIPT_TAGS = 10_000
SET_COOKIES = 2_000
HUGE_HEADER_BYTES = 1024 * 1024
HTML = {"Content-Type": "text/html; charset=utf-8"}
# A page that leads every family somewhere: a login form, an API route in script, a script file.
LURE = (
    b"<!doctype html><html><head><title>app</title><script src='/static/app.js'></script></head><body>"
    b"<form method='post' action='/api/login'><input name='email'><input name='password' type='password'></form>"
    b"<script>fetch('/api/notes/1'); fetch('/api/orders?id=1')</script></body></html>"
)
BROTLI = importlib.util.find_spec("brotli") is not None
# A live-format secret key the echo server leaks in every answer: a credential the probe detects and must mask.
ECHO_LEAK = "sk_" + "live_" + secrets.token_hex(12)


@functools.cache
def gzip_bomb() -> bytes:
    return gzip.compress(b" " * BOMB_BYTES, compresslevel=9)


@functools.cache
def brotli_bomb() -> bytes:
    import brotli  # type: ignore[import-not-found]  # optional: the behaviour is skipped without it

    return bytes(brotli.compress(b" " * BOMB_BYTES, quality=5))


def _head(status: int, headers: dict[str, str], version: str = "HTTP/1.1") -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"{version} {status} X\r\n{lines}\r\n".encode("latin-1")


async def _stream(writer: asyncio.StreamWriter, chunks: Iterator[bytes], pause: float = 0.0) -> None:
    """Write until the chunks run out or the client goes away (drain raises); `MAX_HOLD_S` bounds the rest."""
    for chunk in chunks:
        writer.write(chunk)
        await writer.drain()
        if pause:
            await asyncio.sleep(pause)


# --- transport: slow, endless, cut, reset, silent -----------------------------------------------------


async def slow_drip(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(_head(200, {**HTML, "Content-Length": "100000"}))
    await _stream(writer, (b"<" for _ in range(int(MAX_HOLD_S))), pause=1.0)


async def endless_body(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(_head(200, {**HTML, "Connection": "close"}))
    await _stream(writer, iter(lambda: b"<p>" + b"x" * (CHUNK - 3), None))


async def cut_mid_chunk(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(_head(200, {**HTML, "Transfer-Encoding": "chunked"}) + b"1000\r\n" + LURE[:100])
    await writer.drain()


async def reset_after_headers(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(_head(200, {**HTML, "Content-Length": "5000"}))
    await writer.drain()
    sock = writer.get_extra_info("socket")
    # Linger 0: close() sends RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    writer.transport.abort()


async def never_answer(request: Request, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(MAX_HOLD_S)


# --- size: bombs, floods, a self-referencing source map, a 50 MB bundle ---------------------------------


async def gzip_bombs(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(response(200, gzip_bomb(), {**HTML, "Content-Encoding": "gzip"}))


async def brotli_bombs(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(response(200, brotli_bomb(), {**HTML, "Content-Encoding": "br"}))


@functools.cache
def _script_flood_page() -> bytes:
    tags = "".join(f"<script src='/static/{i}.js'></script>" for i in range(SCRIPT_TAGS))
    return f"<!doctype html><html><head>{tags}</head><body>app</body></html>".encode()


async def script_flood(request: Request, writer: asyncio.StreamWriter) -> None:
    if request.path.startswith("/static/"):
        writer.write(response(200, b"fetch('/api/notes/1');", {"Content-Type": "application/javascript"}))
    elif request.path == "/":
        writer.write(response(200, _script_flood_page(), HTML))
    else:
        writer.write(response(404, b"not found"))


async def self_source_map(request: Request, writer: asyncio.StreamWriter) -> None:
    path = request.path.split("?")[0]
    if path == "/static/app.js":
        body = b"fetch('/api/notes/1');\n//# sourceMappingURL=app.js.map\n"
        writer.write(response(200, body, {"Content-Type": "application/javascript", "SourceMap": "app.js.map"}))
    elif path == "/static/app.js.map":
        # The map names itself as its source, its own file, and its own map.
        doc = {"version": 3, "file": "app.js.map", "sources": ["app.js.map"], "mappings": "AAAA",
               "sourcesContent": ["//# sourceMappingURL=app.js.map"]}
        body = json.dumps(doc).encode() + b"\n//# sourceMappingURL=app.js.map\n"
        writer.write(response(200, body, {"Content-Type": "application/json", "SourceMap": "app.js.map"}))
    elif path == "/":
        writer.write(response(200, LURE, HTML))
    else:
        writer.write(response(404, b"not found"))


async def huge_bundle(request: Request, writer: asyncio.StreamWriter) -> None:
    path = request.path.split("?")[0]
    if path == "/static/app.js":
        # Streamed: the server never holds more than one chunk of the 50 MB.
        writer.write(_head(200, {"Content-Type": "application/javascript", "Content-Length": str(BUNDLE_BYTES)}))
        line = b"var a='" + b"x" * (CHUNK - 10) + b"';\n"
        await _stream(writer, (line for _ in range(BUNDLE_BYTES // len(line))))
    elif path == "/":
        writer.write(response(200, LURE, HTML))
    else:
        writer.write(response(404, b"not found"))


# --- shape: headers, cookies, encodings, lengths, protocol versions, lying content types ----------------


async def huge_headers(request: Request, writer: asyncio.StreamWriter) -> None:
    value = "a" * 8000
    count = HUGE_HEADER_BYTES // len(value)
    writer.write(_head(200, {**HTML, "Content-Length": str(len(LURE))}) [:-2])
    await _stream(writer, (f"X-Filler-{i}: {value}\r\n".encode() for i in range(count)))
    writer.write(b"\r\n" + LURE)


async def cookie_flood(request: Request, writer: asyncio.StreamWriter) -> None:
    head = _head(200, {**HTML, "Content-Length": str(len(LURE))})[:-2]
    cookies = "".join(f"Set-Cookie: c{i}=v{i}; Path=/\r\n" for i in range(SET_COOKIES)).encode()
    writer.write(head + cookies + b"\r\n" + LURE)


async def invalid_utf8(request: Request, writer: asyncio.StreamWriter) -> None:
    body = LURE[:200] + b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\x00\x00" + bytes(range(256)) * 16 + LURE[200:]
    writer.write(response(200, body, {"Content-Type": "text/html; charset=utf-8", "X-Odd": "caf\xe9"}))


async def binary_body(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(response(200, secrets.token_bytes(64 * 1024), {"Content-Type": "text/html; charset=no-such-charset"}))


async def content_length_too_long(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(_head(200, {**HTML, "Content-Length": "100000"}) + LURE)
    await writer.drain()


async def content_length_too_short(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(_head(200, {**HTML, "Content-Length": "10"}) + LURE + b"HTTP/1.1 200 Smuggled\r\n\r\n")


async def http10_no_length(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(_head(200, HTML, version="HTTP/1.0") + LURE)


async def json_type_html_body(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(response(200, LURE, {"Content-Type": "application/json"}))


# --- redirects: a loop, and a chain that leaves the scope ----------------------------------------------


async def redirect_loop(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(response(302, b"", {"Location": request.path}))


def _redirect_chain(outside: str) -> Handler:
    """/ → /hop/1 → /hop/2 → another loopback port; every other path → the same port under another name
    (`localhost`), so a followed redirect would show up in this server's own log with a foreign Host."""

    async def handle(request: Request, writer: asyncio.StreamWriter) -> None:
        port = request.headers.get("host", "").rpartition(":")[2]
        hops = {"/": "/hop/1", "/hop/1": "/hop/2", "/hop/2": outside + "/landing?token=from-chain"}
        target = hops.get(request.path.split("?")[0], f"http://localhost:{port}{request.path}")
        writer.write(response(302, b"", {"Location": target}))

    return handle


@contextmanager
def _leaving_scope(_: Pki) -> Iterator[Server]:
    with raw_server(plain_page) as outside, raw_server(_redirect_chain(outside.url)) as server:
        server.bystanders.append(outside)
        yield server


# --- politeness: back-off, error storms ----------------------------------------------------------------


async def retry_after_hour(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(response(429, b"slow down", {"Retry-After": "3600", "Content-Type": "text/plain"}))


async def error_storm(request: Request, writer: asyncio.StreamWriter) -> None:
    status = (500, 502, 503, 504)[len(request.path) % 4]
    writer.write(response(status, b"<h1>Internal Server Error</h1>", HTML))


# --- echo: everything we send comes straight back -------------------------------------------------------


async def echo(request: Request, writer: asyncio.StreamWriter) -> None:
    """Reflects every request header and the body in the JSON body, and the credentials in headers that
    evidence keeps (X-Powered-By, WWW-Authenticate, CORS): whatever secret we send, the report would show."""
    reflected = request.headers.get("authorization", "") + " " + request.headers.get("cookie", "")
    body = {
        # A login answer, so accounts with a username and password log in and send a token afterwards.
        "token": "tok" + secrets.token_hex(16),
        "id": 1,
        "config": {"stripeKey": ECHO_LEAK},
        "echo": {"method": request.method, "path": request.path, "headers": request.headers,
                 "body": request.body.decode("latin-1")},
    }
    headers = {
        "Content-Type": "application/json",
        "X-Powered-By": reflected.strip()[:4000] or "echo",
        "WWW-Authenticate": f'Bearer realm="{request.body.decode("latin-1")[:2000]}"'.replace("\r", "").replace("\n", ""),
        "Access-Control-Allow-Origin": request.headers.get("origin", "*"),
        "Access-Control-Allow-Credentials": "true",
        "Set-Cookie": f"echo={reflected.strip()[:1000] or 'x'}; Path=/",
    }
    writer.write(response(200, json.dumps(body).encode(), headers))


# --- TLS: refused handshake, someone else's certificate, hang-up mid-handshake ---------------------------

# A fatal handshake_failure alert (RFC 8446 §6): what a server that shares no cipher or version answers.
TLS_ALERT = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])


async def tls_alert(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(16 * 1024)
    writer.write(TLS_ALERT)


async def tls_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(16 * 1024)


async def plain_page(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(response(200, LURE, HTML))


# --- the catalogue ---------------------------------------------------------------------------------------


Start = Callable[[Pki], AbstractContextManager[Server]]


@dataclass(frozen=True)
class Behaviour:
    name: str
    start: Start  # given the `fixtures.tls` PKI whose CA the probe trusts (--ca-bundle)
    needs_brotli: bool = False


def _http(handler: Handler) -> Start:
    return lambda _: raw_server(handler)


def _tls_peer(on_connect: Connect) -> Start:
    return lambda _: raw_tcp(on_connect, scheme="https")


@contextmanager
def _wrong_host(pki: Pki) -> Iterator[Server]:
    """A certificate from a CA the probe trusts, issued to another name: only the host check can refuse it."""
    context: ssl.SSLContext = server_context(pki["wrong-host"])
    with raw_server(plain_page, tls=context) as server:
        yield server


BEHAVIOURS = (
    Behaviour("slow-drip", _http(slow_drip)),
    Behaviour("endless-body", _http(endless_body)),
    Behaviour("cut-mid-chunk", _http(cut_mid_chunk)),
    Behaviour("reset-after-headers", _http(reset_after_headers)),
    Behaviour("never-answers", _http(never_answer)),
    Behaviour("gzip-bomb", _http(gzip_bombs)),
    Behaviour("brotli-bomb", _http(brotli_bombs), needs_brotli=True),
    Behaviour("script-flood", _http(script_flood)),
    Behaviour("self-source-map", _http(self_source_map)),
    Behaviour("50mb-bundle", _http(huge_bundle)),
    Behaviour("redirect-loop", _http(redirect_loop)),
    Behaviour("redirect-out-of-scope", _leaving_scope),
    Behaviour("huge-headers", _http(huge_headers)),
    Behaviour("cookie-flood", _http(cookie_flood)),
    Behaviour("invalid-utf8", _http(invalid_utf8)),
    Behaviour("binary-body", _http(binary_body)),
    Behaviour("length-too-long", _http(content_length_too_long)),
    Behaviour("length-too-short", _http(content_length_too_short)),
    Behaviour("http10-no-length", _http(http10_no_length)),
    Behaviour("json-type-html-body", _http(json_type_html_body)),
    Behaviour("retry-after-3600", _http(retry_after_hour)),
    Behaviour("5xx-storm", _http(error_storm)),
    Behaviour("echo", _http(echo)),
    Behaviour("tls-alert", _tls_peer(tls_alert)),
    Behaviour("tls-wrong-host", _wrong_host),
    Behaviour("tls-hang-up", _tls_peer(tls_hang_up)),
)
