"""A front end on Supabase: supabase-js's published browser bundle, loaded the way Supabase's docs show for a CDN, on a
Supabase-style backend — real PostgreSQL with Supabase's roles, grants, `auth.uid()` and storage schema, behind the
PostgREST-, GoTrue- and storage-api-compatible layer of probe's fixtures (`fixtures/baas`), since none of Supabase's
own servers installs from PyPI or npm.

The app keeps per-user notes and a `documents` bucket with each user's files in a folder named by their id. Production
follows Supabase's guides: RLS with owner policies on every table, owner-folder policies on storage.objects. The
misconfigured setup is what AI-built apps ship: RLS never enabled on `notes`, `using (true)` on `profiles`, and storage
policies scoped only to the bucket.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from harness import LOOPBACK, AppInfo, Context, CorpusError, Deployment, Setup, free_port, wait_http

APP = AppInfo(
    name="supabase-js",
    version="2.119.1",
    source="npm",
    needs_postgres=True,
    setups=(
        Setup("production", "RLS owner policies on notes and profiles, owner-folder policies on storage.objects"),
        Setup("misconfigured", "RLS off on notes, using (true) on profiles, storage policies scoped to the bucket only"),
    ),
)

REPO = Path(__file__).resolve().parents[3]
POLICIES = {"production": "hardened", "misconfigured": "vulnerable"}



def deploy(ctx: Context) -> Deployment:
    if ctx.postgres is None:
        raise CorpusError("supabase-js needs the PostgreSQL cluster")
    database = f"supabase_{ctx.setup}"
    ctx.postgres.create_database(database)
    client = ctx.install_dir / "node_modules" / "@supabase" / "supabase-js" / "dist" / "umd" / "supabase.js"
    password = secrets.token_urlsafe(18)
    api_port, site_port = free_port(), free_port()
    # The backend is probe's fixture layer: run with the interpreter running the corpus (probe's .venv), from the repo.
    proc = ctx.processes.start(
        "supabase", [sys.executable, "-m", "fixtures.baas.serve", "--pg-port", str(ctx.postgres.port), "--database",
                     database, "--policies", POLICIES[ctx.setup], "--api-port", str(api_port), "--site-port",
                     str(site_port), "--client", str(client)],
        log=ctx.log, cwd=REPO, env={"BAAS_PASSWORD": password, "PYTHONPATH": str(REPO)})
    base = f"http://{LOOPBACK}:{site_port}"
    wait_http(f"{base}/", proc, ctx.log, ready=lambda reply: reply.status == 200)
    ctx.say(f"supabase-js {ctx.setup}: front end {base}, API http://{LOOPBACK}:{api_port}")
    return Deployment(target=base, env={"SUPABASE_SITE_HOST": f"{LOOPBACK}:{site_port}",
                                        "SUPABASE_API_HOST": f"{LOOPBACK}:{api_port}", "SUPABASE_PASSWORD": password})
