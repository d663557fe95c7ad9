"""The database the front end talks to directly: Supabase tables behind row-level security, asked from the outside
with the key the page ships, exactly as the browser sends it.

The client config comes from the served page and scripts (`probe.checks.baas.discovery`); the requests go to the
project's data API (`probe.checks.baas.postgrest`), which must be in the run's scope. A key on its own is never a
finding here: a server key in the bundle is `secrets.in-bundle`'s (critical), a publishable or anon key is public by
design, and what it can reach is what these checks ask.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from pydantic import Field

from probe.checks.baas.discovery import FirebaseConfig, SupabaseConfig, discovered
from probe.checks.baas.firebase import firestore_list, rtdb_root, storage_list
from probe.checks.baas.postgrest import (
    MAX_TABLES,
    Read,
    Session,
    delete,
    described_tables,
    read_one,
    rest,
    sign_in,
    write,
)
from probe.checks.baas.storage import MAX_BUCKETS, buckets, download, error_code, list_objects, storage
from probe.config import Section
from probe.context import CheckContext, MemoKey
from probe.guards import Guard, Skip, Unavailable, needs
from probe.http import HttpError, Response
from probe.model import Mode, Result, Severity
from probe.redact import mask
from probe.registry import Family, check

FAMILY = Family(
    group="authorization",
    unlock='scan the deployed front end with its Supabase project host in scope; for the account checks add '
           '[baas] accounts = ["alice", "bob"] (two [accounts.NAME] with username and password) and tables = [...]',
)

SUPABASE_RLS = "https://supabase.com/docs/guides/database/postgres/row-level-security"
SUPABASE_KEYS = "https://supabase.com/docs/guides/api/api-keys"
FIREBASE_RULES = "https://firebase.google.com/docs/rules/basics"
OWASP_BOLA = "https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/"


class BaasSettings(Section):
    accounts: tuple[str, ...] = Field(default=(), description="two [accounts.NAME] (username = e-mail, password) that "
                                                              "sign in through Supabase auth's password grant")
    tables: tuple[str, ...] = Field(default=(), description="tables holding per-user rows (cross-user and write tests)")
    owner_column: str = Field(default="user_id", description="the column naming a row's owner (auth.uid())")
    id_column: str = Field(default="id", description="the primary key column")
    marker: dict[str, str] = Field(default_factory=dict, description="columns of the marker row an active run "
                                                                     "creates (and deletes): {title = 'probe'}")
    public_tables: tuple[str, ...] = Field(default=(), description="tables readable without signing in by design")
    buckets: tuple[str, ...] = Field(default=(), description="Supabase Storage buckets to test (besides those the key "
                                                             "lists and the scripts name with .storage.from(...))")
    public_buckets: tuple[str, ...] = Field(default=(), description="buckets whose objects anyone may list by design")
    storage_folder: str = Field(default="{uid}", description="the folder holding a user's objects in each bucket; "
                                                             "{uid} is their auth.uid() (Supabase's convention)")
    collections: tuple[str, ...] = Field(default=(), description="Firestore collections to list (besides those the "
                                                                 "scripts name)")
    firestore_api: str = Field(default="https://firestore.googleapis.com", description="Firestore's REST API (an "
                                                                                       "emulator's URL in tests)")
    storage_api: str = Field(default="https://firebasestorage.googleapis.com", description="Firebase Storage's API")


CONFIG_SECTIONS = {"baas": BaasSettings}

TWO_ACCOUNTS = Guard('needs [baas] accounts = ["alice", "bob"]: two [accounts.NAME] with username (e-mail) and '
                     "password, signing in through Supabase auth",
                     lambda ctx: len(ctx.section(BaasSettings).accounts) >= 2)
TABLES = Guard("needs [baas] tables = [...]: the tables holding per-user rows (with an owner_column)",
               lambda ctx: bool(ctx.section(BaasSettings).tables))
# Listing Storage objects is a POST that changes nothing; POSTs to the project beyond signing in wait for active mode.
LISTING = Guard("listing Storage objects is a POST (POST /storage/v1/object/list/{bucket}, which changes nothing): "
                "it is sent in active mode only: run with --mode active",
                lambda ctx: ctx.mode is Mode.ACTIVE)
MARKER = Guard("needs [baas] marker = {column = 'text'}: the columns of the marker row this run creates and deletes",
               lambda ctx: bool(ctx.section(BaasSettings).marker))


async def supabase(ctx: CheckContext) -> SupabaseConfig:
    """The app's Supabase project and browser key, when the page ships them and the project is in scope."""
    found = await discovered(ctx)
    sb = found.supabase
    if sb is None:
        if found.server_keys:
            raise Skip(f"the page ships only a server key ({', '.join(found.server_keys)}), reported by "
                       "secrets.in-bundle; with no publishable or anon key there is no browser access to test")
        raise Skip(f"no Supabase client config (project URL and publishable or anon key) in {found.read}")
    if not ctx.http.scope.allows(sb.url):
        raise Skip(f"the Supabase project {sb.url} (configured in {sb.found_in}) is not in scope: add {sb.host} to "
                   "scope to test it")
    ctx.redactor.add(sb.key)
    return sb


def _masked_row(row: dict[str, Any]) -> dict[str, str]:
    """A row's shape without its values: each value masked (length and hash)."""
    return {str(k): mask(str(v)) for k, v in row.items()}


def _read_evidence(read: Read) -> dict[str, Any]:
    evidence = read.response.evidence(excerpt="")
    evidence["response"]["body_excerpt"] = str([_masked_row(r) for r in read.rows])
    return evidence


# --- passive: what the browser key reads ---------------------------------------------------------------------


@check(
    id="baas.supabase-anon-read",
    title="The Supabase key in the page reads no table's rows",
    severity=Severity.CRITICAL,
    cwe=862,
    summary="With the publishable or anon key the front end ships, asks each exposed table for one row and an exact "
    "count; rows that come back are readable by anyone who opens the page.",
    risk="The key in the page is public by design: only row-level security stands between it and the data. A table "
    "with RLS off, or a policy `using (true)`, hands every row to whoever copies the key from the page source.",
    fix="Enable row-level security on every table in exposed schemas (`alter table public.notes enable row level "
    "security;`) and write owner policies (`create policy \"owner reads\" on public.notes for select to authenticated "
    "using ((select auth.uid()) = user_id);`); revoke anon's grants on tables it must not see. See docs/baas.md.",
    references=(SUPABASE_RLS, SUPABASE_KEYS, OWASP_BOLA),
)
async def supabase_anon_read(ctx: CheckContext) -> list[Result]:
    sb = await supabase(ctx)
    settings = ctx.section(BaasSettings)
    described, root = await described_tables(ctx, sb)
    named = (await discovered(ctx)).tables
    tables = list(dict.fromkeys([*described, *named, *settings.tables]))
    if not tables:
        raise Skip(f"the REST root {rest(sb)} described no table to this key (answered {root.status}) and the scripts "
                   "name none with .from(...): list them in [baas] tables")
    if len(tables) > MAX_TABLES:
        ctx.http.note(f"baas: {len(tables)} Supabase tables; read the first {MAX_TABLES}")
    reads = await asyncio.gather(*(read_one(ctx, sb, t) for t in tables[:MAX_TABLES]))
    return [_judge_anon(ctx, sb, read, described.get(read.table), settings) for read in reads]


def _judge_anon(ctx: CheckContext, sb: SupabaseConfig, read: Read, columns: list[str] | None,
                settings: BaasSettings) -> Result:
    location, status = rest(sb, read.table), read.response.status
    if read.readable:
        shown = columns or (list(read.rows[0]) if read.rows else [])
        count = "an unknown number of" if read.count is None else str(read.count)
        detail = (f"Table {read.table} gives {count} row(s) to anyone holding the {sb.key_name} from {sb.found_in} "
                  f"(columns: {', '.join(shown) or 'none returned'}).")
        evidence = {"table": read.table, "columns": shown, "rows": read.count, **_read_evidence(read)}
        if read.table in settings.public_tables:
            return ctx.passed(location, detail + " Public by design ([baas] public_tables).", evidence=evidence)
        return ctx.fail(location, detail, kind="anon-read", evidence=evidence)
    if 200 <= status < 300:
        return ctx.passed(location, f"Table {read.table} answers [] with a count of {read.count} to the "
                                    f"{sb.key_name}: row-level security filters every row.")
    if status in (401, 403, 404):
        body = read.response.json()
        code = body.get("code") if isinstance(body, dict) else None
        return ctx.passed(location, f"Table {read.table} refuses the {sb.key_name} ({status}"
                                    f"{f', {code}' if code else ''}).")
    return ctx.error(location, f"Table {read.table} answered {status}: not judged", evidence=read.response.evidence())


# --- two accounts: each reads only their own rows ------------------------------------------------------------


SESSIONS: MemoKey[list[tuple[str, Session]]] = MemoKey("baas:sessions")


async def _sessions(ctx: CheckContext, sb: SupabaseConfig) -> list[tuple[str, Session]]:
    """The two accounts signed in once per run, shared by the cross-user and write checks."""
    return await ctx.memo.get(SESSIONS, lambda: _sign_in_both(ctx, sb))


async def _sign_in_both(ctx: CheckContext, sb: SupabaseConfig) -> list[tuple[str, Session]]:
    out = []
    for name in ctx.section(BaasSettings).accounts[:2]:
        if name not in ctx.accounts.names:
            raise Unavailable(f"[baas] accounts names {name!r}, which is not an [accounts.{name}] entry")
        account = ctx.accounts.settings(name)
        if not (account.username and account.password):
            raise Unavailable(f"[accounts.{name}] needs username (the e-mail) and password to sign in to Supabase")
        out.append((name, await sign_in(ctx, sb, account.username, account.password)))
    return out


@check(
    id="baas.supabase-cross-user",
    title="One Supabase user cannot read another user's rows",
    severity=Severity.CRITICAL,
    cwe=639,
    summary="Two accounts sign in through Supabase auth; the first reads one of her rows of each configured table "
    "(the control), the second asks for the same row; it must not come back.",
    risk="Policies that only check `auth.role() = 'authenticated'` (or `using (true)`) let every signed-up user read "
    "every other user's rows: signing up is free, so this is as open as no policy at all.",
    fix="Scope each policy to the row's owner: `using ((select auth.uid()) = user_id)` for select, update and delete, "
    "and `with check ((select auth.uid()) = user_id)` for insert and update. See docs/baas.md.",
    references=(SUPABASE_RLS, OWASP_BOLA),
)
@needs(TWO_ACCOUNTS, TABLES)
async def supabase_cross_user(ctx: CheckContext) -> list[Result]:
    sb = await supabase(ctx)
    settings = ctx.section(BaasSettings)
    (owner, mine), (other, theirs) = await _sessions(ctx, sb)
    results = []
    for table in settings.tables[:MAX_TABLES]:
        location, filters = rest(sb, table), f"&{settings.owner_column}=eq.{mine.user_id}"
        control = await read_one(ctx, sb, table, mine, filters)
        if not control.rows:
            results.append(ctx.skip(location, f"{owner} reads no row of {table} with {settings.owner_column} = her id "
                                              f"(answered {control.response.status}): give her one to test this table"))
            continue
        trial = await read_one(ctx, sb, table, theirs, filters)
        if control.rows[0] in trial.rows:
            results.append(ctx.fail(location, f"{other} read {owner}'s row of {table} (the same row {owner} reads; "
                                              f"{trial.count} of {owner}'s rows visible to {other}).",
                                    kind="cross-user", evidence={"table": table, "owner": owner, "reader": other,
                                                                 "rows": trial.count, **_read_evidence(trial)}))
        elif trial.response.status < 300 or trial.response.status in (401, 403, 404):
            results.append(ctx.passed(location, f"{owner} reads her row of {table}; {other} asking for it got none "
                                                f"({trial.response.status}, count {trial.count})."))
        else:
            results.append(ctx.error(location, f"{other}'s read of {table} answered {trial.response.status}",
                                     evidence=trial.response.evidence()))
    return results


# --- active: writes that must be refused ----------------------------------------------------------------------


@check(
    id="baas.supabase-write",
    title="Neither anon nor another user can insert or update a user's Supabase rows",
    severity=Severity.CRITICAL,
    cwe=639,
    active=True,
    summary="The first account creates a marker row; anon and the second account try to insert rows owned by her and "
    "to update the marker; her view must be unchanged. Every row this run made is deleted afterwards.",
    risk="Without `with check` and owner `using` clauses on insert and update, anyone with the page's key can plant "
    "rows in other users' names or rewrite their data.",
    fix="Enable RLS and add owner policies for insert (`with check ((select auth.uid()) = user_id)`) and update "
    "(`using` and `with check` on the owner); grant anon no insert/update on per-user tables. See docs/baas.md.",
    references=(SUPABASE_RLS, OWASP_BOLA),
)
@needs(TWO_ACCOUNTS, TABLES, MARKER)
async def supabase_write(ctx: CheckContext) -> list[Result]:
    sb = await supabase(ctx)
    sessions = await _sessions(ctx, sb)
    return [await _write_trial(ctx, sb, table, sessions) for table in ctx.section(BaasSettings).tables[:MAX_TABLES]]


async def _write_trial(ctx: CheckContext, sb: SupabaseConfig, table: str,
                       sessions: list[tuple[str, Session]]) -> Result:
    settings = ctx.section(BaasSettings)
    (owner, mine), (other, theirs) = sessions
    location, key = rest(sb, table), settings.id_column
    row = {**settings.marker, settings.owner_column: mine.user_id}
    made, rows = await write(ctx, sb, "POST", table, row, mine)
    if not rows or key not in rows[0]:
        return ctx.error(location, f"{owner} could not create a marker row in {table} (answered {made.status}, "
                                   f"no {key} returned): the write test needs a row she owns",
                         evidence=made.evidence(max_chars=200))
    created = [str(rows[0][key])]
    marker_filter = f"{key}=eq.{created[0]}"
    broken: list[str] = []
    attempts: dict[str, int] = {}
    try:
        for who, session in (("anon", None), (other, theirs)):
            sent, extra = await write(ctx, sb, "POST", table, row, session)
            attempts[f"{who} insert"] = sent.status
            created += [str(r[key]) for r in extra if key in r]
            if extra:
                broken.append(f"{who} inserted a row owned by {owner} ({sent.status})")
            fresh = {column: f"probe-{secrets.token_hex(6)}" for column in settings.marker}
            sent, _ = await write(ctx, sb, "PATCH", table, fresh, session, marker_filter)
            attempts[f"{who} update"] = sent.status
            after = await read_one(ctx, sb, table, mine, "&" + marker_filter)
            if after.rows and set(fresh.values()) & {str(v) for v in after.rows[0].values()}:
                broken.append(f"{who} updated {owner}'s marker row ({sent.status}; her view changed)")
    finally:
        cleanup = await _clean_up(ctx, sb, table, key, created, owner, mine)
    evidence = {"table": table, "marker_row": {key: created[0]}, "attempts": attempts, "cleanup": cleanup}
    if broken:
        return ctx.fail(location, f"In {table}: {'; '.join(broken)}. Cleanup: {cleanup}.", kind="write",
                        evidence=evidence)
    return ctx.passed(location, f"In {table}, anon and {other} were refused insert and update on {owner}'s rows "
                                f"({', '.join(f'{k} → {v}' for k, v in attempts.items())}). Cleanup: {cleanup}.",
                      evidence=evidence)


async def _clean_up(ctx: CheckContext, sb: SupabaseConfig, table: str, key: str, ids: list[str], owner: str,
                    session: Session) -> str:
    wanted = f"{key}=in.({','.join(ids)})"
    try:
        response, deleted = await delete(ctx, sb, table, wanted, session)
    except HttpError as exc:
        return f"left {len(ids)} row(s) in {rest(sb, table)} with {key} in ({', '.join(ids)}): delete failed ({exc})"
    if deleted == len(ids):
        return f"deleted the {len(ids)} row(s) this run made as {owner}"
    return (f"left {len(ids) - deleted} row(s) in {rest(sb, table)} with {key} in ({', '.join(ids)}) "
            f"(DELETE as {owner} answered {response.status}, {deleted} deleted): remove them by hand")


# --- Storage, active (listing is a POST): who may list and download objects ----------------------------------


def _buckets_named(found_buckets: tuple[str, ...], settings: BaasSettings, listed: dict[str, bool | None]) -> list[str]:
    return list(dict.fromkeys([*listed, *found_buckets, *settings.buckets]))[:MAX_BUCKETS]


@check(
    id="baas.supabase-storage-list",
    title="The Supabase key in the page lists no Storage bucket's objects",
    severity=Severity.CRITICAL,
    cwe=862,
    summary="With the publishable or anon key the front end ships, lists one entry of each Storage bucket (those the "
    "key may list, those the scripts name with `.storage.from(...)`, and [baas] buckets). Listing is a POST that "
    "changes nothing; it is sent in active mode only.",
    risk="A `select` policy on storage.objects scoped only to the bucket (`using (bucket_id = 'documents')`) lets "
    "anyone with the page's key list every file, and download every file of a private bucket. In a public bucket the "
    "files are downloadable by URL by design, but listing hands out every name.",
    fix="Scope storage policies to the owner's folder: `create policy \"owner reads\" on storage.objects for select "
    "to authenticated using ((storage.foldername(name))[1] = (select auth.uid()::text));` and keep public buckets "
    "without a `select` policy for anon (public URLs work without one). See docs/baas.md.",
    references=("https://supabase.com/docs/guides/storage/security/access-control", SUPABASE_RLS, OWASP_BOLA),
)
@needs(LISTING)
async def supabase_storage_list(ctx: CheckContext) -> list[Result]:
    sb = await supabase(ctx)
    settings = ctx.section(BaasSettings)
    listed, response = await buckets(ctx, sb)
    names = _buckets_named((await discovered(ctx)).buckets, settings, listed)
    if not names:
        raise Skip(f"no Storage bucket to test: {storage(sb, 'bucket')} listed none to the {sb.key_name} (answered "
                   f"{response.status}) and the scripts name none with .storage.from(...): list them in [baas] buckets")
    results = []
    for bucket in names:
        sent, entries = await list_objects(ctx, sb, bucket)
        location, public = storage(sb, f"object/list/{bucket}"), listed.get(bucket)
        if entries:
            what = "a file" if entries[0].is_file else "a folder"
            kind = {True: "public bucket: its files are downloadable by URL by design, but the listing hands out every "
                          "name", False: "private bucket: the same policy lets the key download each file",
                    None: "bucket"}[public]
            detail = (f"Anyone holding the {sb.key_name} from {sb.found_in} lists the {kind} {bucket} (first entry: "
                      f"{what}).")
            evidence = {"bucket": bucket, "public": public, "first_entry": mask(entries[0].name),
                        **sent.evidence(excerpt="")}
            if bucket in settings.public_buckets:
                results.append(ctx.passed(location, detail + " Listable by design ([baas] public_buckets).",
                                          evidence=evidence))
            else:
                results.append(ctx.fail(location, detail, kind="storage-list", evidence=evidence,
                                        severity=Severity.HIGH if public else Severity.CRITICAL))
        elif sent.status == 200:
            results.append(ctx.passed(location, f"Bucket {bucket} lists nothing to the {sb.key_name} (200, []): no "
                                                "object is visible to it (the policies hide them, or it is empty)."))
        elif sent.status in (400, 401, 403, 404):
            results.append(ctx.passed(location, f"Bucket {bucket} refuses to list to the {sb.key_name} "
                                                f"({sent.status}{f', {error_code(sent)}' if error_code(sent) else ''})."))
        else:
            results.append(ctx.error(location, f"Listing bucket {bucket} answered {sent.status}: not judged",
                                     evidence=sent.evidence()))
    return results


@check(
    id="baas.supabase-storage-cross-user",
    title="One Supabase user cannot list or download another user's Storage objects",
    severity=Severity.CRITICAL,
    cwe=639,
    summary="Two accounts sign in; the first lists her folder of each bucket and downloads one of her files (the "
    "control); the second lists the same folder and downloads the same file. Nothing is uploaded; listing is a POST, "
    "so this runs in active mode only.",
    risk="Storage policies that check only `auth.role() = 'authenticated'` or the bucket let every signed-up user list "
    "and download every other user's files: invoices, ID scans, private photos.",
    fix="Scope select (and insert, update, delete) policies on storage.objects to the owner's folder: "
    "`using ((storage.foldername(name))[1] = (select auth.uid()::text))`. See docs/baas.md.",
    references=("https://supabase.com/docs/guides/storage/security/access-control", OWASP_BOLA),
)
@needs(LISTING, TWO_ACCOUNTS)
async def supabase_storage_cross_user(ctx: CheckContext) -> list[Result]:
    sb = await supabase(ctx)
    settings = ctx.section(BaasSettings)
    names = _buckets_named((await discovered(ctx)).buckets, settings, {})
    if not names:
        raise Skip("no Storage bucket named by the scripts (.storage.from(...)): list them in [baas] buckets")
    (owner, mine), (other, theirs) = await _sessions(ctx, sb)
    folder = settings.storage_folder.format(uid=mine.user_id).strip("/")
    results = []
    for bucket in names:
        location = storage(sb, f"object/{bucket}/{folder}/")
        control, entries = await list_objects(ctx, sb, bucket, folder, mine, limit=10)
        files = [e.name for e in entries if e.is_file]
        if not files:
            results.append(ctx.skip(location, f"{owner} lists no file in {bucket}/{folder}/ (answered {control.status}): "
                                              "give her one to test this bucket, or set [baas] storage_folder"))
            continue
        path = f"{folder}/{files[0]}"
        hers = await download(ctx, sb, bucket, path, mine)
        listing, seen = await list_objects(ctx, sb, bucket, folder, theirs, limit=10)
        got = await download(ctx, sb, bucket, path, theirs)
        broken = []
        if files[0] in {e.name for e in seen}:
            broken.append(f"{other} lists {owner}'s folder {bucket}/{folder}/ ({listing.status})")
        if got.status == 200 and hers.status == 200 and got.body == hers.body:
            broken.append(f"{other} downloads {owner}'s file ({len(got.body)} bytes, the bytes {owner} gets)")
        evidence = {"bucket": bucket, "folder": folder, "object": f"{folder}/{mask(files[0])}", "owner": owner,
                    "reader": other, "attempts": {f"{other} list": listing.status, f"{other} download": got.status,
                                                  f"{owner} download": hers.status}}
        if broken:
            results.append(ctx.fail(location, f"In bucket {bucket}: {'; '.join(broken)}.", kind="storage-cross-user",
                                    evidence=evidence))
        elif hers.status != 200:
            results.append(ctx.skip(location, f"{owner} lists her file in {bucket}/{folder}/ but downloading it "
                                              f"answered {hers.status}: no control for the download"))
        elif got.status < 500 and listing.status < 500:
            results.append(ctx.passed(location, f"{owner} lists and downloads her file in {bucket}/{folder}/; {other} "
                                                f"lists none of it ({listing.status}) and her download is refused "
                                                f"({got.status}{f', {error_code(got)}' if error_code(got) else ''}).",
                                      evidence=evidence))
        else:
            results.append(ctx.error(location, f"{other}'s requests to bucket {bucket} answered {listing.status} and "
                                               f"{got.status}: not judged", evidence=evidence))
    return results


# --- Firebase, passive: what the web config reads without signing in ------------------------------------------


async def firebase(ctx: CheckContext) -> FirebaseConfig:
    found = await discovered(ctx)
    if found.firebase is None:
        raise Skip(f"no Firebase web config (apiKey and projectId) in {found.read}")
    return found.firebase


def _judge_open(ctx: CheckContext, location: str, what: str, response: Response, readable: bool,
                fb: FirebaseConfig) -> Result:
    if readable:
        return ctx.fail(location, f"{what} answers {response.status} without signing in, to anyone with the web config "
                                  f"from {fb.found_in}.", kind="open",
                        evidence=response.evidence(excerpt=f"{len(response.body)} bytes (not kept)"))
    if response.status in (401, 403):
        return ctx.passed(location, f"{what} refuses a reader who is not signed in ({response.status}).")
    return ctx.error(location, f"{what} answered {response.status}: not judged", evidence=response.evidence())


@check(
    id="baas.firebase-rtdb-read",
    title="The Firebase Realtime Database is not readable without signing in",
    severity=Severity.CRITICAL,
    cwe=862,
    summary="Asks the Realtime Database named by the page's Firebase config for its top-level keys "
    "(`/.json?shallow=true`) without credentials.",
    risk="Rules `\".read\": true` (or test-mode rules left in place) let anyone dump the whole database with one "
    "request to a URL that is in the page source.",
    fix="Replace open rules with rules that check `auth.uid` per path, e.g. "
    "`{\"rules\": {\"users\": {\"$uid\": {\".read\": \"auth != null && auth.uid === $uid\"}}}}`. See docs/baas.md.",
    references=(FIREBASE_RULES, "https://firebase.google.com/docs/database/security"),
)
async def firebase_rtdb_read(ctx: CheckContext) -> list[Result]:
    fb = await firebase(ctx)
    response = await rtdb_root(ctx, fb)
    body = response.json()
    readable = response.status == 200 and body is not None and not (isinstance(body, dict) and "error" in body)
    return [_judge_open(ctx, response.url, "The Realtime Database root", response, readable, fb)]


@check(
    id="baas.firebase-firestore-read",
    title="Firestore collections cannot be listed without signing in",
    severity=Severity.CRITICAL,
    cwe=862,
    summary="Lists one document of each Firestore collection the scripts or the config name, without credentials.",
    risk="`allow read: if true;` (or test-mode rules past their date check) makes every document of the collection "
    "public to whoever copies the project id from the page.",
    fix="Write rules that check the signed-in user: `match /users/{uid} { allow read, write: if request.auth != null "
    "&& request.auth.uid == uid; }`. See docs/baas.md.",
    references=(FIREBASE_RULES, "https://firebase.google.com/docs/firestore/security/get-started"),
)
async def firebase_firestore_read(ctx: CheckContext) -> list[Result]:
    fb = await firebase(ctx)
    settings = ctx.section(BaasSettings)
    collections = list(dict.fromkeys([*(await discovered(ctx)).collections, *settings.collections]))[:MAX_TABLES]
    if not collections:
        raise Skip("no Firestore collection named by the scripts (collection(db, \"…\")): list them in [baas] "
                   "collections")
    results = []
    for collection in collections:
        response = await firestore_list(ctx, fb, settings.firestore_api, collection)
        body = response.json()
        documents = body.get("documents") if isinstance(body, dict) else None
        results.append(_judge_open(ctx, response.url.split("?")[0], f"Firestore collection {collection}", response,
                                   response.status == 200 and bool(documents), fb))
    return results


@check(
    id="baas.firebase-storage-list",
    title="Firebase Storage objects cannot be listed without signing in",
    severity=Severity.HIGH,
    cwe=862,
    summary="Lists the storage bucket named by the page's Firebase config (one object) without credentials.",
    risk="Open Storage rules expose every uploaded file (invoices, ID scans, avatars) by name to anyone.",
    fix="Storage rules per user: `match /users/{uid}/{file=**} { allow read, write: if request.auth != null && "
    "request.auth.uid == uid; }`. See docs/baas.md.",
    references=(FIREBASE_RULES, "https://firebase.google.com/docs/storage/security"),
)
async def firebase_storage_list(ctx: CheckContext) -> list[Result]:
    fb = await firebase(ctx)
    response = await storage_list(ctx, fb, ctx.section(BaasSettings).storage_api)
    body = response.json()
    listed = isinstance(body, dict) and bool(body.get("items") or body.get("prefixes"))
    return [_judge_open(ctx, response.url.split("?")[0], f"The storage bucket {fb.storage_bucket}", response,
                        response.status == 200 and listed, fb)]
