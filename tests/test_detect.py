"""Provider detection end to end: the catalogue, a domain's own autoconfig over
verified HTTPS, Thunderbird's ISP database and MX records, each served by a
real server on loopback (HTTPS with trustme certificates for the provider's
names, a UDP DNS server speaking the wire protocol), and the CLI as a
subprocess. No test reaches beyond 127.0.0.1: every name the code may look
up is either mapped to loopback or refused before any traffic."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bpmnb import detect
from bpmnb.detect import Attempt, Detection, Server
from bpmnb.presets import PRESETS
from bpmnb.settings import AccountSettings, AuthMethod, Encryption
from tests.support.dnsserver import DnsServer
from tests.support.httpserver import ISPDB, HttpServer, Reply
from tests.support.net import LOOPBACK, ca_file, server_context, stranger_ca
from tests.test_autoconfig import BILLION_LAUGHS, GOOD, server_xml

needs_ispdb = pytest.mark.skipif(
    not ISPDB.is_dir(), reason=f"Thunderbird's ISP database files not found at {ISPDB}"
)

DOMAIN = "firma.example.com"
EMAIL = f"jan.kowalski@{DOMAIN}"
AUTOCONFIG_HOST = f"autoconfig.{DOMAIN}"
AUTOCONFIG_PATH = "/mail/config-v1.1.xml"
WELL_KNOWN_PATH = "/.well-known/autoconfig/mail/config-v1.1.xml"


def outcomes(trace: list[Attempt]) -> list[tuple[str, str]]:
    return [(a.source, a.outcome) for a in trace]


# Catalogue.


@pytest.mark.parametrize(
    ("email", "key", "host", "port", "encryption", "login"),
    [
        ("jankowalski@wp.pl", "wp", "smtp.wp.pl", 465, "ssl", "local"),
        ("annanowak@op.pl", "onet", "smtp.poczta.onet.pl", 465, "ssl", "address"),
        ("ola@o2.pl", "o2", "poczta.o2.pl", 465, "ssl", "local"),
        ("ola@interia.pl", "interia", "poczta.interia.pl", 465, "ssl", "local"),
        ("jan@gmail.com", "gmail", "smtp.gmail.com", 465, "ssl", "address"),
        ("jan@googlemail.com", "gmail", "smtp.gmail.com", 465, "ssl", "address"),
        (
            "jan@hotmail.com",
            "outlook",
            "smtp-mail.outlook.com",
            587,
            "starttls",
            "address",
        ),
        (
            "jan@outlook.com",
            "outlook",
            "smtp-mail.outlook.com",
            587,
            "starttls",
            "address",
        ),
        (
            "it@firma.onmicrosoft.com",
            "office365",
            "smtp.office365.com",
            587,
            "starttls",
            "address",
        ),
        ("jan@yahoo.com", "yahoo", "smtp.mail.yahoo.com", 465, "ssl", "address"),
        ("jan@icloud.com", "icloud", "smtp.mail.me.com", 587, "starttls", "address"),
    ],
)
def test_the_catalogue_answers_first_without_network(
    email: str, key: str, host: str, port: int, encryption: str, login: str
) -> None:
    trace: list[Attempt] = []
    # Every network route is closed: an answer can only come from the catalogue.
    found = detect.detect(email, connect_to={}, resolver={}, trace=trace)

    assert found is not None
    assert found.source == "catalogue"
    assert (found.provider_key, found.host, found.port) == (key, host, port)
    assert found.encryption == encryption
    assert found.login == (email if login == "address" else email.split("@")[0])
    assert outcomes(trace) == [("catalogue", "found")]


def test_domains_are_matched_without_regard_to_case() -> None:
    found = detect.detect("Jan@GoogleMail.COM", network=False)

    assert found is not None
    assert (found.provider_key, found.login) == ("gmail", "Jan@googlemail.com")


def test_the_catalogue_knows_every_onet_domain() -> None:
    for domain in PRESETS["onet"].domains:
        found = detect.detect(f"anna@{domain}", network=False)
        assert found is not None, domain
        assert found.provider_key == "onet"
        assert found.login == f"anna@{domain}"


def test_office365_from_the_catalogue_uses_oauth() -> None:
    found = detect.detect("it@firma.onmicrosoft.com", network=False)

    assert found is not None
    assert found.auth is AuthMethod.OAUTH2_OFFICE365
    assert not found.oauth_only


def test_outlook_com_warns_that_a_password_may_be_refused() -> None:
    found = detect.detect("jan@outlook.com", network=False)

    assert found is not None
    assert found.oauth_only
    assert [n.key for n in found.notes] == ["detect.note.oauth_only"]


def test_offline_detection_of_an_unknown_domain_skips_the_network() -> None:
    trace: list[Attempt] = []

    assert detect.detect(EMAIL, network=False, trace=trace) is None
    assert outcomes(trace) == [
        ("catalogue", "not_found"),
        ("autoconfig", "skipped"),
        ("ispdb", "skipped"),
        ("mx", "skipped"),
    ]


@pytest.mark.parametrize(
    "text",
    ["", "jan", "jan@", "@wp.pl", "jan@localhost", "jan kowalski@wp.pl", "a@b..pl"],
)
def test_text_that_is_not_an_address_is_refused(text: str) -> None:
    with pytest.raises(detect.AddressError) as exc:
        detect.detect(text, network=False)

    assert "nazwa@domena" in exc.value.message("pl")
    assert "name@domain" in exc.value.message("en")


def test_an_internationalised_domain_is_looked_up_in_ascii() -> None:
    assert detect.split_address("Jan@Żółw.PL") == ("Jan", "xn--w-uga1v8h.pl")


# The domain's own autoconfig, over HTTPS.


@pytest.fixture
def ca_pem(tmp_path: Path) -> Path:
    return ca_file(tmp_path)


@pytest.fixture
def autoconfig_server() -> Iterator[HttpServer]:
    """One HTTPS server with a certificate for both autoconfig names."""
    with HttpServer({}, tls=server_context(AUTOCONFIG_HOST, DOMAIN)) as server:
        yield server


def routed(server: HttpServer) -> dict[str, tuple[str, int]]:
    return {
        AUTOCONFIG_HOST: (LOOPBACK, server.port),
        DOMAIN: (LOOPBACK, server.port),
    }


def test_the_domains_autoconfig_answers_over_verified_https(
    autoconfig_server: HttpServer, ca_pem: Path
) -> None:
    autoconfig_server.routes[AUTOCONFIG_PATH] = GOOD
    trace: list[Attempt] = []

    found = detect.detect(
        EMAIL,
        connect_to=routed(autoconfig_server),
        ca_file=ca_pem,
        resolver={},
        trace=trace,
    )

    assert found is not None
    assert found.source == "autoconfig"
    assert (found.host, found.port, found.encryption) == (
        "smtp.firma.example.com",
        465,
        Encryption.SSL,
    )
    assert found.login == "jan.kowalski"  # %EMAILLOCALPART%
    assert found.alternatives == (
        Server("smtp.firma.example.com", 587, Encryption.STARTTLS),
    )
    assert found.provider_name == "Firma"
    assert found.provider_key is None
    request = autoconfig_server.requests[0]
    assert request.host == AUTOCONFIG_HOST
    assert request.path == f"{AUTOCONFIG_PATH}?emailaddress=jan.kowalski@{DOMAIN}"
    assert found.origin.startswith(f"https://{AUTOCONFIG_HOST}/")
    assert outcomes(trace) == [("catalogue", "not_found"), ("autoconfig", "found")]


def test_the_well_known_location_is_asked_second(
    autoconfig_server: HttpServer, ca_pem: Path
) -> None:
    autoconfig_server.routes[WELL_KNOWN_PATH] = GOOD

    found = detect.detect(
        EMAIL, connect_to=routed(autoconfig_server), ca_file=ca_pem, resolver={}
    )

    assert found is not None
    assert found.source == "autoconfig"
    assert [r.host for r in autoconfig_server.requests] == [AUTOCONFIG_HOST, DOMAIN]
    assert found.tried[1].outcome == "not_found"


def test_an_untrusted_autoconfig_certificate_is_not_believed(ca_pem: Path) -> None:
    tls = server_context(AUTOCONFIG_HOST, DOMAIN, authority=stranger_ca())
    with HttpServer({AUTOCONFIG_PATH: GOOD, WELL_KNOWN_PATH: GOOD}, tls=tls) as server:
        trace: list[Attempt] = []
        found = detect.detect(
            EMAIL,
            sources=["autoconfig"],
            connect_to=routed(server),
            ca_file=ca_pem,
            trace=trace,
        )

    assert found is None
    assert outcomes(trace) == [("autoconfig", "tls"), ("autoconfig", "tls")]
    assert server.requests == []


def test_hostile_autoconfig_documents_are_rejected_and_the_search_goes_on(
    autoconfig_server: HttpServer, ca_pem: Path
) -> None:
    autoconfig_server.routes[AUTOCONFIG_PATH] = BILLION_LAUGHS
    autoconfig_server.routes[WELL_KNOWN_PATH] = Reply(b"<a>" * 200_000)
    trace: list[Attempt] = []

    found = detect.detect(
        EMAIL,
        connect_to=routed(autoconfig_server),
        ca_file=ca_pem,
        resolver={DOMAIN: ["aspmx.l.google.com"]},
        trace=trace,
    )

    assert outcomes(trace)[1:3] == [
        ("autoconfig", "unsafe_xml"),
        ("autoconfig", "too_large"),
    ]
    assert found is not None
    assert found.source == "mx"


def test_a_plain_text_server_is_flagged(
    autoconfig_server: HttpServer, ca_pem: Path, caplog: pytest.LogCaptureFixture
) -> None:
    autoconfig_server.routes[AUTOCONFIG_PATH] = server_xml(
        "mail.%EMAILDOMAIN%", "25", "plain"
    )

    with caplog.at_level(logging.WARNING, logger="bpmnb.detect"):
        found = detect.detect(
            EMAIL, connect_to=routed(autoconfig_server), ca_file=ca_pem, resolver={}
        )

    assert found is not None
    assert (found.host, found.encryption) == (f"mail.{DOMAIN}", Encryption.NONE)
    assert found.login == EMAIL  # no <username>: the address
    assert [n.key for n in found.notes] == ["detect.note.plain"]
    assert any("no encryption" in r.getMessage() for r in caplog.records)


def test_the_whole_search_keeps_to_its_deadline(
    autoconfig_server: HttpServer, ca_pem: Path
) -> None:
    autoconfig_server.routes[AUTOCONFIG_PATH] = Reply(GOOD, delay=5)
    autoconfig_server.routes[WELL_KNOWN_PATH] = Reply(GOOD, delay=5)
    trace: list[Attempt] = []

    started = time.monotonic()
    found = detect.detect(
        EMAIL,
        connect_to=routed(autoconfig_server),
        ca_file=ca_pem,
        ispdb_url="http://127.0.0.1:9/v1.1/",
        resolver={},
        timeout=0.5,
        total_timeout=0.8,
        trace=trace,
    )

    assert found is None
    assert time.monotonic() - started < 1.5
    assert [a.outcome for a in trace[1:]] == [
        "timeout",
        "timeout",
        "timeout",
        "timeout",
    ]


# Thunderbird's ISP database.


def from_ispdb(
    ispdb: HttpServer, email: str, trace: list[Attempt] | None = None
) -> Detection | None:
    return detect.detect(
        email,
        sources=["ispdb"],
        ispdb_url=f"{ispdb.url}/v1.1/",
        trace=trace,
    )


def test_the_isp_database_answers_for_a_domain_it_lists(ispdb: HttpServer) -> None:
    found = from_ispdb(ispdb, "hans@gmx.net")

    assert found is not None
    assert found.source == "ispdb"
    assert found.host == "mail.gmx.net"
    assert found.origin == f"{ispdb.url}/v1.1/gmx.net"
    assert found.login == "hans@gmx.net"


def test_the_isp_database_is_asked_after_autoconfig_fails(
    ispdb: HttpServer, autoconfig_server: HttpServer, ca_pem: Path
) -> None:
    trace: list[Attempt] = []
    connect_to = {
        "autoconfig.gmx.net": (LOOPBACK, autoconfig_server.port),
        "gmx.net": (LOOPBACK, autoconfig_server.port),
    }

    found = detect.detect(
        "hans@gmx.net",
        connect_to=connect_to,
        ca_file=ca_pem,
        ispdb_url=f"{ispdb.url}/v1.1",
        resolver={},
        trace=trace,
    )

    assert found is not None
    assert found.source == "ispdb"
    # The certificate is for firma.example.com, not gmx.net: refused.
    assert outcomes(trace) == [
        ("catalogue", "not_found"),
        ("autoconfig", "tls"),
        ("autoconfig", "tls"),
        ("ispdb", "found"),
    ]


def test_oauth_only_from_the_isp_database(ispdb: HttpServer) -> None:
    outlook = from_ispdb(ispdb, "jan@outlook.de")
    office = from_ispdb(ispdb, "it@office365.com")

    assert outlook is not None
    assert outlook.oauth_only
    assert outlook.auth is AuthMethod.PASSWORD
    assert outlook.provider_key == "outlook"  # recognised by its server
    assert "detect.note.oauth_only" in [n.key for n in outlook.notes]
    assert office is not None
    assert office.auth is AuthMethod.OAUTH2_OFFICE365
    assert not office.oauth_only


def test_a_domain_missing_from_the_isp_database(ispdb: HttpServer) -> None:
    trace: list[Attempt] = []

    assert from_ispdb(ispdb, EMAIL, trace) is None
    assert outcomes(trace) == [("ispdb", "not_found")]


def test_an_https_database_url_is_never_downgraded(ispdb: HttpServer) -> None:
    trace: list[Attempt] = []
    before = len(ispdb.requests)

    found = detect.detect(
        "hans@gmx.net",
        sources=["ispdb"],
        ispdb_url=ispdb.url.replace("http://", "https://") + "/v1.1/",
        trace=trace,
    )

    # The server speaks plain HTTP only: the TLS handshake fails, and the
    # client does not retry without TLS.
    assert found is None
    assert outcomes(trace) == [("ispdb", "tls")]
    assert len(ispdb.requests) == before


# MX records, from a real DNS server on loopback.


MX_TABLE = {
    "workspace.example.com": [
        (1, "aspmx.l.google.com"),
        (5, "alt1.aspmx.l.google.com"),
    ],
    "m365.example.com": [(0, "m365-example-com.mail.protection.outlook.com")],
    "onet-hosted.example.com": [(10, "mx.poczta.onet.pl")],
    "own.example.com": [(10, "mx.own.example.com")],
    # Preference, not order of listing, decides: the Google MX is preferred.
    "mixed.example.com": [(20, "mx.own.example.com"), (10, "smtp.google.com")],
    "nullmx.example.com": [(0, ".")],
    "lookalike.example.com": [(10, "mx.evilgoogle.com")],
}


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsServer]:
    with DnsServer(MX_TABLE, silent=["silent.example.com"]) as server:
        yield server


@pytest.mark.parametrize(
    ("domain", "key", "auth"),
    [
        ("workspace.example.com", "gmail", AuthMethod.PASSWORD),
        ("m365.example.com", "office365", AuthMethod.OAUTH2_OFFICE365),
        ("onet-hosted.example.com", "onet", AuthMethod.PASSWORD),
        ("mixed.example.com", "gmail", AuthMethod.PASSWORD),
    ],
)
def test_mx_records_reveal_the_hosting_provider(
    dns_server: DnsServer, domain: str, key: str, auth: AuthMethod
) -> None:
    email = f"biuro@{domain}"

    found = detect.detect(email, sources=["mx"], dns_server=dns_server.address)

    assert found is not None
    assert found.source == "mx"
    assert found.provider_key == key
    assert found.host == PRESETS[key].host
    assert found.login == email  # hosted mailboxes sign in with the address
    assert found.auth is auth
    assert found.notes[0].key == "detect.note.mx"
    assert found.origin in found.notes[0].text.pl
    assert (domain, "MX") in dns_server.queries


@pytest.mark.parametrize(
    ("domain", "outcome"),
    [
        ("own.example.com", "no_match"),
        ("lookalike.example.com", "no_match"),
        ("nullmx.example.com", "no_mx"),
        ("nowhere.example.com", "unresolved"),
        ("silent.example.com", "timeout"),
    ],
)
def test_mx_records_that_name_no_known_provider(
    dns_server: DnsServer, domain: str, outcome: str
) -> None:
    trace: list[Attempt] = []

    started = time.monotonic()
    found = detect.detect(
        f"biuro@{domain}",
        sources=["mx"],
        dns_server=dns_server.address,
        timeout=0.5,
        trace=trace,
    )

    assert found is None
    assert outcomes(trace) == [("mx", outcome)]
    assert time.monotonic() - started < 2


def test_a_table_can_stand_in_for_dns() -> None:
    found = detect.detect(
        "biuro@workspace.example.com",
        sources=["mx"],
        resolver={"workspace.example.com": ["aspmx.l.google.com"]},
    )

    assert found is not None
    assert found.provider_key == "gmail"


def test_the_dns_server_option_is_checked() -> None:
    assert detect.parse_dns_server("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert detect.parse_dns_server("[::1]:53") == ("::1", 53)
    assert detect.parse_dns_server("127.0.0.1") == ("127.0.0.1", 53)
    for bad in ("dns.example.com:53", "127.0.0.1:0", "127.0.0.1:x"):
        with pytest.raises(ValueError):
            detect.parse_dns_server(bad)


# Offering the result as a preset.


def test_apply_fills_the_server_and_keeps_the_rest() -> None:
    settings = AccountSettings(
        account_name="Comarch DMS",
        display_name="Powiadomienia",
        password=SecretStr("Pierwiosnek479%"),
        host="stary.example.com",
        port=25,
        timeout=12,
    )
    found = detect.detect("annanowak@gmail.com", network=False)
    assert found is not None

    applied = found.apply(settings)

    assert (applied.host, applied.port, applied.encryption) == (
        "smtp.gmail.com",
        465,
        Encryption.SSL,
    )
    assert applied.login == "annanowak@gmail.com"
    assert applied.sender == "annanowak@gmail.com"  # was empty
    assert applied.daily_cap == 2000  # Gmail's documented cap
    assert applied.account_name == "Comarch DMS"
    assert applied.timeout == 12
    assert applied.password is not None
    assert applied.password.get_secret_value() == "Pierwiosnek479%"
    assert settings.host == "stary.example.com"  # the original is untouched


def test_apply_keeps_a_sender_and_switches_to_oauth_for_office365() -> None:
    settings = AccountSettings(sender="powiadomienia@firma.example.com")
    found = detect.detect(
        "it@firma.example.com",
        sources=["mx"],
        resolver={
            "firma.example.com": ["firma-example-com.mail.protection.outlook.com"]
        },
    )
    assert found is not None

    applied = found.apply(settings)

    assert applied.sender == "powiadomienia@firma.example.com"
    assert applied.auth is AuthMethod.OAUTH2_OFFICE365
    assert applied.host == "smtp.office365.com"


def test_detection_as_json_uses_the_settings_field_names() -> None:
    found = detect.detect("ola@o2.pl", network=False)
    assert found is not None

    data = found.to_dict()

    assert set(AccountSettings.model_fields) >= {
        "host",
        "port",
        "encryption",
        "login",
        "auth",
    }
    assert data["encryption"] == "ssl"
    assert data["alternatives"] == [
        {"host": "poczta.o2.pl", "port": 587, "encryption": "starttls"}
    ]
    json.dumps(data)


# The command line, as a subprocess.


def run_cli(
    *args: str, lang: str = "pl", home: Path
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BPMNB_HOME": str(home), "BPMNB_LANG": lang}
    return subprocess.run(
        [sys.executable, "-c", "from bpmnb.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_cli_prints_the_catalogue_entry_in_polish(tmp_path: Path) -> None:
    result = run_cli("detect", "jankowalski@wp.pl", home=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "wbudowany katalog dostawców" in result.stdout
    assert "smtp.wp.pl" in result.stdout
    assert "Login: jankowalski\n" in result.stdout
    assert "SSL/TLS" in result.stdout


def test_cli_json_output(tmp_path: Path) -> None:
    result = run_cli("detect", "annanowak@op.pl", "--json", home=tmp_path)

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["found"] is True
    assert data["source"] == "catalogue"
    assert (data["host"], data["port"], data["encryption"]) == (
        "smtp.poczta.onet.pl",
        465,
        "ssl",
    )
    assert data["login"] == "annanowak@op.pl"


def test_cli_reports_nothing_found_offline(tmp_path: Path) -> None:
    result = run_cli("detect", EMAIL, "--no-network", lang="en", home=tmp_path)

    assert result.returncode == 1
    assert f"No outgoing server could be found for the domain {DOMAIN}" in result.stderr
    assert "skipped (working offline)" in result.stderr


def test_cli_refuses_text_that_is_not_an_address(tmp_path: Path) -> None:
    result = run_cli("detect", "jan.kowalski", "--json", home=tmp_path)

    assert result.returncode == 2
    assert json.loads(result.stdout)["found"] is False


def test_cli_asks_the_configured_isp_database(
    ispdb: HttpServer, tmp_path: Path
) -> None:
    result = run_cli(
        "detect",
        "hans@web.de",
        "--source",
        "ispdb",
        "--ispdb-url",
        f"{ispdb.url}/v1.1/",
        "--json",
        home=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["source"], data["host"]) == ("ispdb", "smtp.web.de")


def test_cli_asks_the_given_dns_server(dns_server: DnsServer, tmp_path: Path) -> None:
    result = run_cli(
        "detect",
        "biuro@workspace.example.com",
        "--source",
        "mx",
        "--dns-server",
        dns_server.address,
        lang="en",
        home=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "the domain's MX records" in result.stdout
    assert "aspmx.l.google.com" in result.stdout
    assert "smtp.gmail.com" in result.stdout


def test_cli_reaches_an_autoconfig_server_by_connect_to(
    autoconfig_server: HttpServer, ca_pem: Path, tmp_path: Path
) -> None:
    autoconfig_server.routes[WELL_KNOWN_PATH] = GOOD

    result = run_cli(
        "detect",
        EMAIL,
        "--source",
        "autoconfig",
        "--connect-to",
        f"{AUTOCONFIG_HOST}={LOOPBACK}:{autoconfig_server.port}",
        "--connect-to",
        f"{DOMAIN}={LOOPBACK}:{autoconfig_server.port}",
        "--ca-file",
        str(ca_pem),
        "--json",
        home=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["source"], data["login"]) == ("autoconfig", "jan.kowalski")
    assert [t["outcome"] for t in data["tried"]] == ["not_found", "found"]


def test_cli_refuses_a_bad_dns_server(tmp_path: Path) -> None:
    result = run_cli("detect", EMAIL, "--dns-server", "dns.example.com", home=tmp_path)

    assert result.returncode == 2
    assert "--dns-server" in result.stderr
