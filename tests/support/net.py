"""Free loopback ports and trusted/untrusted TLS material from trustme.

Only loopback addresses are ever used: tests must not reach anything else.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from functools import cache
from pathlib import Path
from typing import Self

import trustme

LOOPBACK = "127.0.0.1"


class Running:
    """A test server used as a context manager: ``with Server(...) as s``
    starts it and stops it however the block ends. Subclasses say how to
    start (returning ``self``) and stop."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    """A port free on 127.0.0.1 now (aiosmtpd cannot bind to port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@cache
def ca() -> trustme.CA:
    """The test CA that clients are told to trust (via ``ca_file``)."""
    return trustme.CA()


@cache
def stranger_ca() -> trustme.CA:
    """A CA nobody trusts: its certificates must be refused."""
    return trustme.CA()


def ca_file(directory: Path) -> Path:
    """Write the trusted CA's PEM into ``directory`` and return its path."""
    path = directory / "test-ca.pem"
    ca().cert_pem.write_to_path(str(path))
    return path


def server_context(
    *names: str,
    authority: trustme.CA | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> ssl.SSLContext:
    """A server context whose certificate covers ``names`` (default: the
    loopback IP, as an IP SAN, and ``localhost``); the dates let a test
    serve an expired certificate."""
    issued = (authority or ca()).issue_cert(
        *(names or (LOOPBACK, "localhost")),
        not_before=not_before,
        not_after=not_after,
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued.configure_cert(ctx)
    return ctx
