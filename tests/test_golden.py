"""The demo twins' JSON reports, passive and active, against golden files: a change of structure must leave what
probe reports unchanged, and a change of behaviour shows up here as a reviewed diff of the golden files.

Only what varies between runs is normalised away: timings, the ephemeral port, the demo's temporary folder,
random tokens and the hashes of masked random secrets. Regenerate after an intended change of behaviour with
`python -m tests.test_golden` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import pytest

from probe import api
from probe.demo import Demo
from probe.reporters.json import document
from tests.helpers import ROOT

GOLDEN = ROOT / "tests" / "data" / "golden"
CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
_VARYING = (
    (re.compile(r"\[masked (\d+) chars #[0-9a-f]{8}\]"), r"[masked \1 chars]"),
    (re.compile(r"/tmp/probe-demo-(vulnerable|hardened)-[^/\s]+"), r"WORKDIR"),
    (re.compile(r"probe-[0-9a-f]{6,}"), "probe-TOKEN"),
    (re.compile(r"Retry-After \d+ s"), "Retry-After N s"),
    (re.compile(r"\b\d+ ms\b"), "N ms"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),
    (re.compile(r"server-key:[0-9a-f]{8}"), "server-key:HASH"),
)


def normalise(text: str, url: str) -> str:
    text = text.replace(url, "http://DEMO").replace(url.removeprefix("http://"), "DEMO")
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return text


def projection(report_doc: dict[str, Any], url: str) -> dict[str, Any]:
    """What a report says, without evidence bodies (which carry timings and random request values)."""
    results = sorted(
        (
            {key: normalise(str(result[key]), url) for key in
             ("check", "status", "severity", "confidence", "kind", "location", "detail", "remediation")}
            for result in report_doc["results"]
        ),
        key=lambda r: json.dumps(r, sort_keys=True),
    )
    return {
        "mode": report_doc["mode"],
        "requests_sent": report_doc["requests_sent"],
        "requests_by_family": report_doc["requests_by_family"],
        "summary": report_doc["summary"],
        "notes": sorted(normalise(n, url) for n in report_doc["notes"]),
        "results": results,
    }


def scan(demo: Demo, mode: str) -> dict[str, Any]:
    demo.reset_rate_limits()
    environ = {**os.environ, **demo.env, "DEMO_WORKDIR": str(demo.workdir)}
    report = api.scan(demo.url, config_path=CONFIG, overrides={"mode": mode}, environ=environ)
    return projection(document(report), demo.url)


@pytest.mark.parametrize("mode", ["passive", "active"])
@pytest.mark.parametrize("twin", ["vulnerable", "hardened"])
def test_demo_report_matches_golden(twin: str, mode: str) -> None:
    # A demo of its own: the session's shared demos hold whatever records and logins other tests left behind.
    from probe.demo import running

    with running(twin) as demo:
        got = scan(demo, mode)
    want = json.loads((GOLDEN / f"{twin}-{mode}.json").read_text(encoding="utf-8"))
    assert got == want, "the report changed: run `python -m tests.test_golden` and review the diff of tests/data/golden"


def regenerate() -> None:
    from probe.demo import running

    GOLDEN.mkdir(parents=True, exist_ok=True)
    for twin in ("vulnerable", "hardened"):
        for mode in ("passive", "active"):
            with running(twin) as demo:
                path = GOLDEN / f"{twin}-{mode}.json"
                path.write_text(json.dumps(scan(demo, mode), indent=1, sort_keys=True) + "\n", encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    regenerate()
