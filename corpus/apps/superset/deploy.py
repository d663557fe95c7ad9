"""Apache Superset on PostgreSQL, served by gunicorn as its docs show, with an admin and two Gamma users.

Production follows "Installing Superset from PyPI" and "Configuring Superset": a SECRET_KEY generated with
`openssl rand -base64 42`, PostgreSQL for the metadata database, SUPERSET_ENV=production (which turns Flask-Limiter
on), `superset db upgrade`, `superset fab create-admin`, `superset init`, then gunicorn. The misconfigured setup is
the same deployment with the key that Superset's docker compose `.env` ships (`TEST_NON_DEV_SECRET`) left in place
(the mistake behind CVE-2023-27524, where a published key lets anyone sign a session cookie or API token), and
`PUBLIC_ROLE_LIKE = "Gamma"`, the docs' way to let visitors who are not logged in see dashboards.
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
    expect,
    free_port,
    request,
    run_logged,
    wait_http,
)

APP = AppInfo(
    name="superset",
    version="6.1.0",
    source="PyPI",
    needs_postgres=True,
    setups=(
        Setup("production", "PostgreSQL metadata, SUPERSET_ENV=production, random SECRET_KEY, gunicorn"),
        Setup("misconfigured", "as production, with the docker compose .env's SUPERSET_SECRET_KEY=TEST_NON_DEV_SECRET "
                               "and PUBLIC_ROLE_LIKE = \"Gamma\""),
    ),
)

# docker/.env in Superset's repository: the key its compose setup starts with.
COMPOSE_SECRET_KEY = "TEST_NON_DEV_SECRET"
USERS = ("alice", "bob")



def deploy(ctx: Context) -> Deployment:
    if ctx.postgres is None:
        raise CorpusError("superset needs the PostgreSQL cluster")
    database = ctx.postgres.create_database(f"superset_{ctx.setup}")
    secret_key = COMPOSE_SECRET_KEY if ctx.setup == "misconfigured" else secrets.token_urlsafe(42)
    config = ctx.run_dir / "superset_config.py"
    shutil.copy(ctx.app_dir / "superset_config.py", config)
    if ctx.setup == "misconfigured":
        # "Let anonymous users see the dashboards": the public role gets Gamma's permissions at `superset init`.
        config.write_text(config.read_text(encoding="utf-8") + 'PUBLIC_ROLE_LIKE = "Gamma"\n', encoding="utf-8")
    environment = {
        "SUPERSET_CONFIG_PATH": str(config),
        "SUPERSET_ENV": "production",
        "SUPERSET_DATABASE_URI": database,
        "SUPERSET_SECRET_KEY": secret_key,
    }
    # What the deployment really runs with, for probe's env checks (and the manifest the team keeps beside it).
    (ctx.run_dir / "deployed.env").write_text("".join(f"{k}={v}\n" for k, v in environment.items()), encoding="utf-8")
    shutil.copy(ctx.app_dir / ".env.example", ctx.run_dir / ".env.example")
    # Superset keeps uploads and its logs under SUPERSET_HOME (~/.superset by default): the run's own folder here.
    environment["SUPERSET_HOME"] = str(ctx.run_dir / "superset-home")

    bin_dir = ctx.install_dir / "venv" / "bin"
    superset = str(bin_dir / "superset")
    run_logged([superset, "db", "upgrade"], ctx.log, env=environment, timeout=300)
    passwords = {name: secrets.token_urlsafe(18) for name in ("admin", *USERS)}
    run_logged([superset, "fab", "create-admin", "--username", "admin", "--firstname", "Ada", "--lastname", "Admin",
                "--email", "admin@example.com", "--password", passwords["admin"]], ctx.log, env=environment, timeout=120)
    run_logged([superset, "init"], ctx.log, env=environment, timeout=300)
    for name in USERS:
        run_logged([superset, "fab", "create-user", "--role", "Gamma", "--username", name, "--firstname", name.title(),
                    "--lastname", "User", "--email", f"{name}@example.com", "--password", passwords[name]],
                   ctx.log, env=environment, timeout=120)

    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    # The docs' gunicorn line, with gthread workers (the docker image's choice) instead of gevent, sized for 2 cores.
    proc = ctx.processes.start("superset", [
        str(bin_dir / "gunicorn"), "--workers", "2", "--worker-class", "gthread", "--threads", "8", "--timeout", "120",
        "--bind", f"{LOOPBACK}:{port}", "--limit-request-line", "0", "--limit-request-field_size", "0",
        "superset.app:create_app()",
    ], log=ctx.log, cwd=ctx.run_dir, env=environment)
    wait_http(f"{base}/health", proc, ctx.log, ready=lambda reply: reply.status == 200)
    for name, password in passwords.items():
        expect(request("POST", f"{base}/api/v1/security/login",
                       json_body={"username": name, "password": password, "provider": "db"}), f"log in as {name}", 200)
    ctx.say(f"superset {ctx.setup}: 3 accounts at {base}")
    return Deployment(target=base, env={f"SUPERSET_{name.upper()}_PASSWORD": pw for name, pw in passwords.items()})
