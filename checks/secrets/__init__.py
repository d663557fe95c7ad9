"""What the live site leaks: credentials in the page, its scripts and their source maps, source maps
themselves, and files that should never be served (/.env, /.git, backups).

Passive. The page, its scripts and their source maps, and the credentials in them, come from the shared bundle
(`probe.checks.secrets.bundle`, also read by the env family's in-bundle checks); found keys are classified
offline (`probe.checks.secrets.formats`) and never sent anywhere.
"""

from __future__ import annotations

import json
import re
import secrets as random_tokens
from collections.abc import Callable
from typing import Any

from probe.checks.env.rules import SECRET_NAME, url_password
from probe.checks.secrets.bundle import SourceMap, bundle, credentials, excerpt
from probe.checks.secrets.formats import KeyClass, find_in_text, server_keys
from probe.context import CheckContext
from probe.http import HttpError, Response
from probe.model import Result, Severity
from probe.redact import mask
from probe.registry import Family, check

FAMILY = Family(
    group="configuration",
    unlock="scan the deployed site (the page, its scripts and source maps are what is checked)",
    finds_secrets=server_keys,
)

OWASP_SECRETS = "https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html"
EXPOSED_READ_BYTES = 65_536
# Served source maps named in a finding's detail; the evidence lists them all.
MAX_MAPS_SHOWN = 3
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")


def _hash_kind(prefix: str, value: str) -> str:
    return f"{prefix}:{mask(value).rsplit('#', 1)[1].rstrip(']')}"


@check(
    id="secrets.in-bundle",
    title="No server credentials in served JavaScript",
    severity=Severity.CRITICAL,
    cwe=798,
    summary="The page, its scripts and any served source maps contain no server-side API keys or tokens.",
    risk="Anything in a served script is public: anyone can open the browser's dev tools and use a server key "
    "(Stripe secret key, OpenAI key, Supabase service_role key) to charge cards, run up bills or read every row.",
    fix="Move the call that needs the key to a server route or function and rotate the key now. Only "
    "publishable keys belong in browser variables (NEXT_PUBLIC_, VITE_, REACT_APP_ ...): never prefix a secret with them.",
    references=(OWASP_SECRETS, "https://docs.stripe.com/keys#safe-keys"),
)
async def in_bundle(ctx: CheckContext) -> list[Result]:
    hits = await credentials(ctx)
    results: list[Result] = []
    published: list[str] = []
    for hit in hits:
        found = hit.found
        where = f"{hit.text.url}"
        if found.key_class is KeyClass.PUBLISHABLE:
            published.append(f"{found.name} {mask(found.value)} in {hit.text.origin} {where}")
            continue
        severity = Severity.HIGH if found.test else Severity.CRITICAL
        start = hit.text.text.find(found.value)
        results.append(ctx.fail(
            where,
            f"{found.name} in the {hit.text.origin}: {mask(found.value)}. Rotate it; it is public.",
            severity=severity,
            kind=_hash_kind("server-key", found.value),
            evidence={
                "request": {"method": "GET", "url": hit.text.url},
                "found": found.name,
                "masked": mask(found.value),
                "excerpt": excerpt(hit.text.text, start, start + len(found.value), found.value) if start >= 0 else "",
                "classification": found.key_class.value,
                **({"claims": dict(found.claims)} if found.claims else {}),
                "format_source": found.source,
            },
        ))
    if results:
        return results
    collected = await bundle(ctx)
    unread = collected.unread_error(ctx)
    if unread:
        return [unread]
    detail = f"No server credentials in {collected.coverage}."
    if published:
        detail += " Publishable-by-design keys seen (info): " + "; ".join(published[:5]) + "."
    return [ctx.passed(ctx.location, detail)]


@check(
    id="secrets.source-map",
    title="Source maps are not served in production",
    severity=Severity.MEDIUM,
    cwe=540,
    summary="The scripts' source maps (.map) are not downloadable from the live site.",
    risk="A served source map hands out the original, commented source of the front end: internal API routes, "
    "feature flags, admin screens and sometimes keys that the minified bundle hid.",
    fix="Do not upload maps with the build, or keep them private: Vite `build.sourcemap: false` (or 'hidden' and "
    "delete the .map files before deploy), webpack `devtool: false` / `hidden-source-map`, Next.js "
    "`productionBrowserSourceMaps: false` (default), CRA `GENERATE_SOURCEMAP=false`; upload maps to your error "
    "tracker (Sentry) instead of the web root.",
    references=("https://tc39.es/ecma426/", "https://developer.chrome.com/docs/devtools/javascript/source-maps"),
)
async def source_map(ctx: CheckContext) -> list[Result]:
    collected = await bundle(ctx)
    unread = collected.unread_error(ctx)
    if not collected.scripts:
        return [unread or ctx.skip(ctx.location, "the page loads no same-origin scripts")]
    if collected.maps:
        return [_maps_served(ctx, collected.maps)]
    if unread:
        return [unread]
    if collected.unchecked:
        return [ctx.error(ctx.location, f"could not request {len(collected.unchecked)} source map(s): {collected.unchecked[0]}")]
    return [ctx.passed(ctx.location, f"No source maps served for {collected.scripts} script(s).")]


def _maps_served(ctx: CheckContext, maps: tuple[SourceMap, ...]) -> Result:
    """One failure for every served map: they all come from one build setting, and one fix removes them all."""
    first = maps[0]
    shown = "; ".join(f"{m.url} ({m.sources} source files{', with their full text' if m.has_content else ''}, "
                      f"found by {m.how})" for m in maps[:MAX_MAPS_SHOWN])
    more = f" and {len(maps) - MAX_MAPS_SHOWN} more" if len(maps) > MAX_MAPS_SHOWN else ""
    evidence: dict[str, Any] = first.response.evidence(excerpt="") if first.response else {}
    evidence.update({
        "count": len(maps),
        "maps": [{"url": m.url, "script": m.script, "found_by": m.how, "sources": m.sources, "sources_content": m.has_content}
                 for m in maps],
        "sources_content": any(m.has_content for m in maps),
    })
    return ctx.fail(
        ctx.location,
        f"{len(maps)} source map(s) served, one build setting: {shown}{more}.",
        kind="inline" if all(m.how == "inline" for m in maps) else "served",
        evidence=evidence,
    )


Validator = Callable[[bytes, str], str | None]


def _dotenv_shape(body: bytes, text: str) -> str | None:
    lines = [m.group(1) for line in text.splitlines()[:500] if (m := _ENV_LINE.match(line))]
    if lines and not text.lstrip().startswith("<"):
        return f"{len(lines)} KEY=VALUE line(s): {', '.join(lines[:8])}"
    return None


def _git_head(body: bytes, text: str) -> str | None:
    stripped = text.strip()
    if stripped.startswith("ref: refs/") or re.fullmatch(r"[0-9a-f]{40}", stripped):
        return stripped[:80]
    return None


def _git_config(body: bytes, text: str) -> str | None:
    # `[ \t]*`, not `\s*`: a body of blank lines must not make every line start rescan the rest (quadratic).
    sections = re.findall(r"^[ \t]*\[([a-z]+)(?:\s+\"[^\"]*\")?\]", text, re.MULTILINE)
    return f"git config sections: {', '.join(dict.fromkeys(sections))}" if "core" in sections else None


def _ds_store(body: bytes, text: str) -> str | None:
    return "macOS .DS_Store (lists the directory's file names)" if body[:8] == b"\x00\x00\x00\x01Bud1" else None


def _archive(body: bytes, text: str) -> str | None:
    if body[:4] == b"PK\x03\x04":
        return "zip archive"
    if body[:2] == b"\x1f\x8b":
        return "gzip archive"
    return None


def _sql_dump(body: bytes, text: str) -> str | None:
    head = text[:20_000]
    if text.lstrip().startswith("<"):
        return None
    markers = ("CREATE TABLE", "INSERT INTO", "-- MySQL dump", "PostgreSQL database dump", "SQLite format 3")
    seen = [m for m in markers if m in head]
    return f"database dump ({', '.join(seen)})" if seen else None


def _json_with_secrets(body: bytes, text: str) -> str | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    keys: list[str] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 6 or len(keys) > 20:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and value and re.search(r"secret|password|passwd|private|token|api_?key",
                                                                  str(key), re.IGNORECASE):
                    keys.append(str(key))
                walk(value, depth + 1)
        elif isinstance(node, list):
            for item in node[:100]:
                walk(item, depth + 1)

    walk(doc, 0)
    credentials_found = [f for f in find_in_text(text[:EXPOSED_READ_BYTES], use_detect_secrets=False)
                         if f.key_class is KeyClass.SERVER]
    if credentials_found:
        return f"JSON with {credentials_found[0].name}"
    return f"JSON with secret-looking keys: {', '.join(keys[:8])}" if keys else None


def _aws_credentials(body: bytes, text: str) -> str | None:
    return "AWS shared credentials file" if re.search(r"aws_secret_access_key\s*=", text, re.IGNORECASE) else None


def _npmrc(body: bytes, text: str) -> str | None:
    return ".npmrc with an auth token" if re.search(r"_authToken\s*=\s*\S+", text) else None


def _php_config(body: bytes, text: str) -> str | None:
    return "PHP config source with database password" if "DB_PASSWORD" in text and "<?php" in text else None


# (path, severity, what it is, content validator). Sources: OWASP WSTG "Review Old Backup and Unreferenced Files"
# https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/02-Configuration_and_Deployment_Management_Testing/04-Review_Old_Backup_and_Unreferenced_Files_for_Sensitive_Information
# and the files frameworks and tools write (dotenv, git, macOS Finder, AWS CLI, npm, WordPress).
EXPOSED_FILES: tuple[tuple[str, Severity, str, Validator], ...] = (
    ("/.env", Severity.CRITICAL, "dotenv file", _dotenv_shape),
    ("/.env.production", Severity.CRITICAL, "dotenv file", _dotenv_shape),
    ("/.env.local", Severity.CRITICAL, "dotenv file", _dotenv_shape),
    ("/.env.prod", Severity.CRITICAL, "dotenv file", _dotenv_shape),
    ("/.git/HEAD", Severity.HIGH, "git repository (the source can be downloaded)", _git_head),
    ("/.git/config", Severity.HIGH, "git repository configuration", _git_config),
    ("/config.json", Severity.HIGH, "configuration file", _json_with_secrets),
    ("/.DS_Store", Severity.LOW, "Finder metadata", _ds_store),
    ("/.aws/credentials", Severity.CRITICAL, "AWS credentials", _aws_credentials),
    ("/.npmrc", Severity.HIGH, "npm configuration", _npmrc),
    ("/wp-config.php.bak", Severity.CRITICAL, "WordPress config backup", _php_config),
    ("/backup.sql", Severity.CRITICAL, "database dump", _sql_dump),
    ("/dump.sql", Severity.CRITICAL, "database dump", _sql_dump),
    ("/backup.zip", Severity.HIGH, "site backup", _archive),
    ("/backup.tar.gz", Severity.HIGH, "site backup", _archive),
)


def _same_as(catch_all: Response | None, response: Response) -> bool:
    return catch_all is not None and response.body[:4096] == catch_all.body[:4096]


def _safe_excerpt(path: str, text: str, ctx: CheckContext) -> str:
    """What the response shows, with every value masked: names stay, secrets do not."""
    if path.startswith("/.env"):
        shown = []
        for line in text.splitlines()[:12]:
            match = _ENV_LINE.match(line)
            if match:
                name, value = match.group(1), match.group(2).strip().strip("'\"")
                # Every value is masked in this excerpt; only the secret ones are masked in the rest of the report
                # (a served DB_HOST=127.0.0.1 must not blank the target's own address everywhere).
                if SECRET_NAME.search(name) or find_in_text(value, use_detect_secrets=False):
                    ctx.redactor.add(value)
                ctx.redactor.add(url_password(value))
                shown.append(f"{name}={mask(value) if value else ''}")
        return "\n".join(shown)
    if path.startswith("/.git/HEAD"):
        return text.strip()[:80]
    return ""


@check(
    id="secrets.exposed-file",
    title="No configuration, repository or backup files are served",
    severity=Severity.CRITICAL,
    cwe=538,
    summary="/.env, /.git, config.json with secrets, .DS_Store and backup or dump files are not downloadable.",
    risk="A served .env hands over every credential the app has; a served .git directory lets anyone download the "
    "full source and its history; dumps and backups contain the users' data.",
    fix="Serve only the build output directory, never the project root: point the web server's root at dist/ "
    "or public/, deny dotfiles (nginx `location ~ /\\. { deny all; }`, Apache `<FilesMatch \"^\\.\">Require all denied`), "
    "keep .env out of the deployed artefact (.dockerignore, .vercelignore), and rotate every secret that was exposed.",
    references=(
        "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/"
        "02-Configuration_and_Deployment_Management_Testing/04-Review_Old_Backup_and_Unreferenced_Files_for_Sensitive_Information",
    ),
)
async def exposed_file(ctx: CheckContext) -> list[Result]:
    # A path nobody serves: if it answers 200, the site answers 200 for everything (an SPA's catch-all route),
    # and a 200 for /.env means nothing unless the body is shaped like the file.
    try:
        catch_all: Response | None = await ctx.http.get(f"/probe-{random_tokens.token_hex(8)}", max_bytes=EXPOSED_READ_BYTES)
    except HttpError as exc:
        return [ctx.error(ctx.location, f"could not request a random path: {exc}")]
    if catch_all is not None and catch_all.status != 200:
        catch_all = None
    results: list[Result] = []
    repository: list[tuple[str, str, Response]] = []  # (path, shape, response) of the served .git files
    checked = 0
    for path, severity, what, validator in EXPOSED_FILES:
        try:
            response = await ctx.http.get(path, follow_redirects=False, max_bytes=EXPOSED_READ_BYTES)
        except HttpError as exc:
            results.append(ctx.error(ctx.http.url(path), str(exc)))
            continue
        checked += 1
        if response.status != 200 or _same_as(catch_all, response):
            continue
        shape = validator(response.body, response.text)
        if shape is None:
            continue
        if path.startswith("/.git/"):
            repository.append((path, shape, response))
            continue
        results.append(ctx.fail(
            response.url,
            f"{path} is served: {what} ({shape}).",
            severity=severity,
            kind=path,
            evidence=response.evidence(excerpt=_safe_excerpt(path, response.text, ctx)),
        ))
    if repository:
        # One served directory, one rule to deny it: its files are one finding, not one each.
        path, _, first = repository[0]
        results.append(ctx.fail(
            first.url,
            "/.git/ is served: the git repository (the source can be downloaded): "
            + "; ".join(f"{p} ({shape})" for p, shape, _ in repository) + ".",
            severity=Severity.HIGH,
            kind="/.git/",
            evidence={**first.evidence(excerpt=_safe_excerpt(path, first.text, ctx)), "files": [p for p, _, _ in repository]},
        ))
    if any(r.status.value == "fail" for r in results):
        return results
    note = " (the site answers 200 for unknown paths; only content shaped like each file counts)" if catch_all else ""
    return [*results, ctx.passed(ctx.location, f"None of {checked} sensitive paths is served{note}.")]
