"""idor and auth ids against the FastAPI authorization fixture (fixtures/authz): every id fails on the
vulnerable twin and passes on the hardened one, including routes where the hardened twin legitimately
answers 200 (someone else's invoice is `{"invoice": null}`, any profile id shows the caller's own)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixtures.authz import Seed, create_app, make_seed
from fixtures.serve import serve_asgi
from probe import api, registry
from probe.http import Response
from probe.model import Report, Status
from tests.helpers import expect, results_for

REGISTRY = registry.build(["probe.checks.idor", "probe.checks.auth"])


def scan_authz(url: str, mode: str = "active", **overrides: Any) -> Report:
    """A scan with only the idor and auth modules loaded, so this family's tests do not depend on the others."""
    return api.execute(api.plan(target=url, registry=REGISTRY, environ={},
                                overrides={"mode": mode, "rate": 500, **overrides}))


def authz_config(seed: Seed, **extra: Any) -> dict[str, Any]:
    return {
        "login": {"request": "POST /api/token", "form": {"username": "{username}", "password": "{password}"},
                  "token": "json:access_token"},
        "accounts": {
            "alice": {"username": seed.alice.email, "password": seed.alice.password, "role": "admin",
                      "control": "GET /api/users/me"},
            "bob": {"username": seed.bob.email, "password": seed.bob.password, "control": "GET /api/users/me"},
        },
        "resources": [
            {"path": "/api/documents/{id}", "owner": "alice", "list": "GET /api/documents",
             "ids_at": "data.items[*].id", "create": "POST /api/documents", "write": True},
            {"path": "/api/invoices/{id}", "owner": "alice", "list": "GET /api/invoices"},
            {"path": "/api/profiles/{id}", "owner": "alice", "ids": [1]},
            {"path": "/api/admin/users", "owner": "alice", "role": "admin"},
            {"path": "/api/export", "owner": "alice"},
        ],
        **extra,
    }


@pytest.fixture(scope="module")
def vulnerable() -> Iterator[tuple[Seed, Report]]:
    seed = make_seed()
    with serve_asgi(create_app("vulnerable", seed)) as url:
        yield seed, scan_authz(url, **authz_config(seed))


@pytest.fixture(scope="module")
def hardened() -> Iterator[tuple[Seed, Report]]:
    seed = make_seed()
    with serve_asgi(create_app("hardened", seed)) as url:
        yield seed, scan_authz(url, **authz_config(seed, auth={"jwt_secret": seed.strong_secret}))


def test_cross_account_read(vulnerable: tuple[Seed, Report], hardened: tuple[Seed, Report]) -> None:
    failed = expect(vulnerable[1], "idor.cross-account-read", "fail")
    assert {r.location.rsplit("/api/", 1)[1] for r in failed} == {"documents/{id}", "invoices/{id}", "profiles/{id}"}
    evidence = next(r for r in failed if "documents" in r.location).evidence
    assert evidence["statuses"] == {"owner": 200, "other": 200}
    assert evidence["other_request"]["request"]["headers"]["authorization"] == "***"
    passed = [r for r in results_for(hardened[1], "idor.cross-account-read") if r.status is Status.PASS]
    assert len(passed) == 3  # including the two routes that answer bob with a 200 of his own or no data
    expect(hardened[1], "idor.cross-account-read", "pass")


def test_enumerable(vulnerable: tuple[Seed, Report], hardened: tuple[Seed, Report]) -> None:
    failed = expect(vulnerable[1], "idor.enumerable", "fail")
    documents = next(r for r in failed if "documents" in r.location)
    assert documents.evidence["readable_ids"] == ["1", "2"]  # bob's own 3 and 4 are not counted
    profiles = next(r for r in failed if "profiles" in r.location)
    assert profiles.evidence["readable_ids"] == ["1"]  # bob's own profile (2) is his own data
    opaque = next(r for r in results_for(vulnerable[1], "idor.enumerable") if "invoices" in r.location)
    assert opaque.status is Status.PASS and "opaque" in opaque.detail
    expect(hardened[1], "idor.enumerable", "pass")


def test_cross_account_write_on_a_fresh_record_only(vulnerable: tuple[Seed, Report],
                                                    hardened: tuple[Seed, Report]) -> None:
    failed = expect(vulnerable[1], "idor.cross-account-write", "fail")[0]
    assert failed.kind == "cross-account-write:patch"
    assert failed.evidence["cleanup"].startswith("deleted")
    seed = vulnerable[0]
    assert set(seed.documents) == {1, 2, 3, 4}  # the record made for the test is gone, the seeded ones untouched
    assert seed.documents[1]["title"] == "Alice's salary review"
    assert len(results_for(vulnerable[1], "idor.cross-account-write")) == 1  # only the resource that opted in
    passed = [r for r in results_for(hardened[1], "idor.cross-account-write") if r.status is Status.PASS]
    assert passed and "PATCH → 404, DELETE → 404" in passed[0].detail
    expect(hardened[1], "idor.cross-account-write", "pass")
    assert set(hardened[0].documents) == {1, 2, 3, 4}


def test_write_needs_active_mode() -> None:
    seed = make_seed()
    with serve_asgi(create_app("vulnerable", seed)) as url:
        report = scan_authz(url, mode="passive", **authz_config(seed))
    skipped = expect(report, "idor.cross-account-write", "skip")[0]
    assert "--mode active" in skipped.detail
    assert set(seed.documents) == {1, 2, 3, 4}
    assert report.requests_sent < 90


def test_auth_ids_on_fastapi(vulnerable: tuple[Seed, Report], hardened: tuple[Seed, Report]) -> None:
    vuln, hard = vulnerable[1], hardened[1]
    unauth = expect(vuln, "auth.unauthenticated-access", "fail")
    assert [r.location.rsplit("/", 1)[1] for r in unauth] == ["export"]
    expect(hard, "auth.unauthenticated-access", "pass")
    expect(vuln, "auth.missing-role-check", "fail")
    expect(hard, "auth.missing-role-check", "pass")
    expect(vuln, "auth.jwt-none", "fail")
    expect(hard, "auth.jwt-none", "pass")
    expect(vuln, "auth.jwt-signature-unchecked", "fail")
    expect(hard, "auth.jwt-signature-unchecked", "pass")
    expect(vuln, "auth.jwt-expired-accepted", "fail")
    expect(hard, "auth.jwt-expired-accepted", "pass")
    weak = expect(vuln, "auth.jwt-weak-secret", "fail")[0]
    assert "your-256-bit-secret" not in str(weak.evidence) + weak.detail
    expect(hard, "auth.jwt-weak-secret", "pass")


def test_no_secret_or_token_in_any_result(vulnerable: tuple[Seed, Report]) -> None:
    seed, report = vulnerable
    text = repr([(r.detail, r.evidence, r.location) for r in report.results])
    assert seed.alice.password not in text and seed.bob.password not in text
    assert "eyJ" not in text  # no JWT, genuine or forged


def _json(body: str, status: int = 200) -> Response:
    import httpx

    return Response(method="GET", url="http://127.0.0.1/x", status=status, body=body.encode(),
                    headers=httpx.Headers({"content-type": "application/json"}), truncated=False, elapsed_s=0.0)


def test_bodies_not_statuses_decide() -> None:
    from probe.checks.idor.matrix import carries_record

    owner = _json('{"id": 7, "owner": "alice@example.test", "title": "Alice plans", "body": "salary talk"}')
    assert carries_record(_json("[]"), owner) is None  # an empty list is not a leak
    assert carries_record(_json('{"id": 9, "owner": "bob@example.test", "title": "Groceries"}'), owner) is None
    login_page = Response(method="GET", url="http://127.0.0.1/login", status=200, body=b"<html><form>Log in</form></html>",
                          headers=__import__("httpx").Headers({"content-type": "text/html"}), truncated=False, elapsed_s=0)
    assert carries_record(login_page, owner) is None
    assert carries_record(_json(owner.text, status=302), owner) is not None  # a redirect that still carries it
    wrapped = carries_record(_json('{"note": {"id": 7, "owner": "alice@example.test", "title": "Alice plans"}}'), owner)
    assert wrapped is not None and wrapped.how == "shared-values" and "owner" in wrapped.shared_fields
    generic = _json('{"status": "ok", "title": "Alice plans", "owner": "alice@example.test"}')
    assert carries_record(generic, owner, generic=generic) is None  # same as the answer for a missing id


def test_results_after_a_lost_session_are_errors_not_passes() -> None:
    seed = make_seed()
    # bob's session store is wiped after a handful of requests: from then on he is sent to /login (302),
    # which a refusal-counting checker would mistake for "access denied".
    seed.logout_after[seed.bob.id] = 6
    with serve_asgi(create_app("hardened", seed)) as url:
        report = scan_authz(url, mode="passive", **authz_config(seed))
    for check_id in ("idor.cross-account-read", "idor.enumerable"):
        found = [r for r in results_for(report, check_id) if "documents" in r.location]
        assert found and all(r.status is Status.ERROR for r in found), found
        assert "session was lost" in found[0].detail


def test_the_matrix_respects_the_budget_and_says_what_it_did_not_reach() -> None:
    seed = make_seed()
    with serve_asgi(create_app("hardened", seed)) as url:
        report = scan_authz(url, mode="passive", max_requests=25, **authz_config(seed))
    assert report.requests_sent == 25
    unreached = [r for r in report.results if r.status is Status.ERROR and "not reached" in r.detail]
    assert unreached and all("--max-requests" in r.detail for r in unreached)
    walk = next(r for r in results_for(report, "idor.enumerable") if "documents" in r.location)
    assert walk.status is Status.ERROR  # a walk cut short is never a pass


def test_openapi_routes_become_extra_templates() -> None:
    seed = make_seed()
    config = authz_config(seed)
    config["resources"] = [config["resources"][0]]  # only the documents: FastAPI's /openapi.json names the rest
    with serve_asgi(create_app("vulnerable", seed)) as url:
        report = scan_authz(url, mode="passive", **config)
    leaks = {r.location.split("/api/", 1)[1]: r for r in expect(report, "idor.cross-account-read", "fail")}
    # alice's own answers hold ids 1 and 2: /api/profiles/{user_id} is readable by alice for 1, and by bob too.
    assert "profiles/{id}" in leaks and "OpenAPI" not in leaks["profiles/{id}"].detail
    assert "invoices/{id}" not in leaks  # integer ids are not invoice ids: alice cannot read them, nothing to test
    hardened_seed = make_seed()
    with serve_asgi(create_app("hardened", hardened_seed)) as url:
        config = authz_config(hardened_seed)
        config["resources"] = [config["resources"][0]]
        report = scan_authz(url, mode="passive", **config)
    checked = expect(report, "idor.cross-account-read", "pass")
    assert any(r.location.endswith("/api/profiles/{id}") for r in checked)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
                    max_leaves=30)


@given(JSON, st.text(max_size=30))
def test_json_path_and_leaves_never_raise(document: object, path: str) -> None:
    from probe.checks.idor.matrix import leaves
    from probe.parsing import json_path

    assert isinstance(json_path(document, path), list)
    assert json_path({"data": {"items": [{"id": 1}, {"id": "a"}, {}]}}, "data.items[*].id") == [1, "a"]
    assert json_path([{"id": 3}], "[*].id") == [3] and json_path({"token": "t"}, "token") == ["t"]
    leaves(document)


def test_resources_sharing_a_request_are_tested_as_one_unit() -> None:
    from probe.checks.idor.matrix import ResourceSettings, units

    notes = ResourceSettings(path="/api/notes/{id}", owner="alice", list="GET /api/notes")
    orders = ResourceSettings(path="/api/orders/{id}", owner="alice", list="GET /api/orders")
    export = ResourceSettings(path="/api/notes/{id}/export", owner="alice", list="GET /api/notes")
    bobs_notes = ResourceSettings(path="/api/notes/{id}", owner="bob", ids=(9,))
    admin = ResourceSettings(path="/api/admin/users", owner="alice", role="admin")
    grouped = units([notes, orders, export, admin, bobs_notes])
    # In order of each unit's first resource; a shared list and a shared path template each join a unit.
    assert [[r.path for r in unit] for unit in grouped] == [
        ["/api/notes/{id}", "/api/notes/{id}/export", "/api/notes/{id}"], ["/api/orders/{id}"], ["/api/admin/users"]]
    assert grouped[0][2].owner == "bob"
    # A resource joining two units merges them, in configuration order.
    bridge = ResourceSettings(path="/api/orders/{id}", owner="bob", list="GET /api/notes")
    assert [len(unit) for unit in units([notes, orders, bridge, admin])] == [3, 1]
