"""Node-RED with adminAuth: the editor and admin API behind an OAuth password log-in, an administrator and a viewer.

Production follows "Securing Node-RED": adminAuth with bcrypt-hashed users, a credentialSecret, nothing for anonymous
users. The misconfigured setup adds `default: {permissions: "read"}` from the same page, meant for showing the editor
read-only, which lets anyone read every flow without logging in.
"""

from __future__ import annotations

import secrets
import shutil

from harness import (
    LOOPBACK,
    AppInfo,
    Context,
    Deployment,
    Setup,
    expect,
    free_port,
    request,
    wait_http,
)

APP = AppInfo(
    name="node-red",
    version="4.1.15",
    source="npm",
    setups=(
        Setup("production", "adminAuth: alice with '*', bob with 'read', nothing for anonymous users"),
        Setup("misconfigured", "as production, plus adminAuth.default read permission for anonymous users"),
    ),
)

# The password grant as the editor sends it: an empty scope means the user's own permissions.
LOGIN = {"client_id": "node-red-editor", "grant_type": "password", "scope": ""}



def _flows(owner: str) -> list[dict[str, object]]:
    """A tab with a few nodes holding the kind of thing flows hold: endpoints, schedules, configuration."""
    tab = f"{owner}-tab"
    return [
        {"id": tab, "type": "tab", "label": f"{owner}'s billing sync", "disabled": False, "info": ""},
        {"id": f"{owner}-inject", "type": "inject", "z": tab, "name": "every night", "repeat": "86400",
         "payload": f"sync accounts of {owner} ({secrets.token_hex(6)})", "payloadType": "str", "x": 120, "y": 80,
         "wires": [[f"{owner}-debug"]]},
        {"id": f"{owner}-debug", "type": "debug", "z": tab, "name": "result", "active": True, "x": 320, "y": 80,
         "wires": []},
    ]


def deploy(ctx: Context) -> Deployment:
    modules = ctx.install_dir / "node_modules"
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    passwords = {name: secrets.token_urlsafe(18) for name in ("alice", "bob")}
    environment = {"PORT": str(port), "NODE_RED_CREDENTIAL_SECRET": secrets.token_hex(32)}
    (ctx.run_dir / "deployed.env").write_text("".join(f"{k}={v}\n" for k, v in environment.items()), encoding="utf-8")
    shutil.copy(ctx.app_dir / ".env.example", ctx.run_dir / ".env.example")
    shutil.copy(ctx.app_dir / "settings.js", ctx.run_dir / "settings.js")
    process_env = {**environment, "NODE_RED_MODULES": str(modules),
                   **{f"NODE_RED_{name.upper()}_PASSWORD": pw for name, pw in passwords.items()}}
    if ctx.setup == "misconfigured":
        process_env["NODE_RED_DEFAULT_PERMISSIONS"] = "read"
    user_dir = ctx.run_dir / "userdir"
    user_dir.mkdir()
    argv = ["node", str(modules / "node-red" / "red.js"), "--settings", str(ctx.run_dir / "settings.js"),
            "--userDir", str(user_dir)]
    proc = ctx.processes.start("node-red", argv, log=ctx.log, cwd=ctx.run_dir, env=process_env)
    wait_http(f"{base}/auth/login", proc, ctx.log, ready=lambda reply: reply.status == 200)

    token = expect(request("POST", f"{base}/auth/token", form={**LOGIN, "username": "alice", "password": passwords["alice"]}),
                   "alice's log-in", 200).json()["access_token"]
    expect(request("POST", f"{base}/flows", json_body=_flows("alice"),
                   headers={"Authorization": f"Bearer {token}", "Node-RED-Deployment-Type": "full"}),
           "deploy alice's flows", 200, 204)
    ctx.say(f"node-red {ctx.setup}: alice (*), bob (read), one flow tab at {base}")
    return Deployment(target=base, env={f"NODE_RED_{name.upper()}_PASSWORD": pw for name, pw in passwords.items()})
