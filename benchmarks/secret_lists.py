"""How long guessing a signing key offline takes against the whole of checks/wordlists.py's lists: loading them
once, then one HS256 JWT and one session cookie per framework whose key is in no list (the worst case: every
key tried). Run: `python -m benchmarks.secret_lists`. The tokens are made here with the real libraries where
they are Python ones (PyJWT, Flask, Django) and by the formats' definitions for the Node ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import statistics
import time
from collections.abc import Callable

import jwt

RUNS = 5


def _median(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    start = time.perf_counter()
    from probe.checks import sessions, wordlists
    from probe.checks.auth import crack, parse_jwt

    count = len(wordlists.keys())
    print(f"load {count} published secrets: {time.perf_counter() - start:.3f} s (once per run)")
    key = secrets.token_hex(32)
    token = parse_jwt(jwt.encode({"sub": "1"}, key, algorithm="HS256"))
    assert token is not None
    print(f"HS256 JWT, no match: {_median(lambda: crack(token, wordlists.secrets())):.3f} s")

    from flask import Flask, session

    app = Flask(__name__)
    app.secret_key = key

    @app.get("/")
    def index() -> str:
        session["uid"] = 1
        return ""

    flask_cookie = app.test_client().get("/").headers["Set-Cookie"].split(";")[0].split("=", 1)[1]

    import django
    from django.conf import settings

    settings.configure(SECRET_KEY=key)
    django.setup()
    from django.core import signing

    django_cookie = signing.dumps({"_auth_user_id": "1"}, salt="django.contrib.sessions.backends.signed_cookies",
                                  compress=True)
    sid = secrets.token_urlsafe(24)
    express = "s:" + sid + "." + base64.b64encode(hmac.digest(key.encode(), sid.encode(), "sha256")).decode().rstrip("=")
    value = base64.b64encode(b'{"uid":1}').decode()
    keygrip = base64.urlsafe_b64encode(hmac.digest(key.encode(), f"session={value}".encode(), hashlib.sha1)).decode()
    jars = {"Flask": {"session": flask_cookie}, "Django": {"sessionid": django_cookie}, "express-session":
            {"connect.sid": express}, "cookie-session": {"session": value, "session.sig": keygrip.rstrip("=")}}
    for label, jar in jars.items():
        (cookie,) = sessions.recognise(jar, "benchmark")
        print(f"{label} session cookie, no match: {_median(lambda c=cookie: sessions.crack(c, wordlists.keys())):.3f} s")


if __name__ == "__main__":
    main()
