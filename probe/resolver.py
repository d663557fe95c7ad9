"""DNS lookups for checks, with dnspython: against a configured resolver (`IP[:PORT]`) or the system's.

Queries are sent as plain DNS messages (UDP, TCP when the answer is truncated), so the code sees every
answer as it is and never raises on an odd one: each lookup returns an `Answer` that says what happened
("ok", "nodata", "nxdomain", "timeout", ...). CNAME chains are followed whether the server is recursive
(the whole chain in one answer) or authoritative only (the chain one hop per query), at most
`MAX_CHAIN` hops. Every query goes through `ScopedHttp.reserve`: counted in the request budget, paced,
and bounded by the request timeout (at most `QUERY_TIMEOUT_S`) and the run's deadline.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from probe.http import ScopedHttp

MAX_CHAIN = 8
QUERY_TIMEOUT_S = 5.0
DEFAULT_PORT = 53


def parse_nameserver(value: str) -> tuple[str, int]:
    """`IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address → (ip, port). Raises ValueError."""
    text = value.strip()
    host, port = text, DEFAULT_PORT
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"expected IP[:PORT], got {value!r}")
        if rest:
            port = _port(rest[1:], value)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, value)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"expected an IP address with an optional port (IP[:PORT]), got {value!r}") from None
    return host, port


def _port(text: str, value: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"bad port in {value!r}")
    return int(text)


@dataclass(frozen=True)
class Answer:
    name: str  # as asked, without the trailing dot
    rdtype: str  # "A", "TXT", ...
    status: str  # "ok", "nodata", "nxdomain", "servfail", "refused", ..., "timeout", "error"
    records: tuple[str, ...] = ()  # of the asked type, at the end of the chain; TXT strings joined
    chain: tuple[str, ...] = ()  # CNAME targets followed, in order
    detail: str = ""  # what went wrong, for "timeout" and "error" and unexpected rcodes
    authority_zone: str = ""  # the owner of an SOA in the authority section (the zone that answered)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def answered(self) -> bool:
        """The DNS gave an authoritative-looking verdict (records, none, or no such name)."""
        return self.status in ("ok", "nodata", "nxdomain")

    @property
    def final_name(self) -> str:
        return self.chain[-1] if self.chain else self.name


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _record_text(rdata: dns.rdata.Rdata) -> str:
    strings = getattr(rdata, "strings", None)
    if isinstance(strings, tuple | list):
        return b"".join(s for s in strings if isinstance(s, bytes)).decode("utf-8", errors="replace")
    return rdata.to_text()


class Resolver:
    """One per run (share it through `ctx.memo`): answers are cached, so checks asking the same
    question cost one query."""

    def __init__(self, http: ScopedHttp, nameserver: str | None) -> None:
        self.http = http
        self.configured = nameserver
        self._server: tuple[str, int] | None = None
        self._cache: dict[tuple[str, str], asyncio.Task[Answer]] = {}

    @property
    def label(self) -> str:
        return self.configured or "the system resolver"

    def _where(self) -> tuple[str, int] | str:
        """(ip, port) of the server to ask, or why there is none."""
        if self._server is None:
            if self.configured:
                self._server = parse_nameserver(self.configured)
            else:
                try:
                    system = dns.resolver.Resolver(configure=True)
                except (dns.exception.DNSException, OSError) as exc:
                    return f"no system resolver is configured ({exc}); set [dns] resolver = \"IP[:PORT]\""
                if not system.nameservers:
                    return "no system resolver is configured; set [dns] resolver = \"IP[:PORT]\""
                self._server = (str(system.nameservers[0]), int(system.port))
        return self._server

    async def lookup(self, name: str, rdtype: str) -> Answer:
        key = (name.lower().rstrip("."), rdtype.upper())
        task = self._cache.get(key)
        if task is None:
            task = asyncio.ensure_future(self._lookup(*key))
            self._cache[key] = task
        return await asyncio.shield(task)

    async def _lookup(self, name: str, rdtype: str) -> Answer:
        try:
            qname = dns.name.from_text(name)
            qtype = dns.rdatatype.from_text(rdtype)
        except (dns.exception.DNSException, ValueError) as exc:
            return Answer(name, rdtype, "error", detail=f"{name!r} is not a valid DNS name ({exc})")
        chain: list[str] = []
        current = qname
        for _ in range(MAX_CHAIN):
            response = await self._query(current, qtype)
            if isinstance(response, Answer):
                return Answer(name, rdtype, response.status, chain=tuple(chain), detail=response.detail)
            records, hops, last = _walk(response, current, qtype)
            chain.extend(_text(h) for h in hops)
            zone = _authority_zone(response)
            rcode = response.rcode()
            if records:
                return Answer(name, rdtype, "ok", records=records, chain=tuple(chain), authority_zone=zone)
            if rcode == dns.rcode.NXDOMAIN:
                return Answer(name, rdtype, "nxdomain", chain=tuple(chain), authority_zone=zone)
            if rcode != dns.rcode.NOERROR:
                text = dns.rcode.to_text(rcode).lower()
                return Answer(name, rdtype, text, chain=tuple(chain), detail=f"the resolver answered {text.upper()}")
            if not hops or qtype == dns.rdatatype.CNAME:
                return Answer(name, rdtype, "nodata", chain=tuple(chain), authority_zone=zone)
            # An authoritative-only server stops at the edge of its zone: ask again for where the chain leads.
            current = last
        return Answer(name, rdtype, "error", chain=tuple(chain), detail=f"CNAME chain longer than {MAX_CHAIN} hops")

    async def _query(self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> dns.message.Message | Answer:
        where = self._where()
        if isinstance(where, str):
            return Answer(_text(qname), dns.rdatatype.to_text(qtype), "error", detail=where)
        ip, port = where
        asked = f"{_text(qname)} {dns.rdatatype.to_text(qtype)}"
        allowance = min(QUERY_TIMEOUT_S, await self.http.reserve())
        query = dns.message.make_query(qname, qtype, want_dnssec=False)
        try:
            async with asyncio.timeout(allowance):
                response, _ = await dns.asyncquery.udp_with_fallback(query, ip, timeout=allowance, port=port)
        except (TimeoutError, dns.exception.Timeout):
            return Answer(_text(qname), "", "timeout",
                          detail=f"DNS query {asked} to {ip}:{port}: no answer within {allowance:.1f} s")
        except (dns.exception.DNSException, OSError, ValueError, EOFError) as exc:
            reason = str(exc) or type(exc).__name__
            return Answer(_text(qname), "", "error", detail=f"DNS query {asked} to {ip}:{port} failed: {reason}")
        return response


def _walk(
    response: dns.message.Message, start: dns.name.Name, qtype: dns.rdatatype.RdataType
) -> tuple[tuple[str, ...], list[dns.name.Name], dns.name.Name]:
    """(records of the asked type at the end of the chain, CNAME hops taken, the last name reached)."""
    current = start
    hops: list[dns.name.Name] = []
    for _ in range(MAX_CHAIN):
        wanted = response.get_rrset(response.answer, current, dns.rdataclass.IN, qtype)
        if wanted is not None:
            return tuple(_record_text(r) for r in wanted), hops, current
        alias = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if alias is None or not len(alias):
            break
        target = alias[0].target
        if target in hops or target == start:
            break
        hops.append(target)
        current = target
    return (), hops, current


def _authority_zone(response: dns.message.Message) -> str:
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return _text(rrset.name)
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return _text(rrset.name)
    return ""


async def zone_apex(resolver: Resolver, name: str) -> str | None:
    """The zone that holds `name` (the owner of its SOA): the domain a site's mail and CAA policy usually
    live at. Climbs past names that are aliases, whose SOA answers would describe the alias's target."""
    labels = name.lower().rstrip(".").split(".")
    for start in range(max(0, len(labels) - 1)):
        candidate = ".".join(labels[start:])
        answer = await resolver.lookup(candidate, "SOA")
        if not answer.answered:
            return None
        if answer.chain:
            continue
        if answer.ok:
            return candidate
        if answer.authority_zone and candidate.endswith(answer.authority_zone):
            return answer.authority_zone
    return None
