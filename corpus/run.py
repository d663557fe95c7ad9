"""Run probe against real open-source apps and hold it to what each app's source and docs say.

For every app under corpus/apps/ and each of its setups: install it (pinned, in corpus/.work/), start it on loopback,
create its accounts and records through its own API, scan it passive and active with every report format, and
compare the JSON report with the app's expected.toml. Exits 1 on any traceback, exit code other than 0/1, missing
or unparsable report, expected failure missed or trap that failed; every problem is one line, and a table closes
the run. Every process and temp dir is cleaned up, also on errors and Ctrl-C.

    python corpus/run.py [--only APP] [--probe PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from harness import (
    CORPUS,
    AppInfo,
    Context,
    CorpusError,
    Deployment,
    Postgres,
    Processes,
    ensure_postgres,
    install_pinned,
)

MODES = ("passive", "active")
FORMATS = {"console": "console.txt", "json": "report.json", "sarif": "report.sarif", "junit": "junit.xml",
           "markdown": "summary.md"}
SCAN_TIMEOUT_S = 600.0  # probe's own max_duration is 300 s; past this the scan is hung, which is a problem too
TRACEBACK = "Traceback (most recent call last)"
MASKED = "[masked "  # how probe's redactor writes a masked value
CHECK_HEADING = re.compile(r"^### `([a-z]+\.[a-z0-9-]+)`", re.M)

START = time.monotonic()


def say(line: str) -> None:
    print(f"[corpus {time.monotonic() - START:6.1f}s] {line}", flush=True)


# --- expectations ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    kind: str  # "fail": probe must report it; "trap": probe must not
    check: str
    setups: tuple[str, ...]
    modes: tuple[str, ...]
    location: str | None  # a substring of the result's location, when the claim is about one route or variable
    why: str
    proof: tuple[str, ...]

    def applies(self, setup: str, mode: str) -> bool:
        return setup in self.setups and mode in self.modes

    def matches(self, result: dict[str, Any]) -> bool:
        if result.get("check") != self.check:
            return False
        location = str(result.get("location"))
        if self.location is None or self.location in location:
            return True
        # A redacted location cannot be shown to be elsewhere: a trap counts it, an expected failure does not (a
        # finding must name its route or variable).
        return self.kind == "trap" and MASKED in location

    def label(self) -> str:
        return self.check + (f" at {self.location}" if self.location else "")


def load_expectations(path: Path, app: AppInfo, known_checks: set[str]) -> list[Expectation]:
    """expected.toml: [[fail]] and [[trap]] tables. Mistakes in it are errors, not silently skipped claims."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(f"{path}: {exc}") from None
    setups = {s.name for s in app.setups}
    unknown = set(data) - {"fail", "trap"}
    if unknown:
        raise CorpusError(f"{path}: unknown tables {sorted(unknown)} (expected [[fail]] and [[trap]])")
    out: list[Expectation] = []
    for kind in ("fail", "trap"):
        for n, entry in enumerate(data.get(kind, []), 1):
            where = f"{path}: [[{kind}]] #{n}"
            extra = set(entry) - {"check", "setups", "modes", "location", "why", "proof"}
            if extra:
                raise CorpusError(f"{where}: unknown keys {sorted(extra)}")
            missing = {"check", "setups", "why", "proof"} - set(entry)
            if missing:
                raise CorpusError(f"{where}: missing keys {sorted(missing)}")
            exp = Expectation(kind=kind, check=entry["check"], setups=tuple(entry["setups"]),
                              modes=tuple(entry.get("modes", MODES)), location=entry.get("location"),
                              why=entry["why"].strip(), proof=tuple(entry["proof"]))
            if exp.check not in known_checks:
                raise CorpusError(f"{where}: {exp.check} is not a check `probe checks` lists")
            if not set(exp.setups) <= setups or not set(exp.modes) <= set(MODES) or not exp.proof or not exp.why:
                raise CorpusError(f"{where}: setups must be among {sorted(setups)}, modes among {MODES}; why and proof required")
            out.append(exp)
    return out


def probe_check_ids(probe: Path) -> set[str]:
    done = subprocess.run([str(probe), "checks", "--markdown"], capture_output=True, text=True, timeout=120, check=False)
    ids = set(CHECK_HEADING.findall(done.stdout))
    if done.returncode != 0 or not ids:
        raise CorpusError(f"`probe checks --markdown` exited {done.returncode}, listed {len(ids)} checks: {done.stderr[-500:]}")
    return ids


# --- one scan --------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One scan's verdict, filled in as the scan and the judging proceed."""

    app: str
    setup: str
    mode: str
    exit_code: int | None = None
    requests: int | None = None
    seconds: float = 0.0
    expected_ok: int = 0
    expected_total: int = 0
    traps_ok: int = 0
    traps_total: int = 0
    problems: list[str] = field(default_factory=list)


def _words(result: dict[str, Any]) -> str:
    detail = " ".join(str(result.get("detail", "")).split())
    return f"{result.get('status')} at {result.get('location')}: {detail[:300]}"


def _common_tail(a: str, b: str) -> int:
    """How many characters two locations share at their end."""
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def read_reports(out: Path, outcome: Outcome) -> dict[str, Any] | None:
    """Every format must exist and parse; returns the JSON report."""
    report: dict[str, Any] | None = None
    for fmt, name in FORMATS.items():
        path = out / name
        if not path.is_file() or path.stat().st_size == 0:
            outcome.problems.append(f"report {fmt} missing or empty ({path})")
            continue
        try:
            if fmt == "json":
                report = json.loads(path.read_text(encoding="utf-8"))
                if report is None or report.get("schema") != "probe-report/1" or not isinstance(report.get("results"), list):
                    outcome.problems.append(f"report json is not a probe-report/1 with results ({path})")
                    report = None
            elif fmt == "sarif":
                sarif = json.loads(path.read_text(encoding="utf-8"))
                if sarif.get("version") != "2.1.0" or not sarif.get("runs"):
                    outcome.problems.append(f"report sarif has no 2.1.0 runs ({path})")
            elif fmt == "junit":
                ET.parse(path)
        except (ValueError, ET.ParseError) as exc:
            outcome.problems.append(f"report {fmt} does not parse: {exc} ({path})")
    return report


def judge(report: dict[str, Any], expectations: Sequence[Expectation], outcome: Outcome) -> None:
    results: list[dict[str, Any]] = report["results"]
    for exp in expectations:
        if not exp.applies(outcome.setup, outcome.mode):
            continue
        seen = [r for r in results if exp.matches(r)]
        failed = [r for r in seen if r.get("status") == "fail"]
        if exp.kind == "fail":
            outcome.expected_total += 1
            if failed:
                outcome.expected_ok += 1
            else:
                # Closest first: a location whose end matches the expected one is the same route, redacted or moved.
                elsewhere = sorted((r for r in results if r.get("check") == exp.check and r not in seen),
                                   key=lambda r: -_common_tail(str(r.get("location")), exp.location or ""))
                said = ("; ".join(_words(r) for r in seen[:2]) or
                        "; ".join(f"elsewhere: {_words(r)}" for r in elsewhere[:2]) or "no result for it")
                outcome.problems.append(f"MISSED {exp.label()} must fail ({exp.why.splitlines()[0]}) — probe: {said}")
        else:
            outcome.traps_total += 1
            if not failed:
                outcome.traps_ok += 1
            else:
                outcome.problems.append(f"TRAP {exp.label()} must not fail ({exp.why.splitlines()[0]}) — probe: "
                                        + "; ".join(_words(r) for r in failed[:2]))


def scan(probe: Path, ctx: Context, deployment: Deployment, mode: str, expectations: Sequence[Expectation],
         app: str) -> Outcome:
    outcome = Outcome(app=app, setup=ctx.setup, mode=mode)
    out = ctx.log_dir / mode
    out.mkdir(parents=True)
    argv = [str(probe), "scan", deployment.target, "--config", "probe.toml", "--mode", mode]
    for fmt, name in FORMATS.items():
        argv += ["-f", f"{fmt}={out / name}"]
    env = {**os.environ, **deployment.env, "NO_COLOR": "1"}
    started = time.monotonic()
    with (out / "stdout.txt").open("wb") as stdout, (out / "stderr.txt").open("wb") as stderr:
        proc = subprocess.Popen(argv, cwd=ctx.run_dir, env=env, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            outcome.exit_code = proc.wait(timeout=SCAN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            outcome.problems.append(f"probe did not finish within {SCAN_TIMEOUT_S:.0f} s")
        finally:
            # Also on Ctrl-C/SIGTERM: the scan runs in its own session, so nothing else would stop it.
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    outcome.seconds = time.monotonic() - started
    stderr_text = (out / "stderr.txt").read_text(encoding="utf-8", errors="replace")
    if TRACEBACK in stderr_text:
        last = [line for line in stderr_text.strip().splitlines() if line.strip()][-1]
        outcome.problems.append(f"traceback on stderr: {last.strip()[:300]}")
    if outcome.exit_code not in (0, 1):
        tail = " ".join(stderr_text.strip().splitlines()[-1:])[:300]
        outcome.problems.append(f"probe exited {outcome.exit_code} (expected 0 or 1): {tail}")
    report = read_reports(out, outcome)
    if report is not None:
        outcome.requests = report.get("requests_sent")
        judge(report, expectations, outcome)
    return outcome


# --- apps ------------------------------------------------------------------------------------------------------------


def load_app(app_dir: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"corpus_app_{app_dir.name.replace('-', '_')}", app_dir / "deploy.py")
    if spec is None or spec.loader is None:
        raise CorpusError(f"cannot load {app_dir / 'deploy.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def interrupted_as_exit() -> Iterator[None]:
    """SIGTERM (CI cancelling the job) unwinds like Ctrl-C, so every `finally` below still cleans up."""
    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_app(module: ModuleType, app_dir: Path, probe: Path, known: set[str], tmp: Path, reports: Path,
            postgres: Postgres | None, install_times: dict[str, float]) -> list[Outcome]:
    app: AppInfo = module.APP
    expectations = load_expectations(app_dir / "expected.toml", app, known)
    install_dir = CORPUS / ".work" / app.name
    outcomes: list[Outcome] = []
    say(f"{app.name} {app.version} ({app.source}): installing")
    started = time.monotonic()
    (reports / app.name).mkdir(parents=True, exist_ok=True)
    install_ctx = Context(app_dir, install_dir, tmp / app.name, reports / app.name, "install", Processes(), postgres, say)
    install_ctx.run_dir.mkdir(parents=True)
    install_pinned(install_ctx)
    install_times[app.name] = time.monotonic() - started
    say(f"{app.name}: installed in {install_times[app.name]:.0f} s")
    for setup in app.setups:
        run_dir, log_dir = tmp / app.name / setup.name, reports / app.name / setup.name
        run_dir.mkdir(parents=True)
        shutil.rmtree(log_dir, ignore_errors=True)
        log_dir.mkdir(parents=True)
        shutil.copy(app_dir / "probe.toml", run_dir / "probe.toml")
        ctx = Context(app_dir, install_dir, run_dir, log_dir, setup.name, Processes(), postgres, say)
        say(f"{app.name}/{setup.name}: starting ({setup.summary})")
        try:
            try:
                deployment = module.deploy(ctx)
            except CorpusError as exc:
                outcomes += [Outcome(app.name, setup.name, mode, problems=[f"setup failed: {exc}"]) for mode in MODES]
                continue
            for mode in MODES:
                say(f"{app.name}/{setup.name}: scanning {mode}")
                outcome = scan(probe, ctx, deployment, mode, expectations, app.name)
                say(f"{app.name}/{setup.name}/{mode}: exit {outcome.exit_code}, {outcome.requests} requests, "
                    f"{outcome.seconds:.0f} s, {len(outcome.problems)} problem(s)")
                outcomes.append(outcome)
        finally:
            for name in ctx.processes.stop_all():
                say(f"{app.name}/{setup.name}: {name} ignored SIGTERM and was killed")
    return outcomes


def print_summary(outcomes: Sequence[Outcome], install_times: dict[str, float], wall: float) -> int:
    problems = [(o, p) for o in outcomes for p in o.problems]
    for outcome, problem in problems:
        print(f"PROBLEM {outcome.app}/{outcome.setup}/{outcome.mode}: {problem}")
    header = f"{'app':<13} {'setup':<14} {'mode':<8} {'exit':>4} {'reqs':>5} {'secs':>5} {'expected':>9} {'traps':>7} problems"
    print("\n" + header + "\n" + "-" * len(header))
    for o in outcomes:
        print(f"{o.app:<13} {o.setup:<14} {o.mode:<8} {o.exit_code if o.exit_code is not None else '-':>4} "
              f"{o.requests if o.requests is not None else '-':>5} {o.seconds:>5.0f} "
              f"{f'{o.expected_ok}/{o.expected_total}':>9} {f'{o.traps_ok}/{o.traps_total}':>7} {len(o.problems)}")
    installs = ", ".join(f"{name} {secs:.0f} s" for name, secs in install_times.items())
    print(f"\ninstall: {installs}; wall time {wall:.0f} s")
    print(f"corpus: {len(outcomes) - len({(o.app, o.setup, o.mode) for o, _ in problems})} passed, "
          f"{len({(o.app, o.setup, o.mode) for o, _ in problems})} failed")
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="run only this app (repeatable)")
    parser.add_argument("--probe", type=Path, default=CORPUS.parent / ".venv" / "bin" / "probe",
                        help="the probe command to test [default: the repo's .venv]")
    parser.add_argument("--reports", type=Path, default=CORPUS / ".work" / "reports",
                        help="where every scan's reports are kept [default: corpus/.work/reports]")
    args = parser.parse_args(argv)
    app_dirs = sorted(p.parent for p in (CORPUS / "apps").glob("*/deploy.py"))
    if args.only:
        app_dirs = [d for d in app_dirs if d.name in args.only]
        if not app_dirs:
            parser.error(f"no app named {', '.join(args.only)}")
    probe = args.probe.resolve()
    try:
        known = probe_check_ids(probe)
        modules = [(load_app(d), d) for d in app_dirs]
    except (CorpusError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"PROBLEM corpus could not start: {exc}")
        return 1
    outcomes: list[Outcome] = []
    install_times: dict[str, float] = {}
    tmp = Path(tempfile.mkdtemp(prefix="probe-corpus-"))
    tmp.chmod(0o711)  # the cluster runs as the postgres user (never root) and must reach its folder inside
    postgres: Postgres | None = None
    try:
        with interrupted_as_exit():
            if any(m.APP.needs_postgres for m, _ in modules):
                args.reports.mkdir(parents=True, exist_ok=True)
                pg_log = args.reports / "postgres.log"
                postgres = Postgres(ensure_postgres(pg_log), tmp / "postgres", pg_log)
                postgres.start()
                say(f"postgres: private cluster on 127.0.0.1:{postgres.port}")
            for module, app_dir in modules:
                try:
                    outcomes += run_app(module, app_dir, probe, known, tmp, args.reports, postgres, install_times)
                except CorpusError as exc:
                    outcomes += [Outcome(module.APP.name, "-", "-", problems=[f"could not run: {exc}"])]
    except KeyboardInterrupt:
        say("interrupted: cleaning up")
        return 130
    finally:
        if postgres is not None:
            try:
                postgres.stop()
            except CorpusError as exc:
                say(f"postgres did not stop cleanly: {exc}")
        shutil.rmtree(tmp, ignore_errors=True)
    return print_summary(outcomes, install_times, time.monotonic() - START)


if __name__ == "__main__":
    sys.exit(main())
