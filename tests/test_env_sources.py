"""The deployed-environment adapters: every platform against its loopback look-alike (paging, 429 with
Retry-After, refused token), and the local sources (dotenv, process, command with kubectl/heroku/fly output)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fixtures.platforms import fly, github, heroku, netlify, railway, render, vercel
from fixtures.serve import serve_wsgi
from probe import api
from probe.checks.env.sources import Deployed, SourceError, SourceOptions, load, parse_command_output, parse_spec
from probe.config import ConfigError
from probe.http import HttpClient, Scope, ScopedHttp
from probe.model import Severity, Status
from probe.redact import Redactor
from tests.helpers import expect, scan

TOKEN = "tok_" + secrets.token_hex(16)


def options(base: dict[str, str], environ: dict[str, str], redactor: Redactor | None = None,
            budget: float = 20.0) -> SourceOptions:
    return SourceOptions(
        environ=environ, endpoints=base, environment="production", timeout=5.0, deadline=time.monotonic() + budget,
        command_timeout=20.0, cwd=Path.cwd(), register=(redactor or Redactor()).add,
    )


def read(source: str, platform: str, url: str, environ: dict[str, str], redactor: Redactor | None = None,
         budget: float = 20.0) -> Deployed:
    """One platform source read through a client scoped to its look-alike, as a run reads it."""

    async def go() -> Deployed:
        shown = redactor or Redactor()
        client = HttpClient(scope=Scope(url), redactor=shown, user_agent="probe-test", max_requests=1000, rate=1000.0,
                            timeout=5.0, max_bytes=2_000_000, per_host=4, deadline=time.monotonic() + budget)
        try:
            opts = replace(options({platform: url}, environ, shown, budget), http=ScopedHttp(client, "env", ""))
            return await load(parse_spec(source), opts)
        finally:
            await client.aclose()

    return asyncio.run(go())


def values(deployed: Deployed) -> dict[str, str | None]:
    return {name: var.value for name, var in deployed.vars.items()}


VERCEL_ENVS = [
    {"key": "DATABASE_URL", "value": "postgres://db.acme.test/app", "type": "encrypted", "target": ["production", "preview"]},
    {"key": "STRIPE_SECRET_KEY", "value": "sk_live_" + secrets.token_hex(12), "type": "sensitive", "target": ["production"]},
    {"key": "NEXT_PUBLIC_API_URL", "value": "https://api.acme.test", "type": "plain", "target": ["production"]},
    {"key": "PREVIEW_ONLY", "value": "x", "type": "plain", "target": ["preview"]},
    {"key": "DEBUG", "value": "false", "type": "plain", "target": "production"},
]


@pytest.fixture(scope="module")
def vercel_api() -> Iterator[tuple[str, Any]]:
    app = vercel.create_app(TOKEN, "acme-web", VERCEL_ENVS, team="team_acme", page_size=2, rate_limit_first=True)
    with serve_wsgi(app) as url:
        yield url, app


def test_vercel_pages_filters_target_and_keeps_sensitive_hidden(vercel_api: tuple[str, Any]) -> None:
    url, app = vercel_api
    redactor = Redactor()
    started = time.monotonic()
    found = read("vercel:acme-web", "vercel", url, {"VERCEL_TOKEN": TOKEN, "VERCEL_TEAM_ID": "team_acme"}, redactor=redactor)
    assert time.monotonic() - started >= 0.9  # waited out the Retry-After: 1 of the first answer
    assert values(found) == {"DATABASE_URL": "postgres://db.acme.test/app", "STRIPE_SECRET_KEY": None,
                             "NEXT_PUBLIC_API_URL": "https://api.acme.test", "DEBUG": "false"}
    assert "sensitive" in found.vars["STRIPE_SECRET_KEY"].hidden
    # One 429, three pages of two, and one read of the one encrypted production value: the list never decrypts.
    assert app.config["hits"] == 1 + 3 + 1 and app.config["decrypted"] == 1
    # The platform token is a secret; values are judged secret or not by the env family (tests/test_env.py).
    assert TOKEN in redactor and "postgres://db.acme.test/app" not in redactor
    preview = read("vercel:acme-web:preview", "vercel", url, {"VERCEL_TOKEN": TOKEN, "VERCEL_TEAM_ID": "team_acme"})
    assert set(preview.vars) == {"DATABASE_URL", "PREVIEW_ONLY"}


def test_vercel_refused_token_is_a_config_error(vercel_api: tuple[str, Any]) -> None:
    url, _ = vercel_api
    with pytest.raises(ConfigError, match=r"refused the token in VERCEL_TOKEN \(403"):
        read("vercel:acme-web", "vercel", url, {"VERCEL_TOKEN": "wrong", "VERCEL_TEAM_ID": "team_acme"})
    with pytest.raises(ConfigError, match="not found"):
        read("vercel:other", "vercel", url, {"VERCEL_TOKEN": TOKEN, "VERCEL_TEAM_ID": "team_acme"})
    with pytest.raises(ConfigError, match="needs an API token in VERCEL_TOKEN"):
        read("vercel:acme-web", "vercel", url, {})


def test_retry_after_longer_than_the_budget_is_an_error() -> None:
    app = heroku.create_app(TOKEN, "acme", {"A": "1"}, rate_limit_first=True)
    with serve_wsgi(app) as url, pytest.raises(SourceError, match="rate limit"):
        read("heroku:acme", "heroku", url, {"HEROKU_API_KEY": TOKEN}, budget=0.5)


def test_netlify_follows_link_paging_and_hides_secret_values() -> None:
    envs = [
        {"key": "API_URL", "is_secret": False, "values": [{"id": "1", "value": "https://api.acme.test", "context": "all"}]},
        {"key": "SESSION_SECRET", "is_secret": True, "values": [{"id": "2", "value": "s" * 40, "context": "production"}]},
        {"key": "FEATURE", "is_secret": False, "values": [{"id": "3", "value": "off", "context": "production"},
                                                         {"id": "4", "value": "on", "context": "deploy-preview"}]},
    ]
    app = netlify.create_app(TOKEN, "acme-site", "acct_1", envs, page_size=2, rate_limit_first=True)
    with serve_wsgi(app) as url:
        found = read("netlify:acme-site", "netlify", url, {"NETLIFY_AUTH_TOKEN": TOKEN})
        with pytest.raises(ConfigError, match="NETLIFY_AUTH_TOKEN"):
            read("netlify:acme-site", "netlify", url, {"NETLIFY_AUTH_TOKEN": "nope"})
    assert values(found) == {"API_URL": "https://api.acme.test", "SESSION_SECRET": None, "FEATURE": "off"}
    assert app.config["hits"] >= 1 + 1 + 2  # 429, site, two env pages


def test_render_follows_cursors() -> None:
    variables = {f"VAR_{i}": f"value-{i}" for i in range(205)}
    app = render.create_app(TOKEN, "srv-abc", variables, rate_limit_first=True)
    with serve_wsgi(app) as url:
        found = read("render:srv-abc", "render", url, {"RENDER_API_KEY": TOKEN})
        with pytest.raises(ConfigError, match="RENDER_API_KEY"):
            read("render:srv-abc", "render", url, {"RENDER_API_KEY": "nope"})
    assert values(found) == variables
    assert app.config["hits"] >= 1 + 3


def test_heroku_config_vars() -> None:
    app = heroku.create_app(TOKEN, "acme", {"DATABASE_URL": "postgres://h.acme.test/db", "DEBUG": "false"},
                            rate_limit_first=True)
    with serve_wsgi(app) as url:
        found = read("heroku:acme", "heroku", url, {"HEROKU_API_KEY": TOKEN})
        with pytest.raises(ConfigError, match=r"HEROKU_API_KEY \(401: Invalid credentials"):
            read("heroku:acme", "heroku", url, {"HEROKU_API_KEY": "nope"})
        with pytest.raises(ConfigError, match="not found"):
            read("heroku:other", "heroku", url, {"HEROKU_API_KEY": TOKEN})
    assert values(found) == {"DATABASE_URL": "postgres://h.acme.test/db", "DEBUG": "false"}


def test_railway_graphql_variables_and_refusal_in_a_200() -> None:
    app = railway.create_app(TOKEN, "proj-1", "env-1", {"PORT": "8080", "API_URL": "https://api.acme.test"},
                             rate_limit_first=True)
    with serve_wsgi(app) as url:
        found = read("railway:proj-1:env-1", "railway", url, {"RAILWAY_API_TOKEN": TOKEN})
        with pytest.raises(ConfigError, match="Not Authorized"):
            read("railway:proj-1:env-1", "railway", url, {"RAILWAY_API_TOKEN": "nope"})
    assert values(found) == {"PORT": "8080", "API_URL": "https://api.acme.test"}


def test_fly_names_and_digests_only() -> None:
    app = fly.create_app(TOKEN, "acme", {"SECRET_KEY": "k" * 40, "DATABASE_URL": "postgres://f.acme.test/db"},
                         rate_limit_first=True)
    with serve_wsgi(app) as url:
        found = read("fly:acme", "fly", url, {"FLY_API_TOKEN": TOKEN})
        with pytest.raises(ConfigError, match="FLY_API_TOKEN"):
            read("fly:acme", "fly", url, {"FLY_API_TOKEN": "nope"})
    assert values(found) == {"SECRET_KEY": None, "DATABASE_URL": None}
    assert found.vars["SECRET_KEY"].digest == fly.digest("k" * 40)


def test_github_secrets_and_variables_with_environment_and_paging() -> None:
    app = github.create_app(
        TOKEN, "acme/web", secrets=[f"SECRET_{i}" for i in range(150)], variables={f"VAR_{i}": str(i) for i in range(40)},
        environment="production", env_secrets=["DEPLOY_KEY"], env_variables={"VAR_1": "overridden"}, rate_limit_first=True,
    )
    with serve_wsgi(app) as url:
        found = read("github:acme/web:production", "github", url, {"GITHUB_TOKEN": TOKEN})
        with pytest.raises(ConfigError, match="Bad credentials"):
            read("github:acme/web", "github", url, {"GH_TOKEN": "nope"})
    assert len([n for n in found.vars if n.startswith("SECRET_")]) == 150
    assert len([n for n in found.vars if n.startswith("VAR_")]) == 40
    assert found.vars["SECRET_7"].value is None and found.vars["DEPLOY_KEY"].value is None
    assert found.vars["VAR_1"].value == "overridden" and found.vars["VAR_39"].value == "39"


def test_github_reads_the_organisation_entries_the_repository_sees() -> None:
    """Organisation secrets and variables shared with the repository are deployed too; the repository's own win."""
    app = github.create_app(TOKEN, "acme/web", secrets=["REPO_SECRET"], variables={"SHARED": "repo"},
                            org_secrets=["ORG_SENTRY_DSN"], org_variables={"ORG_REGION": "eu", "SHARED": "org"})
    with serve_wsgi(app) as url:
        found = read("github:acme/web", "github", url, {"GITHUB_TOKEN": TOKEN})
    assert set(found.vars) == {"REPO_SECRET", "SHARED", "ORG_SENTRY_DSN", "ORG_REGION"}
    assert found.vars["ORG_SENTRY_DSN"].value is None and found.vars["ORG_REGION"].value == "eu"
    assert found.vars["SHARED"].value == "repo"


def test_hidden_values_are_skipped_not_passed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A whole scan on a platform source: presence is judged; value rules skip what the source hides."""
    manifest = tmp_path / ".env.example"
    manifest.write_text("SECRET_KEY=\nDATABASE_URL=\nMAIL_FROM=\n")
    app = fly.create_app(TOKEN, "acme", {"SECRET_KEY": "k" * 40, "DATABASE_URL": "postgres://f.acme.test/db"})
    monkeypatch.setenv("FLY_API_TOKEN", TOKEN)
    with serve_wsgi(app) as url:
        report = scan(None, only=["env"], env={"manifest": str(manifest), "deployed": ["fly:acme"], "api": {"fly": url}})
    [missing] = expect(report, "env.missing", "fail")
    assert missing.location == "env:production/MAIL_FROM"
    [weak] = expect(report, "env.weak-secret", "skip")
    assert "SECRET_KEY" in weak.detail and "write-only" in weak.detail
    assert TOKEN not in repr(report)


def test_refused_token_stops_the_scan_with_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    app = heroku.create_app(TOKEN, "acme", {"A": "1"})
    monkeypatch.setenv("HEROKU_API_KEY", "wrong-" + secrets.token_hex(8))
    with serve_wsgi(app) as url:
        plan = api.plan(only=["env"], overrides={"env": {"deployed": ["heroku:acme"], "api": {"heroku": url}}}, environ={})
        with pytest.raises(ConfigError, match="HEROKU_API_KEY"):
            api.execute(plan)
    # The report written with what was gathered says the source failed: an error, never a clean run.
    gathered = plan.collector.report()
    assert gathered.summary.error >= 1 and gathered.gate_failures(Severity.HIGH)
    assert any(r.status is Status.ERROR and "HEROKU_API_KEY" in r.detail for r in gathered.results)


# --- local sources -------------------------------------------------------------------------------------------


def run_local(source: str, environ: dict[str, str] | None = None) -> Deployed:
    return asyncio.run(load(parse_spec(source), options({}, environ or {})))


def kubectl_secret(data: dict[str, str]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web"}, "type": "Opaque",
                       "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})


def python_printing(text: str) -> str:
    return f"command:{sys.executable} -c 'import sys; sys.stdout.write(sys.argv[1])' '{text}'"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (kubectl_secret({"SECRET_KEY": "abc123", "DATABASE_URL": "postgres://k"}), {"SECRET_KEY": "abc123", "DATABASE_URL": "postgres://k"}),
        (json.dumps({"DEBUG": "false", "PORT": 8080, "FLAG": True}), {"DEBUG": "false", "PORT": "8080", "FLAG": "true"}),
        (json.dumps([{"name": "SECRET_KEY", "digest": "d1", "created_at": "x"}]), {"SECRET_KEY": None}),
        ("A=1\nexport B='two words'\n# comment\n", {"A": "1", "B": "two words"}),
    ],
    ids=["kubectl-secret", "heroku-config-json", "fly-secrets-list-json", "dotenv"],
)
def test_command_output_shapes(output: str, expected: dict[str, str | None]) -> None:
    assert values(parse_command_output("command:x", output)) == expected


def test_command_source_runs_the_command() -> None:
    found = run_local(python_printing(kubectl_secret({"JWT_SECRET": "j" * 40})))
    assert values(found) == {"JWT_SECRET": "j" * 40}
    with pytest.raises(SourceError, match="exited with status"):
        run_local(f"command:{sys.executable} -c 'raise SystemExit(3)'")
    with pytest.raises(ConfigError, match="cannot run"):
        run_local("command:/nonexistent/kubectl get secret web -o json")


def test_process_and_dotenv_sources(tmp_path: Path) -> None:
    process = run_local("process", {"SECRET_KEY": "s", "PATH": "/bin"})
    assert values(process) == {"SECRET_KEY": "s", "PATH": "/bin"} and not process.app_only
    path = tmp_path / "prod.env"
    path.write_text("A=1\nB=\n")
    assert values(run_local(f"dotenv:{path}")) == {"A": "1", "B": ""}
    labelled = parse_spec(f"staging=dotenv:{path}")
    assert labelled.label == "staging" and labelled.kind == "dotenv"


@pytest.mark.parametrize("bad", ["s3:bucket", "vercel:", "railway:only-project", "github:no-slash"])
def test_bad_specs(bad: str) -> None:
    make: Callable[[], Any] = lambda: run_local(bad)  # noqa: E731
    with pytest.raises(ConfigError):
        make()


def test_refused_token_is_an_error_in_every_report_and_never_passed(vercel_api: tuple[str, Any], tmp_path: Path) -> None:
    """`probe env` with a bad platform token: exit 2 with one line, and every report format carries the error result,
    so neither a tool reading the JSON nor a person reading the console sees a clean run."""
    url, _ = vercel_api
    (tmp_path / ".env.example").write_text("DATABASE_URL=\n")
    (tmp_path / "probe.toml").write_text(f'[env]\napi = {{ vercel = "{url}" }}\n')
    env = {**os.environ, "VERCEL_TOKEN": "not-the-token", "NO_COLOR": "1"}
    ran = subprocess.run([sys.executable, "-m", "probe", "env", "--deployed", "vercel:acme-web", "-f", "console",
                          "-f", "json=report.json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert ran.returncode == 2, ran.stderr
    assert "PASSED" not in ran.stdout and "refused the token" in ran.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    errors = [r for r in report["results"] if r["status"] == "error"]
    assert errors and "refused the token in VERCEL_TOKEN" in errors[0]["detail"]
    assert ran.stderr.strip().splitlines()[-1].startswith("probe: error: env.deployed: vercel:acme-web: the vercel API refused")
