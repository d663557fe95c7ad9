"""`make bench`: start-up time, scans of the demo app (vulnerable and hardened, passive and active), the
scheduled smoke profile, and the authorization matrix over a synthetic API, printed as a table and written to
benchmarks/results.json. Everything runs on loopback; see docs/performance.md for what the numbers mean.

    python -m benchmarks [--runs N] [--only startup,demo,smoke,matrix]

Each scan runs in a fresh process (benchmarks/scan_once.py) so its peak memory is its own. Wall times are
medians of `--runs` runs with their min-max spread: the machines are shared, so the spread is part of the result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.json"
DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
STARTUP_RUNS = 15
# The highest pace the config accepts: with it the engine, not the politeness ceiling, sets the wall time.
UNPACED_RATE = 1000.0
MATRIX_SIZES = (250, 1000)
MATRIX_BUDGET = 20_000
SECTIONS = ("startup", "demo", "smoke", "matrix")


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def _time_command(argv: list[str], runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return _spread(times)


def startup() -> dict[str, dict[str, float]]:
    # The installed command, as users and CI steps run it (its entry point answers --version on its own).
    probe = [str(Path(sys.executable).with_name("probe"))]
    return {
        "--version": _time_command([*probe, "--version"], STARTUP_RUNS),
        "--help": _time_command([*probe, "--help"], STARTUP_RUNS),
        "checks": _time_command([*probe, "checks"], 5),
    }


def scan(url: str, env: Mapping[str, str], runs: int, *, before_each: Any = None, **options: Any) -> dict[str, Any]:
    """`runs` scans, each in a fresh process; the median run (by wall time) with the spread of all of them."""
    argv = [sys.executable, "-m", "benchmarks.scan_once", url]
    for name, value in options.items():
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    done = []
    for _ in range(runs):
        if before_each is not None:
            before_each()
        out = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env}, cwd=ROOT, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[2:])} failed:\n{out.stderr[-3000:]}")
        done.append(json.loads(out.stdout.strip().splitlines()[-1]))
    median_run = sorted(done, key=lambda r: r["wall_s"])[len(done) // 2]
    return {
        **median_run,
        "runs": len(done),
        "wall_s": _spread([r["wall_s"] for r in done]),
        "peak_rss_mb": _spread([r["peak_rss_mb"] for r in done]),
        "requests_per_run": sorted({r["requests"] for r in done}),
        "options": {k: v.name if isinstance(v, Path) else v for k, v in options.items() if v is not None},
    }


def demo_scans(runs: int, smoke: bool, full: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from probe.demo import running

    scans: list[dict[str, Any]] = []
    smokes: list[dict[str, Any]] = []
    for variant in ("vulnerable", "hardened"):
        with running(variant) as demo:
            env = {**demo.env, "DEMO_WORKDIR": str(demo.workdir)}
            # The hardened twin allows 5 logins a minute; every scan logs in twice, so each starts afresh.
            fresh = demo.reset_rate_limits
            for mode in ("passive", "active") if full else ():
                for paced in (True, False):
                    result = scan(demo.url, env, runs, before_each=fresh, config=DEMO_CONFIG, mode=mode,
                                  rate=None if paced else UNPACED_RATE)
                    scans.append({**result, "demo": variant, "mode": mode, "paced": paced})
            for paced in (True, False) if smoke else ():
                result = scan(demo.url, env, runs, before_each=fresh, config=DEMO_CONFIG, profile="smoke",
                              rate=None if paced else UNPACED_RATE)
                smokes.append({**result, "demo": variant, "paced": paced})
    return scans, smokes


def matrix(runs: int) -> list[dict[str, Any]]:
    from benchmarks.matrix_app import running

    found: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="probe-matrix-") as tmp:
        for variant in ("hardened", "vulnerable"):
            for size in MATRIX_SIZES:
                with running(variant, size, Path(tmp)) as app:
                    result = scan(app.url, app.env, runs, config=app.config, only="idor,auth", rate=UNPACED_RATE,
                                  max_requests=MATRIX_BUDGET)
                found.append({**result, "variant": variant, "resources": size,
                              "requests_per_s": round(result["requests"] / result["wall_s"]["median"], 1)})
    return found


def memory_growth(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Between the smallest and the largest matrix of each variant, per added resource: how much the peak grew,
    split into the configuration (RSS before the first request: the parsed [[resources]] entries, which are
    the input) and the scan's own growth (peak minus that), beside how much the results themselves grew."""
    growth = []
    for variant in ("hardened", "vulnerable"):
        mine = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["resources"])
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        added = large["resources"] - small["resources"]
        peak = large["peak_rss_mb"]["median"] - small["peak_rss_mb"]["median"]
        config = large["rss_before_scan_mb"] - small["rss_before_scan_mb"]
        results = (large["results_kb"] - small["results_kb"]) / 1024
        growth.append({"variant": variant, "from": small["resources"], "to": large["resources"],
                       "peak_rss_growth_mb": round(peak, 1), "results_growth_mb": round(results, 1),
                       "peak_kb_per_resource": round(peak * 1024 / added, 1),
                       "config_kb_per_resource": round(config * 1024 / added, 1),
                       "scan_kb_per_resource": round((peak - config) * 1024 / added, 1),
                       "results_kb_per_resource": round(results * 1024 / added, 1)})
    return growth


# --- the table ----------------------------------------------------------------------------------------


def _wall(row: Mapping[str, Any]) -> str:
    w = row["wall_s"]
    return f"{w['median']:.2f} s ({w['min']:.2f}-{w['max']:.2f})"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_table(results: Mapping[str, Any]) -> None:
    out: list[tuple[str, str, str]] = []
    for name, limit in (("--version", 150), ("--help", 250), ("checks", None)):
        if name in results.get("startup", {}):
            t = results["startup"][name]
            target = f"<= {limit} ms: {_verdict(t['median'] <= limit)}" if limit else ""
            out.append((f"probe {name}", f"{t['median']:.0f} ms ({t['min']:.0f}-{t['max']:.0f})", target))
    limits = {"passive": (150, 2.0), "active": (500, 6.0)}
    for row in results.get("demo", []):
        max_req, max_s = limits[row["mode"]]
        pace = f"paced {row['rate']:.0f}/s" if row["paced"] else "unpaced"
        value = f"{row['requests']} req, {_wall(row)}, {row['peak_rss_mb']['median']:.0f} MB"
        ok_req = row["requests"] <= max_req
        target = f"<= {max_req} req: {_verdict(ok_req)}"
        if not row["paced"]:
            target += f"; <= {max_s:.0f} s: {_verdict(row['wall_s']['median'] <= max_s)}"
        out.append((f"demo {row['demo']} {row['mode']} ({pace})", value, target))
    for row in results.get("smoke", []):
        pace = f"profile pace {row['rate']:.0f}/s" if row["paced"] else "unpaced"
        ok = row["requests"] <= 60 and (row["paced"] or row["wall_s"]["median"] <= 1.0)
        out.append((f"smoke profile {row['demo']} ({pace})", f"{row['requests']} req, {_wall(row)}",
                    f"<= 60 req{'' if row['paced'] else ', <= 1 s'}: {_verdict(ok)}"))
    for row in results.get("matrix", []):
        value = f"{row['requests']} req, {_wall(row)}, {row['peak_rss_mb']['median']:.0f} MB"
        ok = row["requests_per_s"] >= 300 and row["peak_rss_mb"]["median"] <= 150
        out.append((f"matrix {row['variant']} x{row['resources']}", value,
                    f"{row['requests_per_s']:.0f} req/s (>= 300), <= 150 MB: {_verdict(ok)}"))
    for g in results.get("matrix_memory", []):
        ok = g["scan_kb_per_resource"] <= 2 * g["results_kb_per_resource"] + 1
        out.append((f"matrix memory {g['variant']} {g['from']}->{g['to']}",
                    f"+{g['peak_kb_per_resource']:.1f} KB/resource: config +{g['config_kb_per_resource']:.1f}, "
                    f"scan +{g['scan_kb_per_resource']:.1f}",
                    f"scan <= 2 x results (+{g['results_kb_per_resource']:.1f} KB/resource) + 1 KB: {_verdict(ok)}"))
    width = max(len(a) for a, _, _ in out) if out else 10
    value_width = max(len(b) for _, b, _ in out) if out else 10
    print(f"{'measurement':{width}}  {'value':{value_width}}  target")
    for name, value, target in out:
        print(f"{name:{width}}  {value:{value_width}}  {target}")
    for row in (*results.get("demo", []), *results.get("smoke", [])):
        if not row["paced"]:
            label = f"{row['demo']} {row.get('mode', 'smoke')}"
            spans = {f: t["span_s"] for f, t in row["family_time"].items()}
            print(f"  {label:24} requests by family {row['by_family']}")
            print(f"  {'':24} seconds by family  {spans}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--runs", type=int, default=3, help="runs per scan measurement (median and spread)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}")
    args = parser.parse_args()
    chosen = {s for s in args.only.split(",") if s}
    unknown = chosen - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "runs": args.runs,
    }
    if "startup" in chosen:
        results["startup"] = startup()
    if chosen & {"demo", "smoke"}:
        results["demo"], results["smoke"] = demo_scans(args.runs, "smoke" in chosen, "demo" in chosen)
    if "matrix" in chosen:
        results["matrix"] = matrix(args.runs)
        results["matrix_memory"] = memory_growth(results["matrix"])
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\n{results['bench_seconds']:.0f} s in all; load average {results['machine']['load_average_at_start']} at "
          f"the start, {results['machine']['load_average_at_end']} at the end; written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
