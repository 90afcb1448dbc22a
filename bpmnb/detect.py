"""Finding a provider's outgoing server from nothing but an email address.

The sources are asked in the order Thunderbird uses, cheapest and most
trusted first, and the first that answers wins:

1. ``catalogue``: the built-in presets (:mod:`bpmnb.presets`), no network;
2. ``autoconfig``: the domain's own clientConfig file, at
   ``https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=...`` and
   then ``https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml``;
3. ``ispdb``: Thunderbird's ISP database (``<ispdb_url><domain>``);
4. ``mx``: the domain's MX records, matched against the presets' known mail
   exchangers, so that a company domain hosted by Google Workspace, Office
   365 or Onet is recognised.

Every network step has a short timeout and the whole search a deadline, so
the form never hangs on a silent server. A :class:`Detection` is offered to
the user like a preset: :meth:`Detection.apply` fills the server fields of an
:class:`~bpmnb.settings.AccountSettings` and keeps everything else.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import quote

from bpmnb import autoconfig
from bpmnb.autoconfig import FetchError, HostMap
from bpmnb.i18n import Lang, Msg, both, text
from bpmnb.presets import OFFICE365_HOSTS, PRESETS, Preset, by_domain, by_host, by_mx
from bpmnb.settings import AccountSettings, AuthMethod, Encryption, trim_pasted

log = logging.getLogger(__name__)

Source = Literal["catalogue", "autoconfig", "ispdb", "mx"]
SOURCES: tuple[Source, ...] = ("catalogue", "autoconfig", "ispdb", "mx")

ISPDB_URL = "https://autoconfig.thunderbird.net/v1.1/"
REQUEST_TIMEOUT = 4.0
"""Seconds for one HTTP download or DNS query."""
TOTAL_TIMEOUT = 12.0
"""Seconds for the whole search, whatever the number of sources."""

MxLookup = Callable[[str, float], Sequence[str]]
"""(domain, timeout) -> mail exchanger host names, most preferred first;
raises :class:`~bpmnb.autoconfig.FetchError` when there is no answer."""


class AddressError(ValueError):
    """The text given is not an address of the form ``name@domain``."""

    def __init__(self, email: str) -> None:
        self.email = email
        super().__init__(self.message("en"))

    def message(self, lang: Lang | None = None) -> str:
        return text("detect.invalid_email", lang, email=self.email)


@dataclass(frozen=True)
class Server:
    """One (host, port, encryption) choice for the outgoing server."""

    host: str
    port: int
    encryption: Encryption


class Note(NamedTuple):
    """A remark about a detection: its catalogue key and its text."""

    key: str
    text: Msg


@dataclass(frozen=True)
class Attempt:
    """What one source said: ``outcome`` is ``found`` or the suffix of a
    ``detect.outcome.*`` catalogue key, filled in by ``fields``."""

    source: Source
    target: str
    outcome: str
    fields: Mapping[str, object] = field(default_factory=dict)

    def describe(self, lang: Lang | None = None) -> str:
        return text(f"detect.outcome.{self.outcome}", lang, **self.fields)


@dataclass(frozen=True)
class Detection:
    """Settings found for ``email`` and where they came from.

    ``login`` is already resolved for the address (Thunderbird's
    ``%EMAILADDRESS%`` and ``%EMAILLOCALPART%`` filled in). ``origin`` is the
    URL of the clientConfig or the MX host that matched.
    """

    source: Source
    email: str
    host: str
    port: int
    encryption: Encryption
    login: str
    auth: AuthMethod = AuthMethod.PASSWORD
    provider_key: str | None = None
    provider_name: str = ""
    alternatives: tuple[Server, ...] = ()
    oauth_only: bool = False
    origin: str = ""
    notes: tuple[Note, ...] = ()
    tried: tuple[Attempt, ...] = ()

    @property
    def preset(self) -> Preset | None:
        """The catalogue entry of the provider, when it is one we know."""
        return PRESETS.get(self.provider_key or "")

    def apply(self, settings: AccountSettings) -> AccountSettings:
        """A copy of ``settings`` with the detected server filled in.

        The password, sender and everything outside the server section are
        kept; an empty sender becomes the detected address, and a known
        provider's daily cap is offered when none is set.
        """
        updated = settings.model_copy(deep=True)
        updated.host = self.host
        updated.port = self.port
        updated.encryption = self.encryption
        updated.auth = self.auth
        updated.login = self.login
        if not updated.sender:
            updated.sender = self.email
        preset = self.preset
        if preset is not None and preset.daily_cap and updated.daily_cap is None:
            updated.daily_cap = preset.daily_cap
        return updated

    def to_dict(self) -> dict[str, object]:
        """JSON-ready data using the settings' field names."""
        return {
            "source": self.source,
            "email": self.email,
            "host": self.host,
            "port": self.port,
            "encryption": self.encryption.value,
            "login": self.login,
            "auth": self.auth.value,
            "provider_key": self.provider_key,
            "provider_name": self.provider_name,
            "alternatives": [
                {"host": s.host, "port": s.port, "encryption": s.encryption.value}
                for s in self.alternatives
            ],
            "oauth_only": self.oauth_only,
            "origin": self.origin,
            "notes": [note.key for note in self.notes],
        }


def clean_address(email: str) -> str:
    """``email`` as pasted, reduced to the address: without the spaces and
    invisible characters around it, a ``mailto:`` prefix, or the name of
    ``Jan Kowalski <jan@wp.pl>``. Anything else is left for
    :func:`split_address` to judge."""
    value = str(trim_pasted(email))
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :].split("?", 1)[0]
    if value.endswith(">") and "<" in value:
        value = value[value.rindex("<") + 1 : -1]
    return str(trim_pasted(value))


def split_address(email: str) -> tuple[str, str]:
    """(local part, domain in ASCII lower case) of ``email``.

    An internationalised domain is turned into its ASCII form (RFC 5891) so
    that it can be looked up; raise :class:`AddressError` for anything that
    is not ``name@domain``.
    """
    original, email = email, clean_address(email)
    local, at, domain = email.rpartition("@")
    domain = domain.rstrip(".").lower()
    if not at or not local or "." not in domain or any(c.isspace() for c in email):
        raise AddressError(original)
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise AddressError(email) from exc
    if not autoconfig.valid_hostname(domain):
        raise AddressError(email)
    return local, domain


def autoconfig_urls(email: str, domain: str) -> list[str]:
    """Where a domain publishes its own clientConfig, in Thunderbird's order."""
    return [
        f"https://autoconfig.{domain}/mail/config-v1.1.xml"
        f"?emailaddress={quote(email, safe='@')}",
        f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
    ]


def detect(
    email: str,
    *,
    network: bool = True,
    sources: Iterable[Source] = SOURCES,
    ispdb_url: str = ISPDB_URL,
    resolver: MxLookup | Mapping[str, Sequence[str]] | None = None,
    dns_server: str | None = None,
    connect_to: HostMap | None = None,
    ca_file: str | Path | None = None,
    urls: Callable[[str, str], Sequence[str]] = autoconfig_urls,
    timeout: float = REQUEST_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    trace: list[Attempt] | None = None,
) -> Detection | None:
    """The settings for ``email`` from the first source that knows them.

    Args:
        network: False asks the built-in catalogue only.
        sources: which sources to ask (their order is always the one above).
        ispdb_url: base URL of the ISP database; plain ``http://`` is allowed
            here only, because it was configured on purpose.
        resolver: MX lookup, or a mapping ``domain -> [mx hosts]`` for tests.
        dns_server: ``IP`` or ``IP:PORT`` of the DNS server for MX queries.
        connect_to: host name -> (address, port) to contact instead of using
            DNS; names missing from it are not contacted at all.
        ca_file: a PEM file of authorities to trust besides the system ones.
        urls: builds the autoconfig URLs from (email, domain).
        trace: receives one :class:`Attempt` per source asked.

    Returns None when no source answers; raises :class:`AddressError` for
    text that is not an address.
    """
    local, domain = split_address(email)
    email = f"{local}@{domain}"
    wanted = set(sources)
    attempts: list[Attempt] = [] if trace is None else trace
    start = len(attempts)
    deadline = time.monotonic() + total_timeout

    def finish(found: Detection) -> Detection:
        log.info(
            "settings for %s found in %s: %s:%d %s",
            domain,
            found.source,
            found.host,
            found.port,
            found.encryption,
        )
        if found.encryption is Encryption.NONE:
            log.warning("%s offers no encryption for %s", found.origin, domain)
        return replace(found, tried=tuple(attempts[start:]))

    if "catalogue" in wanted:
        preset = by_domain(domain)
        attempts.append(
            Attempt("catalogue", domain, "found" if preset else "not_found")
        )
        if preset is not None:
            return finish(_from_preset(preset, email, "catalogue"))

    network_sources = [s for s in SOURCES if s != "catalogue" and s in wanted]
    if not network:
        attempts.extend(Attempt(s, domain, "skipped") for s in network_sources)
        return None

    context = autoconfig.https_context(ca_file)

    def download(source: Source, url: str, allow_plain: bool) -> Detection | None:
        try:
            data = autoconfig.fetch(
                url,
                timeout=_budget(timeout, deadline),
                context=context,
                allow_plain=allow_plain,
                connect_to=connect_to,
            )
            config = autoconfig.parse(data)
        except FetchError as exc:
            log.debug("%s %s: %s", source, url, exc)
            attempts.append(Attempt(source, url, exc.reason, exc.fields))
            return None
        attempts.append(Attempt(source, url, "found"))
        return _from_config(config, email, source, url)

    if "autoconfig" in wanted:
        for url in urls(email, domain):
            found = download("autoconfig", url, allow_plain=False)
            if found is not None:
                return finish(found)

    if "ispdb" in wanted:
        base = ispdb_url if ispdb_url.endswith("/") else ispdb_url + "/"
        found = download("ispdb", base + domain, base.startswith("http://"))
        if found is not None:
            return finish(found)

    if "mx" in wanted:
        lookup = _mx_lookup(resolver, dns_server)
        try:
            hosts = list(lookup(domain, _budget(timeout, deadline)))
        except FetchError as exc:
            attempts.append(Attempt("mx", domain, exc.reason, exc.fields))
            return None
        for host in hosts:
            preset = by_mx(host)
            if preset is not None:
                attempts.append(Attempt("mx", domain, "found"))
                return finish(_from_preset(preset, email, "mx", origin=host))
        attempts.append(Attempt("mx", domain, "no_match", {"hosts": ", ".join(hosts)}))
    return None


def _budget(timeout: float, deadline: float) -> float:
    """This step's timeout: the usual one, or what is left of the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("timeout")
    return min(timeout, left)


def _notes(
    encryption: Encryption, oauth_only: bool, mx: str = "", provider: str = ""
) -> tuple[Note, ...]:
    notes = []
    if mx:
        notes.append(
            Note("detect.note.mx", both("detect.note.mx", mx=mx, provider=provider))
        )
    if oauth_only:
        notes.append(Note("detect.note.oauth_only", both("detect.note.oauth_only")))
    if encryption is Encryption.NONE:
        notes.append(Note("detect.note.plain", both("detect.note.plain")))
    return tuple(notes)


def _from_preset(
    preset: Preset, email: str, source: Source, origin: str = ""
) -> Detection:
    return Detection(
        source=source,
        email=email,
        host=preset.host,
        port=preset.port,
        encryption=preset.encryption,
        login=preset.login_for(email),
        auth=preset.auth,
        provider_key=preset.key,
        provider_name=preset.name,
        alternatives=tuple(Server(preset.host, p, e) for p, e in preset.alternatives),
        oauth_only=preset.oauth_only,
        origin=origin,
        notes=_notes(preset.encryption, preset.oauth_only, origin, preset.name),
    )


def _from_config(
    config: autoconfig.ClientConfig, email: str, source: Source, url: str
) -> Detection:
    """The provider's first listed SMTP server is its preference (clientConfig
    1.1 lists servers of one type in order of preference)."""
    first, *rest = config.outgoing
    host = first.host_for(email)
    known = by_host(host)
    auth = AuthMethod.PASSWORD
    oauth_only = first.oauth_only
    if oauth_only and host in OFFICE365_HOSTS:
        # Office 365 tokens are the one OAuth2 flow bpmnb implements.
        auth, oauth_only = AuthMethod.OAUTH2_OFFICE365, False
    return Detection(
        source=source,
        email=email,
        host=host,
        port=first.port,
        encryption=first.encryption,
        login=first.login_for(email),
        auth=auth,
        provider_key=known.key if known else None,
        provider_name=config.display_name or (known.name if known else ""),
        alternatives=tuple(
            Server(s.host_for(email), s.port, s.encryption) for s in rest
        ),
        oauth_only=oauth_only,
        origin=url,
        notes=_notes(first.encryption, oauth_only),
    )


def parse_dns_server(value: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT`` or ``[IPv6]:PORT`` -> (address, port)."""
    host, port = value.strip(), 53
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif host.count(":") == 1:
        host, _, port_text = host.partition(":")
        port = int(port_text)
    ipaddress.ip_address(host)  # a name would need DNS to find DNS
    if not 1 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    return host, port


def _mx_lookup(
    resolver: MxLookup | Mapping[str, Sequence[str]] | None, dns_server: str | None
) -> MxLookup:
    if resolver is None:
        return dns_mx_lookup(dns_server)
    if callable(resolver):
        return resolver
    table = {name.lower().rstrip("."): list(hosts) for name, hosts in resolver.items()}

    def from_table(domain: str, timeout: float) -> Sequence[str]:
        if domain not in table or not table[domain]:
            raise FetchError("no_mx")
        return table[domain]

    return from_table


def dns_mx_lookup(server: str | None = None) -> MxLookup:
    """An MX lookup through dnspython: the system's resolvers, or ``server``
    (``IP[:PORT]``), e.g. a local test server."""
    import dns.exception
    import dns.resolver

    address = parse_dns_server(server) if server else None

    def lookup(domain: str, timeout: float) -> Sequence[str]:
        try:
            resolver = dns.resolver.Resolver(configure=address is None)
            if address is not None:
                resolver.nameservers = [address[0]]
                resolver.port = address[1]
            answer = resolver.resolve(
                domain, "MX", lifetime=timeout, search=False, raise_on_no_answer=True
            )
        except dns.resolver.NXDOMAIN as exc:
            raise FetchError("unresolved", host=domain) from exc
        except dns.resolver.NoAnswer as exc:
            raise FetchError("no_mx") from exc
        except dns.exception.Timeout as exc:
            raise FetchError("timeout") from exc
        except dns.exception.DNSException as exc:
            raise FetchError("dns") from exc
        records = sorted(answer, key=lambda r: (r.preference, str(r.exchange)))
        # RFC 7505: a single "0 ." record says the domain takes no mail.
        hosts = [str(r.exchange).rstrip(".").lower() for r in records]
        hosts = [h for h in hosts if h]
        if not hosts:
            raise FetchError("no_mx")
        return hosts

    return lookup
