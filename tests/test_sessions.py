"""auth.session-weak-secret on real frameworks (Flask, Django signed_cookies, express-session, cookie-session), each
signed with a published key (vulnerable) and a random one (hardened), and the secret lists behind it."""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from fixtures.serve import serve_command, serve_wsgi
from fixtures.sessions.flask_app import create_app
from probe.checks import sessions, wordlists
from probe.checks.auth import crack, parse_jwt
from probe.checks.env import rules
from probe.model import Report, Status
from probe.redact import mask
from tests.helpers import ROOT, expect, results_for, scan

NODE_DIR = ROOT / "fixtures" / "node"
SUPERSET_DEFAULT = "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET"
PAPERLESS_DEFAULT = "e11fl1oa-*ytql8p)(06fbj4ukrlo+n7k&q5+$1md7i+mge=ee"
CHECK = "auth.session-weak-secret"


def _config(tmp_path: Path, login: str) -> Path:
    path = tmp_path / "probe.toml"
    path.write_text(f"""
[login]
{login}

[accounts.alice]
username = "alice@example.test"
password = "alice-password"
control  = "GET /api/me"
""")
    return path


JSON_LOGIN = 'request = "POST /login"\njson = {{ username = "{{username}}", password = "{{password}}" }}\ntoken = "{token}"'


def _scan(url: str, config: Path, mode: str = "passive") -> Report:
    return scan(url, only=[CHECK], mode=mode, config=config, rate=500)


# --- the lists ---------------------------------------------------------------------------------------


def test_lists_load_from_the_package_with_sources() -> None:
    names = {listed.name: listed for listed in wordlists.secret_lists()}
    assert set(names) == {wordlists.BUNDLED, wordlists.APP_DEFAULTS_LIST, wordlists.FLASK_UNSIGN}
    assert len(names[wordlists.FLASK_UNSIGN].secrets) > 50_000
    assert wordlists.FLASK_UNSIGN_SOURCE in names[wordlists.FLASK_UNSIGN].source
    # "random" (the VAmPI API's JWT key) is a bundled default now, credited to the bundled list.
    assert wordlists.origin("random") is names[wordlists.BUNDLED]
    assert all(d.source and d.app for d in wordlists.APP_DEFAULTS)
    assert len(set(wordlists.secrets())) == len(wordlists.secrets())
    assert wordlists.origin(secrets.token_hex(32)) is None


def test_jwt_signed_with_random_is_cracked() -> None:
    token = parse_jwt(jwt.encode({"sub": "1"}, "random", algorithm="HS256"))
    assert token is not None and crack(token, wordlists.secrets()) == "random"
    # A key only flask-unsign's list of keys from public code holds.
    token = parse_jwt(jwt.encode({"sub": "1"}, "yourmomgoes2college", algorithm="HS256"))
    assert token is not None and crack(token, wordlists.secrets()) == "yourmomgoes2college"


def test_env_judges_published_values_that_look_random() -> None:
    # 50 characters, high entropy: only a list knows it is Paperless-ngx's shipped key.
    assert rules.known_default(PAPERLESS_DEFAULT) is not None and "Paperless" in (rules.known_default(PAPERLESS_DEFAULT) or "")
    assert rules.known_default(secrets.token_urlsafe(48)) is None
    assert rules.known_default("django-insecure-abc") is not None  # the table's prefix rule still holds


# --- Flask -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flask_twins() -> Iterator[dict[str, str]]:
    with serve_wsgi(create_app(SUPERSET_DEFAULT)) as vulnerable, serve_wsgi(create_app(secrets.token_hex(32))) as hardened:
        yield {"vulnerable": vulnerable, "hardened": hardened}


def test_flask_default_key_fails_passively(flask_twins: dict[str, str], tmp_path: Path) -> None:
    report = _scan(flask_twins["vulnerable"], _config(tmp_path, JSON_LOGIN.format(token="cookie:session")))
    (found,) = expect(report, "auth.session-weak-secret", "fail")
    assert found.evidence["framework"] == sessions.FLASK.name
    assert found.evidence["secret"] == mask(SUPERSET_DEFAULT)
    assert "Apache Superset" in found.evidence["list"]
    assert found.evidence["from"] == ["the page", "alice's log-in"]  # one finding for the one key
    assert found.evidence["confirmation"].startswith("not confirmed: passive")
    assert SUPERSET_DEFAULT not in found.detail and "SECRET_KEY_FALLBACKS" in found.remediation


def test_flask_default_key_is_confirmed_actively(flask_twins: dict[str, str], tmp_path: Path) -> None:
    report = _scan(flask_twins["vulnerable"], _config(tmp_path, JSON_LOGIN.format(token="cookie:session")), "active")
    (found,) = expect(report, "auth.session-weak-secret", "fail")
    assert found.evidence["confirmation"].startswith("confirmed: GET /api/me accepted"), found.evidence


def test_flask_random_key_passes(flask_twins: dict[str, str], tmp_path: Path) -> None:
    report = _scan(flask_twins["hardened"], _config(tmp_path, JSON_LOGIN.format(token="cookie:session")))
    passed = expect(report, "auth.session-weak-secret", "pass")
    assert {r.location.rsplit("#", 1)[1] for r in passed} == {"cookie:session"}


def test_no_signed_cookie_skips_with_a_true_reason(tmp_path: Path) -> None:
    from flask import Flask

    app = Flask(__name__)
    app.get("/")(lambda: "plain")
    with serve_wsgi(app) as url:
        report = scan(url, only=[CHECK], rate=500)
    (result,) = results_for(report, CHECK)
    assert result.status is Status.SKIP and "log-in responses are checked when [login]" in result.detail


# --- Django signed_cookies -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def django_twins() -> Iterator[dict[str, str]]:
    users = json.dumps({"alice@example.test": "alice-password"})
    argv = [sys.executable, "-m", "fixtures.authz.django_login"]
    with serve_command(argv, cwd=ROOT, env={"AUTHZ_USERS": users, "AUTHZ_SECRET_KEY": PAPERLESS_DEFAULT}) as vulnerable, \
            serve_command(argv, cwd=ROOT, env={"AUTHZ_USERS": users}) as hardened:
        yield {"vulnerable": vulnerable, "hardened": hardened}


DJANGO_LOGIN = ('request = "POST /login"\nform = { username = "{username}", password = "{password}" }\n'
                'csrf = "GET /login"\ntoken = "cookie:sessionid"\nsend = "cookie"')


def test_django_shipped_key_fails_and_is_confirmed(django_twins: dict[str, str], tmp_path: Path) -> None:
    report = _scan(django_twins["vulnerable"], _config(tmp_path, DJANGO_LOGIN), "active")
    (found,) = expect(report, "auth.session-weak-secret", "fail")
    assert found.evidence["framework"] == sessions.DJANGO.name and found.evidence["cookies"] == ["sessionid"]
    assert "Paperless-ngx" in found.evidence["list"]
    assert found.evidence["confirmation"].startswith("confirmed"), found.evidence


def test_django_random_key_passes(django_twins: dict[str, str], tmp_path: Path) -> None:
    report = _scan(django_twins["hardened"], _config(tmp_path, DJANGO_LOGIN))
    expect(report, "auth.session-weak-secret", "pass")


# --- Express: express-session and cookie-session --------------------------------------------------------


@pytest.fixture(scope="module")
def node_twins() -> Iterator[dict[tuple[str, str], str]]:
    urls: dict[tuple[str, str], str] = {}
    with serve_command(["node", "session-app.js"], cwd=NODE_DIR,
                       env={"SESSION_KIND": "express-session", "SESSION_SECRET": "keyboard cat"}) as a, \
            serve_command(["node", "session-app.js"], cwd=NODE_DIR,
                          env={"SESSION_KIND": "express-session", "SESSION_SECRET": secrets.token_hex(32)}) as b, \
            serve_command(["node", "session-app.js"], cwd=NODE_DIR,
                          env={"SESSION_KIND": "cookie-session", "SESSION_SECRET": "random"}) as c, \
            serve_command(["node", "session-app.js"], cwd=NODE_DIR,
                          env={"SESSION_KIND": "cookie-session", "SESSION_SECRET": secrets.token_hex(32)}) as d:
        urls.update({("express-session", "vulnerable"): a, ("express-session", "hardened"): b,
                     ("cookie-session", "vulnerable"): c, ("cookie-session", "hardened"): d})
        yield urls


def test_express_session_keyboard_cat_fails(node_twins: dict[tuple[str, str], str], tmp_path: Path) -> None:
    config = _config(tmp_path, JSON_LOGIN.format(token="cookie:connect.sid"))
    report = _scan(node_twins["express-session", "vulnerable"], config, "active")
    (found,) = expect(report, "auth.session-weak-secret", "fail")
    assert found.evidence["framework"] == sessions.EXPRESS.name and found.evidence["cookies"] == ["connect.sid"]
    # Honest about what the one forged request could not show.
    assert found.evidence["confirmation"].startswith("not confirmed: an express-session cookie holds only")
    expect(_scan(node_twins["express-session", "hardened"], config), "auth.session-weak-secret", "pass")


def test_cookie_session_weak_key_fails_and_is_confirmed(node_twins: dict[tuple[str, str], str], tmp_path: Path) -> None:
    config = _config(tmp_path, JSON_LOGIN.format(token="cookie:session"))
    report = _scan(node_twins["cookie-session", "vulnerable"], config, "active")
    (found,) = expect(report, "auth.session-weak-secret", "fail")
    assert found.evidence["framework"] == sessions.COOKIE_SESSION.name and found.evidence["cookies"] == ["session"]
    assert found.evidence["confirmation"].startswith("confirmed"), found.evidence
    expect(_scan(node_twins["cookie-session", "hardened"], config), "auth.session-weak-secret", "pass")
