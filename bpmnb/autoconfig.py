"""Fetching and reading Mozilla "clientConfig" documents, safely.

A clientConfig file (version 1.1, the format of Thunderbird's ISP database
and of a provider's own ``autoconfig`` server) lists a provider's servers in
order of preference. Its content comes from the network and is untrusted:

- it is fetched over verified HTTPS only (plain HTTP only where the caller
  says so explicitly, for a configured database URL), with a timeout on every
  step, a deadline for the whole download and a size limit;
- it is parsed by :mod:`defusedxml` with DTDs refused, so entity expansion
  ("billion laughs") and external entities cannot happen;
- host names and ports are checked before anything reaches the settings.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
import xml.etree.ElementTree as ET  # the Element type; parsing is defusedxml
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import defusedxml
import defusedxml.ElementTree

from bpmnb.settings import Encryption

log = logging.getLogger(__name__)

MAX_BYTES = 128 * 1024
"""The largest clientConfig accepted; the biggest in Thunderbird's database is
under 10 KiB, so anything near this is not a configuration file."""

MAX_REDIRECTS = 3
USER_AGENT = "bpmnb-autoconfig/1"

# Mozilla clientConfig 1.1: socketType is SSL (implicit TLS, RFC 8314),
# STARTTLS (RFC 3207) or plain.
SOCKET_TYPES: dict[str, Encryption] = {
    "SSL": Encryption.SSL,
    "STARTTLS": Encryption.STARTTLS,
    "plain": Encryption.NONE,
}

# Authentication values that mean a user name and password are accepted.
PASSWORD_AUTH = frozenset(
    {"password-cleartext", "plain", "password-encrypted", "secure", "NTLM", "GSSAPI"}
)

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)

HostMap = Mapping[str, tuple[str, int]]
"""Host name -> (address, port) to connect to instead of DNS; names missing
from the map are not looked up at all (tests and ``--connect-to``)."""


class FetchError(Exception):
    """A clientConfig could not be had; ``reason`` names why.

    ``reason`` is the suffix of a catalogue key ``detect.outcome.<reason>``
    and ``fields`` fills that sentence.
    """

    def __init__(self, reason: str, **fields: object) -> None:
        self.reason = reason
        self.fields = fields
        super().__init__(f"{reason} {fields}" if fields else reason)


@dataclass(frozen=True)
class OutgoingServer:
    """One ``<outgoingServer type="smtp">`` entry, checked."""

    host: str  # template: may hold %EMAILDOMAIN%
    port: int
    encryption: Encryption
    username: str  # template: may hold %EMAILADDRESS% or %EMAILLOCALPART%
    authentication: tuple[str, ...]

    @property
    def oauth_only(self) -> bool:
        """Only OAuth2 is listed: a login and password may be refused."""
        return "OAuth2" in self.authentication and not (
            PASSWORD_AUTH & set(self.authentication)
        )

    def login_for(self, address: str) -> str:
        """The user name with Thunderbird's placeholders filled in for
        ``address``; an entry without ``<username>`` means the address."""
        return fill(self.username or "%EMAILADDRESS%", address)

    def host_for(self, address: str) -> str:
        """The server name for ``address`` (some hosts serve many domains
        and name the server after each, e.g. ``mail.%EMAILDOMAIN%``)."""
        return fill(self.host, address).lower()


def fill(template: str, address: str) -> str:
    """Thunderbird's placeholders in ``template`` filled in for ``address``."""
    local, _, domain = address.rpartition("@")
    return (
        template.replace("%EMAILADDRESS%", address)
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
    )


@dataclass(frozen=True)
class ClientConfig:
    """What a clientConfig says about sending mail."""

    provider_id: str
    display_name: str
    domains: tuple[str, ...]
    outgoing: tuple[OutgoingServer, ...]  # in the provider's order of preference


def parse(data: bytes) -> ClientConfig:
    """Read a clientConfig document; raise :class:`FetchError` if it is unsafe,
    malformed or lists no usable SMTP server."""
    if len(data) > MAX_BYTES:
        raise FetchError("too_large", limit=MAX_BYTES)
    try:
        root: ET.Element = defusedxml.ElementTree.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise FetchError("unsafe_xml") from exc
    except ET.ParseError as exc:
        raise FetchError("invalid_xml") from exc

    provider = root.find("emailProvider")
    if root.tag != "clientConfig" or provider is None:
        raise FetchError("invalid_xml")

    servers = []
    for node in provider.findall("outgoingServer"):
        server = _outgoing(node)
        if server is not None:
            servers.append(server)
    if not servers:
        raise FetchError("no_smtp")
    return ClientConfig(
        provider_id=provider.get("id", ""),
        display_name=_text(provider, "displayName")
        or _text(provider, "displayShortName"),
        domains=tuple(
            (d.text or "").strip().lower() for d in provider.findall("domain") if d.text
        ),
        outgoing=tuple(servers),
    )


def valid_hostname(name: str) -> bool:
    """Whether ``name`` is a DNS host name (RFC 1123 labels), nothing more."""
    return bool(_HOSTNAME.match(name))


def _text(node: ET.Element, tag: str) -> str:
    child = node.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _outgoing(node: ET.Element) -> OutgoingServer | None:
    """One checked SMTP entry, or None for an entry we cannot use."""
    if node.get("type") != "smtp":
        return None
    host = _text(node, "hostname")
    encryption = SOCKET_TYPES.get(_text(node, "socketType"))
    try:
        port = int(_text(node, "port"))
    except ValueError:
        return None
    # Checked with a stand-in domain: the real one is filled in per address.
    if (
        not valid_hostname(fill(host, "user@example.com"))
        or not 1 <= port <= 65535
        or encryption is None
    ):
        log.debug("skipping unusable outgoingServer %r:%r", host, port)
        return None
    return OutgoingServer(
        host=host.rstrip("."),
        port=port,
        encryption=encryption,
        username=_text(node, "username"),
        authentication=tuple(
            (a.text or "").strip() for a in node.findall("authentication") if a.text
        ),
    )


def https_context(ca_file: str | Path | None = None) -> ssl.SSLContext:
    """A verifying client context: system roots plus ``ca_file`` if given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def fetch(
    url: str,
    *,
    timeout: float,
    context: ssl.SSLContext | None = None,
    allow_plain: bool = False,
    connect_to: HostMap | None = None,
    max_bytes: int = MAX_BYTES,
) -> bytes:
    """GET ``url`` and return the body of a 200 answer.

    ``timeout`` bounds the whole exchange, redirects included (at most
    :data:`MAX_REDIRECTS`, never from HTTPS to plain HTTP). Certificates are
    always verified against the URL's host name, also when ``connect_to``
    sends the connection elsewhere.
    """
    deadline = time.monotonic() + timeout
    context = context or https_context()
    status = 0
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme != "https" and not (allow_plain and parts.scheme == "http"):
            raise FetchError("plain_http")
        if parts.scheme == "http":
            log.warning("fetching %s over plain HTTP, as configured", url)
        status, location, body = _get(url, deadline, context, connect_to, max_bytes)
        if status in (301, 302, 303, 307, 308) and location:
            # RFC 9110 section 15.4: the target may be relative.
            url = urljoin(url, location)
            allow_plain = allow_plain and urlsplit(url).scheme == "http"
            log.debug("redirected to %s", url)
            continue
        if status == 404:
            raise FetchError("not_found")
        if status != 200:
            raise FetchError("http_status", status=status)
        return body
    raise FetchError("http_status", status=status)


def _get(
    url: str,
    deadline: float,
    context: ssl.SSLContext,
    connect_to: HostMap | None,
    max_bytes: int,
) -> tuple[int, str | None, bytes]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query

    conn: _Connection | None = None
    # Socket timeouts bound each wait, not a server that sends one byte just
    # in time, again and again: a timer cuts the connection at the deadline.
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        if conn is not None:
            conn.abort()

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
    timer.daemon = True
    timer.start()
    try:
        conn = _Connection(
            host,
            port,
            secure=secure,
            context=context,
            connect_to=connect_to,
            deadline=deadline,
        )
        conn.request(
            "GET",
            path,
            headers={"User-Agent": USER_AGENT, "Accept": "application/xml, text/xml"},
        )
        response = conn.getresponse()
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise FetchError("too_large", limit=max_bytes)
        body = bytearray()
        while chunk := response.read1(16384):
            body += chunk
            if len(body) > max_bytes:
                raise FetchError("too_large", limit=max_bytes)
            conn.refresh_timeout()
        if expired.is_set():
            raise TimeoutError("deadline passed")
        if length and length.isdigit() and len(body) != int(length):
            raise http.client.IncompleteRead(bytes(body), int(length) - len(body))
        return response.status, response.getheader("Location"), bytes(body)
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise FetchError("timeout") from exc
        if isinstance(exc, ssl.SSLError):
            raise FetchError("tls", host=host) from exc
        raise FetchError("connect", host=host) from exc
    finally:
        timer.cancel()
        if conn is not None:
            conn.close()


class _Connection(http.client.HTTPConnection):
    """HTTP(S) connection whose every step respects one deadline, which may
    connect to a mapped address while verifying the certificate for ``host``
    (Server Name Indication and name check stay on the URL's host)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        secure: bool,
        context: ssl.SSLContext,
        connect_to: HostMap | None,
        deadline: float,
    ) -> None:
        super().__init__(host, port, timeout=_remaining(deadline))
        # The Host header names the port only when it is not the scheme's own.
        self.default_port = 443 if secure else 80
        self._secure = secure
        self._tls = context
        self._connect_to = connect_to
        self._deadline = deadline
        # getresponse() drops self.sock when the server will close, handing
        # the socket to the response; we keep it to bound and abort reads.
        self._raw: socket.socket | None = None

    def connect(self) -> None:
        targets = _resolve(self.host, self.port, self._connect_to, self._deadline)
        sock = _connect_any(targets, self._deadline)
        if self._secure:
            sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        self.sock = self._raw = sock
        self.refresh_timeout()

    def refresh_timeout(self) -> None:
        if self._raw is not None:
            self._raw.settimeout(_remaining(self._deadline))

    def abort(self) -> None:
        """Cut the connection from another thread: a blocked read returns at
        once. The raw socket is shut down, below TLS, which is thread-safe."""
        if self._raw is not None:
            try:
                socket.socket.shutdown(self._raw, socket.SHUT_RDWR)
            except OSError:
                pass


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


def _connect_any(targets: list[tuple[str, int]], deadline: float) -> socket.socket:
    """A connection to the first of ``targets`` that answers (a name may have
    IPv6 and IPv4 addresses, and only one of them may be reachable here)."""
    failure: OSError = OSError("no address")
    for index, target in enumerate(targets):
        # Share what is left, so one silent address cannot use up the rest.
        share = _remaining(deadline) / (len(targets) - index)
        try:
            return socket.create_connection(target, share)
        except OSError as exc:
            failure = exc
    raise failure


def _resolve(
    host: str, port: int, connect_to: HostMap | None, deadline: float
) -> list[tuple[str, int]]:
    """The address to connect to. The system resolver has no timeout of its
    own, so it runs in a daemon thread that we stop waiting for at the
    deadline."""
    if connect_to is not None and host.lower() in connect_to:
        return [connect_to[host.lower()]]
    try:
        return [(str(ipaddress.ip_address(host)), port)]  # a literal needs no lookup
    except ValueError:
        pass
    if connect_to is not None:
        raise FetchError("unresolved", host=host)

    found: list[str] = []
    failed: list[BaseException] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            found.extend(str(info[4][0]) for info in infos)
        except OSError as exc:
            failed.append(exc)

    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(_remaining(deadline))
    if worker.is_alive():
        raise TimeoutError(f"resolving {host}")
    if failed or not found:
        raise FetchError("unresolved", host=host)
    return [(address, port) for address in dict.fromkeys(found)]
