"""Named profiles: a set of setting overrides and a family selection, applied under explicit flags.

A profile wins over probe.toml (asking for `smoke` must make the run passive and cheap whatever the file
says) and loses to flags given on the command line (`--profile smoke --max-requests 80` means 80).

`smoke` is the hourly production check: passive only, at most 60 requests, short timeouts, and only the
checks that are cheap and still catch the regressions a deploy brings (a debug flag left on, a key in the
bundle or a served .env, a dropped header, an expiring certificate). They were chosen by measuring each
family (and the debug ids) alone against the demo app, passive, with fixtures/demo/probe.toml; requests
include the surface's share (the page, its scripts):

    selection                 requests (vulnerable / hardened)
    headers                   1 / 1     the page the surface fetches anyway
    tls, dns                  1 / 1     plus a TLS handshake and DNS queries (not HTTP requests)
    env                       1 / 1     reads the deployed environment, plus one look at the page
    secrets                   17 / 17   the page's scripts and source maps, a few well-known files
    debug error-page pass     21 / 21   one bad request per route or form: error-page, stack-trace,
                                        interactive-debugger, sql-error share it
    debug.endpoint, api-docs  39 / 39   left out: a sweep of ~20 well-known debug paths
    cors                      23 / 29   left out: many Origin variants per API path
    input                     22 / 22   left out: malformed input on purpose
    auth                      83 / 82   left out: too many requests for an hourly run
    idor                      77 / 77   left out: logs in two accounts and walks their records
    ratelimit, webhook        active only; a passive run skips them anyway

The whole smoke selection sent 38 requests to either twin, leaving room for a site with more scripts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    # Families or check ids to run when the user gives no --only; those not installed are ignored.
    selectors: tuple[str, ...] = ()


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "smoke": Profile(
            name="smoke",
            description="hourly production check: passive, at most 60 requests, short timeouts, cheap families only",
            overrides=MappingProxyType(
                {"mode": "passive", "max_requests": 60, "timeout": 5.0, "max_duration": 60.0, "rate": 5.0}
            ),
            selectors=(
                "env",
                "secrets",
                "headers",
                "tls",
                "dns",
                "debug.error-page",
                "debug.stack-trace",
                "debug.interactive-debugger",
                "debug.sql-error",
            ),
        ),
    }
)


class UnknownProfile(ValueError):
    pass


def get(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(f"--profile: unknown profile {name!r} (choose from {', '.join(PROFILES)})") from None


@dataclass(frozen=True)
class Applied:
    overrides: dict[str, Any]
    only: list[str]


def apply(profile: Profile | None, overrides: Mapping[str, Any], only: Sequence[str], installed: Collection[str]) -> Applied:
    """Overrides and --only for the run: a flag the user gave (not None) beats the profile's value, and an
    explicit --only replaces the profile's selection. `installed`: the registry's families and check ids."""
    if profile is None:
        return Applied(dict(overrides), list(only))
    merged = {**profile.overrides, **{k: v for k, v in overrides.items() if v is not None}}
    chosen = list(only) or [s for s in profile.selectors if s in installed]
    return Applied(merged, chosen)
