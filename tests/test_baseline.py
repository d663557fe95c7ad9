"""`probe baseline` and accepted risks, end to end on the demo twins: accept the current failures, see them
suppressed (exit 0, still reported), see an expired entry fail again and an unmatched one reported."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from probe import baseline
from probe.demo import Demo
from tests.helpers import ROOT

DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
ONLY = ("--only", "headers,secrets")  # cheap families with failures on the vulnerable twin


def probe(demo: Demo, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    demo.reset_rate_limits()
    env = {**os.environ, **demo.env, "DEMO_WORKDIR": str(demo.workdir), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "probe", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=90, check=False
    )


def scan_json(demo: Demo, project: Path) -> tuple[int, dict[str, Any]]:
    out = project / "report.json"
    done = probe(demo, "scan", demo.url, "-c", "probe.toml", *ONLY, "--format", f"json={out}", cwd=project)
    return done.returncode, json.loads(out.read_text())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(DEMO_CONFIG, tmp_path / "probe.toml")
    return tmp_path


def test_baseline_accepts_then_suppresses_then_expires(demo_vulnerable: Demo, project: Path) -> None:
    code, before = scan_json(demo_vulnerable, project)
    assert code == 1
    failures = {r["fingerprint"] for r in before["results"] if r["status"] == "fail"}
    assert failures

    done = probe(demo_vulnerable, "baseline", demo_vulnerable.url, "-c", "probe.toml", *ONLY,
                 "--reason", "launch week", "--days", "30", cwd=project)
    assert done.returncode == 0, done.stderr
    path = project / baseline.DEFAULT_FILE
    entries = baseline.load(path)
    assert {e.fingerprint for e in entries} == failures
    assert {e.reason for e in entries} == {"launch week"}
    assert all(e.expires > dt.date.today() for e in entries)
    assert "location = " in path.read_text() and "http://127.0.0.1" in path.read_text()

    code, after = scan_json(demo_vulnerable, project)
    assert code == 0
    assert after["summary"]["fail"] == 0
    assert after["summary"]["suppressed"] == len(failures)
    assert all(r.get("suppressed") for r in after["results"] if r["status"] == "fail")

    # Running it again keeps the entries (and their reasons) instead of piling up duplicates.
    again = probe(demo_vulnerable, "baseline", demo_vulnerable.url, "-c", "probe.toml", *ONLY, "--reason", "other", cwd=project)
    assert again.returncode == 0
    assert re.search(r"\(0 new, until", again.stderr)
    assert {e.reason for e in baseline.load(path)} == {"launch week"}

    # One entry expires, one matches nothing: the first fails again, the second is reported.
    first, *rest = baseline.load(path)
    expired = dataclasses.replace(first, expires=dt.date(2020, 1, 1))
    stale = baseline.Entry("cors.null-origin", "http://127.0.0.1/api/gone", "0" * 32, "old", dt.date(2099, 1, 1))
    path.write_text(render_entries([expired, *rest, stale]))
    code, later = scan_json(demo_vulnerable, project)
    assert code == (1 if severity_of(later, first.fingerprint) in ("high", "critical") else 0)
    assert later["summary"]["fail"] == 1
    notes = " ".join(later["notes"])
    assert "expired on 2020-01-01" in notes
    assert "matched no failure" in notes


def render_entries(entries: list[baseline.Entry]) -> str:
    blocks = []
    for e in entries:
        blocks.append(
            f'[[accept]]\ncheck = "{e.check}"\nlocation = "{e.location}"\nfingerprint = "{e.fingerprint}"\n'
            f'reason = "{e.reason}"\nexpires = {e.expires.isoformat()}\n'
        )
    return "\n".join(blocks)


def severity_of(report: dict[str, Any], fingerprint: str) -> str:
    return next(str(r["severity"]) for r in report["results"] if r["fingerprint"] == fingerprint)


def test_baseline_on_the_hardened_demo_accepts_nothing(demo_hardened: Demo, project: Path) -> None:
    done = probe(demo_hardened, "baseline", demo_hardened.url, "-c", "probe.toml", *ONLY, "--reason", "none", cwd=project)
    assert done.returncode == 0, done.stderr
    assert baseline.load(project / baseline.DEFAULT_FILE) == ()
    assert "0 accepted risk(s)" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--reason: say why these failures are accepted"),
        (("--reason", "x", "--days", "3", "--expires", "2099-01-01"), "--expires and --days: give one of them"),
        (("--reason", "x", "--expires", "next week"), "--expires: expected a date such as 2026-12-31"),
    ],
)
def test_baseline_usage_errors(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "probe", "baseline", "http://127.0.0.1:9", *args],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / baseline.DEFAULT_FILE).exists()


def test_a_past_expiry_is_refused(demo_vulnerable: Demo, project: Path) -> None:
    done = probe(demo_vulnerable, "baseline", demo_vulnerable.url, "-c", "probe.toml", "--only", "headers", "--reason", "x",
                 "--expires", "2020-01-01", cwd=project)
    assert done.returncode == 2
    assert "2020-01-01 is not in the future" in done.stderr
    assert not (project / baseline.DEFAULT_FILE).exists()
