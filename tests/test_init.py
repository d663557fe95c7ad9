"""`probe init`: a commented probe.toml from a short passive look at a real site, that loads as written."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Response
from pydantic import BaseModel

from fixtures.serve import serve_asgi, serve_command
from probe import api, config, init
from probe.accounts import Accounts, AccountSettings, LoginSettings
from probe.checks.webhook import WebhookTarget
from probe.demo import Demo
from probe.http import HttpClient, ScopedHttp
from probe.redact import Redactor
from probe.registry import load
from tests.helpers import ROOT


def probe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "probe", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60, check=False
    )


def loads(path: Path) -> config.Loaded:
    """As `probe scan` would load it, with nothing in the environment: no ${VAR} may be live."""
    return config.load(path, api.sections(load()), environ={})


class Credentials(BaseModel):
    username: str
    password: str


def api_app() -> FastAPI:
    """A FastAPI back end with no page to speak of: its routes are known only from its OpenAPI document."""
    app = FastAPI(title="Orders API")

    @app.get("/")
    def root() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/auth/token")
    def token(body: Credentials) -> dict[str, str]:
        return {"access_token": "x"}

    @app.post("/api/webhooks/stripe")
    def stripe_hook() -> dict[str, bool]:
        return {"received": True}

    return app


@pytest.fixture(scope="module")
def fastapi_url() -> Iterator[str]:
    with serve_asgi(api_app()) as url:
        yield url


def test_init_on_the_vulnerable_demo_writes_a_config_that_loads(demo_vulnerable: Demo, tmp_path: Path) -> None:
    shutil.copy(demo_vulnerable.manifest, tmp_path / ".env.example")
    done = probe("init", demo_vulnerable.url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = tmp_path / "probe.toml"
    text = written.read_text()
    assert "framework: Flask (Werkzeug)" in done.stderr
    assert "# Framework: Flask (Werkzeug)" in text
    assert 'request = "POST /api/login"' in text
    assert 'json = { email = "{username}", password = "{password}" }' in text
    assert '# username = "${ALICE_EMAIL}"' in text  # the accounts TODO
    assert "DATABASE_URL" in text and "STRIPE_WEBHOOK_SECRET" in text  # the manifest's names...
    assert "changeme" not in text and "your-stripe-secret-key" not in text  # ...never its values
    loaded = loads(written)
    assert loaded.settings.target == demo_vulnerable.url
    assert loaded.secrets == ()
    # And a scan can be planned with it as it stands.
    assert api.plan(config_path=written, environ={}).specs


def test_init_never_overwrites_without_force(demo_vulnerable: Demo, tmp_path: Path) -> None:
    target = tmp_path / "probe.toml"
    target.write_text("# mine\n")
    refused = probe("init", demo_vulnerable.url, cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip() == "probe: error: probe.toml already exists: pass --force to overwrite it"
    assert target.read_text() == "# mine\n"
    forced = probe("init", demo_vulnerable.url, "--force", "--output", "probe.toml", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert target.read_text().startswith("# probe.toml")


def test_init_on_the_hardened_demo_does_not_guess_the_framework(demo_hardened: Demo, tmp_path: Path) -> None:
    text, found = init.generate(demo_hardened.url, cwd=tmp_path)
    assert "framework: not recognised" in found
    assert "env manifest: none in this folder" in found
    assert 'request = "POST /api/login"' in text
    path = tmp_path / "probe.toml"
    path.write_text(text)
    assert loads(path).settings.target == demo_hardened.url


def test_init_reads_login_fields_and_webhooks_from_openapi(fastapi_url: str, tmp_path: Path) -> None:
    text, found = init.generate(fastapi_url, cwd=tmp_path)
    assert any(line.startswith("framework: FastAPI") for line in found)
    assert "OpenAPI: 3 paths" in found
    assert 'request = "POST /api/auth/token"' in text
    assert 'json = { username = "{username}", password = "{password}" }' in text
    assert 'path     = "/api/webhooks/stripe"\nprovider = "stripe"' in text
    assert '# secret   = "${STRIPE_WEBHOOK_SECRET}"' in text
    path = tmp_path / "probe.toml"
    path.write_text(text)
    webhooks = loads(path).settings.sections(WebhookTarget)
    assert [(w.path, w.provider) for w in webhooks] == [("/api/webhooks/stripe", "stripe")]


def test_init_without_a_url_writes_a_template(tmp_path: Path) -> None:
    done = probe("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = tmp_path / "probe.toml"
    assert "# target = " in written.read_text()
    assert loads(written).settings.target is None


def test_init_rejects_a_bad_url(tmp_path: Path) -> None:
    done = probe("init", "ftp://example.com", cwd=tmp_path)
    assert done.returncode == 2
    assert "expected an http:// or https:// URL" in done.stderr
    assert not (tmp_path / "probe.toml").exists()


@pytest.fixture(scope="module")
def django_signin() -> Iterator[tuple[str, dict[str, str]]]:
    users = {"alice@example.test": "pw-" + os.urandom(8).hex()}
    with serve_command([sys.executable, "-m", "fixtures.forms.django_signin"], cwd=ROOT,
                       env={"SIGNIN_USERS": json.dumps(users)}) as url:
        yield url, users


def test_init_writes_a_working_login_for_a_server_rendered_form(django_signin: tuple[str, dict[str, str]],
                                                                tmp_path: Path) -> None:
    """The sign-in page is found beyond the root; the file carries the CSRF step, the hidden field the form needs
    and the session cookie; and the log-in it describes works."""
    url, users = django_signin
    ran = probe("init", url, "-o", "probe.toml", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    text = (tmp_path / "probe.toml").read_text()
    for line in ('csrf = "GET /accounts/login/"', 'csrf_field = "csrfmiddlewaretoken"', 'request = "POST /accounts/login/"',
                 'form = { email = "{username}", password = "{password}", auth_method = "password" }',
                 'token = "cookie:sessionid"'):
        assert line in text, text
    settings = loads(tmp_path / "probe.toml").settings
    [(email, password)] = users.items()
    accounts = {"alice": AccountSettings(username=email, password=password, control="GET /api/me")}

    async def log_in() -> int:
        client = HttpClient.for_settings(settings, redactor=Redactor(), user_agent="probe-test",
                                         deadline=time.monotonic() + 30)
        try:
            http = ScopedHttp(client, "accounts", url)
            me = await Accounts(accounts, settings.section(LoginSettings), http).request(http, "alice", "GET", "/api/me")
            return me.status
        finally:
            await client.aclose()

    assert asyncio.run(log_in()) == 200


def test_init_names_the_hosting_platform_the_env_section_declares(tmp_path: Path) -> None:
    """The platform markers come from the env section's metadata: a Vercel request id names the platform, and the
    env block suggests reading the deployed values from it."""
    app = FastAPI()

    @app.get("/")
    def root(response: Response) -> dict[str, str]:
        response.headers["x-vercel-id"] = "fra1::abcde-1700000000000-0123456789ab"
        return {"status": "ok"}

    with serve_asgi(app) as url:
        text, found = init.generate(url, cwd=tmp_path)
    assert "hosting: vercel (x-vercel-id: fra1::abcde-1700000000000-0123456789ab)" in found
    assert '# deployed = "vercel:my-app:production"   # TODO: vercel detected' in text
