"""The attack surface's discovery, on real frameworks: an OpenAPI document found through the API documentation page
that names it, routes that read as actions never requested in a passive run, `exclude` honoured in every mode, and
scripts loaded by scripts followed up to a cap that the report states."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fixtures.discovery import api, chunked_page
from fixtures.serve import serve_asgi, serve_wsgi
from probe import init
from probe.surface import MAX_SCRIPTS, reads_as_action
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
