"""The built-in provider catalogue: its own consistency, the facts of the
Comarch help article, and agreement with Thunderbird's ISP database for every
provider both know (the database served by a real HTTP server on loopback)."""

from __future__ import annotations

import pytest

from bpmnb import autoconfig
from bpmnb.autoconfig import ClientConfig, FetchError
from bpmnb.catalog import CATALOG
from bpmnb.presets import (
    CLOUD_OPEN_PORTS,
    GOOGLE_HOSTS,
    OFFICE365_HOSTS,
    PRESETS,
    Preset,
    by_domain,
    by_host,
    by_mx,
)
from bpmnb.settings import AuthMethod, Encryption
from tests.support.httpserver import HttpServer

REQUIRED = {"wp", "onet", "o2", "interia", "gmail", "outlook", "office365", "yahoo"}

# Where the catalogue deliberately differs from Thunderbird's database, and why.
EXTRA_PAIRINGS: dict[tuple[str, int, Encryption], str] = {
    ("gmail", 587, Encryption.STARTTLS): (
        "Google's help for sending from devices and apps (answer 176600, the "
        "page the Comarch article links) documents smtp.gmail.com on 465 with "
        "SSL or 587 with TLS; the database lists 465 only."
    ),
}
CHOSEN_FIRST: dict[str, str] = {
    # key -> why the catalogue's first choice is not the database's first.
}
ONLY_IN_CATALOGUE: dict[str, str] = {
    "interia": (
        "Thunderbird's database has no Interia entry; poczta.interia.pl on 465 "
        "with SSL and the local part as login come from Interia's own help."
    ),
}


# Consistency of the catalogue itself.


def test_the_catalogue_has_the_providers_polish_users_need() -> None:
    assert set(PRESETS) >= REQUIRED | {"icloud"}
    assert all(key == preset.key for key, preset in PRESETS.items())


@pytest.mark.parametrize("preset", PRESETS.values(), ids=list(PRESETS))
def test_each_pairing_of_port_and_encryption_is_the_standard_one(
    preset: Preset,
) -> None:
    # RFC 8314 section 3.3: 465 is implicit TLS; RFC 6409 / RFC 3207: 587
    # (and 25) start in plain text and upgrade with STARTTLS.
    expected = {465: Encryption.SSL, 587: Encryption.STARTTLS, 25: Encryption.STARTTLS}
    for port, encryption in ((preset.port, preset.encryption), *preset.alternatives):
        assert port in CLOUD_OPEN_PORTS, (preset.key, port)
        assert expected[port] is encryption, (preset.key, port, encryption)
    pairings = [(preset.port, preset.encryption), *preset.alternatives]
    assert len(set(pairings)) == len(pairings)


@pytest.mark.parametrize("preset", PRESETS.values(), ids=list(PRESETS))
def test_each_preset_is_well_formed(preset: Preset) -> None:
    assert preset.name and preset.host == preset.host.lower()
    assert preset.domains, "a preset must be reachable from an address"
    assert all(d == d.lower().strip(".") for d in preset.domains)
    assert preset.login in ("local", "address")
    assert not preset.help_url or preset.help_url.startswith("https://")
    assert by_host(preset.host) is preset


def test_no_domain_or_mail_exchanger_belongs_to_two_providers() -> None:
    domains = [d for p in PRESETS.values() for d in p.domains]
    suffixes = [s for p in PRESETS.values() for s in p.mx_suffixes]
    assert len(domains) == len(set(domains))
    assert len(suffixes) == len(set(suffixes))


def test_notes_name_catalogue_keys() -> None:
    missing = {
        (p.key, note)
        for p in PRESETS.values()
        for note in p.notes
        if note not in CATALOG
    }
    assert not missing


def test_login_for_follows_the_providers_habit() -> None:
    assert PRESETS["wp"].login_for("jankowalski@wp.pl") == "jankowalski"
    assert PRESETS["onet"].login_for("annanowak@op.pl") == "annanowak@op.pl"


def test_lookups() -> None:
    assert by_domain("WP.PL.") is PRESETS["wp"]
    assert by_domain("op.pl") is PRESETS["onet"]
    assert by_domain("googlemail.com") is PRESETS["gmail"]
    assert by_domain("contoso.onmicrosoft.com") is PRESETS["office365"]
    assert by_domain("firma.wp.pl") is None  # subdomains only where declared
    assert by_domain("example.com") is None
    assert by_host("SMTP.GMAIL.COM") is PRESETS["gmail"]
    assert by_host("outlook.office365.com") is PRESETS["office365"]
    assert by_host("smtp.example.com") is None
    assert by_mx("alt2.aspmx.l.google.com.") is PRESETS["gmail"]
    assert by_mx("contoso-com.mail.protection.outlook.com") is PRESETS["office365"]
    assert by_mx("eur.olc.protection.outlook.com") is PRESETS["outlook"]
    assert by_mx("mx.poczta.onet.pl") is PRESETS["onet"]
    assert by_mx("mx.notgoogle.com") is None  # whole labels only
    assert set(GOOGLE_HOSTS) >= {PRESETS["gmail"].host}
    assert set(OFFICE365_HOSTS) >= {PRESETS["office365"].host}


def test_the_examples_of_the_comarch_help_article() -> None:
    """The facts behind the article's examples: a WP mailbox signs in with
    its local part, an Onet one with the whole address on port 465, and
    Gmail caps sending at 2000 messages a day."""
    wp, onet, gmail = PRESETS["wp"], PRESETS["onet"], PRESETS["gmail"]
    assert (wp.host, wp.login) == ("smtp.wp.pl", "local")
    assert (onet.host, onet.port, onet.login) == ("smtp.poczta.onet.pl", 465, "address")
    assert gmail.daily_cap == 2000
    assert gmail.app_password
    assert PRESETS["office365"].auth is AuthMethod.OAUTH2_OFFICE365


# Agreement with Thunderbird's ISP database.


def lookup(server: HttpServer, domain: str) -> ClientConfig | None:
    """What the database says for ``domain``, through the real fetch path."""
    try:
        data = autoconfig.fetch(
            f"{server.url}/v1.1/{domain}", timeout=5, allow_plain=True
        )
    except FetchError as exc:
        assert exc.reason == "not_found"
        return None
    return autoconfig.parse(data)


def test_providers_missing_from_the_database_are_named(ispdb: HttpServer) -> None:
    unknown = {
        key
        for key, preset in PRESETS.items()
        if all(lookup(ispdb, d) is None for d in preset.domains)
    }
    assert unknown == set(ONLY_IN_CATALOGUE)


@pytest.mark.parametrize(
    "preset",
    [p for p in PRESETS.values() if p.key not in ONLY_IN_CATALOGUE],
    ids=[k for k in PRESETS if k not in ONLY_IN_CATALOGUE],
)
def test_the_catalogue_agrees_with_the_database(
    ispdb: HttpServer, preset: Preset
) -> None:
    configs = {d: lookup(ispdb, d) for d in preset.domains}
    known = {d: c for d, c in configs.items() if c is not None}
    assert known, f"{preset.key}: no domain known to the database"
    # Every domain the database knows leads to one and the same provider entry.
    assert len({c.provider_id for c in known.values()}) == 1, known
    config = next(iter(known.values()))
    address = f"jan.kowalski@{preset.domains[0]}"
    servers = config.outgoing

    # Host: the catalogue has one host per provider, and so does the database.
    assert {s.host_for(address) for s in servers} == {preset.host}

    # First choice, and every documented pairing.
    first = servers[0]
    if preset.key in CHOSEN_FIRST:
        assert (first.port, first.encryption) != (preset.port, preset.encryption)
    else:
        assert (preset.port, preset.encryption) == (first.port, first.encryption)
    theirs = {(s.port, s.encryption) for s in servers}
    ours = {(preset.port, preset.encryption), *preset.alternatives}
    assert theirs <= ours, f"{preset.key}: the catalogue lacks {theirs - ours}"
    unexplained = {
        pairing
        for pairing in ours - theirs
        if (preset.key, *pairing) not in EXTRA_PAIRINGS
    }
    assert not unexplained, f"{preset.key}: say why the catalogue adds {unexplained}"

    # Login form.
    expected_login = preset.login_for(address)
    assert {s.login_for(address) for s in servers} == {expected_login}

    # OAuth2 only in the database <=> the catalogue says so too.
    assert first.oauth_only == (
        preset.auth is AuthMethod.OAUTH2_OFFICE365 or preset.oauth_only
    )

    # Mail exchanger suffixes the database lists belong to the same entry.
    for suffix in preset.mx_suffixes:
        mx_config = lookup(ispdb, suffix)
        if mx_config is not None:
            assert mx_config.provider_id == config.provider_id, suffix


@pytest.mark.parametrize("key", ["wp", "onet", "o2"])
def test_polish_providers_cover_every_domain_the_database_lists(
    ispdb: HttpServer, key: str
) -> None:
    preset = PRESETS[key]
    config = lookup(ispdb, preset.domains[0])
    assert config is not None
    assert set(config.domains) <= set(preset.domains)


def test_every_extra_pairing_is_still_in_the_catalogue() -> None:
    for key, port, encryption in EXTRA_PAIRINGS:
        assert (port, encryption) in PRESETS[key].alternatives
