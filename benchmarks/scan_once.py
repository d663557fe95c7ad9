"""One scan in a fresh process, so its peak memory is its own: prints a JSON line with wall time,
requests (total and per family) and peak RSS."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    url, mode, config = sys.argv[1], sys.argv[2], sys.argv[3]
    only = [s for s in sys.argv[4].split(",") if s] if len(sys.argv) > 4 else []
    from probe import api

    started = time.perf_counter()
    report = api.scan(url, config_path=Path(config) if config != "-" else None, overrides={"mode": mode}, only=only)
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "wall_s": round(wall, 3),
                "requests": report.requests_sent,
                "by_family": dict(report.requests_by_family),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "summary": {"fail": report.summary.fail, "pass": report.summary.pass_, "error": report.summary.error},
            }
        )
    )


if __name__ == "__main__":
    main()
