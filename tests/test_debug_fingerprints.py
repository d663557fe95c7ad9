"""The fingerprint table against real pages of frameworks that cannot run here (tests/data/debug_pages,
sources in its SOURCES.md), and the parsers against hostile input. The runnable frameworks (Flask/Werkzeug,
Django, FastAPI/Starlette, Express) are proven live in test_debug.py."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probe.checks.debug.fingerprints import ENDPOINTS, FINGERPRINTS
from probe.checks.debug.triggers import _fill_template, _form_is_safe, fingerprint, haystack
from probe.http import Response
from probe.surface import Form

PAGES = Path(__file__).parent / "data" / "debug_pages"


def _response(body: str, content_type: str = "text/html; charset=utf-8") -> Response:
    return Response(method="GET", url="http://127.0.0.1/x", status=500,
                    headers=httpx.Headers({"content-type": content_type}), body=body.encode(), truncated=False,
                    elapsed_s=0.0)


@pytest.mark.parametrize(("page", "expected"), [
    ("rails_exception.html", "rails-exception"),
    ("rails_web_console.html", "rails-web-console"),
    ("spring_whitelabel_trace.html", "spring-whitelabel-trace"),
    ("symfony_exception.html", "symfony-exception"),
    ("laravel_ignition.html", "laravel-ignition"),
    ("php_whoops.html", "php-whoops"),
    ("php_display_errors.txt", "php-display-errors"),
    ("aspnet_yellow_screen.txt", "aspnet-yellow-screen"),
    ("aspnetcore_error_page.html", "aspnetcore-developer-page"),
    ("go_panic.txt", "go-panic"),
    ("phoenix_plug_debugger.html", "phoenix-debugger"),
    ("sinatra_not_found.html", "sinatra-development"),
])
def test_captured_pages_are_recognised(page: str, expected: str) -> None:
    names = [fp.name for fp in fingerprint(_response((PAGES / page).read_text(encoding="utf-8")))]
    assert expected in names, f"{page}: got {names}"


def test_whitelabel_without_trace_is_not_a_finding() -> None:
    assert fingerprint(_response((PAGES / "spring_whitelabel_plain.html").read_text(encoding="utf-8"))) == ()


def test_every_page_file_is_listed_with_its_source() -> None:
    sources = (PAGES / "SOURCES.md").read_text(encoding="utf-8")
    for page in PAGES.iterdir():
        if page.name != "SOURCES.md":
            assert f"`{page.name}`" in sources, f"{page.name} has no source in SOURCES.md"


def test_every_row_names_a_source_and_a_setting() -> None:
    for fp in FINGERPRINTS:
        assert fp.source, fp.name
        assert fp.setting or fp.signal == "sql-error", fp.name
    for endpoint in ENDPOINTS:
        assert endpoint.source and endpoint.setting and endpoint.markers, endpoint.name
    assert len({fp.name for fp in FINGERPRINTS}) == len(FINGERPRINTS)


@pytest.mark.parametrize("body", [
    '{"error": "Not found"}',
    "<html><body><h1>Internal Server Error</h1></body></html>",
    "Results for the word 'at' at line 3 of the essay",
    '{"message": "Invalid id: expected a number"}',
])
def test_ordinary_errors_match_nothing(body: str) -> None:
    assert fingerprint(_response(body)) == ()


def test_stack_inside_json_is_seen_with_its_line_breaks() -> None:
    body = '{"error": "boom", "stack": "TypeError: boom\\n    at handler (/srv/app/server.js:12:7)"}'
    response = _response(body, "application/json")
    assert "\n    at handler" in haystack(response)
    assert [fp.name for fp in fingerprint(response)] == ["node-stack"]


def test_templates_get_the_bad_value() -> None:
    assert _fill_template("/api/notes/{id}") == "/api/notes/1%27%22"
    assert _fill_template("/api/items/${id}/x") == "/api/items/1%27%22/x"
    assert _fill_template("/users/:userId") == "/users/1%27%22"
    assert _fill_template("/api/notes") is None


def test_forms_that_create_pay_or_send_are_left_alone() -> None:
    assert _form_is_safe(Form("/search", "GET", (("q", "search"),)))
    assert _form_is_safe(Form("/login", "POST", (("email", "email"), ("password", "password"))))
    assert not _form_is_safe(Form("/checkout", "POST", (("card", "text"),)))
    assert not _form_is_safe(Form("/contact", "POST", (("message", "textarea"),)))


@settings(max_examples=150, deadline=2000)
@given(st.text(max_size=3000))
def test_fingerprinting_never_raises_on_hostile_bodies(body: str) -> None:
    fingerprint(_response(body))
    fingerprint(_response(body, "application/json"))


def test_fingerprinting_is_fast_on_pathological_input() -> None:
    # Long runs of the characters the regexes look for must not backtrack for seconds.
    for body in ("at " * 50_000, "Fatal error: " + "x " * 50_000, "(" * 100_000, "\n    at /" * 20_000):
        fingerprint(_response(body))
