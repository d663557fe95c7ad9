"""The authorization-matrix fixture: a synthetic Starlette JSON API with N resource collections
(`/api/r{n}/{id}`), each holding one record owned by alice (and one owned by bob), and the probe.toml
that points `[login]`, `[accounts]` and one `[[resources]]` entry per collection at it.

Vulnerable twin: any request, logged in or not, reads any record by id. Hardened twin: records are
looked up by owner; someone else's id is a 404, no token is a 401.

Starlette on uvicorn keeps connections alive, as production servers do; Werkzeug's development server
closes every connection, so on it the benchmark would mostly measure TCP set-up. It is served by
`fixtures.serve.serve_asgi`, whose socket names TCP so that asyncio turns Nagle's algorithm off (otherwise
every keep-alive response waits ~40 ms for a delayed ACK).

Records are about 1 KB of JSON (a title, a paragraph, tags, timestamps), so a scanner that holds every
body it received shows it in its peak memory. Ids are UUIDs: the matrix requests each record as its
owner, as the other account and with no credentials, plus one missing id per collection, and has no
integer ids to walk.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fixtures.serve import serve_asgi

VARIANTS = ("vulnerable", "hardened")
_WORDS = ("invoice", "quarterly", "contract", "renewal", "payroll", "roadmap", "migration", "customer", "pricing",
          "incident", "retention", "forecast", "vendor", "audit", "onboarding", "budget")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str
    password: str


@dataclass(frozen=True)
class Seed:
    alice: User
    bob: User
    # collection number → record id → record
    records: dict[int, dict[str, dict[str, Any]]]
    alice_ids: tuple[str, ...]  # alice's record in each collection, in collection order

    @property
    def env(self) -> dict[str, str]:
        return {"MATRIX_ALICE_EMAIL": self.alice.email, "MATRIX_ALICE_PASSWORD": self.alice.password,
                "MATRIX_BOB_EMAIL": self.bob.email, "MATRIX_BOB_PASSWORD": self.bob.password}


def _record(collection: int, owner: User, rng: secrets.SystemRandom) -> dict[str, Any]:
    words = [rng.choice(_WORDS) for _ in range(110)]
    return {
        "id": str(uuid.uuid4()),
        "owner_id": owner.id,
        "collection": f"r{collection}",
        "title": f"{owner.name}'s {rng.choice(_WORDS)} notes #{secrets.token_hex(4)}",
        "body": " ".join(words).capitalize() + ".",
        "tags": sorted({rng.choice(_WORDS) for _ in range(4)}),
        "created_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
        "updated_at": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:30:00Z",
    }


def make_seed(collections: int) -> Seed:
    rng = secrets.SystemRandom()
    alice = User(1, "alice", "alice@matrix.test", secrets.token_urlsafe(12))
    bob = User(2, "bob", "bob@matrix.test", secrets.token_urlsafe(12))
    records: dict[int, dict[str, dict[str, Any]]] = {}
    alice_ids: list[str] = []
    for n in range(collections):
        mine, theirs = _record(n, alice, rng), _record(n, bob, rng)
        records[n] = {mine["id"]: mine, theirs["id"]: theirs}
        alice_ids.append(mine["id"])
    return Seed(alice, bob, records, tuple(alice_ids))


def create_app(variant: str, seed: Seed) -> Starlette:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
    hardened = variant == "hardened"
    users = {u.email: u for u in (seed.alice, seed.bob)}
    tokens: dict[str, User] = {}

    def caller(request: Request) -> User | None:
        header = request.headers.get("authorization", "")
        return tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None

    async def login(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        user = users.get(str(body.get("email", "")))
        if user is None or not secrets.compare_digest(str(body.get("password", "")), user.password):
            return JSONResponse({"error": "invalid credentials"}, status_code=401)
        token = secrets.token_urlsafe(24)
        tokens[token] = user
        return JSONResponse({"token": token})

    async def me(request: Request) -> JSONResponse:
        user = caller(request)
        if user is None:
            return JSONResponse({"error": "login required"}, status_code=401)
        return JSONResponse({"id": user.id, "email": user.email})

    async def read(request: Request) -> JSONResponse:
        user = caller(request)
        if hardened and user is None:
            return JSONResponse({"error": "login required"}, status_code=401)
        collection, record_id = request.path_params["collection"], request.path_params["record_id"]
        record = seed.records.get(collection, {}).get(record_id)
        # The hardened twin's lookup is by owner, so someone else's record is as missing as a made-up id.
        if record is None or (hardened and user is not None and record["owner_id"] != user.id):
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(record)

    return Starlette(routes=[
        Route("/api/login", login, methods=["POST"]),
        Route("/api/me", me),
        Route("/api/r{collection:int}/{record_id}", read),
    ])


def config_text(seed: Seed) -> str:
    lines = [
        "# Generated by benchmarks/matrix_app.py: one [[resources]] entry per collection.",
        "[login]",
        'request = "POST /api/login"',
        'json    = { email = "{username}", password = "{password}" }',
        'token   = "json:token"',
        "",
        "[accounts.alice]",
        'username = "${MATRIX_ALICE_EMAIL}"',
        'password = "${MATRIX_ALICE_PASSWORD}"',
        'control  = "GET /api/me"',
        "",
        "[accounts.bob]",
        'username = "${MATRIX_BOB_EMAIL}"',
        'password = "${MATRIX_BOB_PASSWORD}"',
        'control  = "GET /api/me"',
    ]
    for n, record_id in enumerate(seed.alice_ids):
        lines += ["", "[[resources]]", f'path  = "/api/r{n}/{{id}}"', 'owner = "alice"', f'ids   = ["{record_id}"]']
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Running:
    url: str
    config: Path
    env: dict[str, str]


@contextlib.contextmanager
def running(variant: str, collections: int, workdir: Path) -> Iterator[Running]:
    """Serve the fixture on 127.0.0.1 with its probe.toml written into `workdir`."""
    seed = make_seed(collections)
    config = workdir / f"matrix-{variant}-{collections}.toml"
    config.write_text(config_text(seed))
    with serve_asgi(create_app(variant, seed)) as url:
        yield Running(url=url, config=config, env=seed.env)
