"""`make bench`: start-up time, full passive and active scans of the demo app (vulnerable and hardened),
printed as a table and written to benchmarks/results.json. Everything runs on loopback."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.json"
STARTUP_RUNS = 15
SCAN_RUNS = 3
# Targets from the performance issue; printed beside each measurement.
TARGETS = {
    "startup --version": "<= 150 ms",
    "startup --help": "<= 250 ms",
    "scan passive": "<= 150 requests, <= 2 s",
    "scan active": "<= 500 requests, <= 6 s",
}


def _median_ms(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def startup() -> dict[str, float]:
    probe = [sys.executable, "-m", "probe.cli"]
    return {
        "startup --version": _median_ms([*probe, "--version"], STARTUP_RUNS),
        "startup --help": _median_ms([*probe, "--help"], STARTUP_RUNS),
        "startup checks": _median_ms([*probe, "checks"], 5),
    }


def scan_demo(mode: str, scan_mode: str, extra_env: dict[str, str], url: str, workdir: Path) -> dict[str, Any]:
    env = {**os.environ, **extra_env, "DEMO_WORKDIR": str(workdir)}
    config = ROOT / "fixtures" / "demo" / "probe.toml"
    runs = []
    for _ in range(SCAN_RUNS):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.scan_once", url, scan_mode, str(config)],
            capture_output=True, text=True, env=env, cwd=ROOT, check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
    return {**best, "wall_s_median": statistics.median(r["wall_s"] for r in runs), "demo": mode, "mode": scan_mode}


def main() -> None:
    from fixtures.demo import running

    results: dict[str, Any] = {"startup": startup(), "scans": []}
    for mode in ("vulnerable", "hardened"):
        with running(mode) as demo:
            for scan_mode in ("passive", "active"):
                results["scans"].append(scan_demo(mode, scan_mode, demo.env, demo.url, demo.workdir))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'measurement':38} {'value':>28}  target")
    for name, ms in results["startup"].items():
        print(f"{name:38} {ms:>25.1f} ms  {TARGETS.get(name, '')}")
    for scan in results["scans"]:
        name = f"scan {scan['mode']} ({scan['demo']})"
        value = f"{scan['requests']} req, {scan['wall_s_median']:.2f} s, {scan['peak_rss_mb']} MB"
        print(f"{name:38} {value:>28}  {TARGETS.get('scan ' + scan['mode'], '')}")
        print(f"{'':38} by family: {scan['by_family']}")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
