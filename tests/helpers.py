"""Shared test helpers. `expect(report, "family.name", "fail")` is also how the registry test finds,
for every check id, a test that sees it fail on a vulnerable target and pass on a hardened one:
keep the id a string literal in the call."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, send_from_directory

from probe import api
from probe.model import Report, Result, Status

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "fixtures" / "node"
# SARIF 2.1.0's JSON Schema, from the npm package that ships it (a dev dependency of fixtures/node).
SARIF_SCHEMA = ROOT / "fixtures/node/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"


def needs_node_package(package: str) -> None:
    """Skip the calling test when node or one of fixtures/node's npm packages is missing."""
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / package).is_dir():
        pytest.skip(f"node and fixtures/node's {package} package are needed: make setup installs them")


def static_site(root: Path) -> Flask:
    """A build's output on a plain static host: every path a file under `root`, `/` its index.html."""
    app = Flask(__name__)

    @app.route("/", defaults={"path": "index.html"})
    @app.route("/<path:path>")
    def files(path: str) -> object:
        return send_from_directory(root, path)

    return app


def report_schema() -> dict[str, Any]:
    """The `probe-report/1` JSON Schema exactly as the package ships it."""
    from probe.reporters.json import schema_text

    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


def sarif_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return loaded


def scan(
    url: str | None,
    *,
    only: tuple[str, ...] | list[str] = (),
    mode: str = "passive",
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Report:
    """Run the engine in-process against a loopback target. `overrides` are config keys (max_requests=50,
    cors={"trusted_origins": [...]})."""
    return api.scan(
        url,
        config_path=config,
        overrides={"mode": mode, **overrides},
        only=list(only),
        environ=dict(environ) if environ is not None else {},
    )


def results_for(report: Report, check_id: str) -> list[Result]:
    return [r for r in report.results if r.check == check_id]


def expect(report: Report, check_id: str, status: str) -> list[Result]:
    """Assert the check produced results with this status: for "pass", every result of the id passes
    (one failure anywhere is a false positive); otherwise at least one result has the status."""
    found = results_for(report, check_id)
    assert found, f"{check_id} produced no result; got {[r.check for r in report.results]}"
    wanted = Status(status)
    shown = [(r.status.value, r.location, r.detail) for r in found]
    if wanted is Status.PASS:
        assert all(r.status is Status.PASS for r in found), f"{check_id}: expected pass, got {shown}"
        return found
    matching = [r for r in found if r.status is wanted]
    assert matching, f"{check_id}: expected {status}, got {shown}"
    return matching


def toml_value(value: object) -> str:
    """A TOML literal for generated config values (tests write random tables with it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)
