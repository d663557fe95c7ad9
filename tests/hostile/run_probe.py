"""`python -m tests.hostile.run_probe MEMORY.json ARGS...`: the `probe` command exactly as installed (its
`main`), in a process that writes down its own memory: the resident size once the engine, every check and
every reporter are imported (before the scan starts), and the peak resident size of the whole run."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _peak_kb() -> int:
    # VmHWM is the peak resident set; ru_maxrss (kB on Linux) is the same number where /proc is missing.
    return _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    out, args = Path(sys.argv[1]), sys.argv[2:]
    import rich.console  # noqa: F401 - warm: the console reporter imports it lazily

    import probe.reporters
    from probe import cli
    from probe.registry import load

    load()
    for fmt in probe.reporters.FORMATS:
        __import__(f"probe.reporters.{fmt}")
    before = _status_kb("VmRSS") or _peak_kb()
    sys.argv = ["probe", *args]
    code: int | str | None = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code
    finally:
        out.write_text(json.dumps({"rss_before_kb": before, "peak_kb": _peak_kb()}))
    sys.exit(code)


if __name__ == "__main__":
    main()
