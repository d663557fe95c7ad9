"""The demo app's twins: every planted vulnerability is really there in `vulnerable` and really gone in
`hardened`. These tests check the fixture itself, from the outside, so the checks' tests can trust it."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import secrets
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from dotenv import dotenv_values

from probe.demo import Demo

TIMEOUT = 5.0
EVIL = "https://evil.example"
TRUSTED = "https://app.example.test"
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


def client(demo: Demo) -> httpx.Client:
    return httpx.Client(base_url=demo.url, timeout=TIMEOUT)


def login(demo: Demo, who: str) -> dict[str, str]:
    """Authorization headers for `who` ("alice" or "bob")."""
    with client(demo) as c:
        r = c.post("/api/login", json={"email": demo.env[f"{who.upper()}_EMAIL"],
                                        "password": demo.env[f"{who.upper()}_PASSWORD"]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def alice_note_id(demo: Demo) -> int:
    with client(demo) as c:
        notes = c.get("/api/notes", headers=login(demo, "alice")).json()
    return int(notes[0]["id"])


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe's scheme, written out: `t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>"))`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def checkout_completed(order_id: str) -> bytes:
    return json.dumps({
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {"object": "checkout.session", "metadata": {"order_id": order_id}}},
    }).encode()


def forged_token(claims: dict[str, Any]) -> str:
    return jwt.encode({"exp": int(time.time()) + 600, **claims}, "", algorithm="none")


# --- the page and the bundle ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["vulnerable", "hardened"])
def test_page_has_login_form_and_bundle(mode: str, request: pytest.FixtureRequest) -> None:
    demo: Demo = request.getfixturevalue(f"demo_{mode}")
    with client(demo) as c:
        page = c.get("/")
        bundle = c.get("/static/app.js")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<form id="login" action="/api/login" method="post">' in page.text
    assert 'name="email"' in page.text and 'name="password"' in page.text
    assert '<script src="/static/app.js"></script>' in page.text
    assert bundle.status_code == 200
    assert 'fetch("/api/notes"' in bundle.text and 'fetch("/api/orders"' in bundle.text


def test_vulnerable_bundle_leaks_dev_url_test_key_and_source_map(demo_vulnerable: Demo) -> None:
    with client(demo_vulnerable) as c:
        bundle = c.get("/static/app.js").text
        source_map = c.get("/static/app.js.map")
    assert '"http://localhost:5000/api"' in bundle
    assert re.search(r'"pk_test_[0-9A-Za-z]{24,}"', bundle)
    assert bundle.rstrip().endswith("//# sourceMappingURL=app.js.map")
    assert "sk_test_" not in bundle  # tree-shaken out of the bundle...
    assert source_map.status_code == 200
    original = "\n".join(source_map.json()["sourcesContent"])
    assert re.search(r'STRIPE_SECRET_KEY = "sk_test_[0-9A-Za-z]{24,}"', original)  # ...but kept in the map
    assert demo_vulnerable.runtime.env["STRIPE_SECRET_KEY"] in original


def test_hardened_bundle_is_same_origin_live_key_no_source_map(demo_hardened: Demo) -> None:
    with client(demo_hardened) as c:
        bundle = c.get("/static/app.js").text
        source_map = c.get("/static/app.js.map")
    assert 'var API_BASE = "/api";' in bundle
    assert re.search(r'"pk_live_[0-9A-Za-z]{24,}"', bundle)
    assert "sourceMappingURL" not in bundle and "localhost" not in bundle and "sk_" not in bundle
    assert source_map.status_code == 404


# --- debug pages and bad input -------------------------------------------------------------------


def test_vulnerable_crash_shows_the_werkzeug_debugger(demo_vulnerable: Demo) -> None:
    with client(demo_vulnerable) as c:
        unauthenticated = c.post("/api/login", json={})
        wrong_type = c.post("/api/notes", json={"title": 5}, headers=login(demo_vulnerable, "alice"))
        resource = c.get("/", params={"__debugger__": "yes", "cmd": "resource", "f": "debugger.js"})
        console = c.get("/console")
    for r, error in ((unauthenticated, "KeyError"), (wrong_type, "AttributeError")):
        assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
        assert re.search(rf"<title>{error}: .*// Werkzeug Debugger</title>", r.text, re.DOTALL)
        assert "?__debugger__=yes&amp;cmd=resource&amp;f=debugger.js" in r.text
        assert "EVALEX = true" in r.text and "Traceback <em>(most recent call last)</em>" in r.text
    assert resource.status_code == 200 and "javascript" in resource.headers["content-type"]
    assert console.status_code == 200 and "Console // Werkzeug Debugger" in console.text


def test_hardened_bad_input_is_a_json_400(demo_hardened: Demo) -> None:
    with client(demo_hardened) as c:
        responses = [
            c.post("/api/login", json={}),
            c.post("/api/notes", json={"title": 5}, headers=login(demo_hardened, "alice")),
            c.post("/api/notes", content=b"{", headers={**login(demo_hardened, "alice"),
                                                          "Content-Type": "application/json"}),
        ]
        missing = c.get("/api/nothing-here")
    for r in responses:
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == "application/json" and "error" in r.json()
        assert "Traceback" not in r.text and "Werkzeug" not in r.text
    assert missing.status_code == 404 and missing.json()["error"] == "Not Found"


def test_vulnerable_search_leaks_a_sql_error_and_is_injectable(demo_vulnerable: Demo) -> None:
    bob = login(demo_vulnerable, "bob")
    with client(demo_vulnerable) as c:
        quote = c.get("/api/notes/search", params={"q": "'"}, headers=bob)
        injected = c.get("/api/notes/search", params={"q": "%' OR 1=1 --"}, headers=bob)
    assert quote.status_code == 500
    assert "sqlite3.OperationalError" in quote.text and "Werkzeug Debugger" in quote.text
    assert injected.status_code == 200
    assert {n["owner_id"] for n in injected.json()} == {1, 2}  # bob sees alice's notes too


def test_hardened_search_is_parameterised(demo_hardened: Demo) -> None:
    bob = login(demo_hardened, "bob")
    with client(demo_hardened) as c:
        quote = c.get("/api/notes/search", params={"q": "'"}, headers=bob)
        injected = c.get("/api/notes/search", params={"q": "%' OR 1=1 --"}, headers=bob)
    assert quote.status_code == 200 and quote.json() == []
    assert injected.status_code == 200 and injected.json() == []


# --- CORS ----------------------------------------------------------------------------------------


def test_vulnerable_cors_reflects_any_origin_with_credentials(demo_vulnerable: Demo) -> None:
    with client(demo_vulnerable) as c:
        simple = c.get("/api/notes", headers={"Origin": EVIL, **login(demo_vulnerable, "alice")})
        preflight = c.options("/api/notes", headers={"Origin": EVIL, "Access-Control-Request-Method": "GET",
                                                     "Access-Control-Request-Headers": "authorization"})
    for r in (simple, preflight):
        assert r.headers["access-control-allow-origin"] == EVIL
        assert r.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


def test_hardened_cors_allows_only_the_production_origin(demo_hardened: Demo) -> None:
    with client(demo_hardened) as c:
        evil = c.get("/api/notes", headers={"Origin": EVIL, **login(demo_hardened, "alice")})
        preflight = c.options("/api/notes", headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"})
        trusted = c.get("/api/notes", headers={"Origin": TRUSTED, **login(demo_hardened, "alice")})
    assert "access-control-allow-origin" not in evil.headers
    assert "access-control-allow-origin" not in preflight.headers
    assert trusted.headers["access-control-allow-origin"] == TRUSTED
    assert trusted.headers["access-control-allow-credentials"] == "true"


# --- rate limiting -------------------------------------------------------------------------------


def failed_logins(demo: Demo, count: int) -> list[httpx.Response]:
    with client(demo) as c:
        return [c.post("/api/login", json={"email": demo.env["ALICE_EMAIL"], "password": "wrong"})
                for _ in range(count)]


def test_vulnerable_login_has_no_rate_limit(demo_vulnerable: Demo) -> None:
    assert [r.status_code for r in failed_logins(demo_vulnerable, 6)] == [401] * 6


def test_hardened_login_is_limited_to_five_a_minute(demo_hardened: Demo) -> None:
    try:
        responses = failed_logins(demo_hardened, 6)
        spoofed = httpx.post(f"{demo_hardened.url}/api/login", json={}, timeout=TIMEOUT,
                             headers={"X-Forwarded-For": "203.0.113.9"})
    finally:
        demo_hardened.reset_rate_limits()
    assert [r.status_code for r in responses] == [401] * 5 + [429]
    assert responses[-1].json()["error"] == "Too Many Requests"
    assert int(responses[-1].headers["retry-after"]) > 0
    assert spoofed.status_code == 429  # keyed by the peer address, not a header the client writes


# --- authorization: IDOR, admin, missing auth ----------------------------------------------------


def test_vulnerable_bob_reads_changes_and_deletes_alices_notes(demo_vulnerable: Demo) -> None:
    alice, bob = login(demo_vulnerable, "alice"), login(demo_vulnerable, "bob")
    with client(demo_vulnerable) as c:
        seeded = alice_note_id(demo_vulnerable)
        read = c.get(f"/api/notes/{seeded}", headers=bob)
        note = c.post("/api/notes", json={"title": "Alice's draft", "body": "x"}, headers=alice).json()
        changed = c.patch(f"/api/notes/{note['id']}", json={"title": "bob was here"}, headers=bob)
        deleted = c.delete(f"/api/notes/{note['id']}", headers=bob)
        after = c.get(f"/api/notes/{note['id']}", headers=alice)
    assert read.status_code == 200 and read.json()["owner_id"] == 1
    assert changed.status_code == 200 and changed.json()["title"] == "bob was here"
    assert deleted.status_code == 204 and after.status_code == 404


def test_hardened_other_peoples_notes_are_404(demo_hardened: Demo) -> None:
    alice, bob = login(demo_hardened, "alice"), login(demo_hardened, "bob")
    with client(demo_hardened) as c:
        seeded = alice_note_id(demo_hardened)
        note = c.post("/api/notes", json={"title": "Alice's draft", "body": "x"}, headers=alice).json()
        attempts = [
            c.get(f"/api/notes/{seeded}", headers=bob),
            c.patch(f"/api/notes/{note['id']}", json={"title": "bob was here"}, headers=bob),
            c.delete(f"/api/notes/{note['id']}", headers=bob),
            c.get(f"/api/notes/{note['id']}/export", headers=bob),
        ]
        own = c.get(f"/api/notes/{note['id']}", headers=alice)
    assert [r.status_code for r in attempts] == [404] * 4
    assert own.status_code == 200 and own.json()["title"] == "Alice's draft"


@pytest.mark.parametrize(("mode", "expected"), [("vulnerable", 200), ("hardened", 404)])
def test_orders_by_uuid(mode: str, expected: int, request: pytest.FixtureRequest) -> None:
    demo: Demo = request.getfixturevalue(f"demo_{mode}")
    demo.reset_rate_limits()
    with client(demo) as c:
        orders = c.get("/api/orders", headers=login(demo, "alice")).json()
        uuid.UUID(orders[0]["id"])
        r = c.get(f"/api/orders/{orders[0]['id']}", headers=login(demo, "bob"))
    assert r.status_code == expected


@pytest.mark.parametrize(("mode", "expected"), [("vulnerable", 200), ("hardened", 403)])
def test_admin_route_for_a_member(mode: str, expected: int, request: pytest.FixtureRequest) -> None:
    demo: Demo = request.getfixturevalue(f"demo_{mode}")
    demo.reset_rate_limits()
    with client(demo) as c:
        as_bob = c.get("/api/admin/users", headers=login(demo, "bob"))
        as_alice = c.get("/api/admin/users", headers=login(demo, "alice"))
    assert as_bob.status_code == expected
    assert as_alice.status_code == 200 and {u["email"] for u in as_alice.json()} >= {demo.env["BOB_EMAIL"]}


@pytest.mark.parametrize(("mode", "expected"), [("vulnerable", 200), ("hardened", 401)])
def test_export_without_login(mode: str, expected: int, request: pytest.FixtureRequest) -> None:
    demo: Demo = request.getfixturevalue(f"demo_{mode}")
    with client(demo) as c:
        export = c.get("/api/notes/1/export")
        listing = c.get("/api/notes")
    assert export.status_code == expected
    if expected == 200:
        assert export.headers["content-type"].startswith("text/markdown") and export.text.startswith("# ")
    assert listing.status_code == 401 and listing.json() == {"error": "authentication required"}


# --- JWT -----------------------------------------------------------------------------------------


def test_vulnerable_accepts_alg_none_and_uses_a_weak_secret(demo_vulnerable: Demo) -> None:
    token = login(demo_vulnerable, "bob")["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, "secret123", algorithms=["HS256"])  # a wordlist word signs it
    assert set(claims) >= {"sub", "email", "role", "exp"} and claims["role"] == "member"
    forged = forged_token({"sub": "1", "email": "alice@example.test", "role": "admin"})
    with client(demo_vulnerable) as c:
        me = c.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert me.status_code == 200 and me.json()["email"] == demo_vulnerable.env["ALICE_EMAIL"]


def test_hardened_rejects_unsigned_tampered_and_expired_tokens(demo_hardened: Demo) -> None:
    secret = demo_hardened.runtime.env["JWT_SECRET"]
    good = login(demo_hardened, "bob")["Authorization"].removeprefix("Bearer ")
    header, _, signature = good.split(".")
    as_alice = {**jwt.decode(good, options={"verify_signature": False}), "sub": "1"}
    tampered = ".".join((header, jwt.utils.base64url_encode(json.dumps(as_alice).encode()).decode(), signature))
    expired = jwt.encode({"sub": "2", "email": "bob@example.test", "role": "member", "exp": int(time.time()) - 60},
                         secret, algorithm="HS256")
    bad_tokens = [forged_token({"sub": "1", "role": "admin"}), tampered, expired]
    with client(demo_hardened) as c:
        ok = c.get("/api/me", headers={"Authorization": f"Bearer {good}"})
        rejected = [c.get("/api/me", headers={"Authorization": f"Bearer {t}"}) for t in bad_tokens]
    assert ok.status_code == 200
    assert [r.status_code for r in rejected] == [401] * 3


# --- webhooks ------------------------------------------------------------------------------------


def test_vulnerable_webhook_acts_on_unsigned_events(demo_vulnerable: Demo) -> None:
    alice = login(demo_vulnerable, "alice")
    with client(demo_vulnerable) as c:
        order = c.get("/api/orders", headers=alice).json()[-1]
        r = c.post("/api/webhooks/stripe", content=checkout_completed(order["id"]),
                   headers={"Content-Type": "application/json"})
        after = c.get(f"/api/orders/{order['id']}", headers=alice).json()
    assert r.status_code == 200 and r.json() == {"received": True}
    assert after["status"] == "paid"


def test_hardened_webhook_requires_a_valid_recent_stripe_signature(demo_hardened: Demo) -> None:
    secret = demo_hardened.env["STRIPE_WEBHOOK_SECRET"]
    assert secret.startswith("whsec_") and demo_hardened.runtime.env["STRIPE_WEBHOOK_SECRET"] == secret
    payload = checkout_completed(str(uuid.uuid4()))
    cases = {
        "unsigned": ({}, 400),
        "wrong secret": ({"Stripe-Signature": stripe_signature(payload, "whsec_" + secrets.token_hex(16))}, 400),
        "replayed": ({"Stripe-Signature": stripe_signature(payload, secret, int(time.time()) - 3600)}, 400),
        "signed": ({"Stripe-Signature": stripe_signature(payload, secret)}, 200),
    }
    with client(demo_hardened) as c:
        got = {name: c.post("/api/webhooks/stripe", content=payload,
                            headers={"Content-Type": "application/json", **headers}).status_code
               for name, (headers, _) in cases.items()}
        tampered = c.post("/api/webhooks/stripe", content=payload.replace(b"checkout", b"Checkout"),
                          headers={"Content-Type": "application/json", **cases["signed"][0]})
    assert got == {name: expected for name, (_, expected) in cases.items()}
    assert tampered.status_code == 400


# --- exposed files -------------------------------------------------------------------------------


def test_vulnerable_serves_the_project_directory(demo_vulnerable: Demo) -> None:
    with client(demo_vulnerable) as c:
        env, head, config = c.get("/.env"), c.get("/.git/HEAD"), c.get("/.git/config")
    assert env.status_code == 200 and "JWT_SECRET=secret123" in env.text
    assert re.search(r"^STRIPE_SECRET_KEY=sk_test_[0-9A-Za-z]{24,}$", env.text, re.MULTILINE)
    assert head.status_code == 200 and head.text == "ref: refs/heads/main\n"
    assert config.status_code == 200 and '[remote "origin"]' in config.text


def test_hardened_serves_only_the_build_output(demo_hardened: Demo) -> None:
    with client(demo_hardened) as c:
        statuses = [c.get(path).status_code for path in ("/.env", "/.git/HEAD", "/.git/config", "/deployed.env",
                                                         "/static/../.env")]
    assert statuses == [404] * 5


# --- headers, cookies, banner --------------------------------------------------------------------


def test_vulnerable_headers_cookie_and_banner(demo_vulnerable: Demo) -> None:
    with client(demo_vulnerable) as c:
        page = c.get("/")
        session = c.post("/api/login", json={"email": demo_vulnerable.env["ALICE_EMAIL"],
                                             "password": demo_vulnerable.env["ALICE_PASSWORD"]})
    assert not any(name in page.headers for name in SECURITY_HEADERS)
    assert re.fullmatch(r"Werkzeug/\d+\.\d+\S* Python/\d+\.\d+\.\d+", page.headers["server"])
    cookie = session.headers["set-cookie"].lower()
    assert cookie.startswith("session=")
    assert "httponly" not in cookie and "secure" not in cookie and "samesite" not in cookie


def test_hardened_headers_cookie_and_banner(demo_hardened: Demo) -> None:
    with client(demo_hardened) as c:
        page = c.get("/")
        api = c.get("/api/me")
        session = c.post("/api/login", json={"email": demo_hardened.env["ALICE_EMAIL"],
                                             "password": demo_hardened.env["ALICE_PASSWORD"]})
    for r in (page, api):
        assert all(name in r.headers for name in SECURITY_HEADERS)
        assert "unsafe-inline" not in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert r.headers["server"] == "nginx"
    cookie = session.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


# --- env manifest and deployed environment -------------------------------------------------------


def read_env(path: Any) -> dict[str, str | None]:
    return dict(dotenv_values(stream=io.StringIO(path.read_text())))


def test_manifest_is_placeholders_only(demo_vulnerable: Demo) -> None:
    manifest = read_env(demo_vulnerable.manifest)
    assert len(manifest) >= 10 and "# optional" in demo_vulnerable.manifest.read_text()
    assert not any(re.search(r"\b(?:sk|pk)_(?:test|live)_", v or "") for v in manifest.values())


def test_vulnerable_deployed_env_has_gaps(demo_vulnerable: Demo) -> None:
    manifest, deployed = read_env(demo_vulnerable.manifest), read_env(demo_vulnerable.deployed_env)
    assert set(manifest) - set(deployed) == {"MAIL_FROM", "SENTRY_DSN"}  # SENTRY_DSN is optional
    assert deployed["STRIPE_WEBHOOK_SECRET"] == ""
    assert deployed["MAIL_API_KEY"] == manifest["MAIL_API_KEY"]
    assert (deployed["STRIPE_SECRET_KEY"] or "").startswith("sk_test_")
    assert "localhost" in (deployed["DATABASE_URL"] or "") and deployed["DEBUG"] == "true"
    assert deployed["SECRET_KEY"] == "dev" and deployed["JWT_SECRET"] == "secret123"


def test_hardened_deployed_env_is_complete(demo_hardened: Demo) -> None:
    manifest, deployed = read_env(demo_hardened.manifest), read_env(demo_hardened.deployed_env)
    assert set(deployed) == set(manifest)
    assert all(deployed[name] and deployed[name] != manifest[name] for name in manifest
               if name not in ("DEBUG", "APP_ENV"))
    assert deployed["DEBUG"] == "false" and deployed["APP_ENV"] == "production"
    assert (deployed["STRIPE_SECRET_KEY"] or "").startswith("sk_live_")
    assert len(deployed["JWT_SECRET"] or "") >= 32 and "localhost" not in (deployed["DATABASE_URL"] or "")
