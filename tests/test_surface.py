"""The attack surface's discovery, on real frameworks: an OpenAPI document found through the API documentation page
that names it, routes that read as actions never requested in a passive run, `exclude` honoured in every mode, and
scripts loaded by scripts followed up to a cap that the report states."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from fixtures.discovery import SERVER_KEY_PREFIX, api, appbuilder, chunked_page
from fixtures.serve import serve_asgi, serve_wsgi
from probe import init
from probe.forms import read_form
from probe.model import Confidence, Report
from probe.operations import base_path
from probe.surface import MAX_SCRIPTS, parse_fields, reads_as_action
from tests.helpers import NODE_DIR, expect, needs_node_package, results_for, scan, static_site


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
    assert reads_as_action("/api/v1/query/stop") and reads_as_action("/api/jobs/{id}/run")
    assert not reads_as_action("/api/runs") and not reads_as_action("/getting-started")


def test_a_url_built_inside_a_segment_is_no_route() -> None:
    """`/api/permalink/kv:${key}` in a script is a template the script fills: its literal text is never requested. A
    query the script fills (`/api/profile?fields=${f}`) leaves its path a route."""
    with serve_wsgi(chunked_page(leak=False)) as url:
        report = scan(url, only=["auth.public-data"])
    [result] = results_for(report, "auth.public-data")
    assert "/api/profile" in result.detail and "kv:" not in result.detail, result.detail


def test_scripts_loaded_by_scripts_are_read() -> None:
    with serve_wsgi(chunked_page(leak=True)) as url:
        leaked = scan(url, only=["secrets.in-bundle"])
    [found] = expect(leaked, "secrets.in-bundle", "fail")
    assert found.location.endswith("/assets/vendor-c3.js")
    with serve_wsgi(chunked_page(leak=False)) as url:
        clean = scan(url, only=["secrets.in-bundle"])
    [passed] = expect(clean, "secrets.in-bundle", "pass")
    assert "3 script(s)" in passed.detail and "beyond the cap" not in passed.detail


# Two ways webpack 5 names lazy chunks: id and content hash through a map (`e=>e+"."+{242:"…"}[e]+".chunk.js"`), and
# the content hash alone (`e=>({242:"…"}[e]+".chunk.js")`) under a deeper public path.
WEBPACK_OUTPUTS = {"id-and-hash": ("[id].[contenthash].chunk.js", "/assets/"),
                   "hash-only": ("[contenthash].chunk.js", "/app/assets/")}


def _webpack_site(root: Path, chunk_filename: str, public_path: str, lazy: str) -> Path:
    """A real webpack 5 production build whose entry loads a chunk only when a button is clicked."""
    source = root / "src"
    source.mkdir(parents=True)
    (source / "index.js").write_text('document.getElementById("go").onclick = () => import("./pay.js").then((m) => m.pay());')
    (source / "pay.js").write_text(lazy)
    out = root / public_path.strip("/")
    config = {"mode": "production", "context": str(root), "entry": "./src/index.js",
              "output": {"path": str(out), "filename": "main.[contenthash].js", "chunkFilename": chunk_filename,
                         "publicPath": public_path}}
    build = ("const webpack = require('webpack');"
             f"webpack({json.dumps(config)}, (err, stats) => {{ if (err || stats.hasErrors()) {{"
             " console.error(err || stats.toString()); process.exit(1); } });")
    subprocess.run(["node", "-e", build], cwd=NODE_DIR, check=True, timeout=180)
    [entry] = out.glob("main.*.js")
    (root / "index.html").write_text(f'<!doctype html><button id="go">pay</button><script src="{public_path}{entry.name}">'
                                     "</script>")
    return root


@pytest.mark.parametrize("output", sorted(WEBPACK_OUTPUTS))
def test_webpack_lazy_chunks_are_read(tmp_path: Path, output: str) -> None:
    needs_node_package("webpack")
    chunk_filename, public_path = WEBPACK_OUTPUTS[output]
    key = SERVER_KEY_PREFIX + secrets.token_hex(16)
    leaked = _webpack_site(tmp_path / "leaked", chunk_filename, public_path,
                           f'export const pay = () => fetch("https://api.stripe.com", {{headers: {{a: "{key}"}}}});')
    with serve_wsgi(static_site(leaked)) as url:
        report = scan(url, only=["secrets.in-bundle"])
    [found] = expect(report, "secrets.in-bundle", "fail")
    assert found.location.startswith(url + public_path) and found.location.endswith(".chunk.js"), found.location
    clean = _webpack_site(tmp_path / "clean", chunk_filename, public_path, 'export const pay = () => fetch("/api/pay");')
    with serve_wsgi(static_site(clean)) as url:
        report = scan(url, only=["secrets.in-bundle"])
    [passed] = expect(report, "secrets.in-bundle", "pass")
    assert "2 script(s)" in passed.detail, passed.detail


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


# --- an OpenAPI document behind a log-in (Flask-AppBuilder, as Apache Superset serves it) ---

SIGNED_IN = {"accounts": {"alice": {"bearer": appbuilder.TOKENS["alice"], "role": "admin"},
                          "bob": {"bearer": appbuilder.TOKENS["bob"]}},
             "debug": {"account": "bob"}}
BEHIND_LOGIN_NOTE = ("OpenAPI document at /api/v1/_openapi (at a usual path; refused strangers with 401, read as account "
                     "'bob'): 2 paths")


def _appbuilder_scan(*, validates: bool, public_document: bool = False, **config: object) -> tuple[Report, Counter[str]]:
    hits: Counter[str] = Counter()
    with serve_wsgi(appbuilder.create_app(validates=validates, hits=hits, public_document=public_document)) as url:
        report = scan(url, only=["input.server-error", "debug.api-docs"], rate=200, **config)
    return report, hits


def test_a_document_behind_a_log_in_is_read_as_a_non_privileged_account_and_its_routes_are_tested() -> None:
    report, hits = _appbuilder_scan(validates=False, **SIGNED_IN)
    assert BEHIND_LOGIN_NOTE in report.notes, report.notes
    # Once as a stranger, once as the non-privileged account; never as the admin.
    assert hits["_openapi as a stranger"] == 1 and hits["_openapi as bob"] == 1 and hits["_openapi as alice"] == 0, hits
    crashes = [r for r in expect(report, "input.server-error", "fail") if r.kind == "bad-number"]
    assert crashes and crashes[0].evidence["request"]["url"].endswith("/api/v1/chart/99999999999999999999"), crashes
    # The control: the same route answered an ordinary id without crashing, so the crash is the number's.
    assert crashes[0].confidence is Confidence.HIGH and "pk=1 (an ordinary number) was answered" in crashes[0].detail
    # Read as an account, the document is not served to everyone: debug.api-docs does not fail on it.
    expect(report, "debug.api-docs", "pass")


def test_the_hardened_twin_behind_a_log_in_passes_after_its_routes_were_tested() -> None:
    report, hits = _appbuilder_scan(validates=True, **SIGNED_IN)
    assert BEHIND_LOGIN_NOTE in report.notes, report.notes
    expect(report, "input.server-error", "pass")
    assert hits["/api/v1/chart/{pk}"] > 0, hits  # the documented route was reached: a pass that tested something


def test_a_document_served_to_strangers_still_fails_debug_api_docs() -> None:
    report, hits = _appbuilder_scan(validates=True, public_document=True, **SIGNED_IN)
    [found] = [r for r in expect(report, "debug.api-docs", "fail") if r.kind == "openapi-document"]
    assert "served to strangers at /api/v1/_openapi (at a usual path)" in found.detail
    assert "OpenAPI document at /api/v1/_openapi (at a usual path): 2 paths" in report.notes
    assert hits["_openapi as bob"] == 0  # found without an account: never read as one


def test_without_accounts_the_refusal_is_noted_with_what_to_do() -> None:
    report, hits = _appbuilder_scan(validates=False)
    note = ("/api/v1/_openapi (at a usual path) refused strangers with 401 and no account is configured: an OpenAPI "
            "document there, if any, was not read and its routes are unknown to this run; configure an account "
            "([accounts.NAME]) and probe reads it as that account (a non-privileged one first)")
    assert note in report.notes, report.notes
    assert not any(n.startswith("OpenAPI document at") for n in report.notes)
    assert hits["/api/v1/chart/{pk}"] == 0
    expect(report, "debug.api-docs", "pass")


def test_an_account_the_document_also_refuses_is_noted() -> None:
    report, _ = _appbuilder_scan(validates=False, accounts={"bob": {"bearer": "expired"}})
    assert ("/api/v1/_openapi (at a usual path) refused strangers with 401; read as account 'bob' answered 401, so no "
            "OpenAPI document was read there") in report.notes, report.notes


def test_init_says_the_document_needs_a_log_in(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    with serve_wsgi(appbuilder.create_app(validates=True, hits=hits)) as url:
        text, lines = init.generate(url, cwd=tmp_path)
    assert ("OpenAPI: /api/v1/_openapi needs a log-in (401); probe scan reads it as a configured account (a "
            "non-privileged one first)") in lines, lines
    assert "# OpenAPI: /api/v1/_openapi needs a log-in (401)" in text
    assert not any("none found" in line for line in lines if line.startswith("OpenAPI"))
