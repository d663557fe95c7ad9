"""idor and auth ids against the FastAPI authorization fixture (fixtures/authz): every id fails on the
vulnerable twin and passes on the hardened one, including routes where the hardened twin legitimately
answers 200 (someone else's invoice is `{"invoice": null}`, any profile id shows the caller's own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixtures.authz import Seed, create_app, make_seed
from fixtures.authz.team import Team, make_team
from fixtures.authz.team import create_app as create_team_app
from fixtures.serve import serve_asgi, serve_wsgi
from probe import api, registry
from probe.http import Response
from probe.model import Report, Result, Status
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
    from probe.checks.idor.matrix import list_rows, owned_rows
    from probe.parsing import json_path, leaves

    assert isinstance(json_path(document, path), list)
    assert json_path({"data": {"items": [{"id": 1}, {"id": "a"}, {}]}}, "data.items[*].id") == [1, "a"]
    assert json_path([{"id": 3}], "[*].id") == [3] and json_path({"token": "t"}, "token") == ["t"]
    leaves(document)
    rows = list_rows(document, path)
    assert all(isinstance(rid, str) for rid, _ in rows)
    assert owned_rows(rows, path or "owner", frozenset({"alice", "1"})) is not None
    assert owned_rows(list_rows([{"id": 5, "user": {"id": 1}}, {"id": 6, "user": {"id": 2}}], "[*].id"), "user.id",
                      frozenset({"1"})) == [("5", {"id": 5, "user": {"id": 1}})]


def test_an_owner_field_matches_the_ids_a_whoami_answers_with() -> None:
    import httpx

    from probe.checks.idor.matrix import identity, owned_rows
    from probe.http import Response

    # Parse's /users/me answers `objectId`; its notes point at their author as a _User pointer holding it.
    me = Response("GET", "http://127.0.0.1/parse/users/me", 200, httpx.Headers({"content-type": "application/json"}),
                  b'{"objectId": "Xy12ab", "username": "alice"}', False, 0.0)
    who = identity("alice", me)
    assert who == {"alice", "Xy12ab"}
    rows = [("n1", {"owner": {"__type": "Pointer", "className": "_User", "objectId": "Xy12ab"}}),
            ("n2", {"owner": {"__type": "Pointer", "className": "_User", "objectId": "Bb34cd"}})]
    assert [rid for rid, _ in owned_rows(rows, "owner", who)] == ["n1"]


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


# --- the team fixture (Flask + SQLite): privileged, shared and listed-by-everyone records, clean-up ---------


TeamScans = dict[str, tuple[Team, Report, dict[str, Any]]]


def team_config(team: Team, **overrides: Any) -> dict[str, Any]:
    """alice owns projects listed in a directory of everyone's; carol is a member of one; root is the superuser."""
    # Logged in by e-mail: the owner field holds the username, which each account's control answer names.
    accounts = {name: {"username": f"{name}@team.test", "password": team.passwords[name], "control": "GET /api/users/me"}
                for name in ("alice", "bob", "carol", "root")}
    accounts["root"]["role"] = "admin"
    projects = {"path": "/api/projects/{id}", "owner": "alice", "list": "GET /api/projects", "owner_field": "owner",
                "shared_with": ["carol"], "create": "POST /api/projects", "write": True,
                "write_json": {"name": "probe cross-account write"}}
    return {
        "login": {"request": "POST /api/login", "json": {"username": "{username}", "password": "{password}"},
                  "token": "json:access_token"},
        "accounts": accounts,
        "resources": [
            {**projects, **overrides},
            {"path": "/api/users/{id}", "owner": "alice", "list": "GET /api/users/me", "ids_at": "id"},
            {"path": "/api/projects/{id}/report", "owner": "alice", "list": "GET /api/projects", "owner_field": "owner",
             "shared_with": ["carol"]},
        ],
    }


@pytest.fixture(scope="module")
def team_twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamScans]:
    """Each twin scanned actively, with its database's rows before the scan."""
    scanned: TeamScans = {}
    for variant in ("vulnerable", "hardened"):
        team = make_team(tmp_path_factory.mktemp(variant))
        before = team.rows()
        with serve_wsgi(create_team_app(variant, team)) as url:
            scanned[variant] = (team, scan_authz(url, **team_config(team)), before)
    yield scanned


def _at(report: Report, check_id: str, tail: str) -> list[Result]:
    return [r for r in results_for(report, check_id) if r.location.endswith(tail)]


def test_a_superuser_reading_every_user_is_no_leak_a_normal_account_still_is(team_twins: TeamScans) -> None:
    _, vulnerable, _ = team_twins["vulnerable"]
    _, hardened, _ = team_twins["hardened"]
    leak = _at(vulnerable, "idor.cross-account-read", "/api/users/{id}")[0]
    assert leak.status is Status.FAIL and leak.detail.startswith("bob got alice's record")
    assert "root" not in leak.detail.split(";")[1]  # the leaks counted are bob's and carol's, never root's
    fine = _at(hardened, "idor.cross-account-read", "/api/users/{id}")[0]
    # root (role admin) reads alice's user by design: the only readers asked are the normal accounts.
    assert fine.status is Status.PASS, fine.detail
    assert fine.detail.startswith("bob, carol requested") and "root (role 'admin') privileged" in fine.detail
    assert _at(hardened, "idor.enumerable", "/api/users/{id}")[0].status is Status.PASS


def test_without_the_role_the_superuser_would_be_reported(tmp_path: Path) -> None:
    team = make_team(tmp_path)
    config = team_config(team)
    del config["accounts"]["root"]["role"]
    with serve_wsgi(create_team_app("hardened", team)) as url:
        report = scan_authz(url, mode="passive", **config)
    leak = _at(report, "idor.cross-account-read", "/api/users/{id}")[0]
    assert leak.status is Status.FAIL and leak.detail.startswith("root got alice's record")


def test_shared_records_are_read_by_design(team_twins: TeamScans, tmp_path: Path) -> None:
    _, vulnerable, _ = team_twins["vulnerable"]
    _, hardened, _ = team_twins["hardened"]
    leak = _at(vulnerable, "idor.cross-account-read", "/api/projects/{id}")[0]
    assert leak.status is Status.FAIL and leak.detail.startswith("bob got alice's record /api/projects/1")
    assert "carol" not in leak.detail  # a member of the project, declared in shared_with
    fine = _at(hardened, "idor.cross-account-read", "/api/projects/{id}")[0]
    assert fine.status is Status.PASS and "carol in shared_with" in fine.detail
    # The control: undeclared, carol's read of the project she is a member of counts as a leak.
    team = make_team(tmp_path)
    with serve_wsgi(create_team_app("hardened", team)) as url:
        report = scan_authz(url, mode="passive", **team_config(team, shared_with=[]))
    undeclared = _at(report, "idor.cross-account-read", "/api/projects/{id}")[0]
    assert undeclared.status is Status.FAIL and undeclared.detail.startswith("carol got alice's record /api/projects/1")


def test_the_owner_field_picks_the_owners_rows_out_of_a_list_of_everyones(team_twins: TeamScans) -> None:
    _, vulnerable, _ = team_twins["vulnerable"]
    _, hardened, _ = team_twins["hardened"]
    leak = _at(vulnerable, "idor.cross-account-read", "/api/projects/{id}")[0]
    # Only alice's projects (1 and 2) are counted as hers; bob reading his own project 3 is never "stolen".
    assert "bob read 1" in leak.detail and "bob read 2" in leak.detail and "read 3" not in leak.detail
    note = "alice's list GET /api/projects holds 2 of 4 rows whose owner is not alice's"
    assert leak.evidence["owner_list"] == [note + ": not counted as alice's"]
    walk = _at(vulnerable, "idor.enumerable", "/api/projects/{id}")[0]
    assert walk.status is Status.FAIL and walk.evidence["readable_ids"] == ["1", "2", "4"]  # not bob's own 3
    assert _at(hardened, "idor.enumerable", "/api/projects/{id}")[0].status is Status.PASS
    assert _at(hardened, "idor.cross-account-read", "/api/projects/{id}")[0].status is Status.PASS


def test_without_an_owner_field_a_list_of_everyones_rows_is_not_the_owners(tmp_path: Path) -> None:
    team = make_team(tmp_path)
    with serve_wsgi(create_team_app("vulnerable", team)) as url:
        report = scan_authz(url, mode="passive", **team_config(team, owner_field=None, write=False))
    projects = _at(report, "idor.cross-account-read", "/api/projects/{id}")[0]
    # Every account lists the same rows: whose they are cannot be told, so nothing is called stolen.
    assert projects.status is Status.SKIP and "set owner_field" in projects.detail


def test_a_public_route_is_reported_once(team_twins: TeamScans) -> None:
    _, vulnerable, _ = team_twins["vulnerable"]
    _, hardened, _ = team_twins["hardened"]
    public = _at(vulnerable, "auth.unauthenticated-access", "/api/projects/{id}/report")[0]
    assert public.status is Status.FAIL
    for check_id in ("idor.cross-account-read", "idor.enumerable"):
        same = _at(vulnerable, check_id, "/api/projects/{id}/report")[0]
        assert same.status is Status.SKIP and "auth.unauthenticated-access" in same.detail
    assert _at(hardened, "auth.unauthenticated-access", "/api/projects/{id}/report")[0].status is Status.PASS
    assert _at(hardened, "idor.cross-account-read", "/api/projects/{id}/report")[0].status is Status.PASS


def test_an_active_run_leaves_the_database_as_it_found_it(team_twins: TeamScans) -> None:
    for variant, how_found in (("vulnerable", "the one new id in GET /api/projects"), ("hardened", "the Location header")):
        team, report, before = team_twins[variant]
        write = results_for(report, "idor.cross-account-write")[0]
        assert write.status is (Status.FAIL if variant == "vulnerable" else Status.PASS), write.detail
        assert write.evidence["id_from"] == how_found and "left_behind" not in write.evidence
        assert team.rows() == before, variant


def test_what_cannot_be_deleted_is_named(tmp_path: Path) -> None:
    team = make_team(tmp_path)
    before = team.rows()
    with serve_wsgi(create_team_app("vulnerable", team)) as url:
        # No list to compare: the create answers neither the id nor a Location, so the record cannot be found.
        report = scan_authz(url, **team_config(team, list=None, owner_field=None, ids=[1]))
    write = results_for(report, "idor.cross-account-write")[0]
    assert write.status is Status.ERROR and "remove it by hand" in write.detail
    assert write.evidence["left_behind"] == [{"check": "idor.cross-account-write", "route": "POST /api/projects",
                                              "id": None}]
    assert len(team.rows()["projects"]) == len(before["projects"]) + 1  # what the result names is really there


def test_a_control_that_answers_anyone_sets_its_account_aside(tmp_path: Path) -> None:
    team = make_team(tmp_path)
    config = team_config(team)
    config["accounts"]["bob"]["control"] = "GET /api/status"
    with serve_wsgi(create_team_app("hardened", team)) as url:
        report = scan_authz(url, mode="passive", **config)
    # bob's refusals could mean "logged out": only carol (not shared on users) is asked there, and the note says why.
    users = _at(report, "idor.cross-account-read", "/api/users/{id}")[0]
    assert users.status is Status.PASS and users.detail.startswith("carol requested")
    assert "'bob' set aside: its control request GET /api/status answers without credentials" in users.detail
    projects = _at(report, "idor.cross-account-read", "/api/projects/{id}")[0]
    assert projects.status is Status.SKIP and "set aside" in projects.detail


def test_a_control_that_answers_anyone_but_names_its_account_is_kept(tmp_path: Path) -> None:
    team = make_team(tmp_path)
    config = team_config(team)
    config["accounts"]["bob"]["control"] = "GET /api/session"
    with serve_wsgi(create_team_app("vulnerable", team)) as url:
        report = scan_authz(url, mode="passive", **config)
    # Strangers get `{"user": null}`, bob gets his name: the answer still tells bob's session from a lost one.
    projects = _at(report, "idor.cross-account-read", "/api/projects/{id}")[0]
    assert projects.status is Status.FAIL and "bob" in projects.detail, projects.detail
    assert not any("set aside" in r.detail for r in report.results)


@pytest.mark.parametrize("control", ["GET /api/welcome", "GET /api/beta"])
def test_jwt_checks_need_a_route_that_refuses_no_token_and_a_garbage_token(control: str) -> None:
    """alice's control is a public page that greets by an unverified token, or a route that takes any bearer token:
    a forged token gets the genuine one's answer there, which proves nothing (both twins would fail). The JWT checks
    judge on the next candidate, which refuses no token and a garbage token."""
    for variant, verdict in (("vulnerable", Status.FAIL), ("hardened", Status.PASS)):
        seed = make_seed()
        config = authz_config(seed, **({} if variant == "vulnerable" else {"auth": {"jwt_secret": seed.strong_secret}}))
        config["accounts"]["alice"]["control"] = control
        with serve_asgi(create_app(variant, seed)) as url:
            report = scan_authz(url, mode="passive", **config)
        for check_id in ("auth.jwt-none", "auth.jwt-signature-unchecked", "auth.jwt-expired-accepted"):
            (result,) = results_for(report, check_id)
            assert result.status is verdict and result.location.endswith("/api/documents"), (variant, result)
        documents = next(r for r in results_for(report, "idor.cross-account-read") if "documents" in r.location)
        if control == "GET /api/welcome":
            # The matrix sets alice aside: a control that answers anyone cannot tell a lost session.
            assert documents.status is Status.SKIP
            assert "its control request GET /api/welcome answers without credentials too (200)" in documents.detail
        else:
            assert documents.status is verdict


def test_no_jwt_verdict_on_a_route_that_answers_anyone() -> None:
    seed = make_seed()
    config = authz_config(seed)
    del config["accounts"]["alice"]["control"]
    config["resources"] = [{"path": "/api/welcome", "owner": "alice"}]  # her only candidate
    with serve_asgi(create_app("hardened", seed)) as url:
        report = scan_authz(url, mode="passive", **config)
    for check_id in ("auth.jwt-none", "auth.jwt-signature-unchecked"):
        skipped = expect(report, check_id, "skip")[0]
        assert "GET /api/welcome answers without a token too (200): a public route" in skipped.detail
    welcome = expect(report, "auth.unauthenticated-access", "pass")[0]  # the guest greeting is not alice's data
    assert welcome.location.endswith("/api/welcome")


def test_a_full_active_run_leaves_the_database_as_it_found_it(tmp_path: Path) -> None:
    """Every family, active mode, on the twin whose create answers no id: not one row more, less or changed."""
    team = make_team(tmp_path)
    before = team.rows()
    with serve_wsgi(create_team_app("vulnerable", team)) as url:
        report = api.execute(api.plan(target=url, environ={}, overrides={"mode": "active", "rate": 500,
                                                                           **team_config(team)}))
    assert expect(report, "idor.cross-account-write", "fail")[0].evidence["cleanup"].startswith("deleted")
    assert team.rows() == before
