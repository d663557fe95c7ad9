"""race: real twins on real PostgreSQL (READ COMMITTED). FastAPI + SQLAlchemy: a coupon redemption and a wallet
withdrawal, check-then-act (vulnerable) against a conditional UPDATE … RETURNING and SELECT … FOR UPDATE (hardened).
Express + pg: a vote and a sign-up, check-then-insert (vulnerable) against unique constraints with ON CONFLICT, and an
order whose Idempotency-Key is ignored (vulnerable) or stored first (hardened). Each verdict is repeated five times."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from fixtures import race
from fixtures.postgres import Cluster, binaries, cluster
from fixtures.race import fastapi_app
from fixtures.serve import serve_asgi, serve_command
from probe.checks.race.plan import MAX_COPIES, RaceTarget, request_cap
from probe.config import ConfigError
from probe.model import Report, Status
from tests.helpers import NODE_DIR, expect, needs_node_package, results_for, scan

RUNS = 5
ACCOUNTS = {"alice": {"bearer": "alice-token"}, "bob": {"bearer": "bob-token"}}
# Loopback: no reason to pace the setup and verify requests, and a budget every run here fits in.
FAST = {"rate": 500.0, "max_requests": 1000}

COUPON = {"path": "/api/coupons/redeem", "json": {"code": "{setup.code}"}, "account": "alice",
          "setup": {"request": "POST /api/coupons"},
          "verify": {"request": "GET /api/me", "value": "credit", "step": fastapi_app.COUPON_AMOUNT}}
WITHDRAW = {"path": "/api/wallets/{setup.id}/withdraw", "json": {"amount": fastapi_app.WALLET_START}, "account": "bob",
            "setup": {"request": "POST /api/wallets"},
            "verify": {"request": "GET /api/wallets/{setup.id}", "value": "balance", "step": fastapi_app.WALLET_START}}
VOTE = {"path": "/api/polls/{setup.id}/vote", "json": {"choice": "tabs"}, "account": "alice",
        "setup": {"request": "POST /api/polls"}}
SIGNUP = {"path": "/api/signup", "json": {"email": "{email}", "password": "correct horse battery"}}
ORDER = {"path": "/api/orders", "json": {"item": "book"}, "account": "bob", "idempotency": True, "record": "id"}


@dataclass(frozen=True)
class Twins:
    python: dict[str, str]  # "vulnerable" / "hardened" → base URL
    node: dict[str, str]


@pytest.fixture(scope="module")
def twins() -> Iterator[Twins]:
    if binaries() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    needs_node_package("pg")
    with cluster() as db, contextlib.ExitStack() as stack:
        dsns = race.create_databases(db)
        provider = stack.enter_context(serve_asgi(race.provider_app()))
        python = {mode: stack.enter_context(serve_asgi(fastapi_app.app(dsns[f"race_py_{mode}"], provider,
                                                                       hardened=mode == "hardened")))
                  for mode in ("vulnerable", "hardened")}
        node = {mode: stack.enter_context(_node(db, f"race_node_{mode}", mode, provider))
                for mode in ("vulnerable", "hardened")}
        yield Twins(python, node)


def _node(db: Cluster, database: str, mode: str, provider: str) -> contextlib.AbstractContextManager[str]:
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(db.port), "PGDATABASE": database, "PGUSER": "postgres",
           "PROVIDER_URL": provider, "RACE_MODE": mode}
    return serve_command(["node", "race-app.js"], cwd=NODE_DIR, env=env)


def _scan(url: str, entries: list[dict[str, Any]], *, only: tuple[str, ...] = ("race",), mode: str = "active",
          **overrides: Any) -> Report:
    return scan(url, only=only, mode=mode, accounts=ACCOUNTS, race=entries, **{**FAST, **overrides})


def _by_path(report: Report, check_id: str, path: str) -> list[Any]:
    return [r for r in results_for(report, check_id) if urlsplit(r.location).path == path]


def test_python_twins_five_runs(twins: Twins) -> None:
    """The coupon and the withdrawal double-spend on every vulnerable run and never on the hardened one."""
    for _ in range(RUNS):
        bad = _scan(twins.python["vulnerable"], [COUPON, WITHDRAW])
        failed = expect(bad, "race.double-submit", "fail")
        assert {urlsplit(r.location).path for r in failed} == {COUPON["path"], WITHDRAW["path"]}
        for result in failed:
            assert result.detail.startswith("3 of 3 attempts double-spent"), result.detail
            attempts = result.evidence["attempts"]
            assert len(attempts) == 3 and all(a["succeeded"] > 1 and a["verify"]["moves"] > 1 for a in attempts)
            # Measured from the first to the last copy's final byte: well under the handler's 40 ms window.
            assert all(a["release"] == "last-byte" and 0 <= a["release_spread_ms"] < 250 for a in attempts)
        good = _scan(twins.python["hardened"], [COUPON, WITHDRAW])
        passed = expect(good, "race.double-submit", "pass")
        assert len(passed) == 2
        for result in passed:
            assert all(a["succeeded"] == 1 and a["verify"]["moves"] == 1 for a in result.evidence["attempts"])


def test_node_twins_five_runs(twins: Twins) -> None:
    """The vote and the sign-up go through more than once on the check-then-insert twin; the unique constraints
    refuse every second copy. The ignored Idempotency-Key makes two orders; the stored one makes one."""
    for _ in range(RUNS):
        bad = _scan(twins.node["vulnerable"], [VOTE, SIGNUP, ORDER])
        assert len(expect(bad, "race.double-submit", "fail")) == 2
        [idem] = expect(bad, "race.idempotency", "fail")
        phases = idem.evidence["phases"]
        assert phases[0]["succeeded"] == 2 and len(phases[0]["records"]) == 2  # sequential: two orders
        assert len(phases[1]["records"]) > 1  # concurrent
        good = _scan(twins.node["hardened"], [VOTE, SIGNUP, ORDER])
        assert len(expect(good, "race.double-submit", "pass")) == 2
        [kept] = expect(good, "race.idempotency", "pass")
        assert all(len(p["records"]) == 1 for p in kept.evidence["phases"])


def test_no_success_is_a_skip_never_a_pass(twins: Twins) -> None:
    """A request every copy of which is refused (an unknown coupon) proves nothing: skip, with the statuses."""
    unknown = {"path": "/api/coupons/redeem", "json": {"code": "no-such-coupon"}, "account": "alice", "attempts": 2,
               "copies": 3}
    for url in twins.python.values():
        [result] = results_for(_scan(url, [unknown], only=("race.double-submit",)), "race.double-submit")
        assert result.status is Status.SKIP
        assert "no copy succeeded in any of 2 attempts (statuses 404)" in result.detail


def test_requests_are_bounded_and_counted(twins: Twins) -> None:
    entry = {**VOTE, "copies": 4, "attempts": 2}
    report = _scan(twins.node["hardened"], [entry], only=("race.double-submit",))
    expect(report, "race.double-submit", "pass")
    cap = request_cap(RaceTarget.model_validate(entry))
    assert cap == 2 * (1 + 4)
    assert report.requests_by_family["race"] == cap
    # A budget too small for the second attempt: the first ran, the second was stopped before its release.
    short = _scan(twins.node["hardened"], [entry], only=("race.double-submit",), max_requests=7)
    [result] = results_for(short, "race.double-submit")
    assert result.status is Status.ERROR and "1 of 2 attempts ran" in result.detail and "budget" in result.detail
    assert short.requests_sent <= 7


def test_a_request_without_a_body_is_warmed_then_released(twins: Twins) -> None:
    """Nothing to hold back: each connection first carries one OPTIONS (counted), then the copies go at the gate."""
    entry = {"path": "/api/polls/{setup.id}/vote", "account": "bob", "setup": {"request": "POST /api/polls"},
             "copies": 4, "attempts": 2}
    report = _scan(twins.node["vulnerable"], [entry], only=("race.double-submit",))
    [result] = expect(report, "race.double-submit", "fail")
    assert {a["release"] for a in result.evidence["attempts"]} == {"warmed"}
    assert report.requests_by_family["race"] == request_cap(RaceTarget.model_validate(entry)) == 2 * (1 + 2 * 4)


def test_passive_mode_sends_nothing(twins: Twins) -> None:
    report = _scan(twins.node["vulnerable"], [VOTE, ORDER], mode="passive")
    for check_id in ("race.double-submit", "race.idempotency"):
        [result] = results_for(report, check_id)
        assert result.status is Status.SKIP and "--mode active" in result.detail
    assert report.requests_by_family.get("race", 0) == 0


def test_unconfigured_is_a_skip_naming_the_section(twins: Twins) -> None:
    report = scan(twins.node["vulnerable"], only=("race",), mode="active")
    for check_id in ("race.double-submit", "race.idempotency"):
        [result] = results_for(report, check_id)
        assert result.status is Status.SKIP and "[[race]]" in result.detail


@pytest.mark.parametrize(("entry", "message"), [
    ({**VOTE, "copies": MAX_COPIES + 1}, "race[0].copies: Input should be less than or equal to 30"),
    ({**VOTE, "attempts": 11}, "race[0].attempts: Input should be less than or equal to 10"),
    ({**VOTE, "copies": 1}, "race[0].copies: Input should be greater than or equal to 2"),
    ({"path": "/api/x/{setup.id}"}, "{setup.id} cannot be used in an entry without a setup request"),
    ({"path": "/api/x", "json": {"a": "{nope}"}}, "unknown placeholder {nope}"),
    ({"path": "/api/x", "method": "GET", "idempotency": True}, "not GET"),
    ({"path": "api/x"}, "expected a path starting with /"),
])
def test_config_errors_are_one_line(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        scan("http://127.0.0.1:9", only=("race",), mode="active", race=[entry])
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_the_cap_at_its_largest() -> None:
    """10 attempts × (setup + 2 verifies + 30 copies and their 30 warm-ups, for a request without a body)."""
    widest = RaceTarget.model_validate({"path": "/api/x/{setup.id}", "method": "DELETE", "copies": 30, "attempts": 10,
                                        "setup": {"request": "POST /api/x"},
                                        "verify": {"request": "GET /api/x", "value": "n"}})
    assert request_cap(widest) == 630
