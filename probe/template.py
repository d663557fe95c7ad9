"""What `probe init` hands a config section to write its block with, and the helpers that write TOML safely.

A section model declares its own block (`Section.init_block`, probe/config.py): static advice as `init_advice`,
or a block made from what `probe init` found (`Discovery`); and `init_hosting` markers when its checks read from a
hosting platform that a response names. `probe init` (probe/init.py) only iterates the declared sections, so it
knows no family: adding a section's template is declaring it beside the check that reads the section.

Text from the site (paths, field names, framework evidence) goes through `toml_string` and `one_line` before it
lands in the file: a response must not be able to write TOML of its own into the user's config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Marker:
    """Something a response shows that names what serves it: a framework, a hosting platform."""

    name: str
    where: str  # "header:NAME", "cookie" (a cookie name) or "body" (the page's HTML)
    pattern: str
    source: str


@dataclass(frozen=True)
class Login:
    """A sign-in request found on the site."""

    method: str
    path: str
    username_field: str
    password_field: str
    body: str  # "json" or "form"
    found: str
    page: str | None = None  # the page that serves a server-rendered form (fetched before each log-in for its token)
    csrf_field: str | None = None
    hidden: tuple[tuple[str, str], ...] = ()  # the form's other hidden fields and the values the page gave them
    session_cookie: str | None = None  # the framework's session cookie, when it is known

    def body_table(self) -> str:
        """`json = {...}` or `form = {...}`: the credentials as placeholders, and the form's hidden fields."""
        key = "json" if self.body == "json" else "form"
        fields = [f'{toml_key(self.username_field)} = "{{username}}"', f'{toml_key(self.password_field)} = "{{password}}"']
        fields += [f"{toml_key(name)} = {toml_string(value)}" for name, value in self.hidden]
        return f"{key} = {{ {', '.join(fields)} }}"


@dataclass(frozen=True)
class Discovery:
    """What `probe init` found, for the sections' blocks: on the site (empty without a URL) and in the folder."""

    target: str
    login: Login | None = None
    webhooks: tuple[str, ...] = ()  # routes that read as webhook receivers
    platform: tuple[str, str] | None = None  # (hosting platform, what showed it), by a section's `init_hosting`
    manifest: tuple[str, tuple[str, ...]] | None = None  # (env manifest file, the variable names it declares)


@dataclass(frozen=True)
class Block:
    """One section's part of the file."""

    live: str  # written as TOML when the file still loads with it ("" for advice only)
    fallback: str  # the same advice as comments, written when the live part does not load


def advice(text: str) -> Block:
    """A block of comments only."""
    return Block("", text)


def live(text: str) -> Block:
    """A block written as TOML, or as the same lines commented out when the file would not load with it."""
    return Block(text, commented(text))


def commented(block: str) -> str:
    return "\n".join(line if line.startswith("#") or not line else f"# {line}" for line in block.splitlines()) + "\n"


def one_line(text: str) -> str:
    """Text from the site made safe inside a TOML comment: one printable line."""
    return "".join(ch if ch.isprintable() else " " for ch in " ".join(text.split()))[:300]


def toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{"".join(ch if ch.isprintable() else " " for ch in escaped)}"'


def toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else toml_string(name)


def wrap(text: str, width: int = 110) -> list[str]:
    """Comment lines of at most about `width` characters."""
    lines, line = [], "#"
    for word in text.split(" "):
        if len(line) + len(word) > width:
            lines.append(line)
            line = "#"
        line += " " + word
    return [*lines, line]
