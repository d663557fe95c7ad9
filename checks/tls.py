"""TLS and HTTPS posture: the certificate the target presents (dates, host name, trust, key, signature),
the protocol versions it still accepts, whether plain HTTP is redirected, and mixed content in the page.

Passive. The certificate checks share one inspection (one handshake, two when the chain is not trusted:
the second reads the certificate anyway); `tls.old-protocol` adds two handshakes pinned to TLS 1.0 and
1.1; `tls.no-https-redirect` sends one plain-HTTP request; `tls.mixed-content` reads the page the
surface already fetched. Handshakes count in the request budget like requests. The certificate checks
run even when the page cannot be fetched (an expired or untrusted certificate is exactly that case), so
the report says why before the run ends with exit 3. HSTS belongs to `headers.hsts`.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from pydantic import Field, field_validator, model_validator

from probe.config import Section
from probe.context import CheckContext, MemoKey
from probe.guards import Skip, Unavailable
from probe.handshake import Certificate, ClientCannotOffer, Peer, host_matches, offers, parse_certificate, peer
from probe.http import RequestFailed, Response
from probe.model import Result, Severity
from probe.registry import Family, check

FAMILY = Family(
    group="transport",
    unlock="scan the https:// address users visit (a plain-HTTP or loopback target has no certificate to check)",
)

MOZILLA_TLS = "https://wiki.mozilla.org/Security/Server_Side_TLS"
SSL_CONFIG = "https://ssl-config.mozilla.org/"
# NIST SP 800-57 part 1 and the CA/Browser Forum Baseline Requirements (6.1.5): RSA and DSA keys of at
# least 2048 bits, elliptic curves of at least 256 bits (224 is NIST's floor).
MIN_BITS = {"RSA": 2048, "DSA": 2048, "EC": 224}
# Signature hashes with practical collisions: certificates signed with them can be forged
# (MD5: the 2008 rogue CA; SHA-1: SHAttered 2017, chosen-prefix 2020). Browsers reject both.
WEAK_HASHES = ("md2", "md4", "md5", "sha1")
# OpenSSL's X509_V_ERR_* codes that mean the chain ends in a certificate that signs itself.
SELF_SIGNED_CODES = {18: "self-signed", 19: "self-signed-chain"}
UNKNOWN_ISSUER_CODES = (2, 20, 21)
MAX_PAGE_CHARS = 500_000
MAX_MIXED_SHOWN = 20


class TlsSettings(Section):
    """`[tls]`: when a certificate's expiry is a failure, and where plain HTTP is served."""

    expiry_fail_days: int = Field(default=7, ge=0, le=365, description="fail (high) when fewer days are left")
    expiry_warn_days: int = Field(default=21, ge=0, le=730, description="fail (low) when fewer days are left")
    http_url: str | None = Field(default=None, description="plain-HTTP URL that should redirect to HTTPS "
                                 "(default: http://HOST/ of an https target)")

    @field_validator("http_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and (urlsplit(value).scheme != "http" or not urlsplit(value).hostname):
            raise ValueError(f"expected an http:// URL, got {value!r}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TlsSettings:
        if self.expiry_warn_days < self.expiry_fail_days:
            raise ValueError("expiry_warn_days must be at least expiry_fail_days")
        return self


CONFIG_SECTIONS = {"tls": TlsSettings}


@dataclass(frozen=True)
class Inspected:
    url: str  # https://host:port/
    peer: Peer
    cert: Certificate


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


async def _https_url(ctx: CheckContext) -> str:
    """The HTTPS origin to inspect: the target's, or where a plain-HTTP target's page ended up."""
    target = ctx.target or ""
    if urlsplit(target).scheme == "https":
        return _origin(target)
    page = await ctx.surface.page()
    if urlsplit(page.url).scheme == "https":
        return _origin(page.url)
    raise Skip("the target is served over plain HTTP and does not redirect to HTTPS (see tls.no-https-redirect)")


async def _inspect(ctx: CheckContext) -> Inspected:
    url = await _https_url(ctx)
    seen = await peer(ctx.http, url, ctx.settings.ca_bundle)
    if not seen.certificate:
        raise Skip(f"the server at {seen.host}:{seen.port} presented no certificate")
    return Inspected(url=url, peer=seen, cert=parse_certificate(seen.certificate))


PEER: MemoKey[Inspected] = MemoKey("tls:peer")


async def _inspected(ctx: CheckContext) -> Inspected:
    """The target's certificate, handshaken once per run; Skip without HTTPS, Unavailable when it cannot be read."""
    got = await ctx.memo.get(PEER, lambda: _inspect(ctx))
    if got.cert.error:
        raise Unavailable(f"the certificate could not be read: {got.cert.error}", got.url)
    return got


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _evidence(found: Inspected) -> dict[str, Any]:
    c, p = found.cert, found.peer
    sni = "" if _is_ip(p.host) else f" -servername {p.host}"
    return {
        "endpoint": f"{p.host}:{p.port}",
        "protocol": p.version,
        "cipher": p.cipher,
        "subject": c.subject,
        "issuer": c.issuer,
        "not_before": c.not_before.isoformat() if c.not_before else None,
        "not_after": c.not_after.isoformat() if c.not_after else None,
        "dns_names": list(c.dns_names),
        "ip_addresses": list(c.ip_addresses),
        "key": f"{c.key_type} {c.key_bits}" if c.key_bits else c.key_type,
        "signature_hash": c.signature_hash,
        "sha256": c.sha256,
        "self_issued": c.self_issued,
        "reproduce": f"openssl s_client -connect {p.host}:{p.port}{sni} </dev/null | openssl x509 -noout -text",
    }


def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


# --- certificate ------------------------------------------------------------------------------------------


@check(
    id="tls.expired",
    title="The certificate is within its validity period",
    severity=Severity.HIGH,
    cwe=298,
    summary="The certificate the HTTPS site presents has not expired and is already valid.",
    risk="Browsers and API clients refuse an expired or not-yet-valid certificate: the site is down for every user, "
    "and people trained to click through the warning become easy to intercept.",
    fix="Renew the certificate and automate renewal (certbot/Let's Encrypt, Caddy, your platform's managed "
    "certificates, AWS ACM); for a not-yet-valid one, check the server clock and the certificate's notBefore.",
    references=(MOZILLA_TLS,),
    needs_page=False,
)
async def expired(ctx: CheckContext) -> list[Result]:
    found = await _inspected(ctx)
    c, now = found.cert, datetime.now(UTC)
    if c.not_after is None or c.not_before is None:
        return [ctx.error(found.url, "the certificate's validity dates could not be read")]
    if c.not_after <= now:
        return [ctx.fail(found.url, f"The certificate expired on {_day(c.not_after)} ({(now - c.not_after).days} days ago).",
                         kind="expired", evidence=_evidence(found))]
    if c.not_before > now:
        return [ctx.fail(found.url, f"The certificate is not valid before {_day(c.not_before)}.", kind="not-yet-valid",
                         evidence=_evidence(found))]
    return [ctx.passed(found.url, f"Valid from {_day(c.not_before)} until {_day(c.not_after)}.")]


@check(
    id="tls.expiring",
    title="The certificate is not about to expire",
    severity=Severity.HIGH,
    cwe=298,
    summary="The certificate has more than 7 days left (high below that, low below 21 days; `[tls] expiry_*_days`).",
    risk="A certificate that expires in days means an outage in days unless renewal, which has evidently not "
    "happened yet, runs in time.",
    fix="Renew now and check why automatic renewal did not (certbot timer or cron, Caddy/Traefik ACME logs, the "
    "platform's managed-certificate status, a DNS or HTTP challenge that no longer passes).",
    references=("https://letsencrypt.org/docs/integration-guide/#when-to-renew", MOZILLA_TLS),
    needs_page=False,
)
async def expiring(ctx: CheckContext) -> list[Result]:
    found = await _inspected(ctx)
    settings = ctx.section(TlsSettings)
    c, now = found.cert, datetime.now(UTC)
    if c.not_after is None:
        return [ctx.error(found.url, "the certificate's expiry date could not be read")]
    if c.not_after <= now:
        return [ctx.skip(found.url, "the certificate has already expired (see tls.expired)")]
    left = c.not_after - now
    detail = f"The certificate expires on {_day(c.not_after)}, in {left.days} days."
    if left < timedelta(days=settings.expiry_fail_days):
        return [ctx.fail(found.url, detail, kind="imminent", evidence=_evidence(found))]
    if left < timedelta(days=settings.expiry_warn_days):
        return [ctx.fail(found.url, detail, kind="soon", severity=Severity.LOW, evidence=_evidence(found))]
    return [ctx.passed(found.url, detail)]


@check(
    id="tls.hostname",
    title="The certificate names the site's host",
    severity=Severity.HIGH,
    cwe=297,
    summary="The certificate's subject alternative names cover the host the site is reached at.",
    risk="A certificate for another name is refused by browsers and clients: an outage, and users learn to click "
    "through the warning that would have told them they are being intercepted.",
    fix="Issue the certificate for every name the site answers on (SAN entries; a wildcard covers one label), "
    "or serve the right certificate for this name (SNI configuration of nginx `server_name`, the load balancer's "
    "listener certificates, the platform's custom-domain settings).",
    references=("https://www.rfc-editor.org/rfc/rfc6125", MOZILLA_TLS),
    needs_page=False,
)
async def hostname(ctx: CheckContext) -> list[Result]:
    found = await _inspected(ctx)
    host, c = found.peer.host, found.cert
    if host_matches(c, host):
        return [ctx.passed(found.url, f"The certificate covers {host}.")]
    names = [*c.dns_names, *c.ip_addresses]
    named = ", ".join(names) if names else f"no subject alternative names (CN={c.common_name or '-'}, ignored by browsers)"
    return [ctx.fail(found.url, f"The certificate does not cover {host}: it names {named}.", kind="mismatch",
                     evidence=_evidence(found))]


@check(
    id="tls.untrusted",
    title="The certificate chains to a trusted CA",
    severity=Severity.HIGH,
    cwe=295,
    summary="The certificate chain verifies against the system's CA store (or `--ca-bundle`), dates aside.",
    risk="A self-signed or unknown-issuer certificate is refused by browsers and API clients; users who click "
    "through it cannot tell your server from an interceptor's.",
    fix="Use a certificate from a public CA (Let's Encrypt via certbot/Caddy, or the platform's managed certificates) "
    "and serve the full chain: nginx `ssl_certificate fullchain.pem`, Apache `SSLCertificateFile` with the "
    "intermediates; for an internal CA, give clients its root (`--ca-bundle` here).",
    references=(MOZILLA_TLS, "https://whatsmychaincert.com/"),
    needs_page=False,
)
async def untrusted(ctx: CheckContext) -> list[Result]:
    found = await _inspected(ctx)
    p = found.peer
    if p.trusted:
        return [ctx.passed(found.url, f"The chain verifies against {p.trust_store}.")]
    kind = SELF_SIGNED_CODES.get(p.trust_code) or ("unknown-issuer" if p.trust_code in UNKNOWN_ISSUER_CODES else "untrusted")
    hint = (" The server may be missing its intermediate certificates." if kind == "unknown-issuer" else "")
    return [ctx.fail(found.url, f"The certificate chain is not trusted by {p.trust_store}: {p.trust_error}.{hint}",
                     kind=kind, evidence={**_evidence(found), "verify_code": p.trust_code, "verify_error": p.trust_error})]


@check(
    id="tls.weak-key",
    title="The certificate's key is long enough",
    severity=Severity.MEDIUM,
    cwe=326,
    summary="The certificate's public key is RSA/DSA of at least 2048 bits or EC of at least 224 bits.",
    risk="A 1024-bit RSA key is within reach of well-funded attackers and refused by current clients "
    "(OpenSSL security level 2, browsers for public CAs): whoever factors it impersonates the site.",
    fix="Issue a new certificate with an RSA 2048+ or ECDSA P-256 key (certbot `--key-type ecdsa`, "
    "`openssl req -newkey rsa:2048`), and revoke the old one.",
    references=("https://cabforum.org/working-groups/server/baseline-requirements/documents/", MOZILLA_TLS),
    needs_page=False,
)
async def weak_key(ctx: CheckContext) -> list[Result]:
    found = await _inspected(ctx)
    c = found.cert
    floor = MIN_BITS.get(c.key_type)
    if floor is None or c.key_bits is None:
        return [ctx.passed(found.url, f"{c.key_type} key.")]
    if c.key_bits < floor:
        return [ctx.fail(found.url, f"The certificate has a {c.key_bits}-bit {c.key_type} key (at least {floor} needed).",
                         kind=f"{c.key_type.lower()}-{c.key_bits}", evidence=_evidence(found))]
    return [ctx.passed(found.url, f"{c.key_bits}-bit {c.key_type} key.")]


@check(
    id="tls.weak-signature",
    title="The certificate is not signed with SHA-1 or MD5",
    severity=Severity.MEDIUM,
    cwe=328,
    summary="The certificate's signature uses a collision-resistant hash (SHA-256 or better).",
    risk="SHA-1 and MD5 signatures can be forged with chosen-prefix collisions (a certificate for another name "
    "with the same signature), and browsers refuse them.",
    fix="Reissue the certificate with a SHA-256 signature (every current CA and `openssl req -sha256` do by default).",
    references=("https://shattered.io/", "https://sha-mbles.github.io/", MOZILLA_TLS),
    needs_page=False,
)
async def weak_signature(ctx: CheckContext) -> list[Result]:
    found = await _inspected(ctx)
    algorithm = found.cert.signature_hash
    if algorithm == "unknown":
        return [ctx.error(found.url, "the certificate's signature algorithm is not one this build recognises")]
    if algorithm in WEAK_HASHES:
        return [ctx.fail(found.url, f"The certificate is signed with {algorithm.upper()}.", kind=algorithm,
                         evidence=_evidence(found))]
    return [ctx.passed(found.url, f"Signed with {(algorithm or 'a hash-free algorithm').upper()}.")]


# --- protocol versions ---------------------------------------------------------------------------------------


@check(
    id="tls.old-protocol",
    title="TLS 1.0 and 1.1 are refused",
    severity=Severity.MEDIUM,
    cwe=327,
    summary="The server refuses handshakes offering only TLS 1.0 or only TLS 1.1.",
    risk="TLS 1.0 and 1.1 (deprecated by RFC 8996) lack modern cipher suites and are open to downgrade and "
    "padding-oracle attacks (BEAST, POODLE variants); PCI DSS forbids them.",
    fix="Allow only TLS 1.2 and 1.3: nginx `ssl_protocols TLSv1.2 TLSv1.3;`, Apache `SSLProtocol -all +TLSv1.2 "
    "+TLSv1.3`, AWS ELB policy `ELBSecurityPolicy-TLS13-1-2-2021-06`, Cloudflare minimum TLS version 1.2, "
    "Node `minVersion: 'TLSv1.2'`.",
    references=("https://www.rfc-editor.org/rfc/rfc8996", SSL_CONFIG),
    needs_page=False,
)
async def old_protocol(ctx: CheckContext) -> list[Result]:
    url = await _https_url(ctx)
    accepted: list[str] = []
    refused: dict[str, str] = {}
    untested: list[str] = []
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        try:
            offer = await offers(ctx.http, url, version)
        except ClientCannotOffer as exc:
            untested.append(str(exc))
            continue
        if offer.accepted:
            accepted.append(offer.version)
        else:
            refused[offer.version] = offer.detail
    if accepted:
        return [ctx.fail(url, f"The server accepts {' and '.join(accepted)}.", kind="accepted:" + ",".join(accepted),
                         evidence={"accepted": accepted, "refused": refused,
                                   "reproduce": f"openssl s_client -connect {urlsplit(url).netloc} -tls1 </dev/null"})]
    if not refused:
        return [ctx.skip(url, "; ".join(untested))]
    note = f" (not tested: {'; '.join(untested)})" if untested else ""
    return [ctx.passed(url, f"The server refuses {' and '.join(refused)} ({'; '.join(dict.fromkeys(refused.values()))}){note}.")]


# --- HTTPS posture ------------------------------------------------------------------------------------------


def _https_redirect(response: Response) -> str | None:
    """Where a plain-HTTP response sends the browser over HTTPS: the final URL of followed redirects, a
    redirect refused for leaving the scope, or the Location of an unfollowed one."""
    candidates = [response.url, response.blocked_redirect]
    location = response.header("location")
    if location and 300 <= response.status < 400:
        candidates.append(urljoin(response.url, location))
    return next((u for u in candidates if u and urlsplit(u).scheme == "https"), None)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@check(
    id="tls.no-https-redirect",
    title="Plain HTTP redirects to HTTPS",
    severity=Severity.MEDIUM,
    cwe=319,
    summary="A request to the site over plain HTTP is answered with a redirect to HTTPS.",
    risk="A site that serves pages over plain HTTP lets anyone on the network read and change them, and steal "
    "the session cookies sent with them; users who type the bare domain land there.",
    fix="Redirect every plain-HTTP request to HTTPS with a 301/308: Django `SECURE_SSL_REDIRECT = True`, "
    "Starlette/FastAPI `HTTPSRedirectMiddleware`, Express behind a proxy: check `req.secure` and redirect "
    "(or helmet + the proxy), nginx `return 301 https://$host$request_uri;`, Heroku/Vercel/Netlify: force HTTPS setting.",
    references=("https://cheatsheetseries.owasp.org/cheatsheets/Transport_Layer_Security_Cheat_Sheet.html",),
)
async def no_https_redirect(ctx: CheckContext) -> list[Result]:
    target = ctx.target or ""
    parts = urlsplit(target)
    settings = ctx.section(TlsSettings)
    if parts.scheme == "http" and settings.http_url is None and _is_loopback(parts.hostname or ""):
        return [ctx.skip(target, "the target is plain HTTP on a loopback address (a local or CI run), where HTTPS is "
                                 "the job of the proxy or platform in front of the app: scan the deployed URL, or set "
                                 "[tls] http_url to judge this one")]
    http_url = settings.http_url or (target if parts.scheme == "http" else f"http://{parts.hostname}/")
    if not ctx.http.scope.allows(http_url):
        return [ctx.skip(target, f"the plain-HTTP URL {http_url} is outside the scope ({ctx.http.scope}); "
                                 "add its host to `scope` or set [tls] http_url")]
    try:
        # The target's own page is already fetched (its redirects followed within scope).
        response = await (ctx.surface.page() if http_url == target else ctx.http.get(http_url, follow_redirects=False))
    except RequestFailed as exc:
        if "connection refused" in str(exc):
            return [ctx.passed(http_url, "Nothing answers on plain HTTP (connection refused): no page is served unencrypted.")]
        raise
    where = _https_redirect(response)
    if where:
        return [ctx.passed(http_url, f"{http_url} redirects to {where}.")]
    return [ctx.fail(http_url, f"{http_url} answers {response.status} over plain HTTP without a redirect to HTTPS.",
                     kind="served-over-http", evidence=response.evidence())]


class _Subresources(HTMLParser):
    """Elements whose http:// URL on an HTTPS page is mixed content: blocked or warned about by browsers."""

    # Images and media are left out: browsers upgrade them to https:// themselves (mixed-content level 2).
    ATTRS: ClassVar[dict[str, tuple[str, ...]]] = {
        "script": ("src",), "iframe": ("src",), "frame": ("src",), "object": ("data",), "embed": ("src",),
        "form": ("action",),
    }

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        names = self.ATTRS.get(tag, ())
        if tag == "link" and "stylesheet" in values.get("rel", "").lower().split():
            names, tag = ("href",), "stylesheet"
        for name in names:
            url = values.get(name, "")
            if url and urljoin(self.base, url).lower().startswith("http://"):
                self.found.append((tag, url))


def mixed_content(html: str, base: str) -> list[tuple[str, str]]:
    """(element, URL) for every http:// subresource or form target; never raises."""
    parser = _Subresources(base)
    try:
        parser.feed(html[:MAX_PAGE_CHARS])
        parser.close()
    except (ValueError, AssertionError):
        pass
    return parser.found


@check(
    id="tls.mixed-content",
    title="The HTTPS page loads nothing over plain HTTP",
    severity=Severity.MEDIUM,
    cwe=319,
    summary="The HTTPS page's scripts, stylesheets, frames, plugins and form targets use https:// URLs.",
    risk="A script or stylesheet fetched over plain HTTP can be replaced by anyone on the network, which gives "
    "them the page; a form posting to http:// sends what users type (passwords) unencrypted. Browsers block "
    "or warn, so the page also breaks.",
    fix="Reference every asset and form target with https:// (or a relative URL); add "
    "`Content-Security-Policy: upgrade-insecure-requests` as a safety net (helmet, django-csp, flask-talisman).",
    references=("https://developer.mozilla.org/en-US/docs/Web/Security/Mixed_content",
                "https://www.w3.org/TR/mixed-content/"),
)
async def mixed(ctx: CheckContext) -> list[Result]:
    page = await ctx.surface.page()
    if urlsplit(page.url).scheme != "https":
        return [ctx.skip(page.url, "the page is not served over HTTPS (see tls.no-https-redirect)")]
    if "html" not in page.content_type and not page.text.lstrip().startswith("<"):
        return [ctx.skip(page.url, f"the page is not HTML ({page.content_type or 'no content type'})")]
    found = mixed_content(page.text, page.url)
    if not found:
        return [ctx.passed(page.url, "No http:// subresources or form targets in the page.")]
    kinds = sorted({tag for tag, _ in found})
    shown = [{"element": tag, "url": url} for tag, url in found[:MAX_MIXED_SHOWN]]
    return [ctx.fail(page.url, f"The HTTPS page loads {len(found)} resource(s) over plain HTTP ({', '.join(kinds)}).",
                     kind="mixed:" + ",".join(kinds), evidence={**page.evidence(excerpt=""), "insecure": shown})]
