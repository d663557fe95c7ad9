"""DNS hygiene: dangling CNAMEs to hosting services (subdomain takeover), CAA, and the email-authentication
records (SPF, DMARC, MX) of the domain that sends the app's mail.

Passive: a handful of DNS queries to the configured resolver (`[dns] resolver = "IP[:PORT]"`) or the
system's, each counted in the run's request budget; shared between the checks through one cached
resolver. No HTTP request, except to read a hosting service's page for an in-scope CNAME whose
takeover signal is the page itself. A target that is an IP address or `localhost` has no DNS name to
check: configure `[dns] hosts` and `email_domain` to check your domain anyway.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from probe.checks.dns.takeover import NXDOMAIN, Provider, provider_for
from probe.config import Section
from probe.context import CheckContext, MemoKey
from probe.guards import Skip, Unavailable
from probe.http import HttpError, Response
from probe.model import Confidence, Result, Severity
from probe.registry import Family, check
from probe.resolver import Answer, Resolver, parse_nameserver, zone_apex

FAMILY = Family(group="dns", unlock="scan your real host name (a loopback or IP target has no DNS records to check)")

# RFC 7208 section 4.6.4: more than ten DNS-querying terms make the whole SPF record a permanent error.
SPF_LOOKUP_LIMIT = 10
# How many included SPF records we evaluate while counting; past the lookup limit the verdict is known.
MAX_SPF_RECORDS = 12
MAX_MX_HOSTS = 5
MAX_HOSTS = 20
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?$")
_SPF_LOOKUP_TERMS = ("include:", "a:", "a/", "mx:", "mx/", "ptr:", "exists:", "redirect=")
M3AAWG = "https://www.m3aawg.org/sites/default/files/m3aawg-email-authentication-recommended-best-practices-09-2020.pdf"


def _hostname(value: str) -> str:
    name = value.strip().lower().rstrip(".")
    if not _HOSTNAME.match(name):
        raise ValueError(f"expected a DNS host name (no scheme or path), got {value!r}")
    return name


class DnsSettings(Section):
    """`[dns]`: where to ask, and which names besides the target's to check."""

    resolver: str | None = Field(default=None, description="IP[:PORT] of the resolver to ask (default: the system's)")
    hosts: tuple[str, ...] = Field(default=(), description="more host names to check for dangling CNAMEs and CAA")
    email_domain: str | None = Field(default=None, description="the domain the app's mail is sent from "
                                     "(default: the DNS zone holding the target's name)")

    @field_validator("resolver")
    @classmethod
    def _resolver(cls, value: str | None) -> str | None:
        if value is not None:
            parse_nameserver(value)
        return value

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) > MAX_HOSTS:
            raise ValueError(f"at most {MAX_HOSTS} hosts")
        return tuple(dict.fromkeys(_hostname(v) for v in value))

    @field_validator("email_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        return _hostname(value) if value is not None else None


CONFIG_SECTIONS = {"dns": DnsSettings}


def _settings(ctx: CheckContext) -> DnsSettings:
    return ctx.section(DnsSettings)


RESOLVER: MemoKey[Resolver] = MemoKey("dns:resolver")


async def _resolver(ctx: CheckContext) -> Resolver:
    async def make() -> Resolver:
        return Resolver(ctx.http, _settings(ctx).resolver)

    return await ctx.memo.get(RESOLVER, make)


def _target_name(ctx: CheckContext) -> tuple[str | None, str]:
    """The target's DNS name, or why it has none."""
    host = (urlsplit(ctx.target or "").hostname or "").lower().rstrip(".")
    if not host:
        return None, "no target host"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None, f"the target is an IP address ({host}), not a DNS name"
    if host == "localhost" or host.endswith(".localhost"):
        return None, f"the target is {host}, which is never looked up in DNS (RFC 6761)"
    return host, ""


def _names(ctx: CheckContext) -> list[str]:
    """Host names to check: the target's and `[dns] hosts`; Skip when there are none."""
    own, why = _target_name(ctx)
    names = list(dict.fromkeys([*([own] if own else []), *_settings(ctx).hosts]))
    if not names:
        raise Skip(f"{why}: nothing to look up; set [dns] hosts = [\"app.example.com\"] to check your domain's names")
    return names


async def _email_domain(ctx: CheckContext, resolver: Resolver) -> str:
    """The domain whose mail records are checked: configured, else the target's zone apex."""
    configured = _settings(ctx).email_domain
    if configured:
        return configured
    own, why = _target_name(ctx)
    if own is None and not _settings(ctx).hosts:
        raise Skip(f"{why}: no email domain to check; set [dns] email_domain = \"example.com\"")
    first = _names(ctx)[0]
    apex = await zone_apex(resolver, first)
    if apex is None:
        raise Unavailable(f"could not find the DNS zone of {first} at {resolver.label}; set [dns] email_domain",
                          f"dns:{first}")
    return apex


def _dig(resolver: Resolver, name: str, rdtype: str) -> str:
    server = resolver.configured
    if server:
        ip, port = parse_nameserver(server)
        return f"dig @{ip} -p {port} {name} {rdtype}" if port != 53 else f"dig @{ip} {name} {rdtype}"
    return f"dig {name} {rdtype}"


def _evidence(resolver: Resolver, answer: Answer, **extra: object) -> dict[str, object]:
    return {
        "query": f"{answer.name} {answer.rdtype}",
        "resolver": resolver.label,
        "status": answer.status.upper(),
        **({"cname_chain": [answer.name, *answer.chain]} if answer.chain else {}),
        **({"records": list(answer.records)} if answer.records else {}),
        "reproduce": _dig(resolver, answer.name, answer.rdtype),
        **extra,
    }


def _unanswered(ctx: CheckContext, location: str, answer: Answer, resolver: Resolver) -> Result:
    return ctx.error(location, _no_answer(answer, resolver))


def _no_answer(answer: Answer, resolver: Resolver) -> str:
    detail = answer.detail or f"the resolver answered {answer.status.upper()}"
    return f"{answer.name} {answer.rdtype} at {resolver.label}: {detail}"


# --- dangling CNAMEs -------------------------------------------------------------------------------------


@check(
    id="dns.dangling-cname",
    title="No CNAME to a deleted hosting resource",
    severity=Severity.HIGH,
    cwe=350,
    summary="The target's name and the configured hosts do not alias a hosting-service resource that no longer exists.",
    risk="A CNAME to a deleted Azure site, S3 bucket, GitHub Pages site or similar lets anyone who claims that "
    "resource name serve pages on your domain (subdomain takeover): phishing on a trusted name, cookies scoped "
    "to the parent domain, OAuth and CORS allow-lists that trust it.",
    fix="Delete the DNS record (or point it at a live resource) before, never after, deleting the hosting resource; "
    "where the service offers it, verify domain ownership (Azure asuid TXT, GitHub verified domains, Heroku ACM).",
    references=(
        "https://github.com/EdOverflow/can-i-take-over-xyz",
        "https://learn.microsoft.com/en-us/azure/security/fundamentals/subdomain-takeover",
        "https://developer.mozilla.org/en-US/docs/Web/Security/Subdomain_takeovers",
    ),
    needs_page=False,
)
async def dangling_cname(ctx: CheckContext) -> list[Result]:
    names = _names(ctx)
    resolver = await _resolver(ctx)
    return [await _dangling_one(ctx, resolver, host) for host in names]


async def _dangling_one(ctx: CheckContext, resolver: Resolver, host: str) -> Result:
    location = f"dns:{host}"
    answer = await resolver.lookup(host, "A")
    if not answer.answered:
        return _unanswered(ctx, location, answer, resolver)
    if not answer.chain:
        if answer.status == "nxdomain":
            return ctx.skip(location, f"{host} does not exist in DNS (NXDOMAIN at {resolver.label}); nothing to check")
        return ctx.passed(location, f"{host} is not an alias (no CNAME).")
    final = answer.final_name
    provider = next((p for p in (provider_for(n) for n in answer.chain) if p is not None), None)
    if answer.status == "nxdomain":
        if provider is None:
            return ctx.fail(location, f"{host} is a CNAME to {final}, which does not exist (NXDOMAIN). Whoever can "
                                      "register that name serves content on your host.",
                            kind="nxdomain", severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
                            evidence=_evidence(resolver, answer))
        return _takeover(ctx, location, host, provider, final, "its name no longer exists (NXDOMAIN)",
                         _evidence(resolver, answer, service=provider.service, source=provider.source))
    if provider is None:
        return ctx.passed(location, f"{host} is a CNAME to {final}, which resolves.")
    if provider.signal == NXDOMAIN:
        return ctx.passed(location, f"{host} is a CNAME to {provider.service} ({final}), which resolves.")
    return await _by_page(ctx, resolver, answer, host, provider)


def _takeover(ctx: CheckContext, location: str, host: str, provider: Provider, final: str, why: str,
              evidence: dict[str, object]) -> Result:
    confidence = Confidence.HIGH if provider.status == "vulnerable" else Confidence.MEDIUM
    return ctx.fail(location, f"{host} is a CNAME to {provider.service} ({final}), and the resource is gone: {why}. "
                              "Anyone who claims it there serves content on your host.",
                    kind=f"unclaimed:{provider.service}", confidence=confidence, evidence=evidence)


async def _by_page(ctx: CheckContext, resolver: Resolver, answer: Answer, host: str, provider: Provider) -> Result:
    """The service signals an unclaimed host with its default page: read it, if it is ours to read."""
    location = f"dns:{host}"
    own, _ = _target_name(ctx)
    scheme = urlsplit(ctx.target or "").scheme or "https"
    url = f"{scheme}://{host}/"
    if host != own and not ctx.http.scope.allows(url):
        return ctx.skip(location, f"{host} is a CNAME to {provider.service} ({answer.final_name}); whether the resource "
                                  f"is unclaimed shows only on its page, and {host} is outside the scope: add it to `scope`")
    try:
        page: Response = await ctx.surface.page() if host == own else await ctx.http.get(url, follow_redirects=False)
    except HttpError as exc:
        return ctx.error(location, f"{host} is a CNAME to {provider.service}; its page could not be read: {exc}")
    text = page.text
    at = text.find(provider.signal)
    if at < 0:
        return ctx.passed(location, f"{host} is a CNAME to {provider.service} ({answer.final_name}), which serves a site.")
    excerpt = text[max(0, at - 80): at + len(provider.signal) + 80]
    evidence = _evidence(resolver, answer, service=provider.service, source=provider.source, page=page.evidence(excerpt))
    return _takeover(ctx, location, host, provider, answer.final_name,
                     f"its page says \u201c{provider.signal}\u201d", evidence)


# --- CAA -------------------------------------------------------------------------------------------------


@check(
    id="dns.caa-missing",
    title="CAA records name the certificate authorities allowed to issue",
    severity=Severity.LOW,
    cwe=295,
    summary="A CAA record set applies to the target's name (on it or a parent), limiting which CAs may issue for it.",
    risk="Without CAA, every public CA will issue a certificate for your names to anyone who passes its domain "
    "validation: a weak validation path at any one of them is enough to impersonate the site.",
    fix="Publish CAA at the domain apex naming your CA, e.g. `example.com. CAA 0 issue \"letsencrypt.org\"` "
    "(and `0 iodef \"mailto:security@example.com\"`); every DNS host (Route 53, Cloudflare, Google Cloud DNS) supports it.",
    references=("https://www.rfc-editor.org/rfc/rfc8659", "https://letsencrypt.org/docs/caa/"),
    needs_page=False,
)
async def caa_missing(ctx: CheckContext) -> list[Result]:
    names = _names(ctx)
    resolver = await _resolver(ctx)
    return [await _caa_one(ctx, resolver, host) for host in names]


async def _caa_one(ctx: CheckContext, resolver: Resolver, host: str) -> Result:
    """RFC 8659: the first non-empty CAA set found climbing from the name towards the root applies."""
    location = f"dns:{host}"
    labels = host.split(".")
    asked: list[str] = []
    for start in range(max(1, len(labels) - 1)):
        name = ".".join(labels[start:])
        answer = await resolver.lookup(name, "CAA")
        asked.append(name)
        if not answer.answered:
            return _unanswered(ctx, location, answer, resolver)
        if answer.records:
            return ctx.passed(location, f"CAA at {name}: {'; '.join(answer.records)}")
    return ctx.fail(location, f"No CAA record applies to {host} (asked {', '.join(asked)}): any public CA may issue for it.",
                    kind="missing", evidence={"queried": [f"{n} CAA" for n in asked], "resolver": resolver.label,
                                              "reproduce": _dig(resolver, asked[-1], "CAA")})


# --- email authentication ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpfCount:
    lookups: int
    complete: bool  # False when counting stopped at MAX_SPF_RECORDS or on a missing include
    notes: tuple[str, ...]


def spf_records(records: tuple[str, ...]) -> list[str]:
    return [r.strip() for r in records if r.strip().lower() == "v=spf1" or r.strip().lower().startswith("v=spf1 ")]


def spf_terms(record: str) -> list[str]:
    return [t for t in record.split()[1:] if t]


def spf_all(record: str) -> str | None:
    """The qualifier of the `all` mechanism ("+", "-", "~", "?"), or None when there is none."""
    for term in spf_terms(record):
        lowered = term.lower()
        if lowered in ("all", "+all", "-all", "~all", "?all"):
            return "+" if lowered == "all" else lowered[0]
    return None


def _lookup_target(term: str) -> tuple[bool, str | None]:
    """Whether an SPF term costs a DNS lookup, and the domain whose record it pulls in (include/redirect)."""
    lowered = term.lower().lstrip("+-~?")
    if lowered.startswith("include:"):
        return True, term.split(":", 1)[1]
    if lowered.startswith("redirect="):
        return True, term.split("=", 1)[1]
    costs = lowered in ("a", "mx", "ptr") or lowered.startswith(_SPF_LOOKUP_TERMS)
    return costs, None


async def count_spf_lookups(resolver: Resolver, record: str) -> SpfCount:
    """RFC 7208's count of DNS-querying terms, through includes and redirects: a record included twice
    counts twice, as receivers evaluate it twice. Bounded in records evaluated (a loop ends there, over
    the limit); repeated includes cost no extra query, the resolver caches them."""
    total = 0
    notes: list[str] = []
    queue = [record]
    evaluated = 0
    complete = True
    while queue:
        current = queue.pop(0)
        for term in spf_terms(current):
            costs, pulled = _lookup_target(term)
            total += 1 if costs else 0
            if pulled is None or "%" in pulled:
                continue
            if evaluated >= MAX_SPF_RECORDS:
                complete = False
                continue
            evaluated += 1
            answer = await resolver.lookup(pulled, "TXT")
            found = spf_records(answer.records)
            if len(found) == 1:
                queue.append(found[0])
            else:
                complete = False
                notes.append(f"{pulled}: {'no SPF record' if not found else 'several SPF records'} ({answer.status})")
    return SpfCount(total, complete, tuple(dict.fromkeys(notes)))


async def _domain_txt(ctx: CheckContext, name: str) -> tuple[Resolver, Answer, str]:
    """The TXT answer at `name` (formatted with the email domain); Unavailable when it cannot be had."""
    resolver = await _resolver(ctx)
    domain = await _email_domain(ctx, resolver)
    queried = name.format(domain=domain)
    answer = await resolver.lookup(queried, "TXT")
    location = f"dns:{queried}"
    if not answer.answered:
        raise Unavailable(_no_answer(answer, resolver), location)
    if answer.status == "nxdomain" and queried == domain:
        raise Unavailable(f"the email domain {domain} does not exist in DNS (NXDOMAIN at {resolver.label}); check "
                          "[dns] email_domain", location)
    return resolver, answer, domain


@check(
    id="dns.spf",
    title="SPF names who may send the domain's mail",
    severity=Severity.MEDIUM,
    cwe=290,
    summary="The email domain publishes one SPF record that does not end in `+all` and stays within 10 DNS lookups.",
    risk="Without a working SPF record anyone can send mail as your domain (password-reset and invoice phishing to "
    "your users); `+all` authorises the whole internet; more than 10 lookups is a permanent error that receivers "
    "treat as no SPF at all.",
    fix="Publish one TXT record at the domain listing your senders and ending in `-all` or `~all`, e.g. "
    "`v=spf1 include:_spf.google.com include:sendgrid.net -all`; a domain that sends no mail publishes `v=spf1 -all`; "
    "flatten includes (or drop unused senders) to stay within 10 lookups.",
    references=("https://www.rfc-editor.org/rfc/rfc7208", M3AAWG),
    needs_page=False,
)
async def spf(ctx: CheckContext) -> list[Result]:
    resolver, answer, domain = await _domain_txt(ctx, "{domain}")
    location = f"dns:{domain}"
    found = spf_records(answer.records)
    if not found:
        return [ctx.fail(location, f"{domain} publishes no SPF record: anyone may send mail as @{domain}.",
                         kind="missing", evidence=_evidence(resolver, answer))]
    if len(found) > 1:
        return [ctx.fail(location, f"{domain} publishes {len(found)} SPF records; RFC 7208 makes that a permanent "
                                   "error, so receivers treat the domain as having none.",
                         kind="multiple", evidence=_evidence(resolver, answer))]
    record = found[0]
    if spf_all(record) == "+":
        return [ctx.fail(location, f"The SPF record of {domain} ends in `+all`: it authorises every host on the "
                                   f"internet to send as @{domain}.", kind="pass-all", severity=Severity.HIGH,
                         evidence=_evidence(resolver, answer, spf=record))]
    count = await count_spf_lookups(resolver, record)
    if count.lookups > SPF_LOOKUP_LIMIT:
        return [ctx.fail(location, f"The SPF record of {domain} needs {'at least ' if not count.complete else ''}"
                                   f"{count.lookups} DNS lookups (limit {SPF_LOOKUP_LIMIT}): receivers give up with a "
                                   "permanent error and treat the domain as having no SPF.",
                         kind="too-many-lookups",
                         evidence=_evidence(resolver, answer, spf=record, lookups=count.lookups, notes=list(count.notes)))]
    partial = f" (counted without {'; '.join(count.notes)})" if count.notes else ""
    return [ctx.passed(location, f"SPF: {record} — {count.lookups} DNS lookups{partial}.")]


def dmarc_tags(record: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip())
    return tags


@check(
    id="dns.dmarc",
    title="DMARC tells receivers to reject forged mail",
    severity=Severity.MEDIUM,
    cwe=290,
    summary="The email domain publishes a DMARC record with policy `quarantine` or `reject`.",
    risk="Without DMARC (or with `p=none`), receivers deliver mail that fails SPF and DKIM for your domain: "
    "phishing that shows your exact address in the From line reaches your users' inboxes.",
    fix="Publish TXT at `_dmarc.example.com`: start with `v=DMARC1; p=none; rua=mailto:dmarc@example.com` to see "
    "reports, then move to `p=quarantine` and `p=reject` once your senders pass SPF/DKIM.",
    references=("https://www.rfc-editor.org/rfc/rfc7489", M3AAWG),
    needs_page=False,
)
async def dmarc(ctx: CheckContext) -> list[Result]:
    resolver, answer, domain = await _domain_txt(ctx, "_dmarc.{domain}")
    location = f"dns:_dmarc.{domain}"
    found = [r.strip() for r in answer.records if r.strip().lower().startswith("v=dmarc1")]
    if not found:
        return [ctx.fail(location, f"{domain} publishes no DMARC record at _dmarc.{domain}: receivers deliver mail "
                                   "that forges the domain.", kind="missing", evidence=_evidence(resolver, answer))]
    if len(found) > 1:
        return [ctx.fail(location, f"_dmarc.{domain} holds {len(found)} DMARC records; receivers ignore them all.",
                         kind="multiple", evidence=_evidence(resolver, answer))]
    policy = dmarc_tags(found[0]).get("p", "").lower()
    if policy in ("quarantine", "reject"):
        return [ctx.passed(location, f"DMARC: {found[0]}")]
    if policy == "none":
        return [ctx.fail(location, f"The DMARC policy of {domain} is `p=none`: forged mail is reported, not stopped.",
                         kind="p-none", severity=Severity.LOW, evidence=_evidence(resolver, answer, dmarc=found[0]))]
    return [ctx.fail(location, f"The DMARC record of {domain} has no valid policy (p={policy or 'missing'}); "
                               "receivers ignore it.", kind="invalid", evidence=_evidence(resolver, answer, dmarc=found[0]))]


@check(
    id="dns.mx",
    title="The email domain receives mail (MX)",
    severity=Severity.INFO,
    summary="The email domain has MX records whose hosts resolve, or a null MX saying it takes no mail.",
    risk="Replies and bounces to mail the app sends are lost when the domain has no MX, and some receivers score "
    "mail from a domain that cannot receive as spam.",
    fix="Publish MX records for the domain your app sends from (your mail provider documents them), or a null MX "
    "(`example.com. MX 0 .`, RFC 7505) for a domain that deliberately receives nothing.",
    references=("https://www.rfc-editor.org/rfc/rfc5321#section-5.1", "https://www.rfc-editor.org/rfc/rfc7505"),
    needs_page=False,
)
async def mx(ctx: CheckContext) -> list[Result]:
    resolver = await _resolver(ctx)
    domain = await _email_domain(ctx, resolver)
    location = f"dns:{domain}"
    answer = await resolver.lookup(domain, "MX")
    if not answer.answered:
        return [_unanswered(ctx, location, answer, resolver)]
    if answer.status == "nxdomain":
        return [ctx.error(location, f"the email domain {domain} does not exist in DNS (NXDOMAIN at {resolver.label}); "
                                    "check [dns] email_domain")]
    hosts = [(parts[0], parts[1].lower().rstrip(".")) for parts in (r.split() for r in answer.records) if len(parts) == 2]
    if not hosts:
        return [ctx.fail(location, f"{domain} has no MX records: replies and bounces to its mail are lost.",
                         kind="missing", evidence=_evidence(resolver, answer))]
    if any(host == "" for _, host in hosts):
        return [ctx.passed(location, f"{domain} publishes a null MX: it deliberately receives no mail (RFC 7505).")]
    dangling: list[str] = []
    hosts.sort(key=lambda h: (int(h[0]) if h[0].isdigit() else 65536, h[1]))
    for _, host in hosts[:MAX_MX_HOSTS]:
        address = await resolver.lookup(host, "A")
        if address.status == "nxdomain" or (address.status == "nodata" and not (await resolver.lookup(host, "AAAA")).ok):
            dangling.append(host)
    if dangling:
        return [ctx.fail(location, f"MX hosts of {domain} do not resolve: {', '.join(dangling)}.", kind="dangling-host",
                         evidence=_evidence(resolver, answer, unresolved=dangling))]
    return [ctx.passed(location, f"MX: {', '.join(f'{p} {h}' for p, h in hosts)}")]
