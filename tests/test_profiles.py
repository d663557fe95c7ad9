"""`--profile smoke`: passive, within its request budget, quiet on the hardened demo, loud on the vulnerable one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from probe import api, profiles
from probe.demo import Demo
from probe.model import Mode, Report, Severity, Status
from probe.registry import load
from tests.helpers import ROOT

DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
FAST = 100.0


def installed() -> set[str]:
    registry = load()
    return {*registry.families, *(spec.id for spec in registry.specs)}


def smoke_scan(demo: Demo) -> Report:
    # The hardened twin limits requests per address per minute; each scan starts with a clean slate.
    demo.reset_rate_limits()
    # A flag beats the profile: a faster pace than the hourly job's 5/s keeps the test short.
    chosen = profiles.apply(profiles.get("smoke"), {"rate": FAST}, [], installed())
    environ = {**demo.env, "DEMO_WORKDIR": str(demo.workdir)}
    return api.scan(demo.url, config_path=DEMO_CONFIG, overrides=chosen.overrides, only=chosen.only, environ=environ)


def test_flags_win_over_the_profile_and_the_profile_over_the_file() -> None:
    smoke = profiles.get("smoke")
    applied = profiles.apply(smoke, {"mode": None, "max_requests": 80}, [], installed())
    assert applied.overrides["mode"] == "passive"
    assert applied.overrides["max_requests"] == 80
    assert applied.overrides["timeout"] <= 5
    assert profiles.apply(smoke, {}, ["cors"], installed()).only == ["cors"]
    assert profiles.apply(None, {"mode": "active"}, [], installed()).overrides == {"mode": "active"}


def test_smoke_selection_comes_from_what_is_installed() -> None:
    # A selector for a family that is not installed is dropped instead of failing the run.
    chosen = profiles.apply(profiles.get("smoke"), {}, [], {"headers", "tls"})
    assert chosen.only == ["headers", "tls"]
    with pytest.raises(profiles.UnknownProfile, match="choose from smoke"):
        profiles.get("nightly")


def test_smoke_on_the_vulnerable_demo_is_passive_cheap_and_finds_the_regressions(demo_vulnerable: Demo) -> None:
    report = smoke_scan(demo_vulnerable)
    assert report.mode is Mode.PASSIVE
    assert report.requests_sent <= 60
    assert not any(info.active for info in report.checks)
    assert not [r for r in report.results if r.status is Status.ERROR]
    failed = {r.check for r in report.results if r.status is Status.FAIL}
    assert {"headers.csp", "secrets.exposed-file", "debug.interactive-debugger"} <= failed


def test_smoke_on_the_hardened_demo_passes_the_gate(demo_hardened: Demo) -> None:
    report = smoke_scan(demo_hardened)
    assert report.requests_sent <= 60
    assert not report.gate_failures(Severity.HIGH)
    assert any(r.status is Status.PASS for r in report.results)


def test_cli_profile_smoke_with_exit_codes(demo_vulnerable: Demo, demo_hardened: Demo, tmp_path: Path) -> None:
    codes = {}
    for demo in (demo_vulnerable, demo_hardened):
        demo.reset_rate_limits()
        out = tmp_path / f"{demo.mode}.json"
        env = {**os.environ, **demo.env, "DEMO_WORKDIR": str(demo.workdir), "NO_COLOR": "1"}
        done = subprocess.run(
            [sys.executable, "-m", "probe", "scan", demo.url, "-c", str(DEMO_CONFIG), "--profile", "smoke",
             "--mode", "passive", "--rate", str(FAST), "--format", f"json={out}"],
            capture_output=True, text=True, env=env, timeout=90, check=False,
        )
        codes[demo.mode] = done.returncode
        data = json.loads(out.read_text())
        assert data["requests_sent"] <= 60
        assert data["mode"] == "passive"
    assert codes == {"vulnerable": 1, "hardened": 0}


def test_cli_unknown_profile_is_a_one_line_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "probe", "scan", "http://127.0.0.1:9", "--profile", "nightly"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "probe: error: --profile: unknown profile 'nightly' (choose from smoke)"
