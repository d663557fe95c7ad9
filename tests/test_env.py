"""The env family: the demo app's manifest and deployed environment (vulnerable and hardened twins), dotenv
twins for the rules the demo does not exercise, the manifest parser, and `probe env` from the command line."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from probe.checks.env.manifest import load_manifest, parse_dotenv_manifest
from probe.checks.env.rules import SECRET_NAME, debug_flag, placeholder_reason, sandbox_marker
from probe.demo import Demo
from probe.model import Report, Status
from probe.redact import masked_inside_text
from tests.helpers import ROOT, expect, results_for, scan

DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"
DEPLOYED_IDS = ("env.missing", "env.empty", "env.placeholder", "env.test-credential", "env.localhost-url",
                "env.debug-flag", "env.weak-secret")


def demo_scan(demo: Demo) -> Report:
    environ = {**demo.env, "DEMO_WORKDIR": str(demo.workdir)}
    return scan(demo.url, only=["env", "secrets"], config=DEMO_CONFIG, environ=environ)


@pytest.fixture(scope="module")
def vulnerable_report(demo_vulnerable: Demo) -> Report:
    return demo_scan(demo_vulnerable)


@pytest.fixture(scope="module")
def hardened_report(demo_hardened: Demo) -> Report:
    return demo_scan(demo_hardened)


def test_demo_vulnerable_env_fails(vulnerable_report: Report) -> None:
    report = vulnerable_report
    expect(report, "env.missing", "fail")
    expect(report, "env.empty", "fail")
    expect(report, "env.placeholder", "fail")
    expect(report, "env.test-credential", "fail")
    expect(report, "env.localhost-url", "fail")
    expect(report, "env.debug-flag", "fail")
    expect(report, "env.weak-secret", "fail")
    missing = {r.location for r in results_for(report, "env.missing") if r.status is Status.FAIL}
    assert missing == {"env:production/MAIL_FROM"}  # SENTRY_DSN is `# optional`
    # The served bundle half: the pk_test_ key and the localhost API base, in the script itself.
    in_bundle = [r for r in results_for(report, "env.test-credential") if r.location.endswith("/static/app.js")]
    assert in_bundle and "publishable test key" in in_bundle[0].detail
    assert any(r.location.endswith("/static/app.js") for r in results_for(report, "env.localhost-url"))
    weak = {r.location: r.kind for r in results_for(report, "env.weak-secret")}
    # Both are published: "dev" (the Flask tutorial) and "secret123" (in the secret lists of checks/wordlists.py).
    assert weak == {"env:production/SECRET_KEY": "weak-secret:known-default",
                    "env:production/JWT_SECRET": "weak-secret:known-default"}


def test_demo_hardened_env_passes(hardened_report: Report) -> None:
    report = hardened_report
    expect(report, "env.missing", "pass")
    expect(report, "env.empty", "pass")
    expect(report, "env.placeholder", "pass")
    expect(report, "env.test-credential", "pass")
    expect(report, "env.localhost-url", "pass")
    expect(report, "env.debug-flag", "pass")
    expect(report, "env.weak-secret", "pass")
    expect(report, "env.public-secret", "pass")
    expect(report, "env.undeclared", "pass")
    expect(report, "env.unresolved", "pass")


def test_results_point_at_the_manifest_line(vulnerable_report: Report) -> None:
    [missing] = [r for r in results_for(vulnerable_report, "env.missing") if r.status is Status.FAIL]
    assert missing.file is not None and missing.file.path.endswith(".env.example")
    lines = (ROOT / "fixtures" / "demo" / ".env.example").read_text().splitlines()
    assert missing.file.line is not None and lines[missing.file.line - 1].startswith("MAIL_FROM=")


def test_secret_deployed_values_are_masked_and_the_others_shown(demo_vulnerable: Demo, vulnerable_report: Report) -> None:
    from dotenv import dotenv_values

    deployed = {k: v for k, v in dotenv_values(demo_vulnerable.deployed_env).items() if v}
    text = json.dumps(dataclasses.asdict(vulnerable_report), default=str)
    # Secret variables long enough to be masked inside text: never shown.
    hidden = [v for k, v in deployed.items() if SECRET_NAME.search(k) and masked_inside_text(v)]
    assert len(hidden) >= 3
    assert not [v for v in hidden if v in text]
    # Non-secrets are shown: the URL that is wrong, the flag that is on.
    assert deployed["NEXT_PUBLIC_API_URL"] in text and "DEBUG=true" in text


# --- dotenv twins for the rules the demo does not exercise ----------------------------------------------


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


MANIFEST = """\
# Postgres
DATABASE_URL=postgres://user:password@localhost:5432/app  # url
SESSION_SECRET=
# public
NEXT_PUBLIC_SUPABASE_ANON_KEY=
NEXT_PUBLIC_API_URL=https://api.example.com  # url
SUPPORT_EMAIL=you@example.com  # email
FEATURE_SIGNUPS=true  # bool optional
SENTRY_DSN=  # optional
"""


def supabase_jwt(role: str) -> str:
    import jwt

    return jwt.encode({"iss": "supabase", "ref": "abcdefghijklmnop", "role": role}, secrets.token_hex(32), algorithm="HS256")


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("env-twins")
    (tmp / ".env.example").write_text(MANIFEST)
    base = {
        "DATABASE_URL": f"postgres://app:{secrets.token_hex(12)}@db.internal.acme.test:5432/app",
        "SESSION_SECRET": secrets.token_urlsafe(48),
        "NEXT_PUBLIC_API_URL": "https://api.acme.test",
        "SUPPORT_EMAIL": "help@acme.test",
        "FEATURE_SIGNUPS": "true",
    }
    hardened = write_env(tmp / "hardened.env", {**base, "NEXT_PUBLIC_SUPABASE_ANON_KEY": supabase_jwt("anon")})
    vulnerable = write_env(tmp / "vulnerable.env", {
        **base,
        "NEXT_PUBLIC_SUPABASE_ANON_KEY": supabase_jwt("service_role"),
        "NEXT_PUBLIC_API_URL": "api.acme.test/v1",  # no scheme: not a URL
        "SUPPORT_EMAIL": "help-at-acme",
        "FEATURE_SIGNUPS": "maybe",
        "SESSION_SECRET": "${SESSION_SECRET_VALUE}",  # a compose-style reference nobody expanded
        "LEGACY_MAILGUN_KEY": "key-" + secrets.token_hex(16),
    })
    staging_shared = write_env(tmp / "staging-shared.env", {**base, "SESSION_SECRET": base["SESSION_SECRET"]})
    staging_own = write_env(tmp / "staging-own.env", {**base, "SESSION_SECRET": secrets.token_urlsafe(48)})
    return {"dir": tmp, "manifest": tmp / ".env.example", "hardened": hardened, "vulnerable": vulnerable,
            "staging_shared": staging_shared, "staging_own": staging_own}


def env_scan(twins: dict[str, Path], which: str, **extra: Any) -> Report:
    section = {"manifest": str(twins["manifest"]), "deployed": [f"dotenv:{twins[which]}"], **extra}
    return scan(None, only=["env"], env=section)


def test_dotenv_twin_vulnerable(twins: dict[str, Path]) -> None:
    report = env_scan(twins, "vulnerable")
    [public] = expect(report, "env.public-secret", "fail")
    assert "service_role" in public.detail
    expect(report, "env.undeclared", "fail")
    invalid = {r.location.rsplit("/", 1)[1] for r in expect(report, "env.invalid", "fail")}
    assert invalid == {"NEXT_PUBLIC_API_URL", "SUPPORT_EMAIL", "FEATURE_SIGNUPS"}
    [unresolved] = expect(report, "env.unresolved", "fail")
    assert unresolved.location == "env:production/SESSION_SECRET"
    assert report.requests_sent == 0


def test_dotenv_twin_hardened(twins: dict[str, Path]) -> None:
    report = env_scan(twins, "hardened")
    expect(report, "env.missing", "pass")
    expect(report, "env.empty", "pass")
    expect(report, "env.placeholder", "pass")
    expect(report, "env.weak-secret", "pass")
    expect(report, "env.public-secret", "pass")
    expect(report, "env.undeclared", "pass")
    expect(report, "env.invalid", "pass")
    expect(report, "env.unresolved", "pass")


def test_shared_secret_twins(twins: dict[str, Path]) -> None:
    shared = env_scan(twins, "hardened", compare=[f"staging=dotenv:{twins['staging_shared']}", "production"])
    [found] = expect(shared, "env.shared-secret", "fail")
    assert found.location.endswith("/SESSION_SECRET") and found.evidence["compared_by"] == "sha256"
    distinct = env_scan(twins, "hardened", compare=[f"staging=dotenv:{twins['staging_own']}", "production"])
    expect(distinct, "env.shared-secret", "pass")


def test_environment_decides_the_rules(demo_vulnerable: Demo) -> None:
    section = {"manifest": str(demo_vulnerable.manifest), "deployed": [f"dotenv:{demo_vulnerable.deployed_env}"]}
    development = scan(None, only=["env"], env={**section, "environment": "development"})
    for check_id in ("env.test-credential", "env.localhost-url", "env.debug-flag"):
        expect(development, check_id, "skip")
    expect(development, "env.missing", "fail")
    staging = scan(None, only=["env"], env={**section, "environment": "staging"})
    expect(staging, "env.test-credential", "skip")  # test keys belong in staging
    expect(staging, "env.debug-flag", "fail")


def test_no_manifest_and_no_source_skip_with_the_way_to_fix_it(tmp_path: Path) -> None:
    report = scan(None, only=["env"], env={"manifest": None})
    [missing] = expect(report, "env.missing", "skip")
    assert ".env.example" in missing.detail
    [empty] = expect(report, "env.empty", "skip")
    assert "--deployed" in empty.detail


def test_named_missing_manifest_is_a_config_error(tmp_path: Path) -> None:
    from probe.config import ConfigError

    with pytest.raises(ConfigError, match="env manifest"):
        scan(None, only=["env.missing"], env={"manifest": str(tmp_path / "nope.env")})


def test_unknown_source_is_a_config_error() -> None:
    from probe.config import ConfigError

    with pytest.raises(ConfigError, match="unknown source"):
        scan(None, only=["env"], env={"deployed": ["s3:bucket"]})


# --- the manifest and rule tables -------------------------------------------------------------------------


def test_manifest_annotations() -> None:
    specs = {s.name: s for s in parse_dotenv_manifest(MANIFEST + "# secret\nSTRIPE_KEY=\nexport PORT=8080\n")}
    assert specs["DATABASE_URL"].kind == "url" and specs["DATABASE_URL"].declared_kind and specs["DATABASE_URL"].line == 2
    assert specs["NEXT_PUBLIC_SUPABASE_ANON_KEY"].public
    assert not specs["FEATURE_SIGNUPS"].required and specs["FEATURE_SIGNUPS"].kind == "bool"
    assert not specs["SENTRY_DSN"].required
    assert specs["SESSION_SECRET"].kind == "secret" and not specs["SESSION_SECRET"].declared_kind
    assert specs["STRIPE_KEY"].kind == "secret" and specs["STRIPE_KEY"].declared_kind
    assert specs["PORT"].sample == "8080" and specs["PORT"].required


def test_env_vars_table_layers_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / ".env.example"
    path.write_text(MANIFEST)
    manifest = load_manifest(path, {"SENTRY_DSN": {"required": True, "kind": "url"}, "EXTRA": {"pattern": "a+"}},
                             explicit=True)
    assert manifest is not None
    assert manifest.get("SENTRY_DSN") is not None and manifest.get("SENTRY_DSN").required  # type: ignore[union-attr]
    assert manifest.get("EXTRA") is not None
    assert load_manifest(tmp_path / "absent", {}, explicit=False) is None


def test_rule_tables() -> None:
    assert placeholder_reason("changeme") and placeholder_reason("<your key>") and placeholder_reason("xxxx")
    assert placeholder_reason("your-api-key-here") and placeholder_reason("TODO")
    assert placeholder_reason(secrets.token_urlsafe(24)) is None and placeholder_reason("https://acme.test") is None
    assert debug_flag("NODE_ENV", "development") and debug_flag("ASPNETCORE_ENVIRONMENT", "Development")
    assert debug_flag("FLASK_DEBUG", "1") and debug_flag("RAILS_ENV", "development")
    assert debug_flag("NODE_ENV", "production") is None and debug_flag("DEBUG", "false") is None
    assert sandbox_marker("PAYPAL_API", "https://api-m.sandbox.paypal.com")
    assert sandbox_marker("PAYPAL_MODE", "sandbox") and sandbox_marker("OTHER_MODE", "sandbox") is None
    assert sandbox_marker("RAZORPAY_KEY_ID", "rzp_test_" + secrets.token_hex(7))


# --- `probe env` from the command line ----------------------------------------------------------------------


def run_probe(*args: str, cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=60, check=False)


@pytest.fixture()
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / ".env.example").write_text("DATABASE_URL=\nSECRET_KEY=changeme\nMAIL_FROM=\n")
    yield tmp_path


def test_probe_env_command_without_config(project: Path) -> None:
    secret = secrets.token_urlsafe(40)
    write_env(project / ".env.production", {"DATABASE_URL": f"postgres://app:{secret}@localhost:5432/app",
                                            "SECRET_KEY": secret, "MAIL_FROM": "noreply@acme.test"})
    done = run_probe("env", "--manifest", ".env.example", "--deployed", "dotenv:.env.production", cwd=project)
    assert done.returncode == 1, done.stderr
    assert "env.localhost-url" in done.stdout and "DATABASE_URL" in done.stdout
    assert secret not in done.stdout + done.stderr
    write_env(project / ".env.production", {"DATABASE_URL": f"postgres://app:{secret}@db.acme.test/app",
                                            "SECRET_KEY": secret, "MAIL_FROM": "noreply@acme.test"})
    ok = run_probe("env", "--deployed", "dotenv:.env.production", "--format", "json", cwd=project)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert '"env.missing"' in ok.stdout and secret not in ok.stdout


def test_probe_env_usage_errors_exit_2(project: Path) -> None:
    done = run_probe("env", "--deployed", "vercel:my-app", cwd=project, extra_env={"VERCEL_TOKEN": ""})
    assert done.returncode == 2
    assert "VERCEL_TOKEN" in done.stderr and "Traceback" not in done.stderr
    missing = run_probe("env", "--deployed", "dotenv:nope.env", cwd=project)
    assert missing.returncode == 2 and "no such file" in missing.stderr


# --- a real starter's manifest: a FastAPI + PostgreSQL full-stack template ----------------------------------
# Shaped like what the FastAPI full-stack template documents for its `.env` (written here, not copied): samples the
# project keeps (names, images, the database user), `changethis` for its three secrets, mail and Sentry left empty
# because the app runs without them, and localhost URLs for development.
STARTER_MANIFEST = """\
# Public domain (Traefik routes it and requests its certificate)
DOMAIN=localhost
# Where e-mailed links point: the dashboard
FRONTEND_HOST=http://localhost:5173
# local, staging or production
ENVIRONMENT=local
PROJECT_NAME="Notes Starter"
STACK_NAME=notes-starter
BACKEND_CORS_ORIGINS="http://localhost,http://localhost:5173"
SECRET_KEY=changethis
FIRST_SUPERUSER=admin@example.com
FIRST_SUPERUSER_PASSWORD=changethis
# Mail is off while SMTP_HOST is empty
SMTP_HOST=
SMTP_USER=
SMTP_PASSWORD=
EMAILS_FROM_EMAIL=info@example.com
SMTP_TLS=True
SMTP_SSL=False
SMTP_PORT=587
POSTGRES_SERVER=localhost
POSTGRES_PORT=5432
POSTGRES_DB=app
POSTGRES_USER=postgres
POSTGRES_PASSWORD=changethis
SENTRY_DSN=
DOCKER_IMAGE_BACKEND=backend
DOCKER_IMAGE_FRONTEND=frontend
"""
# Kept at their samples on purpose in both deployments below: none of them is a secret.
KEPT_SAMPLES = {"PROJECT_NAME": "Notes Starter", "STACK_NAME": "notes-starter", "POSTGRES_USER": "postgres",
                "POSTGRES_DB": "app", "POSTGRES_PORT": "5432", "SMTP_TLS": "True", "SMTP_SSL": "False",
                "SMTP_PORT": "587", "DOCKER_IMAGE_BACKEND": "backend", "DOCKER_IMAGE_FRONTEND": "frontend",
                "SMTP_HOST": "", "SMTP_USER": "", "SMTP_PASSWORD": "", "SENTRY_DSN": ""}


def starter_scan(tmp_path: Path, deployed: dict[str, str]) -> Report:
    (tmp_path / ".env.example").write_text(STARTER_MANIFEST)
    write_env(tmp_path / "deployed.env", deployed)
    return scan(None, only=["env"], env={"manifest": str(tmp_path / ".env.example"),
                                         "deployed": [f"dotenv:{tmp_path / 'deployed.env'}"]})


def test_starter_deployed_for_production_has_no_finding_at_high(tmp_path: Path) -> None:
    from probe.model import Severity

    report = starter_scan(tmp_path, {
        **KEPT_SAMPLES, "DOMAIN": "notes.acme.test", "FRONTEND_HOST": "https://dashboard.notes.acme.test",
        "ENVIRONMENT": "production", "BACKEND_CORS_ORIGINS": "https://dashboard.notes.acme.test",
        "SECRET_KEY": secrets.token_urlsafe(32), "FIRST_SUPERUSER": "ops@acme.test",
        "FIRST_SUPERUSER_PASSWORD": secrets.token_urlsafe(16), "EMAILS_FROM_EMAIL": "info@acme.test",
        "POSTGRES_SERVER": "db", "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
    })
    assert not report.gate_failures(Severity.HIGH), [(r.check, r.location, r.detail) for r in report.gate_failures(Severity.HIGH)]
    expect(report, "env.placeholder", "pass")
    expect(report, "env.empty", "pass")
    expect(report, "env.missing", "pass")
    expect(report, "env.localhost-url", "pass")


def test_starter_deployed_with_its_samples_fails_on_the_secrets_and_urls_only(tmp_path: Path) -> None:
    report = starter_scan(tmp_path, {
        **KEPT_SAMPLES, "DOMAIN": "localhost", "FRONTEND_HOST": "http://localhost:5173", "ENVIRONMENT": "production",
        "BACKEND_CORS_ORIGINS": "http://localhost,http://localhost:5173", "SECRET_KEY": "changethis",
        "FIRST_SUPERUSER": "ops@acme.test", "FIRST_SUPERUSER_PASSWORD": "changethis", "EMAILS_FROM_EMAIL": "info@acme.test",
        "POSTGRES_SERVER": "127.0.0.1", "POSTGRES_PASSWORD": "changethis",
    })
    placeholders = {r.location.rsplit("/", 1)[1]: r.detail for r in expect(report, "env.placeholder", "fail")}
    assert set(placeholders) == {"SECRET_KEY", "FIRST_SUPERUSER_PASSWORD", "POSTGRES_PASSWORD"}
    assert all("FastAPI full-stack template" in detail for detail in placeholders.values())
    local = {r.location.rsplit("/", 1)[1]: r.detail for r in expect(report, "env.localhost-url", "fail")}
    assert set(local) == {"FRONTEND_HOST", "BACKEND_CORS_ORIGINS"}
    assert "http://localhost:5173" in local["FRONTEND_HOST"]  # the wrong URL is shown, not masked
    expect(report, "env.empty", "pass")  # SMTP_* and SENTRY_DSN are empty in the manifest itself


def test_a_secret_equal_to_its_sample_is_a_placeholder_a_plain_value_is_not(tmp_path: Path) -> None:
    manifest = "WEBHOOK_SECRET=whsec-from-the-readme-1234\nAPP_NAME=acme-notes-production\nAPI_TOKEN=abcdefgh12345678\n"
    (tmp_path / ".env.example").write_text(manifest)
    write_env(tmp_path / "deployed.env", {"WEBHOOK_SECRET": "whsec-from-the-readme-1234", "APP_NAME": "acme-notes-production",
                                          "API_TOKEN": "abcdefgh12345678"})
    report = scan(None, only=["env.placeholder"], env={"manifest": str(tmp_path / ".env.example"),
                                                        "deployed": [f"dotenv:{tmp_path / 'deployed.env'}"]})
    failed = {r.location.rsplit("/", 1)[1]: r.detail for r in expect(report, "env.placeholder", "fail")}
    assert set(failed) == {"WEBHOOK_SECRET", "API_TOKEN"}
    assert all("sample in the manifest" in d for d in failed.values())


@pytest.mark.parametrize(("manifest", "vars_table", "empty_allowed"), [
    ("SENTRY_DSN=\n", {}, True),  # left empty by the manifest itself
    ("SENTRY_DSN=https://key@sentry.acme.test/1  # optional\n", {}, True),
    ("# optional: errors go to the log without it\nSENTRY_DSN=https://key@sentry.acme.test/1\n", {}, True),
    ("SENTRY_DSN=https://key@sentry.acme.test/1\n", {"SENTRY_DSN": {"required": False}}, True),
    ("SENTRY_DSN=https://key@sentry.acme.test/1\n", {}, False),
    ("SENTRY_DSN=  # required\n", {}, False),
    ("SENTRY_DSN=  # optional\n", {"SENTRY_DSN": {"kind": "url"}}, True),  # a rule without `required` keeps the file's word
])
def test_which_variables_may_be_deployed_empty(tmp_path: Path, manifest: str, vars_table: dict[str, Any],
                                              empty_allowed: bool) -> None:
    (tmp_path / ".env.example").write_text(manifest)
    write_env(tmp_path / "deployed.env", {"SENTRY_DSN": ""})
    report = scan(None, only=["env.empty"], env={"manifest": str(tmp_path / ".env.example"), "vars": vars_table,
                                                  "deployed": [f"dotenv:{tmp_path / 'deployed.env'}"]})
    found = results_for(report, "env.empty")
    assert any(r.status is Status.FAIL for r in found) is not empty_allowed, found


def test_placeholder_words_of_real_starters() -> None:
    for value in ("changethis", "ChangeThisPassword123!", "replace-me", "replace-with-random-value", "tobemodified",
                  "toBeModified1,toBeModified2", "this_password_is_insecure_and_should_be_updated",
                  "your-super-secret-and-long-postgres-password"):
        assert placeholder_reason(value), value
    # A JSON list of origins is a value, not a bracketed template.
    assert placeholder_reason('["http://localhost","https://app.acme.test"]') is None
    assert placeholder_reason("postgres") is None and placeholder_reason("backend") is None


# --- `probe env` reads only what it needs, from where the config says ---------------------------------------

ENV_ONLY_CONFIG = """\
baseline = "risks.toml"

[login]
request = "POST /api/login"

[accounts.alice]
username = "alice@acme.test"
password = "${ALICE_PASSWORD}"

[env]
manifest    = ".env.example"
deployed    = ["dotenv:deployed.env"]
environment = "${DEPLOY_ENV}"
"""


@pytest.fixture()
def config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / "probe.toml").write_text(ENV_ONLY_CONFIG)
    (folder / "risks.toml").write_text("")
    (folder / ".env.example").write_text("MAIL_FROM=\n")
    write_env(folder / "deployed.env", {"MAIL_FROM": "noreply@acme.test"})
    monkeypatch.chdir(tmp_path)  # not the config's folder: relative paths must not depend on it
    return folder


def test_probe_env_ignores_an_unset_account_variable_and_resolves_paths_from_the_config(config_folder: Path) -> None:
    from probe import api
    from probe.accounts import AccountSettings
    from probe.config import ConfigError

    plan = api.plan(config_path=config_folder / "probe.toml", only=["env"], environ={"DEPLOY_ENV": "production"})
    assert not plan.loaded.settings.resolved(AccountSettings)
    report = api.execute(plan)
    [missing] = expect(report, "env.missing", "pass")
    assert missing.location == "env:production"
    # A run that needs the accounts still stops on the unset variable, naming it.
    with pytest.raises(ConfigError, match=r"accounts\.alice\.password: \$\{ALICE_PASSWORD\} is not set"):
        api.plan(config_path=config_folder / "probe.toml", only=["idor"], environ={"DEPLOY_ENV": "production"})
    # And a variable the env checks need is still required.
    with pytest.raises(ConfigError, match=r"DEPLOY_ENV"):
        api.plan(config_path=config_folder / "probe.toml", only=["env"], environ={})


def test_probe_env_takes_an_env_file(config_folder: Path, tmp_path: Path) -> None:
    from probe import api

    (tmp_path / "ci.env").write_text("DEPLOY_ENV=staging\n")
    report = api.scan(None, config_path=config_folder / "probe.toml", only=["env"], environ={},
                      env_file=tmp_path / "ci.env")
    [missing] = expect(report, "env.missing", "pass")
    assert missing.location == "env:staging"
