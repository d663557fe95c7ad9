"""The `probe` command as a user and CI see it: exit codes, one-line errors, every report format."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from flask import Flask
from junitparser import JUnitXml

from fixtures.serve import serve_wsgi
from tests.helpers import report_schema, sarif_schema
from tests.hostile.servers import Request, raw_server


def probe(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "probe", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def plain_flask() -> Iterator[str]:
    """A stock Flask app: no security headers, the dev server's versioned Server header."""
    app = Flask("plain")
    app.add_url_rule("/", view_func=lambda: "<html><body>hello</body></html>")
    with serve_wsgi(app) as url:
        yield url


def test_version() -> None:
    done = probe("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("probe ")
    # The command's entry point answers the same without loading the CLI framework.
    script = "import sys; from probe.__main__ import main; main(); print(sorted({'typer', 'httpx'} & set(sys.modules)))"
    fast = subprocess.run([sys.executable, "-c", script, "--version"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert fast.returncode == 0 and fast.stdout.splitlines() == [done.stdout.strip(), "[]"]


def test_config_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "probe.toml").write_text('target = "http://127.0.0.1:9"\nmax_request = 5\n')
    done = probe("scan", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"probe: error: {tmp_path / 'probe.toml'}: max_request: unknown key"]


def test_bad_flag_is_one_line_and_exit_2() -> None:
    done = probe("scan", "--fail-on", "severe", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "--fail-on" in done.stderr


def test_unreachable_target_exit_3_and_report_still_written(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = probe("scan", "http://127.0.0.1:9", "--format", f"json={out}")
    assert done.returncode == 3
    assert "cannot scan http://127.0.0.1:9: GET http://127.0.0.1:9: connection refused" in done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads(out.read_text())
    jsonschema.Draft202012Validator(report_schema()).validate(report)
    assert report["results"] == []


def test_fail_on_threshold_decides_the_exit_code(plain_flask: str) -> None:
    assert probe("scan", plain_flask, "--only", "headers", "--fail-on", "high").returncode == 0
    assert probe("scan", plain_flask, "--only", "headers", "--fail-on", "medium").returncode == 1


def test_every_format_is_written_and_valid(plain_flask: str, tmp_path: Path) -> None:
    done = probe(
        "scan",
        plain_flask,
        "--only",
        "headers",
        "--fail-on",
        "medium",
        "-f",
        f"json={tmp_path}/r.json",
        "-f",
        f"sarif={tmp_path}/r.sarif",
        "-f",
        f"junit={tmp_path}/r.xml",
        "-f",
        f"markdown={tmp_path}/r.md",
        "-f",
        f"console={tmp_path}/r.txt",
    )
    assert done.returncode == 1, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    jsonschema.Draft202012Validator(
        report_schema(), format_checker=jsonschema.FormatChecker()
    ).validate(report)
    assert report["requests_sent"] == 1
    assert {r["check"] for r in report["results"] if r["status"] == "fail"} >= {"headers.csp", "headers.version-disclosure"}
    sarif = json.loads((tmp_path / "r.sarif").read_text())
    jsonschema.Draft7Validator(sarif_schema()).validate(sarif)
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} <= rule_ids
    junit = JUnitXml.fromfile(str(tmp_path / "r.xml"))
    assert sum(suite.failures for suite in junit) == report["summary"]["fail"]
    assert "headers.csp" in (tmp_path / "r.md").read_text()
    assert "headers.csp" in (tmp_path / "r.txt").read_text()


def test_plain_progress_lines_when_not_a_terminal(plain_flask: str) -> None:
    done = probe("scan", plain_flask, "--only", "headers")
    assert "probe: [1/" in done.stderr
    assert "headers.csp" in done.stdout


def test_ctrl_c_stops_cleanly_and_writes_what_was_gathered(tmp_path: Path) -> None:
    async def hang(request: Request, writer: object) -> None:
        import asyncio

        await asyncio.sleep(10)

    out = tmp_path / "partial.json"
    with raw_server(hang) as target:
        proc = subprocess.Popen(
            [sys.executable, "-m", "probe", "scan", target.url, "--timeout", "30", "-f", f"json={out}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not target.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.requests, "the scan sent no request within 60 s"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert json.loads(out.read_text())["interrupted"] is True


def test_console_is_not_hard_wrapped_in_ci_logs(tmp_path: Path) -> None:
    """Piped (a CI log), the console report uses COLUMNS when set, else a wide line: log viewers wrap by themselves."""
    manifest, deployed = tmp_path / ".env.example", tmp_path / "deployed.env"
    manifest.write_text("A_VERY_LONG_VARIABLE_NAME_THAT_THE_APP_NEEDS_IN_PRODUCTION_TO_TALK_TO_ITS_PAYMENT_PROVIDER=\n")
    deployed.write_text("OTHER=1\n")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    args = [sys.executable, "-m", "probe", "env", "--manifest", str(manifest), "--deployed", f"dotenv:{deployed}"]
    wide = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert wide.returncode == 1, wide.stderr
    assert max(len(line) for line in wide.stdout.splitlines()) > 100, wide.stdout
    narrow = subprocess.run(args, capture_output=True, text=True, env={**env, "COLUMNS": "70"}, timeout=60, check=False)
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 70, narrow.stdout


def test_scanning_commands_take_the_same_options() -> None:
    """scan, checklist and baseline cannot drift apart: each takes every shared scanning option."""
    from typer.main import get_command

    from probe.cli import SCAN_OPTIONS, app

    commands = get_command(app).commands  # type: ignore[attr-defined]
    shared = {name for name, _, _ in SCAN_OPTIONS}
    for name in ("scan", "checklist", "baseline"):
        assert shared <= {p.name for p in commands[name].params}, name
