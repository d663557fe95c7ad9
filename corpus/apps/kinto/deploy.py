"""Kinto on PostgreSQL: accounts with Basic auth, an admin, and notes that only their author may read.

The notes live in one collection that every signed-in user may add to, the pattern of Kinto's tutorials; each record
then belongs to its author (its `write` permission names them) and the plural endpoint lists only what the caller may
read. The misconfigured setup also grants `read` on the collection to `system.Authenticated` — "let everyone see the
notes" — which by Kinto's permission inheritance lets every account read every record.
"""

from __future__ import annotations

import secrets
import shutil

from harness import (
    LOOPBACK,
    AppInfo,
    Context,
    CorpusError,
    Deployment,
    Setup,
    basic_auth,
    expect,
    free_port,
    request,
    run_logged,
    wait_http,
)

APP = AppInfo(
    name="kinto",
    version="26.5.0",
    source="PyPI",
    needs_postgres=True,
    setups=(
        Setup("production", "PostgreSQL backends, accounts plugin, notes collection open for record:create only"),
        Setup("misconfigured", "as production, plus read on the notes collection for system.Authenticated"),
    ),
)

BUCKET = "/v1/buckets/notes"
COLLECTION = f"{BUCKET}/collections/notes"
NOTES_PER_ACCOUNT = 3



def deploy(ctx: Context) -> Deployment:
    if ctx.postgres is None:
        raise CorpusError("kinto needs the PostgreSQL cluster")
    database = ctx.postgres.create_database(f"kinto_{ctx.setup}")
    environment = {
        "KINTO_STORAGE_BACKEND": "kinto.core.storage.postgresql",
        "KINTO_STORAGE_URL": database,
        "KINTO_PERMISSION_BACKEND": "kinto.core.permission.postgresql",
        "KINTO_PERMISSION_URL": database,
        "KINTO_CACHE_BACKEND": "kinto.core.cache.postgresql",
        "KINTO_CACHE_URL": database,
        "KINTO_USERID_HMAC_SECRET": secrets.token_hex(32),
    }
    # What the deployment really runs with, for probe's env checks (and the manifest the team keeps beside it).
    (ctx.run_dir / "deployed.env").write_text("".join(f"{k}={v}\n" for k, v in environment.items()), encoding="utf-8")
    shutil.copy(ctx.app_dir / ".env.example", ctx.run_dir / ".env.example")
    shutil.copy(ctx.app_dir / "kinto.ini", ctx.run_dir / "kinto.ini")

    kinto = str(ctx.install_dir / "venv" / "bin" / "kinto")
    ini = str(ctx.run_dir / "kinto.ini")
    run_logged([kinto, "migrate", "--ini", ini], ctx.log, env=environment, timeout=120)
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    proc = ctx.processes.start("kinto", [kinto, "start", "--ini", ini, "--port", str(port)], log=ctx.log,
                               cwd=ctx.run_dir, env=environment)
    wait_http(f"{base}/v1/__heartbeat__", proc, ctx.log, ready=lambda reply: reply.status == 200)

    passwords = {name: secrets.token_urlsafe(18) for name in ("admin", "alice", "bob")}
    auth = {name: {"Authorization": f"Basic {basic_auth(name, pw)}"} for name, pw in passwords.items()}
    for name, password in passwords.items():
        # Sign-up is anonymous (account_create_principals = system.Everyone).
        expect(request("PUT", f"{base}/v1/accounts/{name}", json_body={"data": {"password": password}}),
               f"create account {name}", 201)
    expect(request("PUT", f"{base}{BUCKET}", json_body={}, headers=auth["admin"]), "create bucket", 201)
    permissions = {"record:create": ["system.Authenticated"]}
    if ctx.setup == "misconfigured":
        permissions["read"] = ["system.Authenticated"]
    expect(request("PUT", f"{base}{COLLECTION}", json_body={"permissions": permissions}, headers=auth["admin"]),
           "create collection", 201)
    env = {f"KINTO_{name.upper()}_BASIC": basic_auth(name, pw) for name, pw in passwords.items()}
    for name in ("alice", "bob"):
        for n in range(1, NOTES_PER_ACCOUNT + 1):
            note = {"title": f"{name}'s private note {n}", "body": f"only {name} should read this ({secrets.token_hex(6)})"}
            made = expect(request("POST", f"{base}{COLLECTION}/records", json_body={"data": note}, headers=auth[name]),
                          f"create {name}'s note", 201).json()
            # Kinto records carry no owner field, so a list every account can read does not say whose a note is:
            # the user names the ids of alice's notes (here: what creating them answered).
            env.setdefault(f"KINTO_{name.upper()}_NOTE", made["data"]["id"])
    ctx.say(f"kinto {ctx.setup}: 3 accounts, {2 * NOTES_PER_ACCOUNT} notes at {base}")
    return Deployment(target=base, env=env)
