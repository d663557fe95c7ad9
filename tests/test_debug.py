"""The debug family and input.server-error against real frameworks on loopback, in vulnerable and hardened
twins: Flask with the real Werkzeug debugger, Django with DEBUG=True/False, FastAPI with debug=True/False,
Express in development and production, a catch-all SPA, and the demo app."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from flask import Flask

from fixtures.debug import fastapi_app, flask_app
from fixtures.serve import serve_asgi, serve_command, serve_waitress, serve_wsgi
from probe.checks.debug.fingerprints import DEV_SERVERS
from probe.docs import explain_text
from probe.model import Report, Status
from probe.registry import load
from tests.helpers import NODE_DIR, ROOT, expect, needs_node_package, results_for, scan, static_site

FAMILIES = ["debug", "input"]


def _scan(url: str) -> Report:
    # Loopback fixtures: no need for the polite default pace.
    return scan(url, only=FAMILIES, rate=200)


@pytest.fixture(scope="module")
def flask_reports() -> dict[str, Report]:
    reports: dict[str, Report] = {}
    for mode in ("debugger", "traceback", "production", "validated"):
        with serve_wsgi(flask_app.wsgi(mode)) as url:
            reports[mode] = _scan(url)
    return reports


@pytest.fixture(scope="module")
def fastapi_reports() -> dict[str, Report]:
    reports: dict[str, Report] = {}
    for name, app in (("debug", fastapi_app.create_app(debug=True)),
                      ("production", fastapi_app.create_app(debug=False, docs=False))):
        with serve_asgi(app) as url:
            reports[name] = _scan(url)
    return reports


@pytest.fixture(scope="module")
def django_reports() -> dict[str, Report]:
    reports: dict[str, Report] = {}
    for name, flags in (("debug", ["--debug"]), ("production", [])):
        argv = [sys.executable, "-m", "fixtures.debug.django_app", *flags]
        with serve_command(argv, cwd=ROOT) as url:
            reports[name] = _scan(url)
    return reports


@pytest.fixture(scope="module")
def express_reports() -> dict[str, Report]:
    needs_node_package("express")
    reports: dict[str, Report] = {}
    for env in ("development", "production"):
        with serve_command(["node", "debug-app.js"], cwd=NODE_DIR, env={"NODE_ENV": env}) as url:
            reports[env] = _scan(url)
    return reports


def _spa() -> Flask:
    """A single-page app behind a catch-all route: every path answers 200 with the same index.html."""
    app = Flask(__name__)
    index = "<!doctype html><html><head><title>App</title></head><body><div id=root></div></body></html>"

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def catch_all(path: str) -> str:
        return index

    return app


@pytest.fixture(scope="module")
def spa_report() -> Iterator[Report]:
    with serve_waitress(_spa()) as url:
        yield _scan(url)


def _frameworks(report: Report, check_id: str) -> set[str]:
    return {str(r.evidence.get("framework")) for r in results_for(report, check_id) if r.status is Status.FAIL}


# --- Flask / Werkzeug ---


def test_werkzeug_debugger_is_critical_and_named(flask_reports: dict[str, Report]) -> None:
    report = flask_reports["debugger"]
    [found] = expect(report, "debug.interactive-debugger", "fail")
    assert found.severity.value == "critical"
    assert found.kind == "werkzeug-debugger"
    assert "app.run(debug=False)" in found.remediation
    assert "SECRET = \"" not in str(found.evidence) or "[masked" in str(found.evidence)
    console = expect(report, "debug.endpoint", "fail")
    assert [r.kind for r in console] == ["werkzeug-console"]
    assert console[0].location.endswith("/console")
    expect(report, "debug.sql-error", "fail")
    assert _frameworks(report, "debug.sql-error") == {"SQLite"}


def test_werkzeug_without_console_is_an_error_page(flask_reports: dict[str, Report]) -> None:
    report = flask_reports["traceback"]
    expect(report, "debug.interactive-debugger", "pass")
    [page] = expect(report, "debug.error-page", "fail")
    assert page.kind == "werkzeug-traceback" and "Flask" in page.remediation


def test_flask_production_hides_everything_but_still_crashes(flask_reports: dict[str, Report]) -> None:
    report = flask_reports["production"]
    for check_id in ("debug.interactive-debugger", "debug.error-page", "debug.stack-trace", "debug.sql-error",
                     "debug.endpoint", "debug.api-docs"):
        expect(report, check_id, "pass")
    crashes = expect(report, "input.server-error", "fail")
    kinds = {r.kind for r in crashes}
    assert {"malformed-json", "bad-path-parameter", "blank-form"} <= kinds
    blank = next(r for r in crashes if r.kind == "blank-form" and "/login" in r.location)
    assert blank.evidence["request"]["method"] == "POST" and blank.evidence["response"]["status"] == 500


def test_validation_makes_input_server_error_pass(flask_reports: dict[str, Report]) -> None:
    expect(flask_reports["validated"], "input.server-error", "pass")


def test_input_server_error_on_the_debugger_twin_points_at_the_debug_page(flask_reports: dict[str, Report]) -> None:
    crashes = expect(flask_reports["debugger"], "input.server-error", "fail")
    assert any("debug page" in r.detail for r in crashes)


# --- Django ---


def test_django_debug_true_fails_and_names_the_setting(django_reports: dict[str, Report]) -> None:
    report = django_reports["debug"]
    pages = expect(report, "debug.error-page", "fail")
    assert {r.kind for r in pages} == {"django-technical"}
    assert all("DEBUG = False" in r.remediation for r in pages)
    expect(report, "debug.sql-error", "fail")


def test_django_debug_false_passes(django_reports: dict[str, Report]) -> None:
    report = django_reports["production"]
    expect(report, "debug.error-page", "pass")
    expect(report, "debug.sql-error", "pass")
    expect(report, "debug.stack-trace", "pass")
    expect(report, "debug.interactive-debugger", "pass")
    expect(report, "input.server-error", "fail")


# --- FastAPI / Starlette ---


def test_fastapi_debug_true_shows_tracebacks(fastapi_reports: dict[str, Report]) -> None:
    report = fastapi_reports["debug"]
    [page] = expect(report, "debug.error-page", "fail")
    assert page.kind == "starlette-debug" and "FastAPI(debug=False)" in page.remediation
    traces = expect(report, "debug.stack-trace", "fail")
    assert {r.kind for r in traces} == {"python-traceback"}
    docs = expect(report, "debug.api-docs", "fail")
    assert {"swagger-ui", "redoc", "openapi-document"} <= {r.kind for r in docs}
    assert all(r.severity.value == "info" for r in docs)


def test_fastapi_production_passes(fastapi_reports: dict[str, Report]) -> None:
    report = fastapi_reports["production"]
    for check_id in ("debug.error-page", "debug.stack-trace", "debug.api-docs", "debug.endpoint"):
        expect(report, check_id, "pass")


# --- Express ---


def test_express_development_leaks_stacks(express_reports: dict[str, Report]) -> None:
    report = express_reports["development"]
    [page] = expect(report, "debug.error-page", "fail")
    assert page.kind == "express-finalhandler" and "NODE_ENV=production" in page.remediation
    traces = expect(report, "debug.stack-trace", "fail")
    assert {r.kind for r in traces} == {"node-stack"}
    assert "NODE_ENV=production" in traces[0].remediation


def test_express_production_passes(express_reports: dict[str, Report]) -> None:
    report = express_reports["production"]
    expect(report, "debug.error-page", "pass")
    expect(report, "debug.stack-trace", "pass")


# --- catch-all SPA ---


def test_catch_all_spa_yields_no_endpoint_failures(spa_report: Report) -> None:
    [result] = expect(spa_report, "debug.endpoint", "pass")
    assert "catch-all" in result.detail
    expect(spa_report, "debug.api-docs", "pass")
    assert not [r for r in spa_report.results if r.status is Status.FAIL]


# --- development servers: Vite live, Next.js from captured pages ---

VITE_APP = NODE_DIR / "vite-app"
PAGES = ROOT / "tests" / "data" / "debug_pages"



@pytest.fixture(scope="module")
def vite_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    needs_node_package("vite")
    only = ["debug.dev-server"]
    reports: dict[str, Report] = {}
    with serve_command(["node", "vite-app/dev-server.mjs"], cwd=NODE_DIR) as url:
        reports["dev"] = scan(url, only=only, rate=200)
    dist = tmp_path_factory.mktemp("vite-dist")
    subprocess.run(["node", "node_modules/vite/bin/vite.js", "build", "vite-app", "--outDir", str(dist),
                    "--emptyOutDir", "--logLevel", "warn"], cwd=NODE_DIR, check=True, timeout=120)
    # The production build on a plain static host (what `vite build` output is meant for).
    with serve_waitress(static_site(dist)) as url:
        reports["build"] = scan(url, only=only, rate=200)
    return reports


def test_vite_dev_server_fails(vite_reports: dict[str, Report]) -> None:
    report = vite_reports["dev"]
    [found] = expect(report, "debug.dev-server", "fail")
    assert found.kind == "vite-dev-server" and found.severity.value == "high"
    assert found.location.endswith("/@vite/client")
    assert "vite build" in found.remediation
    assert "[vite]" in str(found.evidence)
    # The shared page, then the one confirming fetch of /@vite/client.
    assert report.requests_by_family == {"surface": 1, "debug": 1}


def test_vite_production_build_passes(vite_reports: dict[str, Report]) -> None:
    report = vite_reports["build"]
    expect(report, "debug.dev-server", "pass")
    assert report.requests_by_family == {"surface": 1}


def test_catch_all_naming_the_vite_client_is_not_a_dev_server() -> None:
    app = Flask(__name__)
    index = '<!doctype html><script type="module" src="/@vite/client"></script><div id=app></div>'

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def catch_all(path: str) -> str:
        return index

    with serve_waitress(app) as url:
        report = scan(url, only=["debug.dev-server"], rate=200)
    [result] = expect(report, "debug.dev-server", "pass")
    assert "/@vite/client" in result.detail


def _next_signals(page: str) -> set[str]:
    text = (PAGES / page).read_text(encoding="utf-8")
    return {row.name for row in DEV_SERVERS if row.framework == "Next.js" and row.matches(text)}


def test_next_dev_page_matches_and_production_page_does_not() -> None:
    assert _next_signals("nextjs_dev.html") == {"next-dev-build-id", "next-dev-static"}
    assert _next_signals("nextjs_production.html") == set()
    assert not any(row.matches((PAGES / "nextjs_production.html").read_text(encoding="utf-8")) for row in DEV_SERVERS)


# --- the demo app ---


def _demo_scan(demo: object, mode: str = "passive") -> Report:
    config = ROOT / "fixtures" / "demo" / "probe.toml"
    env = {**demo.env, "DEMO_WORKDIR": str(demo.workdir)}  # type: ignore[attr-defined]
    return scan(demo.url, only=FAMILIES, mode=mode, config=config, environ=env)  # type: ignore[attr-defined]


def test_demo_vulnerable_fails(demo_vulnerable: object) -> None:
    report = _demo_scan(demo_vulnerable)
    expect(report, "debug.interactive-debugger", "fail")
    expect(report, "debug.endpoint", "fail")
    expect(report, "debug.sql-error", "fail")
    expect(report, "input.server-error", "fail")
    assert report.requests_by_family["debug"] <= 40


def test_demo_hardened_passes(demo_hardened: object) -> None:
    report = _demo_scan(demo_hardened)
    for check_id in ("debug.interactive-debugger", "debug.error-page", "debug.stack-trace", "debug.sql-error",
                     "debug.endpoint", "debug.api-docs", "input.server-error"):
        expect(report, check_id, "pass")
    assert report.requests_by_family["debug"] <= 40


# --- probe explain ---


@pytest.mark.parametrize(("check_id", "settings"), [
    ("debug.interactive-debugger", ["app.run(debug=False)", "FLASK_DEBUG", "web-console"]),
    ("debug.error-page", ["DEBUG = False", "NODE_ENV=production", "APP_DEBUG=false", "FastAPI(debug=False)",
                          "display_errors = Off", "consider_all_requests_local"]),
    ("debug.stack-trace", ["NODE_ENV=production", "include-stacktrace=never"]),
    ("debug.sql-error", ["parameterised"]),
    ("debug.endpoint", ["management.endpoints.web.exposure.include", "phpinfo"]),
    ("debug.api-docs", ["docs_url=None"]),
    ("debug.dev-server", ["vite build", "next build && next start", "NODE_ENV=production"]),
    ("input.server-error", ["pydantic", "express-validator"]),
])
def test_explain_names_the_setting_per_framework(check_id: str, settings: list[str]) -> None:
    spec = load().get(check_id)
    assert spec is not None
    text = explain_text(spec.info)
    for setting in settings:
        assert setting in text, f"{check_id}: explain does not mention {setting}"



# --- development servers that name themselves: Django's runserver and Werkzeug, with waitress as the twin ---


def test_django_runserver_fails_and_waitress_passes() -> None:
    reports: dict[str, Report] = {}
    for server in ("runserver", "waitress"):
        with serve_command([sys.executable, "-m", "fixtures.debug.django_app", f"--{server}"], cwd=ROOT) as url:
            reports[server] = scan(url, only=["debug.dev-server"], rate=200)
    [found] = expect(reports["runserver"], "debug.dev-server", "fail")
    assert found.kind == "django runserver / wsgiref-dev-server" and found.severity.value == "high"
    assert found.evidence["fingerprint_source"].startswith("https://github.com/python/cpython")
    assert "server: WSGIServer/0.2 CPython/3." in found.evidence["response"]["body_excerpt"]
    assert "gunicorn" in found.remediation
    expect(reports["waitress"], "debug.dev-server", "pass")
    # The one shared page, nothing more.
    assert reports["runserver"].requests_by_family == {"surface": 1}


def test_werkzeug_dev_server_fails_and_waitress_passes() -> None:
    app = flask_app.create_app(debug=False)
    with serve_wsgi(app) as url:  # Werkzeug's server, what `flask run` and run_simple start
        werkzeug = scan(url, only=["debug.dev-server"], rate=200)
    with serve_waitress(app) as url:
        production = scan(url, only=["debug.dev-server"], rate=200)
    [found] = expect(werkzeug, "debug.dev-server", "fail")
    assert found.kind == "werkzeug-dev-server" and "Werkzeug/" in str(found.evidence)
    [passed] = expect(production, "debug.dev-server", "pass")
    assert "Django runserver" in passed.detail and "Werkzeug" in passed.detail


def test_every_dev_server_row_names_its_source() -> None:
    for row in DEV_SERVERS:
        assert row.source.startswith("https://"), row.name
        assert row.header is None or row.header == row.header.lower()


def test_rails_development_server_timing_is_recognised() -> None:
    """Rails cannot run here: the header as ActionDispatch::ServerTiming writes it in development (event names with
    `;dur=`, see the row's source), against the same header a production app sends for its own timings."""
    [row] = [r for r in DEV_SERVERS if r.name == "rails-server-timing"]
    development = {"server-timing": "start_processing.action_controller;dur=0.02, sql.active_record;dur=1.31, "
                                    "render_template.action_view;dur=4.12, process_action.action_controller;dur=9.8"}
    assert row.seen_in("", development) is not None
    assert row.seen_in("", {"server-timing": "db;dur=53, app;dur=47.2"}) is None
    assert row.seen_in("start_processing.action_controller;dur=1", {}) is None  # the header, not the body
