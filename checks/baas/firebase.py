"""Firebase's REST endpoints, asked without signing in, as anyone holding the page's web config can.

- Realtime Database: `GET {databaseURL}/.json?shallow=true` (keys only, values truncated to `true`):
  https://firebase.google.com/docs/reference/rest/database#section-param-shallow
- Firestore: `GET {firestore}/v1/projects/{projectId}/databases/(default)/documents/{collection}?pageSize=1&key=…`:
  https://firebase.google.com/docs/firestore/reference/rest/v1/projects.databases.documents/list
- Storage: `GET {storage}/v0/b/{storageBucket}/o?maxResults=1&key=…`, the Firebase JS SDK's list call:
  https://github.com/firebase/firebase-js-sdk/blob/main/packages/storage/src/implementation/requests.ts
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from probe.checks.baas.discovery import FirebaseConfig
from probe.context import CheckContext
from probe.guards import Skip
from probe.http import Response


def in_scope(ctx: CheckContext, url: str, what: str) -> str:
    if not ctx.http.scope.allows(url):
        host = urlsplit(url).netloc
        raise Skip(f"{what} {url} is not in scope: add {host} to scope to test it")
    return url


async def rtdb_root(ctx: CheckContext, fb: FirebaseConfig) -> Response:
    if not fb.database_url:
        raise Skip(f"the Firebase config in {fb.found_in} names no databaseURL: no Realtime Database to test")
    url = in_scope(ctx, fb.database_url.rstrip("/") + "/.json?shallow=true", "the Realtime Database")
    return await ctx.http.get(url)


async def firestore_list(ctx: CheckContext, fb: FirebaseConfig, api: str, collection: str) -> Response:
    url = (f"{api.rstrip('/')}/v1/projects/{quote(fb.project_id)}/databases/(default)/documents/{quote(collection)}"
           f"?pageSize=1&key={quote(fb.api_key)}")
    return await ctx.http.get(in_scope(ctx, url, "Firestore"))


async def storage_list(ctx: CheckContext, fb: FirebaseConfig, api: str) -> Response:
    if not fb.storage_bucket:
        raise Skip(f"the Firebase config in {fb.found_in} names no storageBucket: no Storage bucket to test")
    url = f"{api.rstrip('/')}/v0/b/{quote(fb.storage_bucket)}/o?maxResults=1&key={quote(fb.api_key)}"
    return await ctx.http.get(in_scope(ctx, url, "Firebase Storage"))
