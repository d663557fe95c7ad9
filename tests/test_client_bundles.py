"""Precision on real production bundles: front ends built here from widely used client libraries (supabase-js,
Firebase with Crashlytics, a Vite app, a Next.js static export) carry the libraries' own defaults and docs
(GoTrue's `http://localhost:9999`, Firebase emulator addresses, OpenTelemetry's collector and its
`https://username:password@www.example.com/` doc), and no secrets or env check may report them. The app's own
localhost API URL, baked in by its build, must still fail."""

from __future__ import annotations

import html
import json
import os
import subprocess
from pathlib import Path

import pytest

from fixtures.serve import serve_wsgi
from probe.model import Report, Status
from tests.helpers import NODE_DIR, expect, needs_node_package, scan, static_site

ROOT = Path(__file__).resolve().parent.parent
LIBS_APP = "bundles/libs-app"
NEXT_APP = NODE_DIR / "bundles" / "next-app"
ONLY = ["secrets", "env"]
# The source map of the whole bundle is ~6 MB: read it all, so every comment of every library is scanned.
MAX_BYTES = 20_000_000
# What a real project's build environment holds: its Supabase project and public (anon) key, its Firebase web
# key (publishable by design), and its API's public URL.
ANON_KEY = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImFiY2RlZmdoaWprbG1ub3BxcnN0Iiwicm9s"
            "ZSI6ImFub24iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MjAxNTU3NjAwMH0.c2lnbmF0dXJlLW9mLXRoZS1hbm9uLWtleS1mb3ItdGVzdHM")
BUILD_ENV = {
    "VITE_SUPABASE_URL": "https://abcdefghijklmnopqrst.supabase.co",
    "VITE_SUPABASE_ANON_KEY": ANON_KEY,
    "VITE_FIREBASE_API_KEY": "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "VITE_API_URL": "https://api.tasks-demo.dev",
    "NEXT_PUBLIC_SUPABASE_URL": "https://abcdefghijklmnopqrst.supabase.co",
    "NEXT_PUBLIC_SUPABASE_ANON_KEY": ANON_KEY,
    "NEXT_TELEMETRY_DISABLED": "1",
}



def _scan_build(root: Path) -> Report:
    # A static host in front of the files, as production serves them (not Werkzeug's development banner).
    with serve_wsgi(static_site(root), server_header="nginx") as url:
        return scan(url, only=ONLY, env={"environment": "production"}, max_bytes=MAX_BYTES, rate=200)


def _vite_build(out: Path, *extra: str, **env: str) -> Path:
    subprocess.run(["node", "node_modules/vite/bin/vite.js", "build", LIBS_APP, "--outDir", str(out), "--emptyOutDir",
                    "--logLevel", "error", *extra], cwd=NODE_DIR, check=True, timeout=180,
                   env={**os.environ, **BUILD_ENV, **env})
    return out


def _served_passes(report: Report, check_id: str) -> None:
    """The served half of an env check passes (its deployed half skips: these tests deploy no environment)."""
    served = [r for r in report.results if r.check == check_id and r.location.startswith(report.target or "-")]
    assert served and all(r.status is Status.PASS for r in served), [(r.status.value, r.detail) for r in served]


def _failures(report: Report) -> list[tuple[str, str, str]]:
    return [(r.check, r.location, r.detail) for r in report.results if r.status in (Status.FAIL, Status.ERROR)]


@pytest.fixture(scope="module")
def vite_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    needs_node_package("@supabase")
    needs_node_package("firebase")
    base = tmp_path_factory.mktemp("bundles")
    return {
        "production": _scan_build(_vite_build(base / "production")),
        "with-maps": _scan_build(_vite_build(base / "with-maps", "--sourcemap")),
        "own-localhost": _scan_build(_vite_build(base / "own-localhost", VITE_API_URL="http://localhost:8000/api")),
    }


def test_supabase_and_firebase_production_bundle_reports_nothing(vite_builds: dict[str, Report]) -> None:
    report = vite_builds["production"]
    assert _failures(report) == []
    [in_bundle] = expect(report, "secrets.in-bundle", "pass")
    # The anon key and the Firebase web key are seen and named publishable, not hidden.
    assert "Supabase anon key" in in_bundle.detail and "Firebase web API key" in in_bundle.detail
    _served_passes(report, "env.localhost-url")


def test_served_source_map_is_the_only_finding(vite_builds: dict[str, Report]) -> None:
    """The libraries' full sources, comments included, are scanned: GoTrue's default URL, the emulator examples,
    OpenTelemetry's collector endpoint and its `https://username:password@www.example.com/` doc are no findings."""
    report = vite_builds["with-maps"]
    [source_map] = expect(report, "secrets.source-map", "fail")
    assert source_map.evidence["sources_content"] is True
    assert [f[0] for f in _failures(report)] == ["secrets.source-map"]
    expect(report, "secrets.in-bundle", "pass")
    _served_passes(report, "env.localhost-url")


def test_app_own_localhost_api_still_fails(vite_builds: dict[str, Report]) -> None:
    report = vite_builds["own-localhost"]
    [found] = expect(report, "env.localhost-url", "fail")
    assert "http://localhost:8000" in found.detail
    assert [f[0] for f in _failures(report)] == ["env.localhost-url"]


def test_nextjs_static_export_reports_nothing() -> None:
    needs_node_package("next")
    subprocess.run(["node", "node_modules/next/dist/bin/next", "build", "bundles/next-app"], cwd=NODE_DIR, check=True,
                   timeout=600, env={**os.environ, **BUILD_ENV}, stdout=subprocess.DEVNULL)
    out = NEXT_APP / "out"
    # supabase-js ships GoTrue's default URL in the page's chunks: the precision this proves is real.
    assert any("localhost:9999" in p.read_text(errors="replace") for p in out.rglob("*.js"))
    report = _scan_build(out)
    assert _failures(report) == []
    expect(report, "secrets.in-bundle", "pass")
    _served_passes(report, "env.localhost-url")


@pytest.mark.parametrize(("transport", "status"), [("polling", Status.PASS), ("ws", Status.FAIL)])
def test_an_apps_own_default_counts_only_when_in_use(tmp_path: Path, transport: str, status: Status) -> None:
    """Superset serves its front-end settings in every page (HTML-escaped JSON in `data-bootstrap`), its default
    async-query socket `ws://127.0.0.1:8080/` among them; the browser opens it only with the "ws" transport."""
    conf = {"GLOBAL_ASYNC_QUERIES_TRANSPORT": transport, "GLOBAL_ASYNC_QUERIES_WEBSOCKET_URL": "ws://127.0.0.1:8080/"}
    bootstrap = html.escape(json.dumps({"common": {"conf": conf}}))
    (tmp_path / "index.html").write_text(f'<!doctype html><html><body><div id="app" data-bootstrap="{bootstrap}">'
                                         "</div></body></html>")
    report = _scan_build(tmp_path)
    served = [r for r in report.results if r.check == "env.localhost-url" and r.location.startswith(report.target or "-")]
    assert [r.status for r in served] == [status], [(r.status.value, r.detail) for r in served]
