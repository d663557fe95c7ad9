"""The client configuration a front end ships for the database it talks to directly: the Supabase project URL and
key, and the Firebase web config, found in the served page, its inline scripts and its scripts.

Keys are classified offline by `probe.checks.secrets.formats` (publishable `sb_publishable_…` and legacy JWTs with
`role: anon` are browser keys; `sb_secret_…` and `role: service_role` are server keys, reported by
`secrets.in-bundle`). A client library's built-in defaults (`LIBRARY_DEFAULTS`) are not the app's configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from probe.checks.secrets.formats import KeyClass, classify_jwt, find_in_text
from probe.context import CheckContext, MemoKey

# URLs client libraries carry as fallbacks, whatever the app configures.
LIBRARY_DEFAULTS = frozenset({
    # supabase-js's auth client (GOTRUE_URL): https://github.com/supabase/auth-js/blob/master/src/lib/constants.ts
    "http://localhost:9999",
})
# The project URL is the first argument of createClient(url, key); minified builds rename the function but keep the
# two string literals side by side, and env-style names (VITE_/NEXT_PUBLIC_/REACT_APP_SUPABASE_URL) may sit near.
_URL = re.compile(r"""["'`](https?://[A-Za-z0-9.\-]+(?::\d{1,5})?)/?["'`]""")
_HOSTED = re.compile(r"^https://[a-z0-9]{8,40}\.supabase\.(?:co|in)$")
NEAR = 400
# `.from("notes")` calls of supabase-js name the tables the app reads, whether or not the REST root lists them;
# `.storage.from("avatars")` names a Storage bucket instead (minifiers keep property names such as `storage`).
_FROM = re.compile(r"""(?<!storage)\.from\(\s*["'`]([A-Za-z_][A-Za-z0-9_]{0,62})["'`]\s*\)""")
_BUCKET = re.compile(r"""\bstorage\.from\(\s*["'`]([A-Za-z0-9_.\-]{1,63})["'`]\s*\)""")
# Firestore's `collection(db, "users")` as unminified builds keep it (minifiers rename the function: then configure
# [baas] collections).
_COLLECTION = re.compile(r"""\bcollection\(\s*[A-Za-z_$][\w$]*\s*,\s*["'`]([A-Za-z0-9_\-]{1,100})["'`]""")
# The Firebase web config object: https://firebase.google.com/docs/web/learn-more#config-object
_FIREBASE_FIELD = re.compile(
    r"""["']?\b(apiKey|authDomain|databaseURL|projectId|storageBucket)["']?\s*:\s*["'`]([^"'`\s]{1,200})["'`]""")


@dataclass(frozen=True)
class SupabaseConfig:
    url: str  # the project URL, no trailing slash
    key: str
    key_name: str  # "Supabase publishable key", "Supabase anon key", ...
    legacy: bool  # a JWT key: the browser sends it as the bearer token too
    found_in: str  # the URL of the page or script it was read from

    @property
    def host(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


@dataclass(frozen=True)
class FirebaseConfig:
    api_key: str
    project_id: str
    database_url: str | None
    storage_bucket: str | None
    found_in: str


@dataclass(frozen=True)
class Discovered:
    supabase: SupabaseConfig | None
    server_keys: tuple[str, ...]  # names of server keys seen (reported by secrets.in-bundle, not here)
    firebase: FirebaseConfig | None
    tables: tuple[str, ...]  # tables named by `.from("…")` in the scripts
    buckets: tuple[str, ...]  # Storage buckets named by `.storage.from("…")`
    collections: tuple[str, ...]  # Firestore collections named by `collection(db, "…")`
    read: str  # what was read, for skip messages


CONFIG: MemoKey[Discovered] = MemoKey("baas:config")


async def discovered(ctx: CheckContext) -> Discovered:
    return await ctx.memo.get(CONFIG, lambda: _discover(ctx))


async def _discover(ctx: CheckContext) -> Discovered:
    page = await ctx.surface.page()
    scripts = await ctx.surface.scripts()
    texts = [(page.url, page.text), *((page.url, t) for t in await ctx.surface.inline_scripts()),
             *((s.url, s.response.text) for s in scripts)]
    supabase: SupabaseConfig | None = None
    server_keys: list[str] = []
    firebase: FirebaseConfig | None = None
    tables: list[str] = []
    buckets: list[str] = []
    collections: list[str] = []
    for where, text in texts:
        tables += _FROM.findall(text)
        buckets += _BUCKET.findall(text)
        collections += _COLLECTION.findall(text)
        firebase = firebase or _firebase(text, where)
        for found in find_in_text(text, use_detect_secrets=False):
            if "Supabase" not in found.name:
                continue
            if found.key_class is KeyClass.SERVER:
                server_keys.append(found.name)
                continue
            url = _project_url(text, found.value)
            if url is not None and supabase is None:
                supabase = SupabaseConfig(url, found.value, found.name, found.value.startswith("eyJ"), where)
    read = f"the page and its {len(scripts)} script(s)"
    return Discovered(supabase, tuple(dict.fromkeys(server_keys)), firebase, tuple(dict.fromkeys(tables)),
                      tuple(dict.fromkeys(buckets)), tuple(dict.fromkeys(collections)), read)


def _project_url(text: str, key: str) -> str | None:
    """The project URL for a key: a hosted `*.supabase.co` URL in the text, else the URL literal nearest before the
    key (createClient's first argument), else the hosted URL named by a legacy key's `ref` claim."""
    candidates = [(m.start(), m.group(1)) for m in _URL.finditer(text) if m.group(1) not in LIBRARY_DEFAULTS]
    hosted = [url for _, url in candidates if _HOSTED.match(url)]
    if hosted:
        return hosted[0]
    at = text.find(key)
    before = [(start, url) for start, url in candidates if at - NEAR <= start < at]
    if before:
        return before[-1][1]
    jwt = classify_jwt(key) if key.startswith("eyJ") else None
    ref = dict(jwt.claims).get("ref") if jwt else None
    return f"https://{ref}.supabase.co" if ref and re.fullmatch(r"[a-z0-9]{8,40}", ref) else None


def _firebase(text: str, where: str) -> FirebaseConfig | None:
    fields: dict[str, str] = {}
    for match in _FIREBASE_FIELD.finditer(text):
        fields.setdefault(match.group(1), match.group(2))
    if "apiKey" not in fields or "projectId" not in fields:
        return None
    return FirebaseConfig(fields["apiKey"], fields["projectId"], fields.get("databaseURL"), fields.get("storageBucket"),
                          where)
