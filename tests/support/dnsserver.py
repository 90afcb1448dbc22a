"""A tiny real DNS server on 127.0.0.1 (UDP) that answers MX queries from a table.

Built with dnspython's message API, it speaks the real wire protocol
(RFC 1035), so the resolver under test runs its full code path: names in the
table get their MX records, other names get NXDOMAIN, known names asked for
another type get an empty NOERROR answer, and names in ``silent`` get no
answer at all (for timeouts).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Mapping

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from tests.support.net import LOOPBACK, Running


class DnsServer(Running):
    """``DnsServer({"example.com": [(10, "mx1.example.net")]})``; use as a
    context manager; ``.address`` is ``"127.0.0.1:PORT"``."""

    def __init__(
        self,
        mx: Mapping[str, Iterable[tuple[int, str]]],
        *,
        silent: Iterable[str] = (),
    ) -> None:
        self.mx = {_norm(name): list(records) for name, records in mx.items()}
        self.silent = {_norm(name) for name in silent}
        self.queries: list[tuple[str, str]] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((LOOPBACK, 0))  # a UDP socket we own can take port 0
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def start(self) -> DnsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._answer(wire)
            if reply is not None:
                self._sock.sendto(reply, peer)

    def _answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return None
        question = query.question[0]
        name = _norm(question.name.to_text())
        self.queries.append((name, dns.rdatatype.to_text(question.rdtype)))
        if name in self.silent:
            return None

        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name not in self.mx:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.MX and self.mx[name]:
            records = [f"{pref} {host.rstrip('.')}." for pref, host in self.mx[name]]
            response.answer.append(
                dns.rrset.from_text_list(
                    question.name, 300, dns.rdataclass.IN, dns.rdatatype.MX, records
                )
            )
        return response.to_wire()


def _norm(name: str) -> str:
    return name.lower().rstrip(".")
