"""What the site serves to every visitor, fetched and scanned once per run: the page, its inline and same-origin
scripts, and their source maps (by comment, header, or guessed beside hidden-map builds), and the credentials
found in them (classified offline by `probe.checks.secrets.formats`, never sent anywhere). Shared by the secrets
checks and the env family's in-bundle checks; registers no checks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urljoin

from probe.checks.secrets.formats import Found, find_in_text
from probe.context import CheckContext, MemoKey
from probe.http import HttpError, Response
from probe.model import Result
from probe.redact import mask

# Scripts whose map is guessed at `<script>.map` when neither a comment nor a header names one: bundlers
# configured for "hidden" source maps (webpack `hidden-source-map`, Vite `sourcemap: 'hidden'`) still upload them.
MAX_GUESSED_MAPS = 5
MAX_SCAN_BYTES = 8_000_000
_MAP_COMMENT = re.compile(r"[#@]\s*sourceMappingURL\s*=\s*(\S+?)\s*(?:\*/)?\s*$")


@dataclass(frozen=True)
class Text:
    url: str
    text: str
    origin: str  # "page", "inline script", "script", "source map"


@dataclass(frozen=True)
class SourceMap:
    url: str
    script: str
    how: str  # "comment", "header", "guessed", "inline"
    sources: int
    has_content: bool
    response: Response | None


@dataclass(frozen=True)
class Bundle:
    texts: tuple[Text, ...]
    maps: tuple[SourceMap, ...]
    scripts: int
    unchecked: tuple[str, ...] = ()  # map URLs that could not be requested, with the reason
    unread: tuple[str, ...] = ()  # scripts the page loads that could not be read, with the reason

    def unread_error(self, ctx: CheckContext) -> Result | None:
        """An error when scripts the page loads could not be read: nothing found is then no pass."""
        if not self.unread:
            return None
        return ctx.error(ctx.location, f"could not read {len(self.unread)} script(s) the page loads, so they were not "
                                       f"scanned: {'; '.join(self.unread[:3])}")


BUNDLE: MemoKey[Bundle] = MemoKey("secrets:bundle")
CREDENTIALS: MemoKey[tuple[Hit, ...]] = MemoKey("secrets:credentials")


async def bundle(ctx: CheckContext) -> Bundle:
    """The page, its scripts and their served source maps, fetched once per run."""
    return await ctx.memo.get(BUNDLE, lambda: _collect(ctx))


async def _collect(ctx: CheckContext) -> Bundle:
    page = await ctx.surface.page()
    texts = [Text(page.url, page.text, "page")]
    texts += [Text(page.url, t, "inline script") for t in await ctx.surface.inline_scripts()]
    scripts = await ctx.surface.scripts()
    texts += [Text(s.url, s.response.text, "script") for s in scripts]
    maps: list[SourceMap] = []
    unchecked: list[str] = []
    guesses = 0
    for script in scripts:
        found, how = _map_reference(script.url, script.response)
        if found is None:
            if guesses >= MAX_GUESSED_MAPS:
                continue
            guesses += 1
            found, how = script.url.split("?", 1)[0] + ".map", "guessed"
        if found.startswith("data:"):
            content = _data_url(found)
            parsed = _parse_map(content) if content is not None else None
            if parsed is not None:
                maps.append(SourceMap(script.url, script.url, "inline", parsed[0], bool(parsed[1]), None))
                texts.append(Text(script.url, parsed[1], "source map"))
            continue
        if not ctx.http.scope.allows(found):
            continue
        try:
            response = await ctx.http.get(found)
        except HttpError as exc:
            unchecked.append(f"{found}: {exc}")
            continue
        parsed = _parse_map(response.text) if response.status == 200 else None
        if parsed is None:
            continue
        maps.append(SourceMap(response.url, script.url, how, parsed[0], bool(parsed[1]), response))
        if parsed[1]:
            texts.append(Text(response.url, parsed[1], "source map"))
    return Bundle(tuple(texts), tuple(maps), len(scripts), tuple(unchecked), await ctx.surface.unread_scripts())


def _map_reference(script_url: str, response: Response) -> tuple[str | None, str]:
    header = response.header("sourcemap") or response.header("x-sourcemap")
    if header:
        return urljoin(script_url, header.strip()), "header"
    tail = response.text[-2000:].rstrip()
    last = tail.splitlines()[-1] if tail else ""
    match = _MAP_COMMENT.search(last)
    if match:
        ref = match.group(1)
        return (ref if ref.startswith("data:") else urljoin(script_url, ref)), "comment"
    return None, ""


def _data_url(url: str) -> str | None:
    meta, sep, data = url.partition(",")
    if not sep:
        return None
    try:
        raw = base64.b64decode(data) if meta.endswith(";base64") else unquote_to_bytes(data)
    except (binascii.Error, ValueError):
        return None
    return raw.decode("utf-8", errors="replace")


def _parse_map(text: str) -> tuple[int, str] | None:
    """(number of sources, joined sourcesContent) for a source map (ECMA-426), None for anything else."""
    try:
        doc = json.loads(text)
    except ValueError:
        # Cut at the byte cap: still a map if it starts like one.
        if re.match(r'\s*\{\s*"version"\s*:\s*3\s*,', text) and '"mappings"' in text[:200_000]:
            return 0, text
        return None
    if not isinstance(doc, dict) or doc.get("version") != 3:
        return None
    if not any(k in doc for k in ("mappings", "sections")):
        return None
    sources = doc.get("sources")
    content = doc.get("sourcesContent")
    sources = sources if isinstance(sources, list) else []
    content = content if isinstance(content, list) else []
    return len(sources), "\n".join(c for c in content if isinstance(c, str))


@dataclass(frozen=True)
class Hit:
    text: Text
    found: Found


async def credentials(ctx: CheckContext) -> tuple[Hit, ...]:
    """Every credential in the bundle, found once per run (the scan is CPU work, done off the event loop)."""

    async def scan() -> tuple[Hit, ...]:
        collected = await bundle(ctx)
        hits = await asyncio.to_thread(_scan_texts, collected.texts)
        for hit in hits:
            ctx.redactor.add(hit.found.value)
        return hits

    return await ctx.memo.get(CREDENTIALS, scan)


def _scan_texts(texts: tuple[Text, ...]) -> tuple[Hit, ...]:
    hits: list[Hit] = []
    budget = MAX_SCAN_BYTES
    for text in texts:
        if budget <= 0:
            break
        chunk = text.text[:budget]
        budget -= len(chunk)
        hits.extend(Hit(text, found) for found in find_in_text(chunk))
    return tuple(hits)


def excerpt(text: str, start: int, end: int, value: str, width: int = 60) -> str:
    """A short window around a match with the match itself masked."""
    before = text[max(0, start - width):start]
    after = text[end:end + width]
    return (before + mask(value) + after).replace("\n", " ")
