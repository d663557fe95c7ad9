"""Every registered check, in passive and in active mode, against every hostile server in `tests/hostile/`.

One `probe scan` process per (server, mode), all checks at once (families that land later are covered
without touching this file), with every report format and `--verbose`. The invariants, stated to users in
docs/guarantees.md, are asserted for each run:

- time: the run's own clock stays within `--max-duration` + `DURATION_SLACK_S`, the process (start-up and
  report writing included) within `--max-duration` + `PROCESS_SLACK_S`;
- memory: the peak resident size grows by at most `PEAK_GROWTH_MB` over the process's size once every
  module is imported;
- containment: exit 0, 1 or 3, never a traceback; every result is pass/fail/skip/error with a reason; every
  check has a result unless the target could not be scanned (exit 3); every report format is written;
- politeness: requests sent <= `--max-requests`, as counted by the probe and by the server;
- scope: only the target's host and port are contacted; the servers a redirect points at (another port,
  another name) never see a connection;
- redaction: no configured secret (`${VAR}` passwords, tokens, webhook and JWT secrets), no secret deployed env
  value (an API key, a database URL's password) and no detected credential appears in any report, on standard
  output or in the verbose log.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest

from fixtures.tls import Pki, make_pki
from probe.registry import load
from tests.helpers import ROOT, report_schema
from tests.hostile import behaviours
from tests.hostile.behaviours import BEHAVIOURS, Behaviour
from tests.hostile.servers import Server

MAX_DURATION_S = 4.0
TIMEOUT_S = 1.0
MAX_REQUESTS = 150
# The run checks its deadline between steps; one step (a parse of a capped body) may run past it.
DURATION_SLACK_S = 2.0
# Interpreter start-up, imports and writing six reports, on a machine shared with other test workers.
PROCESS_SLACK_S = 15.0
PEAK_GROWTH_MB = 100
# Smaller than the 2 MB default to keep the suite fast; every bomb and stream is still 100x beyond it.
MAX_BYTES = 256_000
FORMATS = {"json": "report.json", "sarif": "report.sarif", "junit": "report.xml", "markdown": "report.md",
           "console": "report.txt", "html": "report.html"}
SCHEMA = report_schema()
ALL_CHECKS = frozenset(spec.id for spec in load().specs)
STATUSES = {"pass", "fail", "skip", "error"}

CONFIG = """
max_bytes = {max_bytes}

[login]
request = "POST /api/login"
json    = {{ email = "{{username}}", password = "{{password}}" }}
token   = "json:token"

[accounts.alice]
username = "${{H_ALICE_EMAIL}}"
password = "${{H_ALICE_PASSWORD}}"
role     = "admin"
control  = "GET /api/me"

[accounts.bob]
bearer  = "${{H_BOB_TOKEN}}"
control = "GET /api/me"

[auth]
jwt_secret = "${{H_JWT_SECRET}}"

[[resources]]
path   = "/api/notes/{{id}}"
owner  = "alice"
list   = "GET /api/notes"
create = "POST /api/notes"
write  = true

[[resources]]
path  = "/api/admin/users"
owner = "alice"
role  = "admin"

[cors]
trusted_origins = ["https://app.example.test"]

[[rate_limit]]
path     = "/api/login"
json     = {{ email = "{{username}}", password = "{{password}}" }}
attempts = 12

[debug]
paths   = ["/api/notes/search?q=probe"]
account = "bob"

[[webhooks]]
path     = "/api/webhooks/stripe"
provider = "stripe"
secret   = "${{H_STRIPE_WHSEC}}"

[[webhooks]]
path     = "/api/webhooks/github"
provider = "github"
secret   = "${{H_GITHUB_SECRET}}"

[env]
manifest    = "{workdir}/.env.example"
deployed    = ["dotenv:{workdir}/deployed.env"]
environment = "production"
"""


def _token(size: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(size))


@dataclass(frozen=True)
class Setup:
    workdir: Path
    pki: Pki
    environ: dict[str, str]
    # Every value that must never appear unmasked: the ${VAR} secrets and the credentials a check detects.
    secrets: tuple[str, ...]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    workdir = tmp_path_factory.mktemp("hostile")
    configured = {
        "H_ALICE_EMAIL": f"alice-{secrets.token_hex(4)}@example.test",
        "H_ALICE_PASSWORD": "pw-" + secrets.token_hex(12),
        "H_BOB_TOKEN": "bt-" + secrets.token_hex(16),
        "H_JWT_SECRET": "jwt-" + secrets.token_hex(16),
        "H_STRIPE_WHSEC": "whsec_" + secrets.token_hex(16),
        "H_GITHUB_SECRET": "gh-" + secrets.token_hex(16),
    }
    # Credentials only the env checks find: a live-format key and a database password in the deployed env.
    deployed_key = "sk_" + "live_" + _token(24)
    db_password = "db-" + secrets.token_hex(10)
    (workdir / "probe.toml").write_text(CONFIG.format(max_bytes=MAX_BYTES, workdir=workdir))
    (workdir / ".env.example").write_text("STRIPE_SECRET_KEY=\nDATABASE_URL=\nSESSION_SECRET=\nDEBUG=false\n")
    (workdir / "deployed.env").write_text(
        f"STRIPE_SECRET_KEY={deployed_key}\nDATABASE_URL=postgres://app:{db_password}@localhost:5432/app\n"
        "SESSION_SECRET=changeme\nDEBUG=true\n"
    )
    environ = {**os.environ, **configured, "NO_COLOR": "1", "COLUMNS": "120"}
    # The account's username is shown in reports (it names the account); every other configured value is a secret.
    hidden = tuple(v for k, v in configured.items() if k != "H_ALICE_EMAIL")
    return Setup(workdir, make_pki(workdir / "pki"), environ, (*hidden, deployed_key, db_password, behaviours.ECHO_LEAK))


@dataclass
class Run:
    mode: str
    server: Server
    folder: Path
    process: subprocess.Popen[str]
    started: float
    stdout: str = ""
    stderr: str = ""
    wall_s: float = 0.0

    def wait(self) -> None:
        limit = MAX_DURATION_S + PROCESS_SLACK_S
        try:
            self.stdout, self.stderr = self.process.communicate(timeout=max(1.0, limit - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            pytest.fail(f"{self.mode} scan still running after {limit:.0f} s (--max-duration {MAX_DURATION_S:.0f})")
        self.wall_s = time.monotonic() - self.started

    def file(self, fmt: str) -> Path:
        return self.folder / FORMATS[fmt]


def start_scan(server: Server, mode: str, setup: Setup) -> Run:
    folder = setup.workdir / f"{urlsplit(server.url).port}-{mode}"
    folder.mkdir()
    outputs = [arg for fmt, name in FORMATS.items() for arg in ("-f", f"{fmt}={folder / name}")]
    argv = [sys.executable, "-m", "tests.hostile.run_probe", str(folder / "memory.json"),
            "scan", server.url, "--config", str(setup.workdir / "probe.toml"), "--mode", mode, "--verbose",
            "--timeout", str(TIMEOUT_S), "--max-duration", str(MAX_DURATION_S), "--rate", "500/s",
            "--max-requests", str(MAX_REQUESTS), "--ca-bundle", str(setup.pki.ca), *outputs]
    process = subprocess.Popen(argv, cwd=ROOT, env=setup.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    return Run(mode, server, folder, process, time.monotonic())


def _params() -> Iterator[object]:
    for behaviour in BEHAVIOURS:
        marks = [pytest.mark.skipif(not behaviours.BROTLI, reason="brotli is not installed")] if behaviour.needs_brotli else []
        yield pytest.param(behaviour, id=behaviour.name, marks=marks)


@pytest.mark.parametrize("behaviour", list(_params()))
def test_every_check_survives_the_hostile_server(behaviour: Behaviour, setup: Setup) -> None:
    # One server per mode, so each server's own log counts exactly one run's requests.
    with behaviour.start(setup.pki) as passive_server, behaviour.start(setup.pki) as active_server:
        runs = [start_scan(passive_server, "passive", setup), start_scan(active_server, "active", setup)]
        for run in runs:
            run.wait()
    for run in runs:
        check_invariants(run, setup)
    if behaviour.name == "echo":
        check_the_echo_proved_something(runs, setup)


def check_invariants(run: Run, setup: Setup) -> None:
    where = f"{run.mode} scan of {run.server.url}"
    code = run.process.returncode
    assert "Traceback" not in run.stderr, f"{where}: traceback\n{run.stderr[-3000:]}"
    assert code in (0, 1, 3), f"{where}: exit {code}\n{run.stderr[-2000:]}"

    # Time and memory.
    report = json.loads(run.file("json").read_text())
    assert report["duration_s"] <= MAX_DURATION_S + DURATION_SLACK_S, f"{where}: ran {report['duration_s']} s"
    assert run.wall_s <= MAX_DURATION_S + PROCESS_SLACK_S, f"{where}: process took {run.wall_s:.1f} s"
    memory = json.loads((run.folder / "memory.json").read_text())
    growth_mb = (memory["peak_kb"] - memory["rss_before_kb"]) / 1024
    assert growth_mb <= PEAK_GROWTH_MB, f"{where}: peak memory grew by {growth_mb:.0f} MB"

    # Every report written and readable; every result honest.
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    json.loads(run.file("sarif").read_text())
    ET.parse(run.file("junit"))
    for fmt in ("markdown", "console", "html"):
        assert run.file(fmt).read_text().strip(), f"{where}: empty {fmt} report"
    for result in report["results"]:
        assert result["status"] in STATUSES
        assert (result.get("detail") or "").strip(), f"{where}: {result['check']} {result['status']} without a reason"
    if code != 3:
        missing = ALL_CHECKS - {r["check"] for r in report["results"]}
        assert not missing, f"{where}: no result for {sorted(missing)}"
    unexpected = [r for r in report["results"] if "unexpectedly" in (r.get("detail") or "")]
    assert not unexpected, f"{where}: a check crashed: {unexpected[0]['check']}: {unexpected[0]['detail']}"

    # Budget and scope, as the servers saw it.
    assert report["requests_sent"] <= MAX_REQUESTS
    assert len(run.server.requests) <= report["requests_sent"], f"{where}: the server saw more requests than counted"
    assert run.server.connections <= MAX_REQUESTS
    own = urlsplit(run.server.url).netloc
    foreign = {r.headers.get("host") for r in run.server.requests} - {own}
    assert not foreign, f"{where}: requests addressed to {foreign} reached the target (a redirect out of scope followed)"
    for bystander in run.server.bystanders:
        assert bystander.connections == 0, f"{where}: {bystander.url} is out of scope but was contacted"

    # Redaction, in every output.
    outputs = {fmt: run.file(fmt).read_text() for fmt in FORMATS}
    outputs |= {"stdout": run.stdout, "stderr (--verbose log)": run.stderr}
    for name, text in outputs.items():
        leaked = [s for s in setup.secrets if s in text]
        assert not leaked, f"{where}: a secret appears unmasked in {name}"


def check_the_echo_proved_something(runs: list[Run], setup: Setup) -> None:
    """The echo server reflected our credentials into its answers; masking them is what kept them out."""
    active = next(r for r in runs if r.mode == "active")
    sent = json.dumps([(r.headers, r.body.decode("latin-1")) for r in active.server.requests])
    for name in ("H_BOB_TOKEN", "H_ALICE_PASSWORD"):
        assert setup.environ[name] in sent, f"{name} was never sent to the echo server: the test proves nothing"
    report = json.loads(active.file("json").read_text())
    assert any(r["check"] == "secrets.in-bundle" and r["status"] == "fail" for r in report["results"]), (
        "the key the echo server serves was not detected"
    )
