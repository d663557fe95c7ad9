"""The release as a user gets it: the sdist and the wheel build from the checkout, the wheel installs into a fresh
virtualenv outside it, and the installed command works there (version, checks, demo, a scan of a loopback app).
The wheel carries the one import package `probe` and no test material."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from fixtures.serve import serve_wsgi
from tests.helpers import ROOT

# Paths under which test material lives in the repository; none of it may ship.
TEST_MATERIAL = re.compile(r"(^|/)(node_modules|tests|fixtures|platforms|hostile|benchmarks|corpus)(/|$)")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("dist")
    ran = subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    yield out


@pytest.fixture(scope="module")
def installed(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel (with the demo extra) in a fresh venv, in a folder outside the checkout."""
    venv = tmp_path_factory.mktemp("venv")
    assert not venv.is_relative_to(ROOT)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    wheel = next(built.glob("*.whl"))
    ran = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          f"{wheel}[demo]"], capture_output=True, text=True, timeout=600, check=False)
    assert ran.returncode == 0, ran.stderr[-3000:]
    return venv / "bin" / "probe"


def run(probe: Path, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # A clean environment: nothing from the checkout (PYTHONPATH, the test venv) may help the installed command.
    env = {"PATH": f"{probe.parent}:/usr/bin:/bin", "HOME": str(cwd), "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run([str(probe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def test_wheel_holds_one_import_package_and_no_test_material(built: Path) -> None:
    wheel = next(built.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        assert archive.read(top_level).decode().split() == ["probe"]
    packaged = [n for n in names if ".dist-info/" not in n]
    assert all(n.startswith("probe/") for n in packaged), [n for n in packaged if not n.startswith("probe/")]
    assert not [n for n in packaged if TEST_MATERIAL.search(n.removeprefix("probe/"))]
    for needed in ("probe/checks/__init__.py", "probe/checks/jwt_secrets.txt", "probe/demo/.env.example",
                   "probe/demo/probe.toml", "probe/schemas/report-v1.schema.json", "probe/py.typed"):
        assert needed in names, needed
    assert any(n.endswith(".tar.gz") for n in os.listdir(built))


def test_installed_command_works_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    version = run(installed, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("probe "), version.stderr
    listed = run(installed, "checks", cwd=tmp_path)
    assert listed.returncode == 0 and re.search(r"\d+ checks", listed.stdout), listed.stderr
    schema = run(installed, "schema", cwd=tmp_path)
    assert json.loads(schema.stdout)["$id"] == "probe-report/1"

    demo = run(installed, "demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "exit codes {'vulnerable': 1, 'hardened': 0}" in demo.stderr, demo.stderr[-3000:]
    # (The vulnerable demo app logs its own deliberate crashes; probe's exit codes above say probe finished.)

    from flask import Flask

    app = Flask("loopback")
    app.add_url_rule("/", "index", lambda: "<!doctype html><title>hello</title><p>hello</p>")
    with serve_wsgi(app) as url:
        scanned = run(installed, "scan", url, "-f", "json=report.json", cwd=tmp_path)
    assert scanned.returncode in (0, 1), scanned.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json.loads(schema.stdout)).validate(report)
    assert report["results"] and report["target"] == url
