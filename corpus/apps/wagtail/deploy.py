"""Wagtail: a project made by `wagtail start` at setup time, its admin behind Django's CSRF-protected login form.

Production follows the project template's own Dockerfile and settings: `mysite.settings.production` (DEBUG off,
ManifestStaticFilesStorage after collectstatic) served by gunicorn. The misconfigured setup is what `manage.py`
does out of the box, put on a server: `runserver` with `mysite.settings.dev` (DEBUG on), and the SECRET_KEY that
`wagtail start` wrote into dev.py copied into the deployment's environment.
"""

from __future__ import annotations

import re
import secrets
import shutil

from harness import (
    LOOPBACK,
    AppInfo,
    Context,
    CorpusError,
    Deployment,
    Setup,
    free_port,
    run_logged,
    wait_http,
)

APP = AppInfo(
    name="wagtail",
    version="8.0.1",
    source="PyPI",
    setups=(
        Setup("production", "settings.production (DEBUG off), collectstatic, gunicorn, random SECRET_KEY"),
        Setup("misconfigured", "manage.py runserver with settings.dev (DEBUG on), dev.py's django-insecure- key deployed"),
    ),
)

PROJECT = "mysite"



def deploy(ctx: Context) -> Deployment:
    bindir = ctx.install_dir / "venv" / "bin"
    python = str(bindir / "python")
    project = ctx.run_dir / PROJECT
    project.mkdir()
    run_logged([str(bindir / "wagtail"), "start", PROJECT, str(project)], ctx.log, timeout=120)
    shutil.copy(ctx.app_dir / "local.py", project / PROJECT / "settings" / "local.py")
    shutil.copy(ctx.app_dir / ".env.example", ctx.run_dir / ".env.example")

    port = free_port()
    if ctx.setup == "production":
        settings, secret_key = f"{PROJECT}.settings.production", secrets.token_urlsafe(50)
    else:
        dev = (project / PROJECT / "settings" / "dev.py").read_text(encoding="utf-8")
        match = re.search(r'^SECRET_KEY = "(.+)"$', dev, re.M)
        if match is None:
            raise CorpusError("wagtail start wrote no SECRET_KEY into settings/dev.py")
        settings, secret_key = f"{PROJECT}.settings.dev", match.group(1)
    environment = {
        "DJANGO_SETTINGS_MODULE": settings,
        "DJANGO_SECRET_KEY": secret_key,
        "DJANGO_ALLOWED_HOSTS": LOOPBACK,
    }
    (ctx.run_dir / "deployed.env").write_text("".join(f"{k}={v}\n" for k, v in environment.items()), encoding="utf-8")

    passwords = {name: secrets.token_urlsafe(18) for name in ("admin", "alice", "bob")}
    manage = [python, "manage.py"]
    run_logged([*manage, "migrate", "--noinput"], ctx.log, cwd=project, env=environment, timeout=300)
    seed_env = {**environment, **{f"SEED_{name.upper()}_PASSWORD": pw for name, pw in passwords.items()}}
    seed = (ctx.app_dir / "seed.py").read_text(encoding="utf-8")
    run_logged([*manage, "shell", "-c", seed], ctx.log, cwd=project, env=seed_env, timeout=120)
    if ctx.setup == "production":
        run_logged([*manage, "collectstatic", "--noinput"], ctx.log, cwd=project, env=environment, timeout=300)
        argv = [str(bindir / "gunicorn"), f"{PROJECT}.wsgi:application", "--bind", f"{LOOPBACK}:{port}", "--workers", "2"]
    else:
        argv = [*manage, "runserver", f"{LOOPBACK}:{port}", "--noreload"]
    proc = ctx.processes.start("wagtail", argv, log=ctx.log, cwd=project, env=environment)
    base = f"http://{LOOPBACK}:{port}"
    wait_http(f"{base}/admin/login/", proc, ctx.log, ready=lambda reply: reply.status == 200)
    ctx.say(f"wagtail {ctx.setup}: admin, alice and bob (Editors), 4 draft pages at {base}")
    return Deployment(target=base, env={f"WAGTAIL_{name.upper()}_PASSWORD": pw for name, pw in passwords.items()})
