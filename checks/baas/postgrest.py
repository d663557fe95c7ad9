"""Supabase's data API (PostgREST) and auth (GoTrue), asked the way the browser asks: the key in the `apikey`
header, plus `Authorization: Bearer` with the legacy JWT key or a signed-in user's access token.

- REST root description (OpenAPI 2.0 `definitions`): https://docs.postgrest.org/en/stable/references/api/openapi.html
- one row and an exact count: `limit=1`, `Range: 0-0`, `Prefer: count=exact`, total in `Content-Range`
  (https://docs.postgrest.org/en/stable/references/api/pagination_count.html)
- the password grant: https://github.com/supabase/auth#post-token
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from probe.checks.baas.discovery import SupabaseConfig
from probe.context import CheckContext
from probe.guards import Unavailable
from probe.http import Response

MAX_TABLES = 25


@dataclass(frozen=True)
class Session:
    user_id: str
    token: str


@dataclass(frozen=True)
class Read:
    table: str
    response: Response
    rows: tuple[dict[str, Any], ...]
    count: int | None  # the exact count, when the server gave one

    @property
    def readable(self) -> bool:
        return bool(self.rows) or bool(self.count)


def headers(sb: SupabaseConfig, session: Session | None = None) -> dict[str, str]:
    bearer = session.token if session else (sb.key if sb.legacy else None)
    return {"apikey": sb.key, **({"Authorization": f"Bearer {bearer}"} if bearer else {})}


def rest(sb: SupabaseConfig, path: str = "") -> str:
    return f"{sb.url}/rest/v1/{path}"


async def described_tables(ctx: CheckContext, sb: SupabaseConfig) -> tuple[dict[str, list[str]], Response]:
    """Tables and views the REST root describes for this key, with their columns (none when it describes nothing:
    hosted Supabase answers the root only to secret keys since April 2026)."""
    response = await ctx.http.get(rest(sb), headers=headers(sb))
    doc = response.json() if response.status == 200 else None
    definitions = doc.get("definitions") if isinstance(doc, dict) else None
    found: dict[str, list[str]] = {}
    if isinstance(definitions, dict):
        for name, schema in definitions.items():
            props = schema.get("properties") if isinstance(schema, dict) else None
            found[str(name)] = [str(c) for c in props] if isinstance(props, dict) else []
    return found, response


async def read_one(ctx: CheckContext, sb: SupabaseConfig, table: str, session: Session | None = None,
                   filters: str = "") -> Read:
    """At most one row of `table` (with `filters`, PostgREST syntax) and the exact count the key may see."""
    response = await ctx.http.get(
        rest(sb, f"{quote(table)}?select=*&limit=1{filters}"),
        headers={**headers(sb, session), "Prefer": "count=exact", "Range-Unit": "items", "Range": "0-0"})
    body = response.json() if 200 <= response.status < 300 else None
    rows = tuple(r for r in body if isinstance(r, dict))[:1] if isinstance(body, list) else ()
    total = (response.header("content-range") or "").rpartition("/")[2]
    return Read(table, response, rows, int(total) if total.isdigit() else None)


async def sign_in(ctx: CheckContext, sb: SupabaseConfig, email: str, password: str) -> Session:
    response = await ctx.http.post(f"{sb.url}/auth/v1/token?grant_type=password", headers=headers(sb),
                                   json={"email": email, "password": password})
    body = response.json()
    token = body.get("access_token") if isinstance(body, dict) else None
    user = body.get("user") if isinstance(body, dict) else None
    user_id = user.get("id") if isinstance(user, dict) else None
    if response.status != 200 or not isinstance(token, str) or not isinstance(user_id, str):
        raise Unavailable(f"signing in as {email} through {sb.url}/auth/v1/token (password grant) answered "
                          f"{response.status}")
    ctx.redactor.add(token)
    return Session(user_id, token)


async def write(ctx: CheckContext, sb: SupabaseConfig, method: str, table: str, body: dict[str, Any],
                session: Session | None = None, filters: str = "") -> tuple[Response, list[dict[str, Any]]]:
    """An insert (POST) or update (PATCH) asking for the rows written back (`Prefer: return=representation`)."""
    response = await ctx.http.request(method, rest(sb, f"{quote(table)}{'?' + filters if filters else ''}"),
                                      headers={**headers(sb, session), "Prefer": "return=representation"}, json=body)
    rows = response.json() if 200 <= response.status < 300 else None
    return response, [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


async def delete(ctx: CheckContext, sb: SupabaseConfig, table: str, filters: str,
                 session: Session | None) -> tuple[Response, int]:
    response = await ctx.http.request("DELETE", rest(sb, f"{quote(table)}?{filters}"),
                                      headers={**headers(sb, session), "Prefer": "return=representation"})
    rows = response.json() if 200 <= response.status < 300 else None
    return response, len(rows) if isinstance(rows, list) else 0
