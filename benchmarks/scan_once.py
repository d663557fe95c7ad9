"""One scan in a fresh process, so its peak memory is its own. Prints one JSON line: wall time, requests
(total and per family), time per family, peak RSS (and the RSS before the first request, so the scan's own
growth is visible apart from the imports), the retained size of the results, and the result summary.

    python -m benchmarks.scan_once URL [--config FILE] [--mode passive|active] [--only FAMILIES]
                                       [--rate N] [--max-requests N] [--profile NAME]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

Spans = dict[str, list[tuple[float, float]]]


def peak_rss_mb() -> float:
    """This process's peak resident memory. On Linux, VmHWM: ru_maxrss survives exec, so it would report the
    parent's size at the fork (the harness, holding the fixture servers) when that is larger."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    # Linux and the BSDs report ru_maxrss in KiB (macOS in bytes; the benchmarks target the Linux CI machines).
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def deep_size(root: object) -> int:
    """Bytes held by `root` and everything it references (each object once; classes and modules excluded)."""
    seen: set[int] = set()
    stack = [root]
    size = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, ModuleType, FunctionType)):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return size


def timed(fn: Callable[[Any], Awaitable[Any]], check_id: str, spans: Spans) -> Callable[[Any], Awaitable[Any]]:
    async def run(ctx: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(ctx)
        finally:
            spans.setdefault(check_id.split(".", 1)[0], []).append((started, time.perf_counter()))

    return run


def family_times(spans: Spans, origin: float) -> dict[str, dict[str, float]]:
    """Per family: when its first check started and its last ended (seconds from the scan's start), and
    the span between. Checks run concurrently and share the pace, so spans overlap and do not add up."""
    return {
        family: {
            "start_s": round(min(s for s, _ in marks) - origin, 3),
            "end_s": round(max(e for _, e in marks) - origin, 3),
            "span_s": round(max(e for _, e in marks) - min(s for s, _ in marks), 3),
        }
        for family, marks in sorted(spans.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan_once")
    parser.add_argument("url")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--mode", choices=("passive", "active"))
    parser.add_argument("--only", default="", help="comma-separated families or check ids")
    parser.add_argument("--rate", type=float)
    parser.add_argument("--max-requests", type=int)
    parser.add_argument("--profile")
    args = parser.parse_args()

    from probe import api
    from probe.registry import load

    registry = load()
    overrides: dict[str, Any] = {"mode": args.mode, "rate": args.rate, "max_requests": args.max_requests}
    only = [s for s in args.only.split(",") if s]
    if args.profile:
        from probe import profiles

        # As the CLI does: a profile selects families or single check ids.
        installed = {*registry.families, *(spec.id for spec in registry.specs)}
        applied = profiles.apply(profiles.get(args.profile), overrides, only, installed)
        overrides, only = applied.overrides, applied.only
    overrides = {k: v for k, v in overrides.items() if v is not None}
    plan = api.plan(target=args.url, config_path=args.config, overrides=overrides, only=only, registry=registry)
    spans: Spans = {}
    plan = dataclasses.replace(plan, specs=tuple(dataclasses.replace(s, fn=timed(s.fn, s.id, spans)) for s in plan.specs))
    before = peak_rss_mb()
    started = time.perf_counter()
    report = api.execute(plan)
    wall = time.perf_counter() - started
    peak = peak_rss_mb()
    summary = report.summary
    print(
        json.dumps(
            {
                "wall_s": round(wall, 3),
                "requests": report.requests_sent,
                "by_family": dict(report.requests_by_family),
                "family_time": family_times(spans, started),
                "rss_before_scan_mb": before,
                "peak_rss_mb": peak,
                "results": len(report.results),
                "results_kb": round(deep_size(report.results) / 1024, 1),
                "rate": plan.loaded.settings.rate,
                "max_requests": plan.loaded.settings.max_requests,
                "summary": {"fail": summary.fail, "pass": summary.pass_, "skip": summary.skip, "error": summary.error},
            }
        )
    )


if __name__ == "__main__":
    main()
