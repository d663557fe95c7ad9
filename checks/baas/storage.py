"""Supabase Storage, asked the way supabase-js asks it (`@supabase/storage-js` 2.x): the key in the `apikey` header,
plus `Authorization: Bearer` with the legacy JWT key or a signed-in user's access token.

- `GET /storage/v1/bucket` (listBuckets): the buckets the role may see (`select` on `storage.buckets`);
- `POST /storage/v1/object/list/{bucket}` with `{prefix, limit, offset, sortBy}` (list): one folder level, files
  with an `id`, sub-folders with `id: null`; what the role may `select` on `storage.objects`;
- `GET /storage/v1/object/{bucket}/{path}` (download): the bytes, when the role may `select` the object's row.
Access control: https://supabase.com/docs/guides/storage/security/access-control. Listing is a POST, so the checks
that list run in active mode only, though the request changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from probe.checks.baas.discovery import SupabaseConfig
from probe.checks.baas.postgrest import Session, headers
from probe.context import CheckContext
from probe.http import Response

MAX_BUCKETS = 10
MAX_DOWNLOAD_BYTES = 1_000_000


@dataclass(frozen=True)
class Entry:
    name: str
    is_file: bool  # a sub-folder comes back with `id: null`


def storage(sb: SupabaseConfig, path: str = "") -> str:
    return f"{sb.url}/storage/v1/{path}"


async def buckets(ctx: CheckContext, sb: SupabaseConfig) -> tuple[dict[str, bool | None], Response]:
    """The buckets the key may list, with their `public` flag (none when the policies hide them: the default)."""
    response = await ctx.http.get(storage(sb, "bucket"), headers=headers(sb))
    body = response.json() if response.status == 200 else None
    found: dict[str, bool | None] = {}
    for bucket in body if isinstance(body, list) else []:
        if isinstance(bucket, dict) and isinstance(bucket.get("name"), str):
            public = bucket.get("public")
            found[bucket["name"]] = public if isinstance(public, bool) else None
    return found, response


async def list_objects(ctx: CheckContext, sb: SupabaseConfig, bucket: str, prefix: str = "",
                       session: Session | None = None, limit: int = 1) -> tuple[Response, list[Entry]]:
    response = await ctx.http.post(
        storage(sb, f"object/list/{quote(bucket)}"), headers=headers(sb, session),
        json={"prefix": prefix, "limit": limit, "offset": 0, "sortBy": {"column": "name", "order": "asc"}})
    body = response.json() if response.status == 200 else None
    entries = [Entry(str(e["name"]), e.get("id") is not None) for e in body if isinstance(e, dict) and "name" in e] \
        if isinstance(body, list) else []
    return response, entries


async def download(ctx: CheckContext, sb: SupabaseConfig, bucket: str, path: str, session: Session) -> Response:
    return await ctx.http.get(storage(sb, f"object/{quote(bucket)}/{quote(path)}"), headers=headers(sb, session),
                              max_bytes=MAX_DOWNLOAD_BYTES)


def error_code(response: Response) -> str:
    """storage-api's error name (`not_found`, `Unauthorized`) for a refusal's detail."""
    body: Any = response.json()
    return str(body.get("error") or "") if isinstance(body, dict) else ""
