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
                }
                if self.tls
                else None
            ),
            "cloud_open": self.cloud_open,
            "ms": round(self.ms, 1),
            "detail": self.detail,
        }


def candidate_hosts(target: str) -> list[str]:
    """The host itself, or smtp.D, mail.D, D for an address ``x@D``."""
    target = target.strip().rstrip(".")
    if "@" not in target:
        return [target]
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
    another port number; ``include_failed`` also returns the attempts that
    failed (after the working ones), each with its code.
    """
    numbers = {**DEFAULT_PORTS, **(ports or {})}
    unknown = set(numbers) - set(DEFAULT_PORTS)
    if unknown:
        raise ValueError(f"unknown port roles: {sorted(unknown)}")
    jobs: list[tuple[str, int, str, Encryption, int]] = []
    for h_index, host in enumerate(candidate_hosts(target)):
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
