"""TLS below HTTP: handshakes with the target that report what the server presented and accepted, and a
parser for the certificate it sent.

Every handshake goes through `ScopedHttp.reserve`, so it is scope-checked, counted in the request budget,
paced, and bounded by the request timeout and the run's deadline like any request. The client contexts
run at OpenSSL security level 0: the point is to see what the server offers (a 1024-bit key, a SHA-1
signature, TLS 1.0) and judge it, not to refuse the connection as a browser would.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import warnings
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from probe.http import HttpError, RequestFailed, ScopedHttp

ALL_CIPHERS = "DEFAULT:@SECLEVEL=0"
# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: the chain's trust is judged apart from its validity dates, which
# the certificate parser reports on its own (an expired certificate from a trusted CA is not "untrusted").
NO_CHECK_TIME = 0x200000
# OpenSSL's reason when the client itself has no protocol version left to offer (not the server's refusal).
_CLIENT_CANNOT_OFFER = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE")


class ClientCannotOffer(HttpError):
    """This machine's OpenSSL cannot speak the protocol version asked for, so nothing was learnt."""


@dataclass(frozen=True)
class Peer:
    """What one handshake showed. Python 3.11 exposes only the leaf of the peer's chain."""

    host: str
    port: int
    version: str  # "TLSv1.3"
    cipher: str
    certificate: bytes  # the leaf, DER; empty when the server sent none
    trusted: bool
    trust_error: str  # OpenSSL's reason when not trusted ("self-signed certificate")
    trust_code: int  # OpenSSL's X509_V_ERR_* code; 0 when trusted
    trust_store: str  # what the chain was checked against


@dataclass(frozen=True)
class Offer:
    version: str
    accepted: bool
    detail: str  # the negotiated version, or why the server refused


@dataclass(frozen=True)
class Certificate:
    """Facts about one certificate. Parsing never raises: what cannot be read stays empty, and `error`
    says why when nothing could be read at all."""

    subject: str = ""
    issuer: str = ""
    common_name: str = ""
    not_before: datetime | None = None
    not_after: datetime | None = None
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    key_type: str = ""  # "RSA", "EC", "DSA", "Ed25519", "Ed448"
    key_bits: int | None = None
    signature_hash: str | None = None  # "sha256", "sha1", "md5"; None for algorithms without one
    self_issued: bool = False
    sha256: str = ""
    error: str = ""


def version_name(version: ssl.TLSVersion) -> str:
    """`TLSVersion.TLSv1_1` → "TLS 1.1"."""
    number = version.name.removeprefix("TLSv").replace("_", ".")
    return f"TLS {number}.0" if "." not in number and number.isdigit() else f"TLS {number}"


def endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port or 443
    except ValueError:
        port = 443
    return (parts.hostname or ""), port


def client_context(*, verify: bool, ca_bundle: str | None = None, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context that completes weak handshakes. With `verify`, the chain is checked against
    `ca_bundle` (the same trust httpx gets) or the system's store, ignoring dates and host name, which
    the certificate facts judge separately. With `version`, only that protocol version is offered."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.set_ciphers(ALL_CIPHERS)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if ca_bundle:
            ctx.load_verify_locations(cafile=ca_bundle)
        else:
            ctx.load_default_certs()
        ctx.verify_flags = ctx.verify_flags | NO_CHECK_TIME
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        # Offering TLS 1.0/1.1 on purpose is the point of the probe; the stdlib warns on every use.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = version
            ctx.maximum_version = version
    return ctx


async def _handshake(http: ScopedHttp, url: str, ctx: ssl.SSLContext) -> tuple[str, str, bytes]:
    """(negotiated version, cipher, leaf DER). SSL errors propagate for the caller to classify;
    everything else becomes one readable `RequestFailed`."""
    host, port = endpoint(url)
    where = f"{host}:{port}"
    allowance = await http.reserve(url)
    try:
        async with asyncio.timeout(allowance):
            _, writer = await asyncio.open_connection(
                host, port, ssl=ctx, server_hostname=host, ssl_handshake_timeout=allowance
            )
    except TimeoutError:
        raise RequestFailed(f"TLS handshake with {where}: no answer within {allowance:.1f} s") from None
    except ssl.SSLError:
        raise
    except ConnectionRefusedError:
        raise RequestFailed(f"TLS handshake with {where}: connection refused") from None
    except OSError as exc:
        raise RequestFailed(f"TLS handshake with {where}: {exc.strerror or exc}") from None
    try:
        obj = writer.get_extra_info("ssl_object")
        if not isinstance(obj, ssl.SSLObject):
            raise RequestFailed(f"TLS handshake with {where}: no TLS session was established")
        cipher = obj.cipher()
        return obj.version() or "", cipher[0] if cipher else "", obj.getpeercert(binary_form=True) or b""
    finally:
        # No close_notify exchange: a server that never answers it must not hold the check.
        writer.transport.abort()


def _reason(exc: ssl.SSLError) -> str:
    return str(exc.reason or exc.strerror or exc)


async def peer(http: ScopedHttp, url: str, ca_bundle: str | None) -> Peer:
    """One verifying handshake; when the chain is not trusted, a second one that accepts anything, to
    read the certificate the server presents."""
    host, port = endpoint(url)
    store = f"the CA bundle {ca_bundle}" if ca_bundle else "the system's CA store"
    trusted, code, message = True, 0, ""
    try:
        version, cipher, der = await _handshake(http, url, client_context(verify=True, ca_bundle=ca_bundle))
    except ssl.SSLCertVerificationError as exc:
        trusted, code, message = False, exc.verify_code or -1, exc.verify_message or _reason(exc)
    except ssl.SSLError as exc:
        raise RequestFailed(f"TLS handshake with {host}:{port} failed: {_reason(exc)}") from None
    if not trusted:
        try:
            version, cipher, der = await _handshake(http, url, client_context(verify=False))
        except ssl.SSLError as exc:
            raise RequestFailed(f"TLS handshake with {host}:{port} failed: {_reason(exc)}") from None
    return Peer(host=host, port=port, version=version, cipher=cipher, certificate=der, trusted=trusted,
                trust_error=message, trust_code=code, trust_store=store)


async def offers(http: ScopedHttp, url: str, version: ssl.TLSVersion) -> Offer:
    """Whether the server completes a handshake when the client offers only `version`."""
    name = version_name(version)
    try:
        ctx = client_context(verify=False, version=version)
    except (ValueError, ssl.SSLError) as exc:
        raise ClientCannotOffer(f"this machine's OpenSSL cannot offer {name} ({exc})") from None
    try:
        negotiated, _, _ = await _handshake(http, url, ctx)
    except ssl.SSLError as exc:
        reason = _reason(exc)
        if any(marker in reason.upper() for marker in _CLIENT_CANNOT_OFFER):
            raise ClientCannotOffer(f"this machine's OpenSSL cannot offer {name} ({reason})") from None
        return Offer(version=name, accepted=False, detail=reason)
    except RequestFailed as exc:
        # A server that drops a connection offering an old version is refusing it, not down.
        if "reset" in str(exc).lower() or "closed" in str(exc).lower():
            return Offer(version=name, accepted=False, detail=str(exc))
        raise
    return Offer(version=name, accepted=True, detail=negotiated)


def _names(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:
        return ""


def parse_certificate(der: bytes) -> Certificate:
    """Facts from a DER certificate; never raises, whatever the bytes."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        return Certificate(error=f"not a readable X.509 certificate ({exc})")
    facts: dict[str, object] = {"subject": _names(cert.subject), "issuer": _names(cert.issuer)}
    with contextlib.suppress(ValueError):
        facts["common_name"] = next((str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)), "")
    with contextlib.suppress(ValueError):
        facts["self_issued"] = cert.subject == cert.issuer
        facts["sha256"] = cert.fingerprint(hashes.SHA256()).hex()
        facts["not_before"] = cert.not_valid_before_utc
        facts["not_after"] = cert.not_valid_after_utc
    facts.update(_alt_names(cert))
    facts.update(_key(cert))
    try:
        algorithm = cert.signature_hash_algorithm
        facts["signature_hash"] = algorithm.name if algorithm is not None else None
    except Exception:  # noqa: BLE001 - an unknown or malformed algorithm identifier is a fact, not a crash
        facts["signature_hash"] = "unknown"
    return Certificate(**facts)  # type: ignore[arg-type]


def _alt_names(cert: x509.Certificate) -> dict[str, tuple[str, ...]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = tuple(str(n).lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName))
        ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    except Exception:  # noqa: BLE001 - absent or malformed extension: no names
        return {}
    return {"dns_names": dns_names, "ip_addresses": ips}


def _key(cert: x509.Certificate) -> dict[str, object]:
    try:
        key = cert.public_key()
    except Exception:  # noqa: BLE001 - an unsupported key type is reported as unknown
        return {"key_type": "unknown"}
    if isinstance(key, rsa.RSAPublicKey):
        return {"key_type": "RSA", "key_bits": key.key_size}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"key_type": "EC", "key_bits": key.curve.key_size}
    if isinstance(key, dsa.DSAPublicKey):
        return {"key_type": "DSA", "key_bits": key.key_size}
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {"key_type": "Ed25519", "key_bits": 256}
    if isinstance(key, ed448.Ed448PublicKey):
        return {"key_type": "Ed448", "key_bits": 456}
    return {"key_type": type(key).__name__}


def host_matches(cert: Certificate, host: str) -> bool:
    """RFC 6125 as browsers apply it: the subject alternative names only; a wildcard covers exactly one
    left-most label and never an IP address."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return any(_same_ip(address, ip) for ip in cert.ip_addresses)
    for name in cert.dns_names:
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            label, rest = host.split(".", 1)
            if label and rest == name[2:] and rest.count(".") >= 1:
                return True
    return False


def _same_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address, text: str) -> bool:
    try:
        return ipaddress.ip_address(text) == address
    except ValueError:
        return False
