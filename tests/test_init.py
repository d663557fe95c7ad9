"""`probe init`: a commented probe.toml from a short passive look at a real site, that loads as written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from fixtures.serve import serve_asgi
from probe import api, config, init
from probe.checks.webhook import WebhookTarget
from probe.demo import Demo
from probe.registry import load


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
