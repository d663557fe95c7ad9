"""baas: Supabase apps whose database is real PostgreSQL (roles, Supabase's default grants, RLS policies, JWT claims
set the PostgREST way) behind a thin PostgREST-compatible layer (fixtures/baas/rest.py). Twins: RLS off or
`using (true)` (vulnerable) against owner policies (hardened), each served with a publishable and a legacy anon key;
a third front end ships a secret key."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from fixtures.baas import postgres
from fixtures.baas.firebase import PROJECT, FakeFirebase, FirebaseSite, service_account_key
from fixtures.baas.rest import Keys, SupabaseApi
from fixtures.baas.site import Site
from fixtures.serve import serve_wsgi
from probe.checks.baas.discovery import LIBRARY_DEFAULTS
from probe.checks.secrets.formats import find_in_text
from probe.model import Report, Status
from probe.reporters import json as json_report
from tests.helpers import NODE_DIR, expect, needs_node_package, results_for, scan

ACCOUNTS = {"alice": {"username": "alice@example.test", "password": postgres.PASSWORD},
            "bob": {"username": "bob@example.test", "password": postgres.PASSWORD}}


@dataclass(frozen=True)
class Twin:
    name: str
    api: str
    app: SupabaseApi
    sites: dict[str, str]  # key kind → front end URL


@dataclass(frozen=True)
class Project:
    db: postgres.Cluster
    keys: Keys
    twins: dict[str, Twin]


@pytest.fixture(scope="session")
def supabase() -> Iterator[Project]:
    if postgres.binaries() is None:
        pytest.skip(postgres.MISSING)
    keys = Keys()
    with postgres.cluster() as db, contextlib.ExitStack() as stack:
        twins = {}
        for name in postgres.TWINS:
            postgres.create_twin(db, name)
            app = SupabaseApi(db, name, keys)
            api = stack.enter_context(serve_wsgi(app))
            kinds = {"publishable": keys.publishable, "legacy": keys.legacy("anon"), "secret": keys.secret,
                     "service_role": keys.legacy("service_role")}
            sites = {kind: stack.enter_context(serve_wsgi(Site(api, key))) for kind, key in kinds.items()}
            if name == "vulnerable":
                hosted_app = SupabaseApi(db, name, keys, root_for_secret_keys_only=True)
                hosted = stack.enter_context(serve_wsgi(hosted_app))
                twins["hosted"] = Twin("hosted", hosted, hosted_app, {"publishable": stack.enter_context(
                    serve_wsgi(Site(hosted, keys.publishable)))})
            twins[name] = Twin(name, api, app, sites)
        postgres.create_twin(db, "undeletable", postgres.UNDELETABLE)
        stuck = SupabaseApi(db, "undeletable", keys)
        stuck_api = stack.enter_context(serve_wsgi(stuck))
        twins["undeletable"] = Twin("undeletable", stuck_api, stuck,
                                    {"publishable": stack.enter_context(serve_wsgi(Site(stuck_api, keys.publishable)))})
        yield Project(db, keys, twins)


def _hostport(url: str) -> str:
    return str(urlsplit(url).netloc)


def run(twin: Twin, kind: str, *, only: tuple[str, ...] = ("baas",), mode: str = "passive", **config: Any) -> Report:
    site = twin.sites[kind]
    return scan(site, only=only, mode=mode, scope=[_hostport(site), _hostport(twin.api)], **config)


@pytest.mark.parametrize("kind", ["publishable", "legacy"])
def test_anon_read_fails_on_rls_off_and_using_true(supabase: Project, kind: str) -> None:
    report = run(supabase.twins["vulnerable"], kind)
    failed = {r.evidence["table"]: r for r in expect(report, "baas.supabase-anon-read", "fail")}
    assert set(failed) == {"notes", "profiles"}
    notes = failed["notes"]
    assert notes.evidence["rows"] == 3
    assert notes.evidence["columns"] == ["id", "user_id", "title", "body"]
    assert "gives 3 row(s)" in notes.detail and "title" in notes.detail
    shown = str(notes.evidence)
    assert "spare key" not in shown and "alice diary" not in shown, "row values must only appear masked"
    assert "[masked" in notes.evidence["response"]["body_excerpt"]


@pytest.mark.parametrize("kind", ["publishable", "legacy"])
def test_anon_read_passes_under_owner_policies(supabase: Project, kind: str) -> None:
    report = run(supabase.twins["hardened"], kind)
    passed = expect(report, "baas.supabase-anon-read", "pass")
    assert {r.location.rsplit("/", 1)[1] for r in passed} == {"notes", "profiles"}
    assert all("count of 0" in r.detail for r in passed)


def test_one_row_per_table_and_the_request_count(supabase: Project) -> None:
    twin = supabase.twins["vulnerable"]
    before = twin.app.stats.requests
    report = run(twin, "publishable", only=("baas.supabase-anon-read",))
    sent = twin.app.stats.requests - before
    # The REST root, then one request per table (two tables), each asking for one row.
    assert sent == 3
    assert report.requests_by_family["baas"] == 3


def test_tables_named_by_the_bundle_when_the_root_describes_none(supabase: Project) -> None:
    """Hosted Supabase answers the REST root only to secret keys: the `.from("…")` calls still name the tables."""
    report = run(supabase.twins["hosted"], "publishable", only=("baas.supabase-anon-read",))
    assert {r.evidence["table"] for r in expect(report, "baas.supabase-anon-read", "fail")} == {"notes", "profiles"}


def test_public_tables_by_design_pass(supabase: Project) -> None:
    report = run(supabase.twins["vulnerable"], "publishable", baas={"public_tables": ["profiles"]})
    by_table = {r.location.rsplit("/", 1)[1]: r for r in results_for(report, "baas.supabase-anon-read")}
    assert by_table["profiles"].status is Status.PASS and by_table["notes"].status is Status.FAIL


def test_project_out_of_scope_is_never_contacted(supabase: Project) -> None:
    twin = supabase.twins["vulnerable"]
    before = twin.app.stats.requests
    report = scan(twin.sites["publishable"], only=["baas"])
    skipped = results_for(report, "baas.supabase-anon-read")
    assert [r.status for r in skipped] == [Status.SKIP]
    assert skipped[0].detail.endswith(f"add {_hostport(twin.api)} to scope to test it")
    assert twin.app.stats.requests == before


def test_no_config_skips_every_check() -> None:
    with serve_wsgi(Site("", "")) as plain:
        report = scan(plain, only=["baas"], baas={"accounts": ["alice", "bob"], "tables": ["notes"], "marker": {"t": "x"}},
                      accounts=ACCOUNTS, mode="active")
    assert len(report.results) == 8 and all(r.status is Status.SKIP for r in report.results)
    assert {r.detail.split(" (")[0] for r in report.results} == {
        "no Supabase client config", "no Firebase web config"}


@pytest.mark.parametrize(("kind", "name"), [("secret", "Supabase secret key"),
                                            ("service_role", "Supabase service_role key (bypasses row-level security)")])
def test_server_key_in_bundle_is_critical_and_not_a_baas_finding(supabase: Project, kind: str, name: str) -> None:
    twin = supabase.twins["hardened"]
    before = twin.app.stats.requests
    report = run(twin, kind, only=("secrets.in-bundle", "baas"))
    critical = expect(report, "secrets.in-bundle", "fail")
    assert [(r.severity.value, r.evidence["found"]) for r in critical] == [("critical", name)]
    skipped = results_for(report, "baas.supabase-anon-read")
    assert [r.status for r in skipped] == [Status.SKIP] and "reported by secrets.in-bundle" in skipped[0].detail
    assert twin.app.stats.requests == before, "a server key is never used to read the project"


@pytest.mark.parametrize("kind", ["publishable", "legacy"])
def test_browser_keys_are_no_secrets_finding(supabase: Project, kind: str) -> None:
    passed = expect(run(supabase.twins["vulnerable"], kind, only=("secrets.in-bundle",)), "secrets.in-bundle", "pass")
    assert "Publishable-by-design keys seen" in passed[0].detail


def test_library_defaults_are_not_the_config() -> None:
    from fixtures.baas.site import LIBRARY

    assert all(url in LIBRARY for url in LIBRARY_DEFAULTS)


def cross(twin: Twin, kind: str = "publishable", mode: str = "passive", **extra: Any) -> Report:
    return run(twin, kind, mode=mode, accounts=ACCOUNTS,
               baas={"accounts": ["alice", "bob"], "tables": ["notes"], **extra})


@pytest.mark.parametrize("kind", ["publishable", "legacy"])
def test_cross_user_read(supabase: Project, kind: str) -> None:
    vulnerable = cross(supabase.twins["vulnerable"], kind)
    failed = expect(vulnerable, "baas.supabase-cross-user", "fail")
    assert failed[0].evidence["owner"] == "alice" and failed[0].evidence["reader"] == "bob"
    assert failed[0].evidence["rows"] == 2
    hardened = cross(supabase.twins["hardened"], kind)
    passed = expect(hardened, "baas.supabase-cross-user", "pass")
    assert "bob asking for it got none (200, count 0)" in passed[0].detail


def test_cross_user_needs_accounts(supabase: Project) -> None:
    report = run(supabase.twins["vulnerable"], "publishable")
    skipped = results_for(report, "baas.supabase-cross-user")
    assert [r.status for r in skipped] == [Status.SKIP] and "[baas] accounts" in skipped[0].detail


@pytest.mark.parametrize("kind", ["publishable", "legacy"])
def test_writes_and_the_database_is_left_as_it_was(supabase: Project, kind: str) -> None:
    before = {name: postgres.snapshot(supabase.db, name) for name in postgres.TWINS}
    vulnerable = cross(supabase.twins["vulnerable"], kind, mode="active", marker={"title": "probe marker"})
    failed = expect(vulnerable, "baas.supabase-write", "fail")
    assert "anon inserted a row owned by alice" in failed[0].detail
    assert "bob inserted a row owned by alice" in failed[0].detail and "bob updated alice's marker row" in failed[0].detail
    hardened = cross(supabase.twins["hardened"], kind, mode="active", marker={"title": "probe marker"})
    passed = expect(hardened, "baas.supabase-write", "pass")
    for result in (*failed, *passed):
        assert result.evidence["cleanup"].startswith("deleted the"), result.evidence["cleanup"]
    assert {name: postgres.snapshot(supabase.db, name) for name in postgres.TWINS} == before


def test_a_row_that_cannot_be_deleted_is_named(supabase: Project) -> None:
    """The owner may insert but not delete: the clean-up says which rows were left where, and the test removes them."""
    twin = supabase.twins["undeletable"]
    before = postgres.snapshot(supabase.db, "undeletable")
    report = cross(twin, mode="active", marker={"title": "probe marker"})
    passed = expect(report, "baas.supabase-write", "pass")
    cleanup = passed[0].evidence["cleanup"]
    marker = passed[0].evidence["marker_row"]["id"]
    assert cleanup == (f"left 1 row(s) in {twin.api}/rest/v1/notes with id in ({marker}) (DELETE as alice answered 200, "
                       "0 deleted): remove them by hand")
    assert cleanup in passed[0].detail
    assert postgres.remove_marker_rows(supabase.db, "undeletable", [marker]) == 1
    assert postgres.snapshot(supabase.db, "undeletable") == before


def test_write_check_is_active_only(supabase: Project) -> None:
    report = cross(supabase.twins["vulnerable"], marker={"title": "probe marker"})
    assert [r.status for r in results_for(report, "baas.supabase-write")] == [Status.SKIP]


# --- Supabase Storage: object metadata in storage.objects under RLS (fixtures/baas/storage.py) -------------------

STORAGE = ("baas.supabase-storage-list", "baas.supabase-storage-cross-user")


@pytest.mark.parametrize("kind", ["publishable", "legacy"])
def test_storage_listing_fails_on_bucket_only_policies(supabase: Project, kind: str) -> None:
    twin = supabase.twins["vulnerable"]
    before = twin.app.stats.requests
    report = run(twin, kind, only=STORAGE, mode="active", accounts=ACCOUNTS, baas={"accounts": ["alice", "bob"]})
    sent = twin.app.stats.requests - before
    listed = {r.evidence["bucket"]: r for r in expect(report, "baas.supabase-storage-list", "fail")}
    # Both buckets come from GET /storage/v1/bucket (the vulnerable twin lets anon select storage.buckets).
    assert {b: (r.severity.value, r.evidence["public"]) for b, r in listed.items()} == {
        "avatars": ("high", True), "documents": ("critical", False)}
    assert "private bucket: the same policy lets the key download each file" in listed["documents"].detail
    assert listed["documents"].evidence["first_entry"].startswith("[masked"), "object names are user data"
    crossed = expect(report, "baas.supabase-storage-cross-user", "fail")
    assert [r.evidence["bucket"] for r in crossed] == ["documents"]  # the bucket the bundle names
    assert "bob lists alice's folder documents/" in crossed[0].detail
    assert "bob downloads alice's file (24 bytes, the bytes alice gets)" in crossed[0].detail
    assert "passport" not in json_report.render(report)
    # list: GET /bucket + one list per bucket; cross-user: two sign-ins, then alice lists and downloads, bob likewise.
    assert sent == 3 + 2 + 4


@pytest.mark.parametrize("kind", ["publishable", "legacy"])
def test_storage_passes_under_owner_folder_policies(supabase: Project, kind: str) -> None:
    before = postgres.snapshot(supabase.db, "hardened")
    report = run(supabase.twins["hardened"], kind, only=STORAGE, mode="active", accounts=ACCOUNTS,
                 baas={"accounts": ["alice", "bob"]})
    # Anon lists no bucket here: the one the bundle names is still tested.
    listed = expect(report, "baas.supabase-storage-list", "pass")
    assert [r.location.rsplit("/", 1)[1] for r in listed] == ["documents"]
    assert "lists nothing to the" in listed[0].detail
    crossed = expect(report, "baas.supabase-storage-cross-user", "pass")
    assert "bob lists none of it (200) and her download is refused (400, not_found)" in crossed[0].detail
    assert postgres.snapshot(supabase.db, "hardened") == before, "nothing is uploaded"


def test_storage_listing_is_sent_in_active_mode_only(supabase: Project) -> None:
    twin = supabase.twins["vulnerable"]
    before = twin.app.stats.requests
    report = run(twin, "publishable", only=STORAGE, accounts=ACCOUNTS, baas={"accounts": ["alice", "bob"]})
    assert [r.status for r in report.results] == [Status.SKIP, Status.SKIP]
    assert all(r.detail.startswith("listing Storage objects is a POST") for r in report.results)
    assert twin.app.stats.requests == before


def test_public_buckets_by_design_pass(supabase: Project) -> None:
    report = run(supabase.twins["vulnerable"], "publishable", only=("baas.supabase-storage-list",), mode="active",
                 baas={"public_buckets": ["avatars"]})
    by_bucket = {r.evidence["bucket"]: r.status for r in results_for(report, "baas.supabase-storage-list")}
    assert by_bucket == {"avatars": Status.PASS, "documents": Status.FAIL}


# --- Firebase, against a FAKE answering with the documented response shapes (fixtures/baas/firebase.py) --------


@pytest.fixture(scope="session")
def firebase() -> Iterator[dict[str, tuple[str, str, FakeFirebase]]]:
    with contextlib.ExitStack() as stack:
        twins = {}
        for name, open_rules in (("vulnerable", True), ("hardened", False)):
            fake = FakeFirebase(open_rules=open_rules)
            api = stack.enter_context(serve_wsgi(fake))
            twins[name] = (stack.enter_context(serve_wsgi(FirebaseSite(api))), api, fake)
        yield twins


def firebase_scan(site: str, api: str) -> Report:
    return scan(site, only=["baas"], scope=[_hostport(site), _hostport(api)],
                baas={"collections": ["users"], "firestore_api": api, "storage_api": api})


def test_firebase_open_rules_fail(firebase: dict[str, tuple[str, str, FakeFirebase]]) -> None:
    site, api, fake = firebase["vulnerable"]
    report = firebase_scan(site, api)
    rtdb = expect(report, "baas.firebase-rtdb-read", "fail")
    assert rtdb[0].location == f"{api}/rtdb/.json?shallow=true"
    firestore = expect(report, "baas.firebase-firestore-read", "fail")
    assert firestore[0].location.endswith(f"/projects/{PROJECT}/databases/(default)/documents/users")
    storage = expect(report, "baas.firebase-storage-list", "fail")
    assert "alice" not in str(storage[0].evidence), "listed object names are not kept"
    assert fake.requests >= 3
    assert all(r.status is Status.SKIP for r in results_for(report, "baas.supabase-anon-read"))


def test_firebase_closed_rules_pass(firebase: dict[str, tuple[str, str, FakeFirebase]]) -> None:
    site, api, _ = firebase["hardened"]
    report = firebase_scan(site, api)
    expect(report, "baas.firebase-rtdb-read", "pass")
    expect(report, "baas.firebase-firestore-read", "pass")
    expect(report, "baas.firebase-storage-list", "pass")


def test_firebase_out_of_scope_is_never_contacted(firebase: dict[str, tuple[str, str, FakeFirebase]]) -> None:
    site, api, fake = firebase["vulnerable"]
    before = fake.requests
    report = scan(site, only=["baas.firebase-rtdb-read"])
    assert [r.status for r in report.results] == [Status.SKIP]
    assert report.results[0].detail.endswith(f"add {_hostport(api)} to scope to test it")
    assert fake.requests == before




@pytest.mark.parametrize("kind", ["publishable", "legacy"])
def test_supabase_js_speaks_to_the_fixture(supabase: Project, kind: str) -> None:
    """The real client library signs in, counts, selects, inserts and deletes rows, and lists, uploads, downloads and
    removes Storage objects against the hardened twin: the fixture's answers have the shapes supabase-js expects, and
    the decisions are PostgreSQL's."""
    needs_node_package("@supabase/supabase-js")
    twin = supabase.twins["hardened"]
    key = supabase.keys.publishable if kind == "publishable" else supabase.keys.legacy("anon")
    before = postgres.snapshot(supabase.db, "hardened")
    ran = subprocess.run(["node", "supabase-client.mjs", twin.api, key, "alice@example.test", postgres.PASSWORD],
                         cwd=NODE_DIR, capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr[-3000:]
    got = json.loads(ran.stdout)
    assert got == {
        "anon": {"count": 0, "error": None, "status": 200},
        "signIn": {"user": "alice@example.test", "error": None},
        "select": {"titles": ["alice diary", "alice todo"], "count": 2, "error": None},
        "insert": {"rows": 1, "status": 201, "error": None},
        "delete": {"rows": 1, "error": None},
        "anonInsert": {"status": 401, "code": "42501"},
        "anonList": {"entries": 0, "error": None},
        "anonBuckets": {"buckets": [], "error": None},
        "list": {"names": ["passport.pdf"], "error": None},
        "upload": {"path": f"{postgres.ALICE}/made-by-supabase-js.txt", "error": None},
        "download": {"text": "hello from supabase-js", "error": None},
        "remove": {"removed": [f"{postgres.ALICE}/made-by-supabase-js.txt"], "error": None},
        "anonDownload": {"data": False, "status": 400},
    }
    assert postgres.snapshot(supabase.db, "hardened") == before


# --- a Firebase service-account key in served files (secrets.in-bundle, secrets.exposed-file) -----------------


@pytest.fixture(scope="session")
def service_account_sites() -> Iterator[dict[str, tuple[str, dict[str, str] | None]]]:
    """The front end with the Admin SDK's key file imported into it (its key made at run time) and without."""
    key = service_account_key()
    with contextlib.ExitStack() as stack:
        yield {name: (stack.enter_context(serve_wsgi(FirebaseSite("http://127.0.0.1:9", account))), account)
               for name, account in (("vulnerable", key), ("hardened", None))}


def test_service_account_key_served_is_one_critical_finding(
        service_account_sites: dict[str, tuple[str, dict[str, str] | None]]) -> None:
    site, account = service_account_sites["vulnerable"]
    assert account is not None
    report = scan(site, only=["secrets.in-bundle", "secrets.exposed-file"])
    bundled = expect(report, "secrets.in-bundle", "fail")
    # One finding for the key file, not a second one for the PEM inside it; the Firebase web key is publishable.
    assert [(r.severity.value, r.evidence["found"]) for r in bundled] == [("critical", "Google service account key")]
    assert bundled[0].evidence["claims"] == {"client_email": account["client_email"]}
    assert "PRIVATE KEY" not in json_report.render(report), "the key is only ever shown masked"
    served = [r for r in expect(report, "secrets.exposed-file", "fail") if r.location.endswith("/config.json")]
    assert len(served) == 1 and "JSON with Google service account key" in served[0].detail


def test_no_service_account_key_no_finding(
        service_account_sites: dict[str, tuple[str, dict[str, str] | None]]) -> None:
    site, _ = service_account_sites["hardened"]
    report = scan(site, only=["secrets.in-bundle", "secrets.exposed-file"])
    expect(report, "secrets.in-bundle", "pass")
    expect(report, "secrets.exposed-file", "pass")


def test_service_account_key_needs_its_fields() -> None:
    """A PEM key alone stays the generic private-key finding; the service-account name needs the key file's fields."""
    pem = service_account_key()["private_key"]
    alone = find_in_text(json.dumps({"private_key": pem}), use_detect_secrets=False)
    assert [f.name for f in alone] == ["Private key"]


def test_a_whole_active_run_sends_what_the_docs_say(supabase: Project) -> None:
    """docs/baas.md: two tables, two buckets the key lists, `tables = ["notes"]`, active: 22 requests to the project."""
    twin = supabase.twins["vulnerable"]
    before = twin.app.stats.requests
    cross(twin, mode="active", marker={"title": "probe marker"})
    assert twin.app.stats.requests - before == 22
