"""Known providers: their documented SMTP settings and habits.

The values come from each provider's own help pages; Thunderbird's ISP
database agrees with them (``tests/test_presets.py`` checks every provider
both know). ``login`` says whether the provider wants the local part of the
address or the whole address as the user name. :func:`by_domain` finds a
provider from an address, :func:`by_host` from a server name and
:func:`by_mx` from a domain's mail exchangers (for :mod:`bpmnb.detect`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bpmnb.settings import AuthMethod, Encryption

LoginForm = Literal["local", "address"]


@dataclass(frozen=True)
class Preset:
    """One provider's outgoing server and what we know about its habits."""

    key: str
    name: str
    host: str
    port: int
    encryption: Encryption
    login: LoginForm
    domains: tuple[str, ...] = ()
    mx_suffixes: tuple[str, ...] = ()
    auth: AuthMethod = AuthMethod.PASSWORD
    # Other documented (port, encryption) pairs, in the provider's order.
    alternatives: tuple[tuple[int, Encryption], ...] = ()
    daily_cap: int | None = None
    app_password: bool = False
    # The provider documents only OAuth2 for SMTP, so a login and password may
    # be refused even when correct; AuthMethod has no OAuth flow for it yet.
    oauth_only: bool = False
    # Addresses at any subdomain of ``domains`` belong here too, as Office
    # 365 tenants' own ``<tenant>.onmicrosoft.com`` domains do.
    subdomains: bool = False
    help_url: str = ""
    notes: tuple[str, ...] = field(default=())  # catalogue keys

    def login_for(self, address: str) -> str:
        """The user name this provider expects for ``address``."""
        return address.split("@", 1)[0] if self.login == "local" else address


_ONET_DOMAINS = (
    "onet.pl", "onet.eu", "poczta.onet.pl", "poczta.onet.eu", "op.pl", "vp.pl",
    "autograf.pl", "buziaczek.pl", "amorki.pl", "republika.pl", "adres.pl",
    "cyberia.pl", "onet.com.pl", "opoczta.pl", "pseudonim.pl", "spoko.pl",
    "vip.onet.pl",
)  # fmt: skip

PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            key="wp",
            name="Poczta WP",
            host="smtp.wp.pl",
            port=465,
            encryption=Encryption.SSL,
            login="local",
            domains=("wp.pl",),
            mx_suffixes=("wp.pl",),
            help_url="https://pomoc.wp.pl/jak-skonfigurowac-program-pocztowy",
            notes=("rules.wp_access", "rules.wp_port"),
        ),
        Preset(
            key="onet",
            name="Onet Poczta",
            host="smtp.poczta.onet.pl",
            port=465,
            encryption=Encryption.SSL,
            login="address",
            domains=_ONET_DOMAINS,
            mx_suffixes=("mx.poczta.onet.pl", "onet.pl"),
            alternatives=((587, Encryption.STARTTLS),),
            help_url="https://pomoc.poczta.onet.pl/baza-wiedzy/"
            "adresy-serwerow-potrzebne-do-konfiguracji/",
            notes=("rules.onet_login",),
        ),
        Preset(
            key="o2",
            name="Poczta o2",
            host="poczta.o2.pl",
            port=465,
            encryption=Encryption.SSL,
            login="local",
            domains=("o2.pl", "go2.pl", "tlen.pl", "prokonto.pl"),
            mx_suffixes=("o2.pl",),
            alternatives=((587, Encryption.STARTTLS),),
        ),
        Preset(
            key="interia",
            name="Poczta Interia",
            host="poczta.interia.pl",
            port=465,
            encryption=Encryption.SSL,
            login="local",
            domains=("interia.pl", "interia.eu", "poczta.fm", "interia.com"),
            mx_suffixes=("interia.pl",),
        ),
        Preset(
            key="gmail",
            name="Gmail",
            host="smtp.gmail.com",
            port=465,
            encryption=Encryption.SSL,
            login="address",
            domains=("gmail.com", "googlemail.com"),
            mx_suffixes=("google.com", "googlemail.com"),
            alternatives=((587, Encryption.STARTTLS),),
            daily_cap=2000,
            app_password=True,
            help_url="https://support.google.com/a/answer/176600?hl=pl",
            notes=("rules.gmail_app_password",),
        ),
        Preset(
            key="outlook",
            name="Outlook.com / Hotmail",
            host="smtp-mail.outlook.com",
            port=587,
            encryption=Encryption.STARTTLS,
            login="address",
            domains=("outlook.com", "hotmail.com", "live.com", "msn.com"),
            mx_suffixes=("olc.protection.outlook.com",),
            # Microsoft announced the end of basic authentication for
            # Outlook.com mailboxes in other apps (from September 2024), and
            # Thunderbird's database lists OAuth2 only for this server.
            oauth_only=True,
            help_url="https://support.microsoft.com/office/"
            "d088b986-291d-42b8-9564-9c414e2aa040",
        ),
        Preset(
            key="office365",
            name="Microsoft Office 365",
            host="smtp.office365.com",
            port=587,
            encryption=Encryption.STARTTLS,
            login="address",
            domains=("onmicrosoft.com",),
            subdomains=True,
            mx_suffixes=("mail.protection.outlook.com",),
            auth=AuthMethod.OAUTH2_OFFICE365,
            daily_cap=10000,
        ),
        Preset(
            key="yahoo",
            name="Yahoo Mail",
            host="smtp.mail.yahoo.com",
            port=465,
            encryption=Encryption.SSL,
            login="address",
            domains=("yahoo.com", "ymail.com", "rocketmail.com"),
            mx_suffixes=("yahoodns.net",),
            app_password=True,
        ),
        Preset(
            key="icloud",
            name="iCloud Mail",
            host="smtp.mail.me.com",
            port=587,
            encryption=Encryption.STARTTLS,
            login="address",
            domains=("icloud.com", "me.com", "mac.com"),
            mx_suffixes=("mail.icloud.com",),
            app_password=True,
        ),
    )
}

OFFICE365_HOSTS: tuple[str, ...] = ("smtp.office365.com", "outlook.office365.com")
GOOGLE_HOSTS: tuple[str, ...] = ("smtp.gmail.com", "smtp-relay.gmail.com")
CLOUD_OPEN_PORTS: tuple[int, ...] = (25, 465, 587)
# Where Comarch cloud customers ask for another port to be opened.
CLOUD_SUPPORT_ADDRESS = "chmura.standard@comarch.pl"


def by_domain(domain: str) -> Preset | None:
    """The preset whose address domains include ``domain`` (case-insensitive)."""
    domain = domain.lower().rstrip(".")
    for preset in PRESETS.values():
        if domain in preset.domains:
            return preset
    for preset in PRESETS.values():
        if preset.subdomains and any(domain.endswith("." + d) for d in preset.domains):
            return preset
    return None


def by_host(host: str) -> Preset | None:
    """The preset whose server is ``host``: how rules recognise the provider."""
    host = host.lower().rstrip(".")
    for preset in PRESETS.values():
        if host == preset.host:
            return preset
    if host in OFFICE365_HOSTS:
        return PRESETS["office365"]
    return None


def by_mx(host: str) -> Preset | None:
    """The preset whose mail exchangers ``host`` belongs to (a suffix match on
    whole labels), so that a company domain hosted by a known provider, e.g.
    Google Workspace behind ``aspmx.l.google.com``, is recognised."""
    host = host.lower().rstrip(".")
    for preset in PRESETS.values():
        for suffix in preset.mx_suffixes:
            if host == suffix or host.endswith("." + suffix):
                return preset
    return None
