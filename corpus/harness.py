"""Plumbing shared by the corpus runner and the apps' deploy scripts: installs, processes, loopback HTTP, PostgreSQL.

Standard library only, so the runner works with nothing but probe's own virtualenv. Every wait is bounded and every
process started here is tracked, so the runner can stop all of them whatever happened.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
CORPUS = Path(__file__).resolve().parent
INSTALL_TIMEOUT_S = 900.0
START_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0


class CorpusError(Exception):
    """A step of setting an app up failed; the message says which and where its log is."""


def free_port() -> int:
    """A port nobody listens on right now (the app binds it a moment later; a clash fails loudly at start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def basic_auth(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


# --- installs --------------------------------------------------------------------------------------------------------


def _stamp_matches(stamp: Path, digest: str) -> bool:
    return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == digest


def _digest(*files: Path) -> str:
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.read_bytes())
    return sha.hexdigest()


def run_logged(argv: Sequence[str], log: Path, *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
               timeout: float = INSTALL_TIMEOUT_S) -> None:
    """Run a command to completion, its output appended to `log`; a failure names the command and the log."""
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        try:
            done = subprocess.run(argv, cwd=cwd, env=None if env is None else {**os.environ, **env}, stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise CorpusError(f"{argv[0]} did not finish within {timeout:.0f} s (log: {log})") from None
    if done.returncode != 0:
        raise CorpusError(f"{' '.join(argv[:3])} exited {done.returncode} (log: {log})")


def install_python(install_dir: Path, requirements: Path, log: Path) -> Path:
    """A virtualenv of its own with the pinned requirements; reused while the pin file is unchanged. Returns its bin/."""
    venv = install_dir / "venv"
    stamp = install_dir / "installed.sha256"
    digest = _digest(requirements)
    if not _stamp_matches(stamp, digest):
        shutil.rmtree(install_dir, ignore_errors=True)
        install_dir.mkdir(parents=True)
        run_logged([sys.executable, "-m", "venv", str(venv)], log)
        run_logged([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-input", "-r", str(requirements)], log)
        stamp.write_text(digest + "\n", encoding="utf-8")
    return venv / "bin"


def install_node(install_dir: Path, app_dir: Path, log: Path) -> Path:
    """`npm ci` from the app's package.json and lock file; reused while they are unchanged. Returns node_modules/.bin."""
    manifest, lock = app_dir / "package.json", app_dir / "package-lock.json"
    stamp = install_dir / "installed.sha256"
    digest = _digest(manifest, lock)
    if not _stamp_matches(stamp, digest):
        shutil.rmtree(install_dir, ignore_errors=True)
        install_dir.mkdir(parents=True)
        shutil.copy(manifest, install_dir / "package.json")
        shutil.copy(lock, install_dir / "package-lock.json")
        run_logged(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], log, cwd=install_dir)
        stamp.write_text(digest + "\n", encoding="utf-8")
    return install_dir / "node_modules" / ".bin"


# --- processes -------------------------------------------------------------------------------------------------------


@dataclass
class Processes:
    """Every long-running process the corpus starts, each in its own process group so its children stop with it."""

    running: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], *, log: Path, cwd: Path | None = None,
              env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        out = log.open("ab")
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=None if env is None else {**os.environ, **env}, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            out.close()
        self.running.append((name, proc))
        return proc

    def stop_all(self) -> list[str]:
        """Stops every process, newest first (servers before what they depend on); returns what had to be killed."""
        killed: list[str] = []
        while self.running:
            name, proc = self.running.pop()
            if not stop_group(proc):
                killed.append(name)
        return killed


def stop_group(proc: subprocess.Popen[bytes]) -> bool:
    """SIGTERM to the process group, SIGKILL after a grace period. True when it stopped on SIGTERM."""
    if proc.poll() is not None:
        return True
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=STOP_GRACE_S)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_GRACE_S)
        return False
    except ProcessLookupError:
        return True


# --- HTTP on loopback ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def request(method: str, url: str, *, json_body: Any = None, form: Mapping[str, str] | None = None,
            headers: Mapping[str, str] | None = None, timeout: float = 15.0) -> Reply:
    """One request to a loopback server; never follows redirects, never raises on an HTTP status."""
    if urllib.parse.urlsplit(url).hostname != LOOPBACK:
        raise CorpusError(f"refusing to send a request off loopback: {url}")
    data: bytes | None = None
    sent = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode()
        sent.setdefault("Content-Type", "application/json")
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
    req = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return Reply(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers.items()), exc.read())


def expect(reply: Reply, what: str, *statuses: int) -> Reply:
    if reply.status not in statuses:
        raise CorpusError(f"{what}: expected HTTP {'/'.join(map(str, statuses))}, got {reply.status}: {reply.body[:300]!r}")
    return reply


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, *, timeout: float = START_TIMEOUT_S,
              ready: Callable[[Reply], bool] = lambda reply: reply.status < 500) -> None:
    """Poll until the server answers as `ready` says; fail early if it exits, and after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CorpusError(f"server exited with {proc.returncode} before answering {url} (log: {log})")
        try:
            if ready(request("GET", url, timeout=5.0)):
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    raise CorpusError(f"{url} did not answer within {timeout:.0f} s (log: {log})")


# --- PostgreSQL ------------------------------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The directory of initdb/pg_ctl: on PATH, else Debian's versioned folder."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


def ensure_postgres(log: Path) -> Path:
    """PostgreSQL's binaries, installing Debian's package when they are missing and we may (root, as in CI)."""
    found = postgres_bin()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        run_logged(["apt-get", "update", "-q"], log)
        run_logged(["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"], log,
                   env={"DEBIAN_FRONTEND": "noninteractive"})
        found = postgres_bin()
    if found is None:
        raise CorpusError("PostgreSQL is not installed (initdb not found) and could not be installed")
    return found


@dataclass
class Postgres:
    """A private cluster in a temp dir on a free loopback port, trust auth, stopped by `stop` whatever happened.

    Mutable on purpose: `start` picks the port and `stop` must know whether there is anything to stop.
    """

    bindir: Path
    root: Path
    log: Path
    port: int = 0
    started: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _as_owner(self, argv: list[str]) -> list[str]:
        # PostgreSQL refuses to run as root: run its tools as the `postgres` OS user then.
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        run_logged(self._as_owner([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                                   "-E", "UTF8", "--no-sync"]), self.log, timeout=120)
        self.port = free_port()
        options = f"-p {self.port} -k {self.root} -c listen_addresses={LOOPBACK} -c fsync=off"
        self.started = True
        run_logged(self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                                   str(self.root / "server.log"), "-w", "-t", "60", "start"]), self.log, timeout=90)

    def create_database(self, name: str) -> str:
        run_logged([str(self.bindir / "createdb"), "-h", LOOPBACK, "-p", str(self.port), "-U", "postgres", name],
                   self.log, timeout=60)
        return f"postgresql://postgres@{LOOPBACK}:{self.port}/{name}"

    def stop(self) -> None:
        if self.started:
            self.started = False
            run_logged(self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60",
                                       "stop"]), self.log, timeout=90)


# --- what an app's deploy script gets and gives back -----------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    name: str
    summary: str  # how this setup differs, for the README and the summary table


@dataclass(frozen=True)
class AppInfo:
    name: str
    version: str
    source: str  # "PyPI" or "npm": where setup installs it from
    setups: tuple[Setup, ...]
    needs_postgres: bool = False


@dataclass(frozen=True)
class Context:
    app_dir: Path  # the app's committed files (probe.toml, expected.toml, pins)
    install_dir: Path  # its git-ignored install (venv or node_modules), kept between runs
    run_dir: Path  # a temp dir for this setup only: config and data; probe runs here
    log_dir: Path  # kept after the run (beside the reports) so a failure's log can be read
    setup: str
    processes: Processes
    postgres: Postgres | None
    say: Callable[[str], None]

    @property
    def log(self) -> Path:
        return self.log_dir / "server.log"


def install_pinned(ctx: Context) -> None:
    """Install the app from its pin files: a venv from `requirements.txt`, else `npm ci` from `package.json` and
    `package-lock.json`."""
    log = ctx.log_dir / "install.log"
    if (ctx.app_dir / "requirements.txt").is_file():
        install_python(ctx.install_dir, ctx.app_dir / "requirements.txt", log)
    elif (ctx.app_dir / "package.json").is_file():
        install_node(ctx.install_dir, ctx.app_dir, log)
    else:
        raise CorpusError(f"{ctx.app_dir.name}: no requirements.txt or package.json to install from")


@dataclass(frozen=True)
class Deployment:
    target: str  # the URL probe scans
    env: Mapping[str, str]  # the ${VAR}s the app's probe.toml reads: accounts' credentials, ids
