"""Finding which of the usual port/encryption pairs a server really offers.

For a host, or for ``smtp.D``, ``mail.D`` and ``D`` of an address's domain,
every usual combination is tried at once with a short timeout: 465 with TLS
from the first byte (RFC 8314), 587 and 25 with STARTTLS (RFC 3207), then
587 and 25 in plain text. Each attempt is the diagnosis run up to the
offered AUTH mechanisms, without logging in, so a silent port costs only the
timeout and never delays the others.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr

from bpmnb import diagnosis
from bpmnb.errors import Code, Stage
from bpmnb.presets import CLOUD_OPEN_PORTS
from bpmnb.settings import AccountSettings, Encryption
from bpmnb.transport import TlsInfo

log = logging.getLogger(__name__)

# Role of a port -> its usual number. ``ports=`` overrides numbers by role
# (tests point the roles at loopback ports).
DEFAULT_PORTS: dict[str, int] = {"submissions": 465, "submission": 587, "smtp": 25}

# (role, encryption) in order of preference: encrypted first, then plain.
COMBINATIONS: tuple[tuple[str, Encryption], ...] = (
    ("submissions", Encryption.SSL),
    ("submission", Encryption.STARTTLS),
    ("smtp", Encryption.STARTTLS),
    ("submission", Encryption.NONE),
    ("smtp", Encryption.NONE),
)

DEFAULT_TIMEOUT = 1.5

# For a target that names its port ("host:port"): what to try on it.
_GIVEN_PORT_ORDER = (Encryption.SSL, Encryption.STARTTLS, Encryption.NONE)


@dataclass(frozen=True)
class ProbeResult:
    """One tried combination and what it showed."""

    host: str
    port: int
    encryption: Encryption
    role: str
    ok: bool
    code: Code
    stage: Stage | None
    auth_mechs: tuple[str, ...]
    tls: TlsInfo | None
    cloud_open: bool
    ms: float
    rank: int
    detail: str = ""
    # False when ``tls`` describes a certificate that was refused (CERT_*).
    tls_verified: bool = True

    def as_json(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "encryption": str(self.encryption),
            "role": self.role,
            "ok": self.ok,
            "code": str(self.code),
            "stage": str(self.stage) if self.stage else None,
            "auth_mechs": list(self.auth_mechs),
            "tls": (
                {
                    "version": self.tls.version,
                    "cipher": self.tls.cipher,
                    "subject": self.tls.subject,
                    "issuer": self.tls.issuer,
                    "not_after": self.tls.not_after,
                    "verified": self.tls_verified,
                }
                if self.tls
                else None
            ),
            "cloud_open": self.cloud_open,
            "ms": round(self.ms, 1),
            "detail": self.detail,
        }


def split_target(target: str) -> tuple[str, int | None]:
    """``host:port`` (or ``[IPv6]:port``) into the host and the port; any
    other target (a host, a bare IPv6 address, an e-mail address) has none.

    Users paste "smtp.firma.pl:587" from their old mail program; trying
    that name in DNS would only say DNS_FAILED.
    """
    target = target.strip()
    if "@" in target:
        return target, None
    if target.startswith("["):
        host, bracket, rest = target[1:].partition("]")
        if bracket and rest.startswith(":") and _port(rest[1:]) is not None:
            return host, _port(rest[1:])
        return (host if bracket and not rest else target), None
    host, colon, number = target.rpartition(":")
    if colon and ":" not in host and _port(number) is not None:
        return host, _port(number)
    return target, None


def valid_target(target: str) -> bool:
    """Whether ``target`` can name something to probe: a host, ``host:port``
    with a port 1-65535, an IP address or an e-mail address. "host:99999"
    and "host:abc" are refused rather than looked up in DNS as names."""
    target = target.strip()
    if not target:
        return False
    if "@" not in target and not target.startswith("["):
        host, colon, _ = target.rpartition(":")
        if colon and ":" not in host and split_target(target)[1] is None:
            return False
    hosts = candidate_hosts(target)
    return bool(hosts) and all(
        h and not any(c.isspace() or c in "/\\<>@" for c in h) for h in hosts
    )


def _port(number: str) -> int | None:
    if number.isascii() and number.isdigit() and 0 < int(number) < 65536:
        return int(number)
    return None


def candidate_hosts(target: str) -> list[str]:
    """The host itself, or smtp.D, mail.D, D for an address ``x@D``."""
    target = split_target(target)[0].strip().rstrip(".")
    if "@" not in target:
        return [target]
    if "<" in target or target.lower().startswith("mailto:"):
        # "Jan Kowalski <jan@firma.pl>" pasted from a mail program.
        target = parseaddr(target.removeprefix("mailto:"))[1] or target
    domain = target.rpartition("@")[2].lower()
    return [f"smtp.{domain}", f"mail.{domain}", domain]


def _try(
    host: str,
    port: int,
    role: str,
    encryption: Encryption,
    rank: int,
    timeout: float,
    ca_file: str | None,
) -> ProbeResult:
    settings = AccountSettings(
        host=host, port=port, encryption=encryption, timeout=timeout, ca_file=ca_file
    )
    started = time.monotonic()
    report = diagnosis.check(settings, None, stop_after=Stage.AUTH_MECHS)
    ms = (time.monotonic() - started) * 1000
    return ProbeResult(
        host=host,
        port=port,
        encryption=encryption,
        role=role,
        ok=report.ok,
        code=report.code,
        stage=report.stage,
        auth_mechs=report.auth_mechs,
        tls=report.tls,
        cloud_open=port in CLOUD_OPEN_PORTS,
        ms=ms,
        rank=rank,
        detail=report.smtp_reply or report.detail or "",
        tls_verified=report.tls_verified,
    )


def probe(
    target: str,
    *,
    ports: Mapping[str, int] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    ca_file: str | None = None,
    include_failed: bool = False,
) -> list[ProbeResult]:
    """Try the usual combinations concurrently; the working ones, best first.

    ``ports`` maps a role (``submissions``, ``submission``, ``smtp``) to
    another port number; a target ``host:port`` tries only that port, with
    SSL/TLS, STARTTLS and plain text; ``include_failed`` also returns the attempts that
    failed (after the working ones), each with its code.
    """
    numbers = {**DEFAULT_PORTS, **(ports or {})}
    unknown = set(numbers) - set(DEFAULT_PORTS)
    if unknown:
        raise ValueError(f"unknown port roles: {sorted(unknown)}")
    jobs: list[tuple[str, int, str, Encryption, int]] = []
    _, given = split_target(target)
    for h_index, host in enumerate(candidate_hosts(target)):
        if given is not None:
            # One port named by the user: every encryption on it, best first.
            role = next((r for r, n in DEFAULT_PORTS.items() if n == given), "given")
            for c_index, encryption in enumerate(_GIVEN_PORT_ORDER):
                jobs.append((host, given, role, encryption, c_index * 100 + h_index))
            continue
        for c_index, (role, encryption) in enumerate(COMBINATIONS):
            rank = c_index * 100 + h_index
            jobs.append((host, numbers[role], role, encryption, rank))
    results: list[ProbeResult] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(_try, *job, timeout, ca_file) for job in jobs]
        for future in concurrent.futures.as_completed(futures):
            results.append(future.result())
    results.sort(key=lambda r: (not r.ok, r.rank))
    for r in results:
        log.debug("probe %s:%s %s -> %s", r.host, r.port, r.encryption, r.code)
    return results if include_failed else [r for r in results if r.ok]
