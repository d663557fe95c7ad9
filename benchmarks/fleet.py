"""The fleet on loopback: many apps, each on its own port, scanned by one `probe scan --targets` and one by one.

    python -m benchmarks.fleet [--apps 30] [--mode active] [--growth 10,30,100] [--skip-single]

Apps: the two demo twins plus stock Flask apps in three variants (bare, hardened headers, CORS reflecting any
origin), each behind a middleware that timestamps every request, so each host's measured rate comes from what the
server saw. The scans run in child processes; peak RSS is the child's own (os.wait4). Writes
benchmarks/fleet-results.json; docs/scale.md reads the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask

from probe.demo import running
from probe.demo.server import serve_wsgi

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "fleet-results.json"
PACE = 20.0  # requests a second per target: the default `rate`

Seen = dict[int, list[float]]


def _timestamped(app: Any, seen: Seen, port_of: Callable[[], int]) -> Any:
    lock = threading.Lock()

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        with lock:
            seen[port_of()].append(time.monotonic())
        return app(environ, start_response)

    return wsgi


def _flask(variant: int, i: int) -> Flask:
    app = Flask(f"fleet-{i}")
    app.add_url_rule("/", view_func=lambda: f"<html><head><title>app {i}</title></head><body>app {i}</body></html>")
    if variant == 1:
        @app.after_request
        def _secure(response: Any) -> Any:
            response.headers["Content-Security-Policy"] = "default-src 'self'"
            response.headers["Strict-Transport-Security"] = "max-age=63072000"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "DENY"
            return response
    elif variant == 2:
        from flask import request

        @app.after_request
        def _cors(response: Any) -> Any:
            response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "*")
            response.headers["Access-Control-Allow-Credentials"] = "true"
            return response
    return app


@contextlib.contextmanager
def apps(count: int, seen: Seen, *, demos: bool) -> Iterator[list[str]]:
    with contextlib.ExitStack() as stack:
        urls = []
        if demos:
            urls += [stack.enter_context(running(mode)).url for mode in ("vulnerable", "hardened")]
        for i in range(count - len(urls)):
            box: dict[str, int] = {}
            app = _timestamped(_flask(i % 3, i), seen, lambda box=box: box["port"])  # type: ignore[misc]
            url = stack.enter_context(serve_wsgi(app))
            box["port"] = int(url.rsplit(":", 1)[1])
            urls.append(url)
        yield urls


def _child(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stderr of one probe child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "probe", *argv], stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
                                env={**os.environ, "NO_COLOR": "1"})
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        err.seek(0)
        return wall, usage.ru_maxrss / 1024, err.read()


def _rates(seen: Seen, ports: list[int], since: float) -> dict[str, float]:
    """Each host's busiest second (a sliding 1 s window) and its mean rate, from the server's own timestamps."""
    worst_window, worst_mean = 0, 0.0
    for port in ports:
        stamps = sorted(t for t in seen.get(port, []) if t >= since)
        if len(stamps) < 2:
            continue
        start = 0
        for end, t in enumerate(stamps):
            while t - stamps[start] >= 1.0:
                start += 1
            worst_window = max(worst_window, end - start + 1)
        worst_mean = max(worst_mean, (len(stamps) - 1) / (stamps[-1] - stamps[0]))
    return {"busiest_second": worst_window, "highest_mean_rate": round(worst_mean, 2)}


def fleet_vs_single(count: int, mode: str, single: bool, tmp: Path, *, demos: bool = True) -> dict[str, Any]:
    seen: Seen = defaultdict(list)
    with apps(count, seen, demos=demos) as urls:
        targets = tmp / f"targets-{count}.toml"
        targets.write_text("".join(f'[[targets]]\nname = "app-{i:03d}"\nurl = "{u}"\n' for i, u in enumerate(urls)))
        ports = [int(u.rsplit(":", 1)[1]) for u in urls]
        since = time.monotonic()
        wall, rss, _ = _child(["scan", "--targets", str(targets), "--mode", mode, "--parallel", str(count),
                               "-f", f"json={tmp}/fleet.json"])
        doc = json.loads((tmp / "fleet.json").read_text())
        rates = _rates(seen, ports[2 if demos else 0:], since)  # the timestamped Flask apps
        row: dict[str, Any] = {
            "targets": count, "mode": mode, "fleet_wall_s": round(wall, 2), "fleet_peak_rss_mb": round(rss, 1),
            "fleet_requests": doc["summary"]["requests_sent"], "by_exit_code": doc["summary"]["by_exit_code"],
            "pace": PACE, **rates,
        }
        if single:
            walls, requests, rss_single = [], 0, 0.0
            for i, url in enumerate(urls):
                w, r, _ = _child(["scan", url, "--mode", mode, "-f", f"json={tmp}/single-{i}.json"])
                walls.append(w)
                rss_single = max(rss_single, r)
                requests += json.loads((tmp / f"single-{i}.json").read_text())["requests_sent"]
            row |= {"single_wall_sum_s": round(sum(walls), 2), "single_requests": requests,
                    "single_peak_rss_mb": round(rss_single, 1), "fleet_over_single": round(wall / sum(walls), 3)}
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=32)
    parser.add_argument("--mode", default="active")
    parser.add_argument("--growth", default="10,30,100")
    parser.add_argument("--skip-single", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        main_row = fleet_vs_single(args.apps, args.mode, not args.skip_single, Path(tmp))
        print(json.dumps(main_row), flush=True)
        growth = []
        for size in [int(n) for n in args.growth.split(",") if n]:
            row = fleet_vs_single(size, "passive", False, Path(tmp), demos=False)
            row["per_target_wall_s"] = round(row["fleet_wall_s"] / size, 3)
            growth.append(row)
            print(json.dumps(row), flush=True)
    result = {"cpus": os.cpu_count(), "load_at_start": round(load, 1), "load_at_end": round(os.getloadavg()[0], 1),
              "fleet": main_row, "growth": growth}
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
