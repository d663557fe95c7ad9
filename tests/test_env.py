"""The env family: the demo app's manifest and deployed environment (vulnerable and hardened twins), dotenv
twins for the rules the demo does not exercise, the manifest parser, and `probe env` from the command line."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from probe.checks.env.manifest import load_manifest, parse_dotenv_manifest
from probe.checks.env.rules import debug_flag, is_plain_value, placeholder_reason, sandbox_marker
from probe.demo import Demo
from probe.model import Report, Status
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
    assert weak == {"env:production/SECRET_KEY": "weak-secret:known-default", "env:production/JWT_SECRET": "weak-secret:short"}


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


def test_no_deployed_value_is_printed(demo_vulnerable: Demo, vulnerable_report: Report) -> None:
    from dotenv import dotenv_values

    # Booleans and environment names ("development") are vocabulary, not secrets, and may be named.
    values = [v for v in dotenv_values(demo_vulnerable.deployed_env).values() if v and len(v) > 5 and not is_plain_value(v)]
    text = repr(vulnerable_report)
    leaked = [v for v in values if v in text]
    assert not leaked


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
