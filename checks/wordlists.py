"""Secrets the public knows, for guessing signing keys offline. Registers no checks: `auth.jwt-weak-secret`,
`auth.session-weak-secret` and the env family's weak-secret judgement read them from here.

Three lists, tried in this order (a secret is credited to the first list that holds it):

1. `bundled` — checks/jwt_secrets.txt: framework, library and tutorial defaults ("keyboard cat", the jwt.io
   example key, `random` from the VAmPI example API, ...); the sources are in the file's comment lines.
2. `app-defaults` — `APP_DEFAULTS` below: keys that popular self-hosted apps ship in their sample configs,
   settings fall-backs and docker files, which deployments keep; each row names the file it comes from.
3. `flask-unsign` — the `flask-unsign-wordlist` package's `wordlists/all.txt`: about 56,000 secret keys
   collected from public code (GitHub, GitLab, Stack Overflow, Stack Exchange, searchcode) by Luke Paris
   (Paradoxis) for flask-unsign. MIT licence; source https://github.com/Paradoxis/Flask-Unsign-Wordlist.
   It is a run-time dependency, read from the installed package with importlib.resources and never copied
   into this repository. One Python string literal a line, read as flask-unsign reads it (`literal_eval`,
   else the line as it is).

The lists are read once per process, on first use, so a run whose checks never guess a key never loads them.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TypeVar

BUNDLED = "bundled"
APP_DEFAULTS_LIST = "app-defaults"
FLASK_UNSIGN = "flask-unsign"
FLASK_UNSIGN_SOURCE = "https://github.com/Paradoxis/Flask-Unsign-Wordlist"
SUPERSET_ADVISORY = ("https://www.horizon3.ai/attack-research/disclosures/cve-2023-27524-insecure-default-"
                     "configuration-in-apache-superset-leads-to-remote-code-execution/")


K = TypeVar("K")
# Candidates tried between two turns of the event loop (a few milliseconds of HMACs).
SLICE = 2_000


@dataclass(frozen=True)
class AppDefault:
    secret: str
    app: str
    source: str


# Signing keys shipped by self-hosted apps (session cookies, CSRF tokens, password-reset links).
APP_DEFAULTS: tuple[AppDefault, ...] = (
    AppDefault("\x02\x01thisismyscretkey\x01\x02\\e\\y\\y\\h", "Apache Superset < 1.4.1 and Flask-AppBuilder app template",
               "superset/config.py SECRET_KEY (CVE-2023-27524): " + SUPERSET_ADVISORY),
    AppDefault("CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET", "Apache Superset >= 1.4.1",
               "superset/config.py SECRET_KEY (CVE-2023-27524): " + SUPERSET_ADVISORY),
    AppDefault("TEST_NON_DEV_SECRET", "Apache Superset docker compose",
               "docker/.env SUPERSET_SECRET_KEY (CVE-2023-27524): " + SUPERSET_ADVISORY),
    AppDefault("thisISaSECRET_1234", "Apache Superset helm chart",
               "the helm chart's values (CVE-2023-27524): " + SUPERSET_ADVISORY),
    AppDefault("YOUR_OWN_RANDOM_GENERATED_SECRET_KEY", "Apache Superset documentation",
               "the configuration docs' SECRET_KEY example (CVE-2023-27524): " + SUPERSET_ADVISORY),
    AppDefault("temporary_key", "Apache Airflow < 1.10.14",
               "airflow/config_templates/default_airflow.cfg [webserver] secret_key (CVE-2020-17526): "
               "https://nvd.nist.gov/vuln/detail/CVE-2020-17526"),
    AppDefault("c292a0a3aa32397cdb050e233733900f", "Redash < 10.0.0",
               "redash/settings/__init__.py REDASH_COOKIE_SECRET fall-back (CVE-2021-41192): "
               "https://nvd.nist.gov/vuln/detail/CVE-2021-41192"),
    AppDefault("e11fl1oa-*ytql8p)(06fbj4ukrlo+n7k&q5+$1md7i+mge=ee", "Paperless-ngx",
               "src/paperless/settings.py PAPERLESS_SECRET_KEY fall-back: "
               "https://github.com/paperless-ngx/paperless-ngx/blob/dev/src/paperless/settings.py"),
    AppDefault("e951e5a1f4b94151b360f47edf596dd2", "PowerDNS-Admin",
               "configs/development.py and the docker image's default config SECRET_KEY: "
               "https://github.com/PowerDNS-Admin/PowerDNS-Admin/blob/master/configs/development.py"),
)


@dataclass(frozen=True)
class SecretList:
    name: str
    source: str
    secrets: tuple[str, ...]


def _bundled() -> SecretList:
    text = resources.files("probe.checks").joinpath("jwt_secrets.txt").read_text(encoding="utf-8")
    lines = (line.rstrip("\r") for line in text.split("\n"))
    secrets = tuple(line for line in lines if line and not line.startswith("# "))
    return SecretList(BUNDLED, "the bundled list of framework, library and tutorial defaults (checks/jwt_secrets.txt)", secrets)


def _literal(line: str) -> str:
    """One line of flask-unsign's list: a Python string literal, or (for the few that are not) the line itself."""
    quote = line[:1]
    if len(line) >= 2 and quote in "'\"" and line[-1] == quote and "\\" not in line and quote not in line[1:-1]:
        return line[1:-1]  # the common case, without the cost of literal_eval
    try:
        value = ast.literal_eval(line)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return line.strip()
    return value if isinstance(value, str) else line.strip()


def _flask_unsign() -> SecretList:
    text = resources.files("flask_unsign_wordlist").joinpath("wordlists/all.txt").read_text(encoding="utf-8")
    secrets = (_literal(line) for line in text.splitlines() if line.strip())
    return SecretList(FLASK_UNSIGN, f"flask-unsign-wordlist, secret keys collected from public code (MIT): "
                                    f"{FLASK_UNSIGN_SOURCE}", tuple(s for s in secrets if s and _encodable(s)))


def _encodable(secret: str) -> bool:
    """False for the few literals holding lone surrogates: no app can have them as a UTF-8 key."""
    try:
        secret.encode()
    except UnicodeEncodeError:
        return False
    return True


@functools.cache
def secret_lists() -> tuple[SecretList, ...]:
    app = SecretList(APP_DEFAULTS_LIST, "defaults shipped by self-hosted apps (checks/wordlists.py APP_DEFAULTS)",
                     tuple(d.secret for d in APP_DEFAULTS))
    return _bundled(), app, _flask_unsign()


@functools.cache
def _origins() -> dict[str, SecretList]:
    found: dict[str, SecretList] = {}
    for listed in secret_lists():
        for secret in listed.secrets:
            found.setdefault(secret, listed)
    return found


@functools.cache
def secrets() -> tuple[str, ...]:
    """Every known secret once, bundled defaults first (the likeliest hits are tried first)."""
    return tuple(_origins())


@functools.cache
def keys() -> tuple[bytes, ...]:
    """`secrets()` as HMAC keys."""
    return tuple(s.encode() for s in secrets())


async def loaded() -> None:
    """Read and index the lists once per process, off the event loop: half a second of parsing must not hold up the
    run's other requests, its deadline or Ctrl-C. Await it before the first look-up in a check."""
    await asyncio.to_thread(_load_once)


_LOADING = threading.Lock()


def _load_once() -> None:
    # One thread parses, the others wait: the caches are not thread-safe on a first call, and CPython's ast module
    # fails (SystemError) when several threads parse literals at once.
    with _LOADING:
        keys()


async def first_in_turns(candidates: tuple[K, ...], find: Callable[[tuple[K, ...]], K | None]) -> K | None:
    """`find` over the candidates a slice at a time, handing the event loop back between slices: tens of thousands of
    HMACs must not hold it, or the run's deadline and Ctrl-C could not stop the check."""
    for start in range(0, len(candidates), SLICE):
        found = find(candidates[start:start + SLICE])
        if found is not None:
            return found
        await asyncio.sleep(0)
    return None


def origin(secret: str) -> SecretList | None:
    """The list a secret comes from, or None when no list holds it."""
    return _origins().get(secret)


def app_default(secret: str) -> AppDefault | None:
    return next((d for d in APP_DEFAULTS if d.secret == secret), None)


def describe(secret: str) -> str | None:
    """Where a secret is published, in words for a finding; None when it is in no list."""
    listed = origin(secret)
    if listed is None:
        return None
    app = app_default(secret)
    if app is not None:
        return f"{app.app} default, {app.source}"
    return listed.source
