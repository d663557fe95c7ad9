"""auth.public-data against a real FastAPI API whose routes come from its own OpenAPI document: a debug listing of
every user with their password, open to anyone (vulnerable) or behind a bearer token (hardened), beside public
routes that must not fail (a product list, a health check, a translation table) and an action route that must
never be requested (`GET /createdb`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fixtures.api.fastapi_app import USERS, create_app
from fixtures.serve import serve_asgi
from probe.checks.exposure import exposure
from probe.model import Report
from probe.surface import reads_as_action
from tests.helpers import expect, scan

CHECK = "auth.public-data"


@dataclass(frozen=True)
class Run:
    report: Report
    hits: Counter[str]


def _run(mode: str) -> Run:
    app = create_app(mode)
    with serve_asgi(app) as url:
        report = scan(url, only=[CHECK], rate=200)
    return Run(report, app.state.hits)


@pytest.fixture(scope="module")
def vulnerable() -> Iterator[Run]:
    yield _run("vulnerable")


@pytest.fixture(scope="module")
def hardened() -> Iterator[Run]:
    yield _run("hardened")


def test_open_debug_listing_fails_with_fields_and_masked_values(vulnerable: Run) -> None:
    [found] = expect(vulnerable.report, "auth.public-data", "fail")
    assert found.location.endswith("/users/v1/_debug")
    assert found.evidence["fields"] == ["email", "password"]
    assert found.evidence["records"] == len(USERS)
    sample = found.evidence["sample"]
    assert sample["username"] == "name1" and sample["password"].startswith("[masked 5 chars")
    text = str(found)
    for _, email, password, _ in USERS:
        assert email not in text and password not in text
    assert found.evidence["request"]["method"] == "GET"
    assert "authorization" not in {k.lower() for k in found.evidence["request"]["headers"]}


def test_listing_behind_auth_passes_and_public_routes_are_read(hardened: Run) -> None:
    [passed] = expect(hardened.report, "auth.public-data", "pass")
    for route in ("/users/v1/_debug (401)", "/api/products (200)", "/health (200)", "/api/i18n (200)"):
        assert route in passed.detail


def test_action_routes_are_never_requested(vulnerable: Run, hardened: Run) -> None:
    assert reads_as_action("/createdb")
    assert vulnerable.hits["/createdb"] == 0 and hardened.hits["/createdb"] == 0
    # The document's routes without parameters, plus the page: bounded whatever the document lists.
    assert vulnerable.report.requests_by_family["auth"] == 5


@pytest.mark.parametrize(("doc", "fields"), [
    ({"users": [{"id": 1, "email": "a@example.com"}, {"id": 2, "email": "b@example.com"}]}, ("email",)),
    ([{"username": "a", "hashed_password": "$2b$12$abcdefghijklmnopqrstuv"}], ("hashed_password",)),
    ({"data": {"apiKey": "sk_live_0123456789", "name": "prod"}}, ("apiKey",)),
    ([{"name": "Mug", "contact": {"email": "shop@example.com"}}] * 3, None),
    ([{"username": "a", "password": "********"}, {"username": "b", "password": None}], None),
    ({"password": "Password", "email": "Email address"}, None),
    ({"status": "ok", "token_type": "bearer"}, None),
])
def test_what_counts_as_sensitive(doc: object, fields: tuple[str, ...] | None) -> None:
    found = exposure(doc)
    assert (found.fields if found else None) == fields


def test_a_csrf_route_hands_out_tokens_by_design() -> None:
    assert exposure({"token": "b1d9c0a7e5f2"}) is not None
    assert exposure({"token": "b1d9c0a7e5f2"}, tokens_public=True) is None
