"""The `probe` command. Parses flags, loads config, runs the engine, writes the reports.

Imports are lazy: `probe --version` and `probe --help` must not pay for httpx, pydantic or the checks.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from probe import __version__

if TYPE_CHECKING:
    from probe.config import Settings
    from probe.fleet import FleetReport, Outcome, Shard, Target
    from probe.model import Report, Severity
    from probe.runner import Progress

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

app = typer.Typer(
    name="probe",
    help="What will break or leak once real users and strangers arrive: a black-box pre-deploy check.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class ModeOpt(StrEnum):
    passive = "passive"
    active = "active"


class SeverityOpt(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"


class UsageError(Exception):
    """A bad flag value found after parsing; one line, exit 2."""


def _version(value: bool) -> None:
    if value:
        print(f"probe {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """probe: scan a deployment before your users do."""


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def parse_formats(values: list[str]) -> list[tuple[str, str | None]]:
    """`console`, `json=report.json`, `sarif=-`: a format and where it goes (None or '-' is stdout)."""
    from probe.reporters import FORMATS

    out: list[tuple[str, str | None]] = []
    for value in values or ["console"]:
        fmt, _, path = value.partition("=")
        fmt = fmt.strip().lower()
        if fmt not in FORMATS:
            raise UsageError(f"--format: unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
        out.append((fmt, path.strip() or None))
    to_stdout = [f for f, p in out if p in (None, "-") and f != "console"]
    if len(to_stdout) > 1 or (to_stdout and any(f == "console" and p is None for f, p in out)):
        raise UsageError("--format: only one report can go to standard output; give the others a path (json=report.json)")
    return out


def parse_rate(value: str | None) -> float | None:
    if value is None:
        return None
    number = value.strip().removesuffix("/s").strip()
    try:
        rate = float(number)
    except ValueError:
        raise UsageError(f"--rate: expected requests per second such as 10 or 10/s, got {value!r}") from None
    if rate <= 0:
        raise UsageError("--rate: must be more than 0")
    return rate


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    print(f"probe: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


# --- the scanning options: declared once, taken by every command that scans --------------------------------------

FORMATS_HELP = "console, json, sarif, junit, markdown, html; FMT=PATH writes a file (repeatable)."
SCAN_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("url", Annotated[str | None, typer.Argument(help="Base URL to scan (default: `target` from the config).")], None),
    ("config", Annotated[Path | None, typer.Option(
        "--config", "-c", help="probe.toml (default: ./probe.toml or [tool.probe] in pyproject.toml).")], None),
    ("mode", Annotated[ModeOpt | None, typer.Option(
        help="passive: safe, low-volume requests. active: adds bursts, cross-account requests and webhook posts.")], None),
    ("only", Annotated[list[str] | None, typer.Option(
        "--only", help="Run only these check ids or families (repeatable, comma-separated).")], None),
    ("skip", Annotated[list[str] | None, typer.Option("--skip", help="Do not run these check ids or families.")], None),
    ("profile", Annotated[str | None, typer.Option(
        "--profile", help="Named settings, e.g. smoke: passive, <= 60 requests (flags still win).")], None),
    ("fail_on", Annotated[SeverityOpt | None, typer.Option(
        "--fail-on", help="Exit 1 on a failure at or above this severity [default: high].")], None),
    ("max_requests", Annotated[int | None, typer.Option(
        "--max-requests", min=1, help="Request budget for the whole run [default: 400].")], None),
    ("rate", Annotated[str | None, typer.Option("--rate", help="Requests per second ceiling, e.g. 10/s [default: 20/s].")],
     None),
    ("timeout", Annotated[float | None, typer.Option("--timeout", min=0.1, help="Seconds per request [default: 10].")], None),
    ("max_duration", Annotated[float | None, typer.Option(
        "--max-duration", min=1, help="Seconds for the whole run [default: 300].")], None),
    ("allow_errors", Annotated[bool, typer.Option(
        "--allow-errors", help="Do not fail the gate on checks that could not run (errors).")], False),
    ("env_file", Annotated[Path | None, typer.Option(
        "--env-file", help="dotenv file for ${VAR} in the config [default: .env beside it].")], None),
    ("ca_bundle", Annotated[Path | None, typer.Option("--ca-bundle", help="PEM file of CAs to trust for the target.")], None),
    ("resolver", Annotated[str | None, typer.Option(
        "--resolver", help="DNS resolver IP[:PORT] for the dns checks [default: the system's].")], None),
    ("verbose", Annotated[bool, typer.Option(
        "--verbose", "-v", help="Log every request (secrets masked) and show evidence.")], False),
)


@dataclass(frozen=True)
class ScanOptions:
    """What the user asked of a run, from the shared scanning flags (each None or empty when not given)."""

    url: str | None = None
    config: Path | None = None
    mode: str | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    profile: str | None = None
    fail_on: str | None = None
    max_requests: int | None = None
    rate: float | None = None
    timeout: float | None = None
    max_duration: float | None = None
    allow_errors: bool = False
    env_file: Path | None = None
    ca_bundle: Path | None = None
    resolver: str | None = None
    verbose: bool = False
    # Sections set from a command's own flags (`probe env --manifest`), merged under the file like other flags.
    sections: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any]) -> ScanOptions:
        """Raises UsageError for a flag value typer cannot check (--rate)."""
        mode, fail_on = flags["mode"], flags["fail_on"]
        return cls(
            url=flags["url"], config=flags["config"], mode=mode.value if mode else None,
            only=tuple(_split(flags["only"])), skip=tuple(_split(flags["skip"])), profile=flags["profile"],
            fail_on=fail_on.value if fail_on else None, max_requests=flags["max_requests"],
            rate=parse_rate(flags["rate"]), timeout=flags["timeout"], max_duration=flags["max_duration"],
            allow_errors=flags["allow_errors"], env_file=flags["env_file"], ca_bundle=flags["ca_bundle"],
            resolver=flags["resolver"], verbose=flags["verbose"],
        )

    def overrides(self) -> dict[str, object]:
        """Config keys from the flags; None means not given, so the file's value (or a profile's) stands."""
        return {
            "mode": self.mode,
            "fail_on": self.fail_on,
            "max_requests": self.max_requests,
            "rate": self.rate,
            "timeout": self.timeout,
            "max_duration": self.max_duration,
            "allow_errors": True if self.allow_errors else None,
            "ca_bundle": str(self.ca_bundle) if self.ca_bundle else None,
            "dns": {"resolver": self.resolver} if self.resolver else None,
            **self.sections,
        }


def scanning(fn: Callable[..., None]) -> Callable[..., None]:
    """A command that scans: typer sees the shared scanning options first, then the command's own parameters;
    the command receives them as one `ScanOptions` (its first parameter) plus its own."""
    own = list(inspect.signature(fn, eval_str=True).parameters.values())[1:]
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
              for name, annotation, default in SCAN_OPTIONS]

    @functools.wraps(fn)
    def command(**values: Any) -> None:
        flags = {name: values.pop(name) for name, _, _ in SCAN_OPTIONS}
        try:
            options = ScanOptions.from_flags(flags)
        except UsageError as exc:
            fail(str(exc))
        fn(options, **values)

    del command.__wrapped__  # typer must read the composed signature, not fn's
    params = [*shared, *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own)]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


@app.command()
@scanning
def scan(
    options: ScanOptions,
    formats: Annotated[list[str] | None, typer.Option("--format", "-f", help=FORMATS_HELP)] = None,
    targets: Annotated[Path | None, typer.Option(
        "--targets", help="Scan a fleet: a TOML file of [[targets]] (url and/or config, name, tags); see `Many apps`.")] = None,
    parallel: Annotated[int | None, typer.Option(
        "--parallel", min=1, help="With --targets: targets scanned at once [default: 4 per CPU].")] = None,
    shard: Annotated[str | None, typer.Option(
        "--shard", help="With --targets: scan only part INDEX/COUNT of the list (0-based, e.g. 0/4), split by name.")] = None,
) -> None:
    """Scan a URL (or a fleet of them, --targets) and report what an attacker or a confused user would find."""
    try:
        outputs = parse_formats(formats or [])
        if targets is None and (parallel is not None or shard is not None):
            raise UsageError("--parallel and --shard go with --targets FILE")
        if targets is not None and options.url:
            raise UsageError("give a URL or --targets FILE, not both (a URL belongs in the targets file)")
        part = parse_shard(shard)
        if targets is not None and any(fmt == "html" for fmt, _ in outputs):
            raise UsageError("--format: a fleet writes console, json, sarif, junit or markdown (html is one target's)")
    except UsageError as exc:
        fail(str(exc))
    if targets is not None:
        _run_fleet(options, outputs, targets, parallel, part)
    _run_scan(options, outputs)


def parse_shard(value: str | None) -> Shard | None:
    if value is None:
        return None
    from probe.fleet import Shard

    try:
        return Shard.parse(value)
    except ValueError as exc:
        raise UsageError(f"--shard: {exc}") from None


def _run_fleet(options: ScanOptions, outputs: list[tuple[str, str | None]], targets_file: Path, parallel: int | None,
               part: Shard | None) -> NoReturn:
    """Scan every target of the file (or of its shard) and write one fleet report per format; exit with the worst
    target's code (see probe.fleet), or 130 when interrupted."""
    from probe import api, fleet, profiles
    from probe.config import ConfigError
    from probe.registry import load

    _configure_logging(options.verbose)
    try:
        registry = load()
        everything = fleet.load_targets(targets_file)
        profile = profiles.get(options.profile) if options.profile else None
    except (ConfigError, profiles.UnknownProfile) as exc:
        fail(str(exc))
    chosen = fleet.shard(everything, part) if part else everything
    installed = {*registry.families, *(spec.id for spec in registry.specs)}
    selection = profiles.apply(profile, options.overrides(), options.only, installed)

    def plan_for(target: fleet.Target) -> api.Plan:
        plan = api.plan(target=target.url, config_path=target.config or options.config, overrides=selection.overrides,
                        only=selection.only, skip=options.skip, env_file=options.env_file, registry=registry)
        if not plan.specs:
            raise ConfigError("no checks to run: the selection (--only, --skip, --profile) left none")
        return plan

    collector = fleet.FleetCollector(parallel=parallel or fleet.default_parallel(), shard=part)
    code = EXIT_OK
    with _FleetProgress(len(chosen)) as progress:
        try:
            report = api.execute_coroutine(fleet.scan_fleet(chosen, plan_for, collector, on_start=progress.started,
                                                            on_done=progress.finished))
        except KeyboardInterrupt:
            report = collector.report(interrupted=True)
            code = EXIT_INTERRUPTED
    _write_fleet(report, outputs)
    raise typer.Exit(code or report.exit_code)


def _write_fleet(report: FleetReport, outputs: list[tuple[str, str | None]]) -> None:
    from probe.reporters import fleet as fleet_report

    for fmt, path in outputs:
        if fmt == "console" and path is None:
            from rich.console import Console

            Console(width=console_width()).print(fleet_report.renderable(report))
            continue
        _emit(fleet_report.render(report, fmt), fmt, path, "fleet report")


class _FleetProgress:
    """While a fleet runs: on a terminal, a live table of the targets in flight and those finished; elsewhere (CI
    logs) one plain line per finished target."""

    def __init__(self, total: int) -> None:
        self.tty = sys.stderr.isatty()
        self.total = total
        self.running: list[str] = []
        self.done: list[Outcome] = []
        self._live: Any = None

    def __enter__(self) -> _FleetProgress:
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._view(), console=Console(stderr=True), refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def _view(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        from probe.reporters import fleet as fleet_report

        finished = sorted(self.done, key=lambda o: o.target.name)
        title = f"probe fleet: {len(self.done)}/{self.total} done"
        status = Text("scanning: " + (", ".join(self.running) or "-"), overflow="ellipsis", no_wrap=True)
        return Group(fleet_report.table(finished, title=title), status)

    def started(self, target: Target) -> None:
        self.running.append(target.name)
        if self._live is not None:
            self._live.update(self._view())

    def finished(self, outcome: Outcome) -> None:
        self.running.remove(outcome.target.name)
        self.done.append(outcome)
        if self._live is not None:
            self._live.update(self._view())
        else:
            from probe.reporters.fleet import finished_line

            print(finished_line(outcome, len(self.done), self.total), file=sys.stderr, flush=True)


@app.command()
def merge(
    reports: Annotated[list[Path], typer.Argument(help="probe-fleet/1 JSON reports (the shards of one fleet).")],
    formats: Annotated[list[str] | None, typer.Option("--format", "-f", help=FORMATS_HELP.replace(", html", ""))] = None,
) -> None:
    """Combine shard reports (probe scan --targets --shard ... --format json=...) into one fleet report; exit with the
    worst target's code, as the unsharded run would."""
    try:
        outputs = parse_formats(formats or [])
        if any(fmt == "html" for fmt, _ in outputs):
            raise UsageError("--format: a fleet writes console, json, sarif, junit or markdown (html is one target's)")
    except UsageError as exc:
        fail(str(exc))
    from probe import fleet
    from probe.registry import load
    from probe.reporters import fleet as fleet_report

    infos = {spec.id: spec.info for spec in load().specs}
    try:
        merged = fleet.merge([fleet_report.read(path, infos) for path in reports])
    except (ValueError, fleet.MergeError) as exc:
        fail(str(exc))
    _write_fleet(merged, outputs)
    raise typer.Exit(merged.exit_code)


# What a command does with the finished report: (report, settings, complete). `complete` is False when the
# run was interrupted or the target could not be scanned; reports are still written then, a baseline not.
Writer = Callable[["Report", "Settings", bool], None]


def _run_scan(
    options: ScanOptions,
    outputs: list[tuple[str, str | None]],
    *,
    environ: dict[str, str] | None = None,
    write: Writer | None = None,
    gate: bool = True,
) -> None:
    """Plan, run and write; exits 0/1 (the gate, or 0 when `gate` is off), 2, 3 or 130."""
    from probe import api, profiles
    from probe.config import ConfigError
    from probe.registry import load
    from probe.runner import ConfigProblem, TargetUnreachable

    _configure_logging(options.verbose)

    def write_reports(report: Report, settings: Settings, complete: bool) -> None:
        _write_reports(report, outputs, settings.fail_on, settings.allow_errors, options.verbose)

    writer = write or write_reports
    try:
        registry = load()
        installed = {*registry.families, *(spec.id for spec in registry.specs)}
        profile = profiles.get(options.profile) if options.profile else None
        chosen = profiles.apply(profile, options.overrides(), options.only, installed)
        plan = api.plan(
            target=options.url,
            config_path=options.config,
            overrides=chosen.overrides,
            only=chosen.only,
            skip=options.skip,
            env_file=options.env_file,
            environ=environ,
            registry=registry,
        )
    except (ConfigError, profiles.UnknownProfile) as exc:
        fail(str(exc))
    settings = plan.loaded.settings
    if not plan.specs:
        fail("no checks to run: none are installed or the selection (--only, --skip, --profile) left none; "
             "see `probe checks`")
    if not settings.target and any(s.info.needs_target for s in plan.specs) and not options.only:
        fail("no target: give a URL (probe scan https://staging.example.com) or set `target` in probe.toml")
    progress = _Progress()
    code = EXIT_OK
    try:
        with progress:
            report = api.execute(plan, progress.update)
    except TargetUnreachable as exc:
        writer(exc.report, settings, False)
        fail(f"cannot scan {settings.target}: {exc}", EXIT_UNREACHABLE)
    except ConfigProblem as exc:
        # A check met a configuration problem mid-run (a platform token refused): the report says so as an error
        # result, with everything else that finished, and the exit code is the usage error's.
        writer(exc.report, settings, False)
        fail(str(exc))
    except KeyboardInterrupt:
        report = plan.collector.report(interrupted=True)
        code = EXIT_INTERRUPTED
    writer(report, settings, code == EXIT_OK)
    if gate and code == EXIT_OK and report.gate_failures(settings.fail_on, settings.allow_errors):
        code = EXIT_FINDINGS
    raise typer.Exit(code)


def _write_reports(
    report: Report, outputs: list[tuple[str, str | None]], fail_on: Severity, allow_errors: bool, verbose: bool
) -> None:
    from probe import reporters

    for fmt, path in outputs:
        if fmt == "console" and path is None:
            from rich.console import Console

            from probe.reporters import console

            Console(width=console_width()).print(
                console.renderable(report, fail_on=fail_on, allow_errors=allow_errors, verbose=verbose))
            continue
        _emit(reporters.render(report, fmt, fail_on=fail_on, allow_errors=allow_errors), fmt, path)


# CI log viewers wrap long lines themselves; a report hard-wrapped at a guessed 80 columns is harder to read there.
PIPE_WIDTH = 240


def console_width() -> int | None:
    """The console report's width: the terminal's own on a terminal (None lets rich ask it); otherwise COLUMNS when
    set, else a wide line."""
    if sys.stdout.isatty():
        return None
    columns = os.environ.get("COLUMNS", "").strip()
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


def _emit(text: str, fmt: str, path: str | None, what: str = "report") -> None:
    """Text to standard output (no path or '-') or to a file, creating its folder."""
    if path in (None, "-"):
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        target = Path(path)  # type: ignore[arg-type]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot write the {fmt} {what} ({exc.strerror or exc})")
    print(f"probe: wrote {fmt} {what} to {path}", file=sys.stderr)


def _configure_logging(verbose: bool) -> None:
    import logging

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="probe: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _Progress:
    """A live status line on a terminal; one plain line per finished check elsewhere (CI logs)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._status: object = None

    def __enter__(self) -> _Progress:
        if self.tty:
            from rich.console import Console

            self._console = Console(stderr=True)
            self._status = self._console.status("probe: starting…")
            self._status.__enter__()  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)  # type: ignore[attr-defined]

    def update(self, p: Progress) -> None:
        statuses = ",".join(sorted({r.status.value for r in p.results}))
        if self.tty and self._status is not None:
            self._status.update(f"probe: {p.done}/{p.total} checks · {p.requests_sent} requests · {p.check}")  # type: ignore[attr-defined]
        else:
            print(f"probe: [{p.done}/{p.total}] {p.check}: {statuses} ({p.requests_sent} requests so far)", file=sys.stderr)


@app.command("checks")
def list_checks(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the check reference as Markdown (docs/checks.md).")] = False,
) -> None:
    """List every registered check: id, mode, default severity, what it tests."""
    from probe.registry import load

    registry = load()
    if markdown:
        from probe.docs import checks_markdown

        sys.stdout.write(checks_markdown(registry))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(registry.specs)} checks", show_lines=False)
    for column in ("id", "mode", "severity", "what it tests"):
        table.add_column(column)
    for spec in registry.specs:
        info = spec.info
        # Text, not markup: summaries name config tables like [cors], which rich would read as style tags.
        table.add_row(*(Text(cell) for cell in (info.id, "active" if info.active else "passive", info.severity.value,
                                                info.summary)))
    Console(width=console_width()).print(table)


@app.command()
def explain(check_id: Annotated[str, typer.Argument(help="A check id, e.g. headers.csp.")]) -> None:
    """What a check tests, why it matters, how to fix it."""
    from probe.docs import explain_text
    from probe.registry import load

    spec = load().get(check_id)
    if spec is None:
        fail(f"unknown check {check_id!r} (see `probe checks`)")
    print(explain_text(spec.info))


CHECKLIST_FORMATS = ("console", "markdown", "html")


@app.command()
@scanning
def checklist(
    options: ScanOptions,
    formats: Annotated[list[str] | None, typer.Option(
        "--format", "-f", help="console, markdown or html; FMT=PATH writes a file (repeatable).")] = None,
) -> None:
    """Scan, then list every known check by launch risk: passed, failed, or not run and what unlocks it."""
    try:
        outputs = parse_formats(formats or [])
        wrong = [fmt for fmt, _ in outputs if fmt not in CHECKLIST_FORMATS]
        if wrong:
            raise UsageError(f"--format: the checklist is {', '.join(CHECKLIST_FORMATS)}, not {wrong[0]!r}")
    except UsageError as exc:
        fail(str(exc))

    def write(report: Report, settings: Settings, complete: bool) -> None:
        from probe import checklist as cl
        from probe.registry import load
        from probe.reporters import checklist as text
        from probe.reporters import html

        built = cl.build(report, [spec.info for spec in load().specs], fail_on=settings.fail_on,
                         allow_errors=settings.allow_errors)
        renderers = {"console": text.render_text, "markdown": text.render_markdown, "html": html.render_checklist}
        for fmt, path in outputs:
            _emit(renderers[fmt](built), fmt, path, "checklist")

    _run_scan(options, outputs, write=write)


@app.command()
def init(
    url: Annotated[str | None, typer.Argument(help="The site to set up for (its framework and routes are detected).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the config.")] = Path("probe.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
    ca_bundle: Annotated[Path | None, typer.Option("--ca-bundle", help="PEM file of CAs to trust for the target.")] = None,
) -> None:
    """Write a commented probe.toml for URL: framework, log-in, webhooks, OpenAPI and env manifest found."""
    from probe import init as init_

    if output.exists() and not force:
        fail(f"{output} already exists: pass --force to overwrite it")
    from probe.config import ConfigError

    try:
        text, found = init_.generate(url, cwd=Path.cwd(), ca_bundle=str(ca_bundle) if ca_bundle else None)
    except (ValueError, ConfigError) as exc:
        fail(str(exc))
    for line in found:
        print(f"probe: {line}", file=sys.stderr)
    _emit(text, "toml", str(output), "config")


@app.command()
@scanning
def baseline(
    options: ScanOptions,
    reason: Annotated[str, typer.Option("--reason", help="Why these failures are accepted (stored with each entry).")] = "",
    expires: Annotated[str | None, typer.Option("--expires", help="Date the acceptance ends, YYYY-MM-DD.")] = None,
    days: Annotated[int | None, typer.Option("--days", min=1, max=3650, help="Or: accepted for N days [default: 90].")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Baseline file [default: probe-baseline.toml beside the config].")] = None,
) -> None:
    """Scan, then accept the current failures in probe-baseline.toml (kept entries stay; exit 0 once written)."""
    import datetime as dt

    if not reason.strip():
        fail("--reason: say why these failures are accepted (it is stored with each entry)")
    if expires is not None and days is not None:
        fail("--expires and --days: give one of them")
    until: dt.date | None = None
    if expires is not None:
        try:
            until = dt.date.fromisoformat(expires)
        except ValueError:
            fail(f"--expires: expected a date such as 2026-12-31, got {expires!r}")

    def write(report: Report, settings: Settings, complete: bool) -> None:
        from probe import baseline as baseline_file
        from probe.config import ConfigError

        if not complete:
            print("probe: baseline not written: the scan did not complete", file=sys.stderr)
            return
        if output is not None:
            path = output
        elif settings.baseline:
            path = Path(settings.baseline)
        else:
            path = (Path(report.config_path).parent if report.config_path else Path.cwd()) / baseline_file.DEFAULT_FILE
        today = report.started.date()
        ends = until or today + dt.timedelta(days=days or baseline_file.DEFAULT_DAYS)
        if ends <= today:
            fail(f"--expires: {ends} is not in the future")
        try:
            existing = baseline_file.load(path) if path.is_file() else ()
        except ConfigError as exc:
            fail(str(exc))
        text = baseline_file.render(report, reason.strip(), ends, existing)
        _emit(text, "baseline", str(path), "file")
        entries = text.count("[[accept]]")
        print(f"probe: {entries} accepted risk(s) in {path} ({entries - len(existing)} new, until {ends})", file=sys.stderr)

    _run_scan(options, [], write=write, gate=False)


@app.command()
def demo(
    mode: Annotated[str, typer.Option(help="Which demo to scan: both, vulnerable or hardened.")] = "both",
) -> None:
    """Start the bundled demo app on loopback, scan it vulnerable then hardened, show the reports."""
    from importlib import resources

    modes = ("vulnerable", "hardened") if mode == "both" else (mode,)
    if any(m not in ("vulnerable", "hardened") for m in modes):
        fail("--mode: choose both, vulnerable or hardened")
    try:
        from probe.demo import running
    except ImportError as exc:
        fail(f"the demo app needs the demo extra: pip install 'deploy-probe[demo]' ({exc.name or exc} is missing)")
    config = Path(str(resources.files("probe.demo").joinpath("probe.toml")))
    codes: list[int] = []
    for which in modes:
        with running(which) as app_:
            print(f"\n=== probe demo: scanning the {which} demo app at {app_.url} ===\n", file=sys.stderr)
            environ = {**os.environ, **app_.env, "DEMO_WORKDIR": str(app_.workdir)}
            try:
                _run_scan(ScanOptions(url=app_.url, config=config, mode="active"), [("console", None)], environ=environ)
            except typer.Exit as done:
                codes.append(done.exit_code)
    print(f"\nprobe demo: exit codes {dict(zip(modes, codes, strict=True))} (1 = findings at or above high)", file=sys.stderr)


@app.command()
def schema(
    fleet: Annotated[bool, typer.Option("--fleet", help="The fleet report's schema (probe-fleet/1) instead.")] = False,
) -> None:
    """Print the JSON Schema of the JSON report (probe-report/1), for tools that read the reports."""
    if fleet:
        from probe.reporters.fleet import schema_text as fleet_schema

        sys.stdout.write(fleet_schema())
        return
    from probe.reporters.json import schema_text

    sys.stdout.write(schema_text())


@app.command("env")
def env_command(
    manifest: Annotated[Path | None, typer.Option("--manifest", help="The env manifest [default: ./.env.example].")] = None,
    deployed: Annotated[list[str] | None, typer.Option(
        "--deployed", help="Deployed environment: dotenv:PATH, process, command:CMD, vercel:PROJECT[:TARGET], heroku:APP "
        "... (repeatable).")] = None,
    environment: Annotated[str | None, typer.Option("--environment", help="Which rules apply [default: production].")] = None,
    compare: Annotated[tuple[str, str] | None, typer.Option("--compare", help="Two environments to check for shared "
                                                            "secrets, e.g. staging=dotenv:.env.staging production.")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="probe.toml (its [env] section).")] = None,
    env_file: Annotated[Path | None, typer.Option(
        "--env-file", help="dotenv file for ${VAR} in the config [default: .env beside it].")] = None,
    formats: Annotated[list[str] | None, typer.Option("--format", "-f", help="console, json, sarif, junit, markdown; "
                                                      "FMT=PATH writes a file (repeatable).")] = None,
    fail_on: Annotated[SeverityOpt | None, typer.Option("--fail-on", help="Exit 1 on a failure at or above this "
                                                        "severity [default: high].")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show evidence.")] = False,
) -> None:
    """Compare the env manifest with the deployed environment: missing, empty, placeholder, test and weak values."""
    try:
        outputs = parse_formats(formats or [])
    except UsageError as exc:
        fail(str(exc))
    section = {
        "manifest": str(manifest) if manifest else None,
        "deployed": list(deployed) if deployed else None,
        "environment": environment,
        "compare": list(compare) if compare else None,
    }
    options = ScanOptions(config=config, only=("env",), fail_on=fail_on.value if fail_on else None, env_file=env_file,
                          verbose=verbose, sections={"env": section})
    _run_scan(options, outputs)


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        print("probe: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except typer.TyperException as exc:
        # Bad flags and values: one line, like every other usage error, instead of a usage screen.
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        print(f"probe: error: {message}", file=sys.stderr)
        code = EXIT_USAGE
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":
    main()
