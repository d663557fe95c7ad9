"""The secrets family against the demo's twins and a catch-all SPA on Express, offline classification of
found keys, and the guarantee that no secret value from any source reaches any report format."""

from __future__ import annotations

import dataclasses
import json
import secrets
import string
from collections.abc import Iterator

import pytest

from fixtures import spa
from probe.checks.secrets.formats import KeyClass, classify, find_in_text
from probe.demo import Demo
from probe.model import Report, Status
from tests.helpers import ROOT, expect, results_for, scan

DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"


def alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


@pytest.fixture(scope="module")
def vulnerable(demo_vulnerable: Demo) -> Report:
    return scan(demo_vulnerable.url, only=["secrets"])


@pytest.fixture(scope="module")
def hardened(demo_hardened: Demo) -> Report:
    return scan(demo_hardened.url, only=["secrets"])


def test_demo_vulnerable_leaks(vulnerable: Report) -> None:
    [key] = expect(vulnerable, "secrets.in-bundle", "fail")
    assert key.location.endswith("/static/app.js.map") and "Stripe secret test key" in key.detail
    [source_map] = expect(vulnerable, "secrets.source-map", "fail")
    assert source_map.evidence["maps"][0]["found_by"] == "comment" and source_map.evidence["sources_content"]
    exposed = {r.kind for r in expect(vulnerable, "secrets.exposed-file", "fail")}
    assert {"/.env", "/.git/"} <= exposed
    [repository] = [r for r in results_for(vulnerable, "secrets.exposed-file") if r.kind == "/.git/"]
    assert repository.evidence["files"] == ["/.git/HEAD", "/.git/config"]  # one directory served: one finding
    # Page + script come from the shared surface; the family adds the map, a random path and the file list.
    assert vulnerable.requests_sent <= 2 + 1 + 1 + 15


def test_demo_hardened_is_clean(hardened: Report) -> None:
    [in_bundle] = expect(hardened, "secrets.in-bundle", "pass")
    assert "Stripe publishable key" in in_bundle.detail  # pk_live_ is info, not a failure
    expect(hardened, "secrets.source-map", "pass")
    expect(hardened, "secrets.exposed-file", "pass")


@pytest.fixture(scope="module")
def spa_vulnerable() -> Iterator[str]:
    with spa.running("vulnerable") as url:
        yield url


@pytest.fixture(scope="module")
def spa_hardened() -> Iterator[str]:
    with spa.running("hardened") as url:
        yield url


def test_catch_all_spa_is_not_an_exposure(spa_hardened: str) -> None:
    report = scan(spa_hardened, only=["secrets", "env.unresolved"])
    [passed] = expect(report, "secrets.exposed-file", "pass")
    assert "answers 200 for unknown paths" in passed.detail
    expect(report, "secrets.source-map", "pass")  # the guessed .map gets index.html, which is no map
    served = [r for r in results_for(report, "env.unresolved") if r.location.startswith("http")]
    assert served and all(r.status is Status.PASS for r in served)


def test_catch_all_spa_serving_its_project(spa_vulnerable: str) -> None:
    report = scan(spa_vulnerable, only=["secrets", "env.unresolved"])
    exposed = {r.kind for r in expect(report, "secrets.exposed-file", "fail")}
    assert exposed == {"/.env", "/.git/"}  # index.html answers the other paths and is not mistaken for them
    unresolved = {r.detail for r in expect(report, "env.unresolved", "fail")}
    assert any("%VITE_API_URL%" in d for d in unresolved) and any("undefined/api/users" in d for d in unresolved)


def test_classification_is_offline_and_knows_publishable_keys() -> None:
    import jwt

    service = jwt.encode({"iss": "supabase", "role": "service_role"}, secrets.token_hex(32), algorithm="HS256")
    anon = jwt.encode({"iss": "supabase", "role": "anon"}, secrets.token_hex(32), algorithm="HS256")
    cases = {
        "sk_" + "live_" + alnum(24): (KeyClass.SERVER, False),
        "rk_" + "live_" + alnum(24): (KeyClass.SERVER, False),
        "pk_" + "live_" + alnum(24): (KeyClass.PUBLISHABLE, False),
        "pk_" + "test_" + alnum(24): (KeyClass.PUBLISHABLE, True),
        "sk-" + "proj-" + alnum(40): (KeyClass.SERVER, False),
        "sk-" + "ant-api03-" + alnum(90): (KeyClass.SERVER, False),
        "AI" + "za" + alnum(35): (KeyClass.PUBLISHABLE, False),
        service: (KeyClass.SERVER, False),
        anon: (KeyClass.PUBLISHABLE, False),
    }
    for value, (key_class, test) in cases.items():
        found = classify(value)
        assert found is not None and (found.key_class, found.test) == (key_class, test), value[:12]
    assert classify("hello world") is None


def test_detect_secrets_adds_formats_we_do_not_list() -> None:
    aws = "AK" + "IA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
    slack = "xox" + "b-" + "-".join(str(secrets.randbelow(10**12)).zfill(12) for _ in range(2)) + "-" + alnum(24)
    minified = ";".join(f"var a{i}=function(){{return {i}}}" for i in range(5000))
    text = minified + f';const c={{aws:"{aws}",s:"{slack}"}};' + minified
    names = {f.name for f in find_in_text(text)}
    assert any("AWS" in n for n in names) and any("Slack" in n for n in names)


def test_a_csrf_token_whose_tail_looks_like_a_key_is_not_a_key() -> None:
    """Superset's log-in page: a Flask-WTF CSRF token (itsdangerous) whose tail matches detect-secrets' Discord bot
    token pattern. The same run of characters standing alone is still found."""
    import hashlib
    import os

    from detect_secrets.plugins.discord import DiscordBotTokenDetector
    from itsdangerous import URLSafeTimedSerializer

    pattern = DiscordBotTokenDetector.denylist[0]
    serializer = URLSafeTimedSerializer(secrets.token_hex(16), salt="wtf-csrf-token")
    for _ in range(2_000):
        token = serializer.dumps(hashlib.sha1(os.urandom(64)).hexdigest())
        match = pattern.search(str(token))
        if match and match.start() > 0:
            break
    else:
        pytest.fail("no CSRF token with a Discord-shaped tail in 2000 tries")
    page = f'<form><input id="csrf_token" name="csrf_token" type="hidden" value="{token}"></form>'
    assert find_in_text(page) == []
    alone = {f.name for f in find_in_text(f'const discord = "{match.group(0)}";')}
    assert any("Discord" in name for name in alone)


# --- no secret value from any source appears in any report format --------------------------------------


def test_no_secret_reaches_any_report_format(demo_vulnerable: Demo) -> None:
    from dotenv import dotenv_values

    from probe.checks.env.rules import SECRET_NAME, url_password
    from probe.redact import masked_inside_text
    from probe.reporters import FORMATS, render

    environ = {**demo_vulnerable.env, "DEMO_WORKDIR": str(demo_vulnerable.workdir)}
    report = scan(demo_vulnerable.url, only=["env", "secrets"], config=DEMO_CONFIG, environ=environ)
    deployed = {k: v for k, v in dotenv_values(demo_vulnerable.deployed_env, interpolate=False).items() if v}
    git_config = (demo_vulnerable.workdir / ".git" / "config").read_text()
    bundle_map = json.loads((demo_vulnerable.workdir / "static" / "app.js.map").read_text())
    found_keys = [f.value for text in bundle_map["sourcesContent"] for f in find_in_text(text)]
    # Secrets: secret variables, passwords inside URLs, found keys, the config's passwords and webhook secret. Values
    # short or common enough to be masked only as whole values are left out: they may occur in ordinary text.
    configured = [v for k, v in demo_vulnerable.env.items() if SECRET_NAME.search(k)]
    candidates = [*(v for k, v in deployed.items() if SECRET_NAME.search(k)), *filter(None, map(url_password, deployed.values())),
                  *found_keys, *configured, git_config.split("deploy-bot:", 1)[1].split("@", 1)[0]]
    secret_values = [v for v in candidates if v and masked_inside_text(v)]
    assert len(secret_values) >= 8
    rendered = {fmt: render(report, fmt) for fmt in FORMATS}
    rendered["asdict"] = json.dumps(dataclasses.asdict(report), default=str)
    for fmt, text in rendered.items():
        leaked = [v[:6] + "..." for v in secret_values if v in text]
        assert not leaked, f"{fmt} report shows secret values starting {leaked}"


def _app_with_a_failing_script(failing: bool) -> object:
    from flask import Flask

    app = Flask(__name__)

    @app.get("/")
    def page() -> str:
        return '<html><script src="/static/app.js"></script><script src="/static/chunk.js"></script></html>'

    @app.get("/static/app.js")
    def app_js() -> tuple[str, int, dict[str, str]]:
        return "console.log('app')", 200, {"Content-Type": "text/javascript"}

    @app.get("/static/chunk.js")
    def chunk_js() -> tuple[str, int, dict[str, str]]:
        if failing:
            raise RuntimeError("the bundle server is down")
        return "console.log('chunk')", 200, {"Content-Type": "text/javascript"}

    return app


def test_a_script_that_cannot_be_read_is_an_error_not_a_pass() -> None:
    from fixtures.serve import serve_wsgi

    with serve_wsgi(_app_with_a_failing_script(failing=True)) as url:
        report = scan(url, only=["secrets.in-bundle", "secrets.source-map"], rate=500)
    for check_id in ("secrets.in-bundle", "secrets.source-map"):
        [result] = expect(report, check_id, "error")
        assert "/static/chunk.js: answered 500" in result.detail
    with serve_wsgi(_app_with_a_failing_script(failing=False)) as url:
        report = scan(url, only=["secrets.in-bundle", "secrets.source-map"], rate=500)
    assert "2 script(s)" in expect(report, "secrets.in-bundle", "pass")[0].detail
    expect(report, "secrets.source-map", "pass")


def test_many_source_maps_from_one_build_setting_are_one_finding() -> None:
    """Fourteen scripts built with `devtool: 'source-map'`, each with its map beside it: one failure, the count and
    the first maps in the detail, every map in the evidence; without the maps the same site passes."""
    from flask import Flask, Response

    def site(maps: bool) -> Flask:
        app = Flask("chunks")
        names = [f"chunk-{i:02d}.js" for i in range(14)]

        @app.get("/")
        def index() -> str:
            return "<html><body>" + "".join(f'<script src="/static/{n}"></script>' for n in names) + "</body></html>"

        @app.get("/static/<name>")
        def static_file(name: str) -> Response:
            if name.endswith(".map") and maps and name[:-4] in names:
                body = json.dumps({"version": 3, "sources": [f"src/{name[:-7]}.ts"], "mappings": "AAAA",
                                   "sourcesContent": ["export const x = 1;"]})
                return Response(body, mimetype="application/json")
            if name in names:
                tail = f"\n//# sourceMappingURL={name}.map" if maps else ""
                return Response(f"console.log({name!r});{tail}", mimetype="text/javascript")
            return Response("not found", status=404)

        return app

    from fixtures.serve import serve_wsgi

    with serve_wsgi(site(True)) as url:
        report = scan(url, only=["secrets.source-map"], rate=500)
    [found] = expect(report, "secrets.source-map", "fail")
    assert found.detail.startswith("14 source map(s) served") and "and 11 more" in found.detail
    assert found.evidence["count"] == 14 and len(found.evidence["maps"]) == 14
    with serve_wsgi(site(False)) as url:
        expect(scan(url, only=["secrets.source-map"], rate=500), "secrets.source-map", "pass")
