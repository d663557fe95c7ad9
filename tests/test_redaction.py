"""Redaction masks secrets and nothing else, in every report format; locations and fingerprints are never masked.

The end-to-end case is the one a user met on a FastAPI/PostgreSQL app: a deployed env with `POSTGRES_SERVER=127.0.0.1`
and `DOMAIN=localhost`, an account whose username is `admin`, and a scan of a loopback app. Registering those values
as secrets masked the target's own host inside result locations, fingerprinting then failed on the mask's brackets
(`ValueError: Invalid IPv6 URL`) after the whole run, and no report was written.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from fixtures.authz import create_app, make_seed
from fixtures.serve import serve_asgi
from probe import api, reporters
from probe import baseline as baseline_file
from probe.config import load
from probe.model import CheckInfo, Confidence, Mode, Report, Result, Severity, Status
from probe.redact import Redactor, mask
from probe.runner import Collector
from tests.helpers import expect

PROBE_TOML = """\
[login]
request = "POST /api/token"
form    = { username = "{username}", password = "{password}" }
token   = "json:access_token"

[accounts.alice]
username = "${ALICE_USERNAME}"
password = "${ALICE_PASSWORD}"
role     = "admin"

[accounts.bob]
username = "${BOB_USERNAME}"
password = "${BOB_PASSWORD}"

[[resources]]
path  = "/api/documents/{id}"
owner = "bob"
list  = "GET /api/documents"

[[resources]]
path  = "/api/admin/users"
owner = "alice"
role  = "admin"

[env]
manifest    = ".env.example"
deployed    = "dotenv:deployed.env"
environment = "production"
"""

MANIFEST = """\
DOMAIN=localhost
FRONTEND_HOST=http://localhost:5173
PROJECT_NAME="Acme Notes"
SECRET_KEY=changethis
FIRST_SUPERUSER=admin@acme.test
POSTGRES_SERVER=localhost
POSTGRES_PORT=5432
POSTGRES_USER=postgres
POSTGRES_PASSWORD=changethis
"""


@dataclass(frozen=True)
class Scanned:
    report: Report
    rendered: dict[str, str]
    secrets: tuple[str, ...]  # must be masked everywhere
    shown: dict[str, str]  # must be readable: what it is → the value


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scanned]:
    folder = tmp_path_factory.mktemp("redaction")
    seed = make_seed()
    seed.alice.email = "admin"  # the username that turned /api/admin/users into /api/[masked 5 chars]/users
    secret_key, db_password = secrets.token_urlsafe(40), "pg-" + secrets.token_hex(12)
    (folder / "probe.toml").write_text(PROBE_TOML)
    (folder / ".env.example").write_text(MANIFEST)
    (folder / "deployed.env").write_text(
        "DOMAIN=localhost\nFRONTEND_HOST=http://localhost:5173\nPROJECT_NAME=\"Acme Notes\"\n"
        f"SECRET_KEY={secret_key}\nFIRST_SUPERUSER=admin@acme.test\nPOSTGRES_SERVER=127.0.0.1\nPOSTGRES_PORT=5432\n"
        f"POSTGRES_USER=postgres\nPOSTGRES_PASSWORD={db_password}\n")
    environ = {"ALICE_USERNAME": seed.alice.email, "ALICE_PASSWORD": seed.alice.password,
               "BOB_USERNAME": seed.bob.email, "BOB_PASSWORD": seed.bob.password}
    with serve_asgi(create_app("vulnerable", seed)) as url:
        plan = api.plan(target=url, config_path=folder / "probe.toml", environ=environ,
                        only=["env", "headers", "idor", "auth"], overrides={"rate": 500.0})
        report = api.execute(plan)
    rendered = {fmt: reporters.render(report, fmt) for fmt in reporters.FORMATS}
    yield Scanned(report, rendered, (seed.alice.password, seed.bob.password, secret_key, db_password),
                  {"target host": "127.0.0.1", "admin route": "/api/admin/users", "bad frontend URL": "http://localhost:5173"})


def test_a_deployed_loopback_host_does_not_break_the_report(scanned: Scanned) -> None:
    report = scanned.report
    # The run finished and every format was written: fingerprints were computed on the real locations.
    assert all(text.strip() for text in scanned.rendered.values())
    assert all(r.fingerprint for r in report.results)
    assert any(r.location.startswith("http://127.0.0.1:") and "/api/admin/users" in r.location for r in report.results)
    # The env findings the user expected, with the values that are wrong shown.
    [frontend] = [r for r in expect(report, "env.localhost-url", "fail") if r.location.endswith("/FRONTEND_HOST")]
    assert "http://localhost:5173" in frontend.detail and frontend.evidence["value"] == "http://localhost:5173"
    expect(report, "idor.cross-account-read", "fail")


@pytest.mark.parametrize("fmt", reporters.FORMATS)
def test_secrets_are_masked_and_nothing_else_in_every_format(scanned: Scanned, fmt: str) -> None:
    text = scanned.rendered[fmt]
    leaked = [s for s in scanned.secrets if s in text]
    assert not leaked, f"{fmt}: a secret is shown"
    for value in ("127.0.0.1", "localhost", "admin", "http://localhost:5173", "postgres", "Acme Notes"):
        assert mask(value) not in text, f"{fmt}: the non-secret {value!r} is masked"
    assert "/api/admin/users" in text, f"{fmt}: the admin route is not shown as it is"


def test_the_json_report_shows_non_secret_env_values_and_masks_secret_ones(scanned: Scanned) -> None:
    report = json.loads(scanned.rendered["json"])
    shown = {r["evidence"].get("variable"): r["evidence"].get("value") for r in report["results"]
             if r["check"].startswith("env.") and r["evidence"].get("variable")}
    assert shown.get("FRONTEND_HOST") == "http://localhost:5173"
    assert all(value is None or value.startswith("[masked") for name, value in shown.items() if "PASSWORD" in name)


# --- the redactor ---------------------------------------------------------------------------------------------


def test_short_values_and_common_words_are_masked_only_as_whole_values() -> None:
    redactor = Redactor(["admin", "changethis", "pw", "s3cr3t-value-123"])
    assert redactor.redact("/api/admin/users") == "/api/admin/users"
    assert redactor.redact("SECRET_KEY holds a placeholder: changethis") == "SECRET_KEY holds a placeholder: changethis"
    assert redactor.redact("admin") == mask("admin") and redactor.redact("changethis") == mask("changethis")
    assert redactor.redact_value({"password": "pw", "path": "/pw/x"}) == {"password": mask("pw"), "path": "/pw/x"}
    assert redactor.redact("Bearer s3cr3t-value-123 sent") == f"Bearer {mask('s3cr3t-value-123')} sent"


def test_a_location_carrying_a_secret_becomes_a_stable_template_that_still_parses() -> None:
    token = "tok-" + secrets.token_hex(12)
    redactor = Redactor([token])
    location = f"http://127.0.0.1:8000/static/app.js?v=3&token={token}"
    templated = redactor.template_location(location)
    assert templated == "http://127.0.0.1:8000/static/app.js?v=3&token={secret}"
    assert Redactor([token + "x", token]).template_location(location) == templated  # the same whatever the hash
    plain = "http://127.0.0.1:8000/api/admin/users"
    assert redactor.template_location(plain) is plain


def _result(location: str) -> Result:
    return Result(check="headers.csp", status=Status.FAIL, severity=Severity.HIGH, title="t", location=location,
                  detail="d", confidence=Confidence.HIGH)


def test_the_collector_never_masks_a_location() -> None:
    collector = Collector(target="http://127.0.0.1:8000", mode=Mode.PASSIVE, checks=(), redactor=Redactor(["127.0.0.1"]))
    collector.add([_result("http://127.0.0.1:8000/")])
    [result] = collector.report().results
    assert result.location == "http://127.0.0.1:8000/"


def test_a_server_key_in_any_excerpt_is_masked_though_no_secrets_check_ran() -> None:
    from probe.registry import load as load_registry

    # A reflected page's excerpt in a CORS result, in a run where secrets.in-bundle did not run (or did not finish).
    key = "sk_" + "live_" + secrets.token_hex(12)
    publishable = "pk_" + "live_" + secrets.token_hex(12)
    collector = Collector(target="http://127.0.0.1:8000", mode=Mode.PASSIVE, checks=(),
                          redactor=Redactor(finders=load_registry().secret_finders()))
    collector.add([Result("cors.reflected-origin", Status.FAIL, Severity.HIGH, "t", "http://127.0.0.1:8000/",
                          detail="d", evidence={"body_excerpt": f'{{"stripeKey": "{key}", "publishable": "{publishable}"}}'}),
                   Result("headers.csp", Status.FAIL, Severity.LOW, "t", "http://127.0.0.1:8000/", detail=f"saw {key}")])
    report = collector.report()
    text = json.dumps([(r.detail, r.evidence) for r in report.results])
    assert key not in text and mask(key) in text
    assert publishable in text  # a publishable key is public: shown


def test_a_table_cell_carrying_a_secret_is_masked() -> None:
    from probe.model import Table

    token = "tok-" + secrets.token_hex(12)
    table = Table("steps", ("route", "p95 ms"), (("/api/items?key=" + token, 12.5), ("/api/health", 3.0)))
    collector = Collector(target="http://127.0.0.1:8000", mode=Mode.ACTIVE, checks=(), redactor=Redactor([token]))
    collector.add([Result("load.latency-budget", Status.PASS, Severity.MEDIUM, "t", "http://127.0.0.1:8000/",
                          detail="d", table=table)])
    [result] = collector.report().results
    assert result.table is not None and result.table.rows[0] == ("/api/items?key=" + mask(token), 12.5)
    assert result.table.rows[1] == ("/api/health", 3.0)


def test_an_unparseable_location_is_still_fingerprinted() -> None:
    assert _result("http://[masked 9 chars #0bcd5a1e]:8000/api").fingerprint


def test_a_failure_while_applying_the_baseline_still_gives_a_report(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(results: list[Result], entries: tuple[baseline_file.Entry, ...], today: date) -> baseline_file.Applied:
        raise ValueError("Invalid IPv6 URL")

    monkeypatch.setattr(baseline_file, "apply", broken)
    info = CheckInfo(id="headers.csp", title="t", severity=Severity.HIGH, confidence=Confidence.HIGH, active=False,
                     summary="s", risk="r", fix="f")
    collector = Collector(target="http://127.0.0.1:8000", mode=Mode.PASSIVE, checks=(info,), redactor=Redactor(),
                          started=datetime.now(UTC))
    collector.add([_result("http://127.0.0.1:8000/")])
    report = collector.report()
    assert len(report.results) == 1 and any("baseline could not be applied" in n for n in report.notes)
    assert all(reporters.render(report, fmt) for fmt in reporters.FORMATS)


# --- which configured values are secrets -----------------------------------------------------------------------


def test_configured_secrets_are_the_secret_keys_only(tmp_path: Path) -> None:
    from probe.accounts import CONFIG_SECTIONS
    from probe.checks.auth import CONFIG_SECTIONS as AUTH

    (tmp_path / "probe.toml").write_text(
        'target = "${TARGET}"\n[auth]\njwt_secret = "${JWT}"\n'
        '[accounts.alice]\nusername = "${ALICE_EMAIL}"\npassword = "${ALICE_PASSWORD}"\nrole = "${ROLE}"\n'
        '[accounts.bob]\nheaders = { "X-Api-Key" = "${BOB_KEY}" }\n[accounts.carol]\nbearer = "${CAROL}"\n')
    environ = {"TARGET": "http://127.0.0.1:8000", "JWT": "jwt-value-123456", "ALICE_EMAIL": "alice@acme.test",
               "ALICE_PASSWORD": "pw-value-123456", "ROLE": "admin", "BOB_KEY": "key-value-123456", "CAROL": "tok-value-123456"}
    loaded = load(tmp_path / "probe.toml", {**CONFIG_SECTIONS, **AUTH}, environ=environ)
    assert set(loaded.secrets) == {"jwt-value-123456", "pw-value-123456", "key-value-123456", "tok-value-123456"}
