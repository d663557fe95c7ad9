"""The attack surface's discovery, on real frameworks: an OpenAPI document found through the API documentation page
that names it, routes that read as actions never requested in a passive run, `exclude` honoured in every mode, and
scripts loaded by scripts followed up to a cap that the report states."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fixtures.discovery import api, chunked_page
from fixtures.serve import serve_asgi, serve_wsgi
from probe import init
from probe.forms import read_form
from probe.operations import base_path
from probe.surface import MAX_SCRIPTS, parse_fields, reads_as_action
from tests.helpers import expect, results_for, scan


def test_openapi_document_found_through_its_docs_page_and_used_by_every_family() -> None:
    hits: Counter[str] = Counter()
    with serve_asgi(api(hits)) as url:
        report = scan(url, only=["cors", "debug", "input"])
    assert any("OpenAPI document at /api/v1/openapi.json (named by the API documentation page /docs)" in n
               for n in report.notes), report.notes
    assert hits["/api/v1/items/"] > 0  # a route only the document names was probed


def test_passive_run_never_requests_action_routes() -> None:
    hits: Counter[str] = Counter()
    with serve_asgi(api(hits)) as url:
        report = scan(url)
    assert hits["/api/v1/createdb"] == 0 and hits["/api/v1/items/{item_id}/delete"] == 0, hits
    note = next(n for n in report.notes if n.startswith("passive mode:"))
    assert "/api/v1/createdb" in note and "/api/v1/items/{item_id}/delete" in note


def test_exclude_is_honoured_in_active_mode_too() -> None:
    hits: Counter[str] = Counter()
    with serve_asgi(api(hits)) as url:
        report = scan(url, mode="active", exclude=["/api/v1/admin/*", "/api/v1/createdb"])
    assert hits["/api/v1/admin/stats"] == 0 and hits["/api/v1/createdb"] == 0, hits
    assert any("left alone: /api/v1/admin/stats" in n for n in report.notes), report.notes


def test_action_words() -> None:
    assert reads_as_action("/createdb") and reads_as_action("/api/auth/logout") and reads_as_action("/users/1/delete")
    assert not reads_as_action("/users/v1/_debug") and not reads_as_action("/api/notes/{id}/export")


def test_scripts_loaded_by_scripts_are_read() -> None:
    with serve_wsgi(chunked_page(leak=True)) as url:
        leaked = scan(url, only=["secrets.in-bundle"])
    [found] = expect(leaked, "secrets.in-bundle", "fail")
    assert found.location.endswith("/assets/vendor-c3.js")
    with serve_wsgi(chunked_page(leak=False)) as url:
        clean = scan(url, only=["secrets.in-bundle"])
    [passed] = expect(clean, "secrets.in-bundle", "pass")
    assert "3 script(s)" in passed.detail and "beyond the cap" not in passed.detail


def test_the_script_cap_is_stated() -> None:
    with serve_wsgi(chunked_page(leak=False, extra_scripts=MAX_SCRIPTS + 2)) as url:
        report = scan(url, only=["secrets.in-bundle"])
    [result] = results_for(report, "secrets.in-bundle")
    assert "more script(s) beyond the cap were not read" in result.detail, result.detail
    assert any(n.startswith(f"read {MAX_SCRIPTS} same-origin scripts (the cap)") for n in report.notes)


def test_probe_init_says_where_the_openapi_document_was_found(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    with serve_asgi(api(hits)) as url:
        _, lines = init.generate(url, cwd=tmp_path)
    assert any(line.startswith("OpenAPI: ") and "none found" not in line for line in lines), lines
    assert "OpenAPI document at /api/v1/openapi.json (named by the API documentation page /docs): 5 paths" in lines


LOGIN_PAGE = """<html><body>
<form action="/search"><input name="q" type="search"></form>
<input type="hidden" name="loose_token" value="L">
<form method="post" action="/login">
  <input type="hidden" name="csrfmiddlewaretoken" value="T1">
  <input type="HIDDEN" name="next" value="/home">
  <input name="email" type="email"><input name="password" type="password">
  <textarea name="note"></textarea>
"""  # the log-in form is never closed: it ends with the page, as a browser parses it


def test_one_form_parser_serves_the_surface_and_the_log_in() -> None:
    """The surface's forms and the form a configured log-in posts are read by the one parser: an unclosed form
    ends with the page, hidden fields are read whatever their type's case, fields outside any form are kept."""
    forms, loose = parse_fields(LOGIN_PAGE)
    assert [(f.action, f.method) for f in forms] == [("/search", "GET"), ("/login", "POST")]
    assert forms[1].fields == (("csrfmiddlewaretoken", "hidden"), ("next", "HIDDEN"), ("email", "email"),
                               ("password", "password"), ("note", "textarea"))
    assert forms[1].hidden == (("csrfmiddlewaretoken", "T1"), ("next", "/home"))
    assert loose.hidden == (("loose_token", "L"),)
    hidden, name, value = read_form(LOGIN_PAGE, "http://127.0.0.1/login", "/login", {}, None)
    assert (hidden, name, value) == ({"csrfmiddlewaretoken": "T1", "next": "/home"}, "csrfmiddlewaretoken", "T1")
    assert read_form(LOGIN_PAGE, "http://127.0.0.1/", None, {}, "loose_token")[1:] == ("loose_token", "L")


def test_the_openapi_base_path_is_one_rule() -> None:
    """The surface's API paths and the documented operations sit under the same base: the first server's path
    (OpenAPI 3), else `basePath` (Swagger 2)."""
    assert base_path({"servers": [{"url": "https://api.example.com/v2/"}], "basePath": "/ignored"}) == "/v2"
    assert base_path({"swagger": "2.0", "basePath": "/api/"}) == "/api"
    assert base_path({"openapi": "3.1.0"}) == ""
