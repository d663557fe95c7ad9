"""Parse Server on PostgreSQL: users with session tokens, the master key as the admin, and a Note class.

Production follows Parse's security guide: class-level permissions that require a logged-in user, Cloud Code that
gives each new Note an ACL for its author alone, private users (the default since Parse Server 6) and a rate limit on
log-in. The misconfigured setup is the quick start put live: the Note class with Parse's default public CLP, no
Cloud Code (so notes are saved without an ACL, which Parse treats as public read and write), enforcePrivateUsers
turned off, and no rate limit.
"""

from __future__ import annotations

import json
import secrets
import shutil

from harness import (
    LOOPBACK,
    AppInfo,
    Context,
    CorpusError,
    Deployment,
    Setup,
    expect,
    free_port,
    request,
    wait_http,
)

APP = AppInfo(
    name="parse-server",
    version="9.10.0",
    source="npm",
    needs_postgres=True,
    setups=(
        Setup("production", "CLP requires login, Cloud Code sets an owner-only ACL, private users, log-in rate limit"),
        Setup("misconfigured", "default public CLP, no Cloud Code (notes without ACL), enforcePrivateUsers off, no limit"),
    ),
)

APP_ID = "notes-app"
NOTES_PER_ACCOUNT = 3
AUTHENTICATED = {"requiresAuthentication": True}



def deploy(ctx: Context) -> Deployment:
    if ctx.postgres is None:
        raise CorpusError("parse-server needs the PostgreSQL cluster")
    database = ctx.postgres.create_database(f"parse_{ctx.setup.replace('-', '_')}")
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    master_key = secrets.token_urlsafe(32)
    environment = {
        "PARSE_SERVER_APPLICATION_ID": APP_ID,
        "PARSE_SERVER_MASTER_KEY": master_key,
        "PARSE_SERVER_DATABASE_URI": database,
        "PARSE_SERVER_URL": f"{base}/parse",
        "PARSE_SERVER_MOUNT_PATH": "/parse",
    }
    options: dict[str, object] = {"host": LOOPBACK, "port": port}
    if ctx.setup == "production":
        shutil.copytree(ctx.app_dir / "cloud", ctx.run_dir / "cloud")
        environment["PARSE_SERVER_CLOUD"] = "./cloud/main.js"
        # includeInternalRequests: every request of this corpus comes from 127.0.0.1, which Parse's limiter otherwise
        # exempts as "internal" (middlewares.js, addRateLimit's skip); real clients come from elsewhere.
        options["rateLimit"] = [{"requestPath": "/login", "requestTimeWindow": 60_000, "requestCount": 10,
                                 "includeInternalRequests": True}]
    else:
        options["enforcePrivateUsers"] = False
    (ctx.run_dir / "config.json").write_text(json.dumps(options, indent=2), encoding="utf-8")
    (ctx.run_dir / "deployed.env").write_text("".join(f"{k}={v}\n" for k, v in environment.items()), encoding="utf-8")
    shutil.copy(ctx.app_dir / ".env.example", ctx.run_dir / ".env.example")

    server = str(ctx.install_dir / "node_modules" / ".bin" / "parse-server")
    proc = ctx.processes.start("parse-server", [server, "config.json"], log=ctx.log, cwd=ctx.run_dir, env=environment)
    wait_http(f"{base}/parse/health", proc, ctx.log, ready=lambda reply: reply.status == 200)

    app = {"X-Parse-Application-Id": APP_ID}
    master = {**app, "X-Parse-Master-Key": master_key}
    # Each note points at its author (`owner`), the data-modelling pattern of Parse's guide (pointers to _User).
    schema: dict[str, object] = {"className": "Note", "fields": {
        "title": {"type": "String"}, "body": {"type": "String"}, "owner": {"type": "Pointer", "targetClass": "_User"}}}
    if ctx.setup == "production":
        schema["classLevelPermissions"] = {op: AUTHENTICATED for op in ("find", "count", "get", "create", "update", "delete")}
    expect(request("POST", f"{base}/parse/schemas/Note", json_body=schema, headers=master), "create Note class", 200, 201)
    env = {"PARSE_APP_ID": APP_ID, "PARSE_MASTER_KEY": master_key}
    for name in ("alice", "bob"):
        user = {"username": name, "password": secrets.token_urlsafe(18), "email": f"{name}@example.test"}
        session = expect(request("POST", f"{base}/parse/users", json_body=user, headers=app), f"sign up {name}", 201).json()
        token = session["sessionToken"]
        env[f"PARSE_{name.upper()}_SESSION"] = token
        owner = {"__type": "Pointer", "className": "_User", "objectId": session["objectId"]}
        for n in range(1, NOTES_PER_ACCOUNT + 1):
            note = {"title": f"{name}'s private note {n}", "body": f"only {name} should read this ({secrets.token_hex(6)})",
                    "owner": owner}
            expect(request("POST", f"{base}/parse/classes/Note", json_body=note,
                           headers={**app, "X-Parse-Session-Token": token}), f"create {name}'s note", 201)
    ctx.say(f"parse-server {ctx.setup}: master key, alice and bob, {2 * NOTES_PER_ACCOUNT} notes at {base}")
    return Deployment(target=base, env=env)
