"""input.server-error's bad numbers against a real FastAPI API whose `GET /api/v1/items/?skip=&limit=` (behind a
log-in) is known from its own OpenAPI document: numbers passed straight to SQLite (vulnerable: a value beyond 64
bits is an OverflowError, a 500) or bounded with `Query(ge=0, le=100)` (hardened: a 422)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fixtures.api.fastapi_app import TOKEN, create_app
from fixtures.serve import serve_asgi
from probe.checks.debug.triggers import (
    BAD_NUMBERS,
    MAX_NUMBER_PARAMS,
    PATH_BAD_NUMBERS,
    number_triggers,
    observed_route,
)
from probe.http import ScopedHttp
from probe.model import Confidence, Report
from tests.helpers import expect, scan

CHECK = "input.server-error"
SIGNED_IN = {"accounts": {"alice": {"bearer": TOKEN}}, "debug": {"account": "alice"}}


@dataclass(frozen=True)
class Run:
    report: Report
    hits: Counter[str]


def _run(mode: str, **config: object) -> Run:
    app = create_app(mode)
    with serve_asgi(app) as url:
        report = scan(url, only=[CHECK], rate=200, **config)
    return Run(report, app.state.hits)


@pytest.fixture(scope="module")
def vulnerable() -> Iterator[Run]:
    yield _run("vulnerable", **SIGNED_IN)


@pytest.fixture(scope="module")
def hardened() -> Iterator[Run]:
    yield _run("hardened", **SIGNED_IN)


def test_a_number_beyond_64_bits_crashes_the_unbounded_route(vulnerable: Run) -> None:
    [found] = expect(vulnerable.report, "input.server-error", "fail")
    assert found.kind == "bad-number"
    assert found.detail.startswith("GET /api/v1/items/ crashed with 500 on: skip=99999999999999999999 (beyond 64 bits)")
    assert "limit=99999999999999999999" in found.detail
    request = found.evidence["request"]
    assert request["method"] == "GET"
    assert request["url"].endswith("/api/v1/items/?skip=99999999999999999999")
    assert found.evidence["response"]["status"] == 500
    # The control: the same route answered an ordinary number without crashing.
    assert found.confidence is Confidence.HIGH and "(an ordinary number) was answered 200" in found.detail


def test_bounded_parameters_pass(hardened: Run) -> None:
    [passed] = expect(hardened.report, "input.server-error", "pass")
    assert "bad-input requests were answered without a server error" in passed.detail


def test_observed_query_and_template_parameters_get_bad_numbers() -> None:
    route = observed_route("/api/notes/{note_id}?q=x&page=2")
    assert route is not None
    assert [(p.name, p.location) for p in route.numeric] == [("page", "query"), ("note_id", "path")]
    triggers = number_triggers(ScopedHttp(None, "debug", "http://app.test"), route, None)
    # Each numeric parameter: an ordinary number first (the control, the value seen), then its bad numbers.
    assert len(triggers) == len(BAD_NUMBERS) + len(PATH_BAD_NUMBERS) + 2
    assert [t.url for t in triggers[:3]] == ["http://app.test/api/notes/1?q=x&page=2", "http://app.test/api/notes/1?q=x&page=-1",
                                            "http://app.test/api/notes/1?q=x&page=0"]
    assert [t.kind for t in triggers[:2]] == ["number-control", "bad-number"] and not triggers[0].bad_input
    assert triggers[-1].url == "http://app.test/api/notes/99999999999999999999?q=x&page=2"
    assert {t.method for t in triggers} == {"GET"}
    assert observed_route("/api/notes/search?q=x") is None


def test_bad_numbers_are_bounded_and_never_touch_actions(vulnerable: Run, hardened: Run) -> None:
    # The document's one route with numbers: its two numeric parameters, each sent every bad number once.
    sent = MAX_NUMBER_PARAMS * (len(BAD_NUMBERS) + 1)  # and one ordinary number each, the control
    assert vulnerable.hits["/api/v1/items/"] == hardened.hits["/api/v1/items/"] == sent
    assert vulnerable.hits["/createdb"] == 0 and hardened.hits["/createdb"] == 0


def test_without_the_account_the_pass_says_the_numbers_were_not_tested() -> None:
    run = _run("vulnerable")
    [passed] = expect(run.report, "input.server-error", "pass")
    assert "refused for want of a log-in, so not tested, at /api/v1/items/: set [debug] account" in passed.detail


def test_a_signed_in_pass_names_no_untested_route(hardened: Run) -> None:
    [passed] = expect(hardened.report, "input.server-error", "pass")
    assert "not tested" not in passed.detail


def test_numbers_refused_to_the_debug_account_are_named_as_its_refusal() -> None:
    """A [debug] account the route refuses (a 403 for its role, here a token the API does not know): the numbers
    went untested, and the note says it was that account, not a missing log-in."""
    run = _run("vulnerable", accounts={"mallory": {"bearer": "not-" + TOKEN}}, debug={"account": "mallory"})
    [passed] = expect(run.report, "input.server-error", "pass")
    assert "refused to the [debug] account 'mallory', so not tested, at /api/v1/items/" in passed.detail
    assert "want of a log-in" not in passed.detail


def test_a_route_that_crashes_on_an_ordinary_number_too_is_not_blamed_on_the_number() -> None:
    """The control is per parameter. As on Superset's explore route: any `datasource_id` but 0 crashes (a missing
    `datasource_type`), whatever the number, while `slice_id` is fine. The finding stands at medium confidence and
    says the numbers may not be the cause; the other parameter's answered control does not vouch for it."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/api/v1/explore/")
    def explore(slice_id: int | None = None, datasource_id: int | None = None) -> dict[str, int | None]:
        if datasource_id:
            raise LookupError(f"no datasource type for {datasource_id}")
        return {"slice": slice_id}

    with serve_asgi(app) as url:
        report = scan(url, only=[CHECK], rate=200)
    [found] = expect(report, CHECK, "fail")
    assert found.kind == "bad-number" and found.confidence is Confidence.MEDIUM, found.detail
    assert "The control datasource_id=1 (an ordinary number) got 500 too" in found.detail
    assert "slice_id" not in found.detail
