"""`probe scan --targets`: many apps in one run, each scanned as it would be alone; one report per format; shards and
their merge. Real servers on loopback: the vulnerable demo, a stock Flask app, one that hangs, a closed port."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from junitparser import JUnitXml

from fixtures.serve import serve_waitress
from probe import fleet
from probe.config import ConfigError
from probe.demo import Demo
from probe.reporters import fleet as fleet_report
from tests.helpers import ROOT, report_schema, sarif_schema
from tests.hostile.servers import Request, Server, raw_server

DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
# The hanging target may take this long; its own max_duration, not the others', bounds it.
HANG_BUDGET_S = 5


def probe(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}, check=False)


def fleet_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(fleet_report.schema_text())
    return loaded


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def plain_apps() -> Iterator[list[str]]:
    """Three stock Flask apps, each on its own port, behind a production server."""
    apps = []
    for i in range(3):
        app = Flask(f"plain{i}")
        app.add_url_rule("/", view_func=lambda i=i: f"<html><body>app {i}</body></html>")
        apps.append(app)
    with serve_waitress(apps[0]) as a, serve_waitress(apps[1]) as b, serve_waitress(apps[2]) as c:
        yield [a, b, c]


@pytest.fixture(scope="module")
def hanging() -> Iterator[Server]:
    """Accepts the connection, reads the request, never answers."""

    async def hold(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(15)

    with raw_server(hold) as server:
        yield server


# --- the targets file ----------------------------------------------------------------------------------------------

def test_targets_file_paths_names_and_tags(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "api.toml").write_text('target = "https://api.example.com"\n')
    path = tmp_path / "targets.toml"
    path.write_text('[[targets]]\nurl = "https://example.com"\ntags = ["prod"]\n\n'
                    '[[targets]]\nconfig = "apps/api.toml"\nname = "api"\n')
    loaded = fleet.load_targets(path)
    assert loaded == (
        fleet.Target(name="https://example.com", url="https://example.com", tags=("prod",)),
        fleet.Target(name="api", config=tmp_path / "apps" / "api.toml"),
    )


@pytest.mark.parametrize(("text", "error"), [
    ('[[targets]]\nname = "x"\n', "targets[0]: give a url, a config, or both"),
    ('[[targets]]\nurl = "https://a.example"\nport = 1\n', "targets[0].port: unknown key"),
    ('[[targets]]\nurl = "ftp://a.example"\n', "targets[0].url: expected an http:// or https:// URL"),
    ('[[targets]]\nurl = "https://a.example"\n[[targets]]\nurl = "https://a.example"\n', "two targets are named"),
    ("targets = []\n", "no [[targets]]"),
])
def test_targets_file_errors_name_the_entry(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"^" + str(path).replace("\\", "\\\\") + ": ") as raised:
        fleet.load_targets(path)
    assert error in str(raised.value)


# --- shards --------------------------------------------------------------------------------------------------------

def test_shards_are_complete_disjoint_and_independent_of_order() -> None:
    targets = [fleet.Target(name=f"https://app{i}.example.com") for i in range(200)]
    for count in (1, 2, 3, 7):
        parts = [fleet.shard(targets, fleet.Shard(i, count)) for i in range(count)]
        assert sorted(t.name for part in parts for t in part) == sorted(t.name for t in targets)
        shuffled = random.Random(count).sample(targets, len(targets))
        again = [fleet.shard(shuffled, fleet.Shard(i, count)) for i in range(count)]
        assert [{t.name for t in p} for p in parts] == [{t.name for t in p} for p in again]
        if count > 1:
            assert all(parts), "200 names leave no shard empty"


def test_shard_is_the_sha256_of_the_name_so_every_machine_agrees() -> None:
    # Computed here independently of the implementation: the first 8 bytes of sha256(name), big-endian, mod count.
    for name in ("https://example.com", "api", "client-42"):
        expected = int(hashlib.sha256(name.encode()).hexdigest()[:16], 16) % 5
        assert [i for i in range(5) if fleet.Shard(i, 5).holds(name)] == [expected]


@pytest.mark.parametrize("text", ["2/2", "-1/2", "1", "a/b", "0/0"])
def test_bad_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(ValueError, match="INDEX/COUNT"):
        fleet.Shard.parse(text)


def test_worst_exit_code_order() -> None:
    assert fleet.worst([0, 1, 3, 0]) == 3
    assert fleet.worst([1, 3, 2]) == 2
    assert fleet.worst([0, 1]) == 1
    assert fleet.worst([]) == 0


# --- a real fleet ------------------------------------------------------------------------------------------------

def _write_fleet(tmp_path: Path, demo: Demo, plain: list[str], hanging: Server) -> Path:
    (tmp_path / "hang.toml").write_text(f'target = "{hanging.url}"\ntimeout = 60\nmax_duration = {HANG_BUDGET_S}\n')
    (tmp_path / "scoped.toml").write_text(f'target = "{plain[1]}"\nscope = ["staging.example.com"]\n')
    (tmp_path / "broken.toml").write_text(f'target = "{plain[2]}"\nmax_request = 5\n')
    path = tmp_path / "targets.toml"
    path.write_text(
        f'[[targets]]\nname = "demo"\nurl = "{demo.url}"\nconfig = "{DEMO_CONFIG}"\ntags = ["demo", "vulnerable"]\n\n'
        f'[[targets]]\nname = "plain"\nurl = "{plain[0]}"\n\n'
        f'[[targets]]\nname = "hangs"\nconfig = "hang.toml"\n\n'
        f'[[targets]]\nname = "refuses"\nurl = "http://127.0.0.1:{closed_port()}"\n\n'
        f'[[targets]]\nname = "out-of-scope"\nconfig = "scoped.toml"\n\n'
        f'[[targets]]\nname = "broken-config"\nconfig = "broken.toml"\n'
    )
    return path


def test_fleet_scans_each_target_alone_and_reports_every_format(
    tmp_path: Path, demo_vulnerable: Demo, plain_apps: list[str], hanging: Server
) -> None:
    targets = _write_fleet(tmp_path, demo_vulnerable, plain_apps, hanging)
    env = {**demo_vulnerable.env, "DEMO_WORKDIR": str(demo_vulnerable.workdir)}
    started = time.monotonic()
    done = probe("scan", "--targets", str(targets), "--rate", "200", "--parallel", "6",
                 "-f", "console", "-f", f"json={tmp_path}/fleet.json", "-f", f"sarif={tmp_path}/fleet.sarif",
                 "-f", f"junit={tmp_path}/fleet.xml", "-f", f"markdown={tmp_path}/fleet.md", env=env)
    wall = time.monotonic() - started
    # The worst of all: the broken config (2) ranks above the unreachable targets (3) and the findings (1).
    assert done.returncode == 2, done.stderr

    doc = json.loads((tmp_path / "fleet.json").read_text())
    jsonschema.validate(doc, fleet_schema())
    by_name = {t["name"]: t for t in doc["targets"]}
    assert [t["name"] for t in doc["targets"]] == sorted(by_name)
    assert {n: t["exit_code"] for n, t in by_name.items()} == {
        "demo": 1, "plain": 0, "hangs": 3, "refuses": 3, "out-of-scope": 3, "broken-config": 2}
    assert doc["exit_code"] == 2 and doc["summary"]["by_exit_code"] == {"0": 1, "1": 1, "2": 1, "3": 3}
    for entry in doc["targets"]:
        jsonschema.validate(entry["report"], report_schema())  # each target's report is a probe-report/1 as it is
    assert by_name["demo"]["tags"] == ["demo", "vulnerable"] and by_name["demo"]["report"]["summary"]["fail"] > 0
    assert "idor" in by_name["demo"]["report"]["requests_by_family"], "the demo's own config (accounts) was used"
    assert by_name["hangs"]["error"].startswith(f"cannot scan {hanging.url}")
    assert HANG_BUDGET_S - 1 <= by_name["hangs"]["report"]["duration_s"] <= HANG_BUDGET_S + fleet.OVERRUN_GRACE_S
    assert "not inside the configured scope" in by_name["out-of-scope"]["error"]
    assert by_name["out-of-scope"]["report"]["requests_sent"] == 0
    assert "max_request: unknown key" in by_name["broken-config"]["error"]
    assert by_name["refuses"]["error"].endswith("connection refused")
    # The hanging target held one slot for its own budget and no more; the others ran to their end beside it (no
    # budget of theirs was spent waiting for it: none was cut short).
    others = [t["report"] for n, t in by_name.items() if n != "hangs"]
    assert not any(r["interrupted"] for r in others)
    assert not any("max_duration" in r["detail"] for report in others for r in report["results"])
    assert wall < 120

    # CI logs (no terminal): one line per finished target as it finishes, the hanging one last.
    lines = [line for line in done.stderr.splitlines() if line.startswith("probe: [")]
    assert len(lines) == 6 and [line.split("] ", 1)[0] for line in lines] == [f"probe: [{i}/6" for i in range(1, 7)]
    assert any(" hangs: exit 3 not scanned · " in line for line in lines)
    assert any(line.startswith("probe: [") and " demo: exit 1 findings · " in line for line in lines)
    # Then the summary table on stdout, the verdict last.
    assert done.stdout.strip().splitlines()[-1] == (
        "FAILED: 6 targets (1 configuration error, 3 not scanned, 1 findings, 1 passed); exit 2")
    assert all(name in done.stdout for name in by_name)

    sarif = json.loads((tmp_path / "fleet.sarif").read_text())
    jsonschema.validate(sarif, sarif_schema())
    assert [run["automationDetails"]["id"] for run in sarif["runs"]] == [f"probe-fleet/{n}/" for n in sorted(by_name)]
    demo_run = next(r for r in sarif["runs"] if r["properties"]["name"] == "demo")
    assert len(demo_run["results"]) == by_name["demo"]["report"]["summary"]["fail"] + by_name["demo"]["report"]["summary"][
        "suppressed"]

    suites = {suite.name: suite for suite in JUnitXml.fromfile(str(tmp_path / "fleet.xml"))}
    assert set(suites) == set(by_name)
    assert suites["demo"].failures == by_name["demo"]["report"]["summary"]["fail"]
    assert suites["plain"].tests == len(by_name["plain"]["report"]["results"])

    markdown = (tmp_path / "fleet.md").read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert len(rows) == 6
    demo_row = next(r for r in rows if r.startswith("| `demo`"))
    demo_fails = [r for r in by_name["demo"]["report"]["results"] if r["status"] == "fail" and not r["suppressed"]]
    high = sum(1 for r in demo_fails if r["severity"] == "high")
    cells = [c.strip() for c in demo_row.strip("|").split("|")]
    assert cells[1] == "1 findings" and cells[3] == str(high) and cells[7] == str(len(demo_fails))


def test_fleet_exit_code_is_findings_when_all_were_scanned(tmp_path: Path, demo_vulnerable: Demo,
                                                            plain_apps: list[str]) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(f'[[targets]]\nurl = "{plain_apps[0]}"\n[[targets]]\nurl = "{demo_vulnerable.url}"\n'
                    f'config = "{DEMO_CONFIG}"\n')
    env = {**demo_vulnerable.env, "DEMO_WORKDIR": str(demo_vulnerable.workdir)}
    done = probe("scan", "--targets", str(path), "--rate", "200", "-f", "markdown", env=env)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("## ❌ probe fleet: FAILED: 2 targets (1 findings, 1 passed); exit 1")


def test_targets_with_a_url_or_without_targets_is_a_usage_error(tmp_path: Path) -> None:
    assert probe("scan", "http://127.0.0.1:9", "--targets", str(tmp_path / "t.toml")).returncode == 2
    done = probe("scan", "http://127.0.0.1:9", "--shard", "0/2")
    assert done.returncode == 2 and "--parallel and --shard go with --targets" in done.stderr


# --- shards and their merge ------------------------------------------------------------------------------------

TIMINGS = {"started", "duration_s", "parallel", "shard"}


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_merge_of_shards_equals_the_unsharded_run(tmp_path: Path, plain_apps: list[str]) -> None:
    refused = f"http://127.0.0.1:{closed_port()}"
    path = tmp_path / "targets.toml"
    path.write_text("".join(f'[[targets]]\nname = "app-{i}"\nurl = "{url}"\n' for i, url in enumerate([*plain_apps, refused])))
    common = ("--targets", str(path), "--rate", "200", "--only", "headers,cors,debug")
    whole = probe("scan", *common, "-f", f"json={tmp_path}/whole.json")
    assert whole.returncode == 3, whole.stderr
    shards = []
    for i in range(3):
        done = probe("scan", *common, "--shard", f"{i}/3", "-f", f"json={tmp_path}/shard{i}.json")
        assert done.returncode in (0, 3), done.stderr
        shards.append(tmp_path / f"shard{i}.json")
    in_shards = [[t["name"] for t in json.loads(s.read_text())["targets"]] for s in shards]
    assert sorted(n for names in in_shards for n in names) == [f"app-{i}" for i in range(4)]

    merged = probe("merge", *map(str, shards), "-f", f"json={tmp_path}/merged.json", "-f", "markdown")
    assert merged.returncode == 3, merged.stderr
    merged_doc = json.loads((tmp_path / "merged.json").read_text())
    jsonschema.validate(merged_doc, fleet_schema())
    assert merged_doc["shard"] is None
    assert _without_timings(merged_doc) == _without_timings(json.loads((tmp_path / "whole.json").read_text()))
    assert merged.stdout.count("| `app-") == 4

    missing = probe("merge", str(shards[0]), str(shards[2]))
    assert missing.returncode == 2 and "shard(s) 1/3 missing" in missing.stderr
    twice = probe("merge", *map(str, shards), str(shards[0]))
    assert twice.returncode == 2 and "shard 0/3 is given twice" in twice.stderr
    (tmp_path / "other.json").write_text('{"schema": "probe-report/1"}')
    wrong = probe("merge", str(tmp_path / "other.json"))
    assert wrong.returncode == 2 and "not a probe-fleet/1 report" in wrong.stderr


def test_fleet_schema_embeds_the_report_schema_as_shipped() -> None:
    assert fleet_schema()["$defs"]["report"] == report_schema()
    assert probe("schema", "--fleet").stdout == fleet_report.schema_text()


# --- the examples: GitHub Actions and Kubernetes ---------------------------------------------------------------

EXAMPLES = ROOT / "examples"
FAKE_GH = '''import json, os, sys
path = os.environ["FAKE_GH_STATE"]
state = json.load(open(path))
args = sys.argv[1:]
state["calls"].append(args[:2])
issues = state["issues"]
if args[:2] == ["issue", "list"]:
    print(json.dumps([{"number": int(n), "title": i["title"]} for n, i in issues.items() if i["open"]]))
elif args[:2] == ["issue", "create"]:
    number = str(len(issues) + 1)
    issues[number] = {"title": args[args.index("--title") + 1], "open": True, "body": sys.stdin.read()}
elif args[:2] == ["issue", "edit"]:
    issues[args[2]]["body"] = sys.stdin.read()
elif args[:2] == ["issue", "close"]:
    issues[args[2]]["open"] = False
json.dump(state, open(path, "w"))
'''


def _issue_step() -> str:
    import yaml

    smoke = yaml.safe_load((EXAMPLES / "workflows" / "smoke.yml").read_text())
    steps = smoke["jobs"]["smoke"]["steps"]
    step = next(s for s in steps if s.get("name") == "Open, update or close one issue per target")
    assert step["shell"] == "python"
    assert next(s for s in steps if s.get("id") == "probe")["with"]["args"] == "--targets ${{ env.TARGETS }}"
    return str(step["run"])


def _sync_issues(tmp_path: Path, script: str, fleet_doc: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    (tmp_path / "bin").mkdir(exist_ok=True)
    gh = tmp_path / "bin" / "gh"
    gh.write_text(f"#!{sys.executable}\n{FAKE_GH}")
    gh.chmod(0o755)
    (tmp_path / "state.json").write_text(json.dumps(state))
    (tmp_path / "fleet.json").write_text(json.dumps(fleet_doc))
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "FAKE_GH_STATE": str(tmp_path / "state.json"),
           "REPORT": str(tmp_path / "fleet.json"), "RUN_URL": "https://github.com/o/r/actions/runs/1", "EXIT_CODE": "1"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads((tmp_path / "state.json").read_text())
    return loaded


def test_smoke_workflow_keeps_one_issue_per_failing_target(tmp_path: Path, plain_apps: list[str]) -> None:
    """The scheduled example's issue step, run on a real fleet report with `gh` stood in for: an issue opens for
    each failing target, the passing target's issue closes, a target gone from the fleet has its issue closed."""
    refused = f"http://127.0.0.1:{closed_port()}"
    targets = tmp_path / "targets.toml"
    targets.write_text(f'[[targets]]\nname = "up"\nurl = "{plain_apps[0]}"\n[[targets]]\nname = "down"\nurl = "{refused}"\n')
    done = probe("scan", "--targets", str(targets), "--rate", "200", "--only", "headers", "-f", f"json={tmp_path}/run.json")
    assert done.returncode == 3, done.stderr
    doc = json.loads((tmp_path / "run.json").read_text())
    prefix = "probe smoke check failing: "
    state = {"calls": [], "issues": {"1": {"title": prefix + "up", "open": True, "body": ""},
                                     "2": {"title": prefix + "retired", "open": True, "body": ""},
                                     "3": {"title": "unrelated", "open": True, "body": ""}}}
    script = _issue_step()
    after = _sync_issues(tmp_path, script, doc, state)
    issues = after["issues"]
    assert {n: (i["title"], i["open"]) for n, i in issues.items()} == {
        "1": (prefix + "up", False), "2": (prefix + "retired", False), "3": ("unrelated", True), "4": (prefix + "down", True)}
    assert "exit 3, not scanned" in issues["4"]["body"] and "connection refused" in issues["4"]["body"]

    # Next hour: still down, so its issue is refreshed (edited, not duplicated).
    again = _sync_issues(tmp_path, script, doc, {"calls": [], "issues": issues})
    assert len(again["issues"]) == 4 and ["issue", "edit"] in again["calls"] and ["issue", "create"] not in again["calls"]


def test_kubernetes_example_validates_and_maps_the_completion_index_to_the_shard(tmp_path: Path) -> None:
    import kubernetes_validate
    import yaml

    docs = list(yaml.safe_load_all((EXAMPLES / "kubernetes" / "probe-fleet.yaml").read_text()))
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    job = by_name["CronJob", "probe-fleet"]["spec"]["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert job["completionMode"] == "Indexed" and job["completions"] == job["parallelism"] == int(env["SHARDS"])
    script = container["args"][0]
    assert '--shard "$JOB_COMPLETION_INDEX/$SHARDS"' in script and "--targets /etc/probe/targets.toml" in script
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["targets"] == "/etc/probe" and 'json=$out/shard-$JOB_COMPLETION_INDEX.json' in script
    assert mounts["reports"] == "/reports" and 'out="/reports/$JOB_NAME"' in script
    assert by_name["PersistentVolumeClaim", "probe-reports"]["spec"]["accessModes"] == ["ReadWriteMany"]
    merge = by_name["CronJob", "probe-fleet-merge"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert 'probe merge "$night"shard-*.json' in merge["args"][0]
    # The ConfigMap's targets file is one probe reads, and its four targets fill the four shards between them.
    (tmp_path / "targets.toml").write_text(by_name["ConfigMap", "probe-fleet"]["data"]["targets.toml"])
    names = [t.name for t in fleet.load_targets(tmp_path / "targets.toml")]
    assert len(names) == 4
    assert sorted(n for i in range(4) for n in names if fleet.Shard(i, 4).holds(n)) == sorted(names)


def test_github_example_shards_match_the_matrix_and_its_targets_file_loads() -> None:
    import yaml

    workflow = yaml.safe_load((EXAMPLES / "workflows" / "fleet.yml").read_text())
    scan, merge = workflow["jobs"]["scan"], workflow["jobs"]["merge"]
    shards = scan["strategy"]["matrix"]["shard"]
    step = next(s for s in scan["steps"] if s.get("uses", "").startswith("deploy-probe/probe@"))
    assert step["with"]["args"] == f"--targets examples/fleet/targets.toml --shard ${{{{ matrix.shard }}}}/{len(shards)}"
    assert shards == list(range(len(shards))) and scan["strategy"]["fail-fast"] is False
    assert merge["needs"] == "scan" and merge["permissions"] == {"contents": "read", "security-events": "write"}
    run = next(s["run"] for s in merge["steps"] if s.get("id") == "merge")
    assert "probe\" merge shards/probe-shard-*/probe-report.json" in run
    assert len(fleet.load_targets(EXAMPLES / "fleet" / "targets.toml")) == 4
