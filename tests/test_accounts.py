"""Logging the configured accounts in: JSON/form bodies, tokens from a JSON path, a header or a cookie,
one login per run however many checks ask at once, one re-login on 401, and a failed login that names
the account, the step and the status, masks the credentials, and turns every check that needed it
into an error."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from fixtures.authz import Seed, create_app, make_seed
from fixtures.serve import serve_asgi
from probe import api, registry
from probe.accounts import Accounts, AccountSettings, LoginFailed, LoginSettings
from probe.checks.idor.matrix import ResourceSettings
from probe.forms import find_csrf_token
from probe.http import HttpClient, Scope, ScopedHttp
from probe.model import Status
from probe.redact import Redactor
from tests.helpers import results_for

FORM_LOGIN = {"request": "POST /api/token", "form": {"username": "{username}", "password": "{password}"},
              "token": "json:access_token"}


@pytest.fixture(scope="module")
def authz() -> Iterator[tuple[Seed, str]]:
    seed = make_seed()
    with serve_asgi(create_app("hardened", seed)) as url:
        yield seed, url


@pytest.fixture
async def http(authz: tuple[Seed, str]) -> AsyncIterator[ScopedHttp]:
    url = authz[1]
    client = HttpClient(scope=Scope(url), redactor=Redactor(), user_agent="probe-test", max_requests=100, rate=500.0,
                        timeout=5.0, max_bytes=100_000, per_host=4, deadline=time.monotonic() + 30)
    try:
        yield ScopedHttp(client, "accounts", url)
    finally:
        await client.aclose()


def accounts_for(seed: Seed, http: ScopedHttp, redactor: Redactor | None = None, **login: Any) -> Accounts:
    settings = {
        "alice": AccountSettings(username=seed.alice.email, password=seed.alice.password),
        "bob": AccountSettings(username=seed.bob.email, password=seed.bob.password),
    }
    return Accounts(settings, LoginSettings.model_validate({**FORM_LOGIN, **login}), http, redactor or Redactor())


@pytest.mark.parametrize(("token", "send", "sent_as"), [
    ("json:access_token", None, "authorization"),
    ("header:X-Auth-Token", None, "authorization"),
    ("cookie:session", None, "cookie"),
])
async def test_token_from_json_header_or_cookie(authz: tuple[Seed, str], http: ScopedHttp, token: str,
                                               send: str | None, sent_as: str) -> None:
    seed, _ = authz
    redactor = Redactor()
    accounts = accounts_for(seed, http, redactor, token=token)
    session = await accounts.session("bob")
    assert sent_as in {k.lower() for k in session.headers}
    me = await accounts.request(http, "bob", "GET", "/api/users/me")
    assert me.status == 200 and me.json()["email"] == seed.bob.email
    assert session.token and session.token in redactor and seed.bob.password in redactor


async def test_one_login_per_account_however_many_ask_at_once(authz: tuple[Seed, str], http: ScopedHttp) -> None:
    seed, _ = authz
    accounts = accounts_for(seed, http)
    before = seed.logins[seed.alice.id]
    sessions = await asyncio.gather(*(accounts.session("alice") for _ in range(10)))
    assert len({s.token for s in sessions}) == 1
    assert seed.logins[seed.alice.id] == before + 1


async def test_logs_in_again_once_on_401(authz: tuple[Seed, str], http: ScopedHttp) -> None:
    seed, _ = authz
    accounts = accounts_for(seed, http)
    first = await accounts.session("bob")
    seed.revoked[seed.bob.id] = seed.serial  # every token issued so far is refused from now on
    try:
        again = await accounts.request(http, "bob", "GET", "/api/users/me")
        assert again.status == 200
        assert (await accounts.session("bob")).token != first.token
        logins = seed.logins[seed.bob.id]
        seed.revoked[seed.bob.id] = seed.serial
        refused = await accounts.request(http, "bob", "GET", "/api/users/me")
        assert refused.status == 401  # the one refresh is used: no login storm
        assert seed.logins[seed.bob.id] == logins
    finally:
        seed.revoked.pop(seed.bob.id, None)


async def test_failed_login_names_account_step_status_and_username_and_masks_the_password(authz: tuple[Seed, str],
                                                                           http: ScopedHttp) -> None:
    seed, _ = authz
    wrong = "wrong-" + seed.bob.password
    accounts = Accounts({"bob": AccountSettings(username=seed.bob.email, password=wrong)},
                        LoginSettings.model_validate(FORM_LOGIN), http, Redactor())
    with pytest.raises(LoginFailed) as caught:
        await accounts.session("bob")
    message = str(caught.value)
    assert "account 'bob'" in message and "POST /api/token" in message and "401" in message
    # The username says which login failed; only the password is a secret.
    assert wrong not in message and repr(seed.bob.email) in message
    with pytest.raises(LoginFailed):  # remembered, not retried by every check
        await accounts.session("bob")


def test_a_failed_login_makes_every_check_that_needed_it_an_error(authz: tuple[Seed, str]) -> None:
    seed, url = authz
    reg = registry.build(["probe.checks.idor", "probe.checks.auth"])
    report = api.execute(api.plan(target=url, registry=reg, environ={}, overrides={
        "rate": 500,
        "login": FORM_LOGIN,
        "accounts": {"alice": {"username": seed.alice.email, "password": seed.alice.password, "role": "admin"},
                     "bob": {"username": seed.bob.email, "password": "not-" + seed.bob.password}},
        "resources": [{"path": "/api/documents/{id}", "owner": "bob", "list": "GET /api/documents",
                       "ids_at": "data.items[*].id"},
                      {"path": "/api/admin/users", "owner": "alice", "role": "admin"}],
    }))
    for check_id in ("idor.cross-account-read", "idor.enumerable", "auth.unauthenticated-access",
                     "auth.missing-role-check"):
        found = [r for r in results_for(report, check_id) if check_id == "auth.missing-role-check" or "documents" in r.location]
        assert found and all(r.status is Status.ERROR and "account 'bob'" in r.detail for r in found), (check_id, found)
    assert all(seed.bob.password not in r.detail for r in report.results)


def test_login_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="METHOD /path"):
        LoginSettings.model_validate({"request": "login please"})
    with pytest.raises(ValueError, match="json:PATH"):
        LoginSettings.model_validate({"request": "POST /login", "token": "body"})
    with pytest.raises(ValueError, match="not both"):
        LoginSettings.model_validate({"request": "POST /login", "json": {"a": "b"}, "form": {"a": "b"}})


async def test_static_credentials_need_no_login() -> None:
    accounts = Accounts({"ci": AccountSettings(bearer="tok-123456", headers={"X-Tenant": "t1"})})
    session = await accounts.session("ci")
    assert session.headers == {"X-Tenant": "t1", "Authorization": "Bearer tok-123456"}


def test_csrf_token_from_form_or_cookie() -> None:
    html = '<form><input type="hidden" name="csrfmiddlewaretoken" value="abc123"><input name="u"></form>'
    assert find_csrf_token(html, {}, None) == ("csrfmiddlewaretoken", "abc123")
    assert find_csrf_token("<p>no form</p>", {"XSRF-TOKEN": "c00k1e"}, None) == ("XSRF-TOKEN", "c00k1e")
    assert find_csrf_token("<input name='_token' value=''>", {}, None) == (None, None)
    assert find_csrf_token("<input name=mine value=v1>", {}, "mine") == ("mine", "v1")


def test_the_documented_probe_toml_is_valid(tmp_path: Any) -> None:
    from probe import config
    from tests.helpers import ROOT

    text = (ROOT / "docs" / "authorization.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "probe.toml").write_text(example)
    names = ("ALICE_EMAIL", "ALICE_PASSWORD", "BOB_EMAIL", "BOB_PASSWORD", "STAGING_JWT_SECRET")
    loaded = config.load(tmp_path / "probe.toml", api.sections(registry.build(["probe.checks.idor", "probe.checks.auth"])),
                         environ={name: f"value-of-{name.lower()}" for name in names})
    settings = loaded.settings
    assert settings.section(LoginSettings).token == "json:token"
    assert [r.path for r in settings.sections(ResourceSettings)][-1] == "/api/admin/users"
    assert "value-of-alice_password" in loaded.secrets


@pytest.fixture(scope="module")
def django_login() -> Iterator[tuple[str, dict[str, str]]]:
    import json
    import sys

    from fixtures.serve import serve_command
    from tests.helpers import ROOT

    users = {"carol@authz.test": "pw-" + __import__("secrets").token_urlsafe(10)}
    with serve_command([sys.executable, "-m", "fixtures.authz.django_login"], cwd=ROOT,
                       env={"AUTHZ_USERS": json.dumps(users)}) as url:
        yield url, users


async def test_csrf_protected_form_login_with_a_session_cookie(django_login: tuple[str, dict[str, str]]) -> None:
    url, users = django_login
    (email, password), = users.items()
    client = HttpClient(scope=Scope(url), redactor=Redactor(), user_agent="probe-test", max_requests=20, rate=500.0,
                        timeout=5.0, max_bytes=100_000, per_host=2, deadline=time.monotonic() + 30)
    http = ScopedHttp(client, "accounts", url)
    login = {"request": "POST /login", "form": {"username": "{username}", "password": "{password}"},
             "token": "cookie:sessionid", "csrf": "GET /login"}
    try:
        accounts = Accounts({"carol": AccountSettings(username=email, password=password)},
                            LoginSettings.model_validate(login), http, Redactor())
        me = await accounts.request(http, "carol", "GET", "/api/me")
        assert me.status == 200 and me.json() == {"email": email}
        without = Accounts({"carol": AccountSettings(username=email, password=password)},
                           LoginSettings.model_validate({k: v for k, v in login.items() if k != "csrf"}), http, Redactor())
        with pytest.raises(LoginFailed, match="answered 403"):  # Django's CSRF check refuses the bare POST
            await without.session("carol")
    finally:
        await client.aclose()


async def test_gateway_headers_on_login_and_on_the_account() -> None:
    """A FastAPI API behind a gateway that wants `apikey` on every request: [login] headers carry it to the
    log-in, an account's headers beside its username and password carry it to its own requests."""
    from fixtures.ratelimit import PASSWORD, USER
    from fixtures.ratelimit.fastapi_app import GATEWAY_KEY
    from fixtures.ratelimit.fastapi_app import app as gateway_app

    login = {"request": "POST /api/v1/login/access-token", "json": {"username": "{username}", "password": "{password}"},
             "token": "json:access_token"}
    with serve_asgi(gateway_app("none")) as url:
        client = HttpClient(scope=Scope(url), redactor=Redactor(), user_agent="probe-test", max_requests=20, rate=500.0,
                            timeout=5.0, max_bytes=100_000, per_host=2, deadline=time.monotonic() + 30)
        http = ScopedHttp(client, "accounts", url)
        try:
            account = AccountSettings(username=USER, password=PASSWORD)
            without = Accounts({"dora": account}, LoginSettings.model_validate(login), http, Redactor())
            with pytest.raises(LoginFailed, match="answered 401"):
                await without.session("dora")
            redactor = Redactor()
            keyed = Accounts({"dora": account.model_copy(update={"headers": {"apikey": GATEWAY_KEY}})},
                             LoginSettings.model_validate({**login, "headers": {"apikey": GATEWAY_KEY}}), http, redactor)
            assert keyed.settings("dora").logs_in  # headers beside a password are extras, not credentials
            session = await keyed.session("dora")
            assert session.headers["apikey"] == GATEWAY_KEY and session.headers["Authorization"].startswith("Bearer ")
            # The account's own requests carry the key: the gateway lets them through to the app.
            answer = await keyed.request(http, "dora", "POST", "/api/v1/password-recovery/" + USER)
            assert answer.status == 200
            assert GATEWAY_KEY not in redactor.redact(f"apikey: {GATEWAY_KEY}")
        finally:
            await client.aclose()
