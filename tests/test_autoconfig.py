"""Reading and fetching clientConfig documents: safe parsing, verified HTTPS,
bounded size and time. Servers are real, on loopback; the documents are
Thunderbird's own reference files or hostile ones written here."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bpmnb import autoconfig
from bpmnb.autoconfig import MAX_BYTES, FetchError
from bpmnb.settings import Encryption
from tests.support.httpserver import ISPDB, HttpServer, Reply
from tests.support.net import LOOPBACK, ca_file, free_port, server_context, stranger_ca

needs_ispdb = pytest.mark.skipif(
    not ISPDB.is_dir(), reason=f"Thunderbird's ISP database files not found at {ISPDB}"
)

HOST = "autoconfig.firma.example.com"
PATH = "/mail/config-v1.1.xml"

GOOD = b"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="firma.example.com">
    <domain>firma.example.com</domain>
    <displayName>Firma</displayName>
    <outgoingServer type="smtp">
      <hostname>smtp.firma.example.com</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.firma.example.com</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<clientConfig version="1.1"><emailProvider id="x">
  <outgoingServer type="smtp"><hostname>smtp.example.com</hostname><port>465</port>
  <socketType>SSL</socketType><username>&lol9;</username></outgoingServer>
</emailProvider></clientConfig>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<clientConfig version="1.1"><emailProvider id="x">
  <outgoingServer type="smtp"><hostname>smtp.example.com</hostname><port>465</port>
  <socketType>SSL</socketType><username>&secret;</username></outgoingServer>
</emailProvider></clientConfig>
"""


def server_xml(host: str, port: str, socket_type: str = "SSL") -> bytes:
    return (
        '<clientConfig version="1.1"><emailProvider id="x">'
        f'<outgoingServer type="smtp"><hostname>{host}</hostname><port>{port}</port>'
        f"<socketType>{socket_type}</socketType></outgoingServer>"
        "</emailProvider></clientConfig>"
    ).encode()


def reason(exc: pytest.ExceptionInfo[FetchError]) -> str:
    return exc.value.reason


# Parsing.


def test_parse_keeps_the_providers_order_and_templates() -> None:
    config = autoconfig.parse(GOOD)

    assert config.provider_id == "firma.example.com"
    assert config.display_name == "Firma"
    assert config.domains == ("firma.example.com",)
    first, second = config.outgoing
    assert (first.host, first.port, first.encryption) == (
        "smtp.firma.example.com",
        465,
        Encryption.SSL,
    )
    assert (second.port, second.encryption) == (587, Encryption.STARTTLS)
    assert first.login_for("jan.kowalski@firma.example.com") == "jan.kowalski"
    assert not first.oauth_only


@needs_ispdb
def test_parse_reads_every_reference_file_or_names_why_not() -> None:
    reasons = {}
    for path in sorted(ISPDB.glob("*.xml")):
        try:
            config = autoconfig.parse(path.read_bytes())
        except FetchError as exc:
            reasons[path.name] = exc.reason
            continue
        assert config.outgoing, path.name
    # Files whose only SMTP host is a bare placeholder still parse: their
    # names are checked with a stand-in domain.
    assert reasons == {}


@needs_ispdb
def test_placeholders_in_host_names_are_filled_per_address() -> None:
    config = autoconfig.parse((ISPDB / "inbox.lv.xml").read_bytes())
    server = config.outgoing[0]

    assert server.host == "mail.%EMAILDOMAIN%"
    assert server.host_for("anna@inbox.lv") == "mail.inbox.lv"
    assert server.login_for("anna@inbox.lv") == "anna@inbox.lv"


@needs_ispdb
@pytest.mark.parametrize(
    ("file", "oauth_only"),
    [
        ("office365.com.xml", True),
        ("hotmail.com.xml", True),
        ("googlemail.com.xml", False),  # OAuth2 and password-cleartext
        ("wp.pl.xml", False),
    ],
)
def test_oauth_only_is_recognised(file: str, oauth_only: bool) -> None:
    config = autoconfig.parse((ISPDB / file).read_bytes())

    assert config.outgoing[0].oauth_only is oauth_only


def test_entity_expansion_is_refused() -> None:
    started = time.monotonic()
    with pytest.raises(FetchError) as exc:
        autoconfig.parse(BILLION_LAUGHS)

    assert reason(exc) == "unsafe_xml"
    assert time.monotonic() - started < 1


def test_external_entities_are_refused() -> None:
    with pytest.raises(FetchError) as exc:
        autoconfig.parse(EXTERNAL_ENTITY)

    assert reason(exc) == "unsafe_xml"


def test_a_dtd_alone_is_refused() -> None:
    with pytest.raises(FetchError) as exc:
        autoconfig.parse(b"<!DOCTYPE clientConfig>" + GOOD.split(b"?>", 1)[1])

    assert reason(exc) == "unsafe_xml"


def test_a_huge_document_is_refused_before_parsing() -> None:
    huge = GOOD.replace(b"<domain>", b"<!--" + b"x" * MAX_BYTES + b"--><domain>")

    with pytest.raises(FetchError) as exc:
        autoconfig.parse(huge)

    assert reason(exc) == "too_large"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"<clientConfig><emailProvider>", "invalid_xml"),
        (b"<html><body>Not found</body></html>", "invalid_xml"),
        (b'<clientConfig version="1.1"><emailProvider/></clientConfig>', "no_smtp"),
        (server_xml("smtp.example.com/../x", "465"), "no_smtp"),
        (server_xml("smtp example.com", "465"), "no_smtp"),
        (server_xml("-smtp.example.com", "465"), "no_smtp"),
        (server_xml("smtp.example.com", "70000"), "no_smtp"),
        (server_xml("smtp.example.com", "x"), "no_smtp"),
        (server_xml("smtp.example.com", "465", "TLS1.0"), "no_smtp"),
    ],
)
def test_unusable_documents_are_refused(data: bytes, why: str) -> None:
    with pytest.raises(FetchError) as exc:
        autoconfig.parse(data)

    assert reason(exc) == why


def test_a_plain_server_maps_to_no_encryption() -> None:
    config = autoconfig.parse(server_xml("smtp.example.com", "25", "plain"))

    assert config.outgoing[0].encryption is Encryption.NONE


# Fetching over HTTPS from a real server on loopback.


def fetch_kw(server: HttpServer, tmp_path: Path) -> dict[str, object]:
    """What makes fetch() reach ``server`` for ``HOST``, trusting the test CA."""
    return {
        "timeout": 3.0,
        "context": autoconfig.https_context(ca_file(tmp_path)),
        "connect_to": {HOST: (LOOPBACK, server.port)},
    }


@pytest.fixture
def https(tmp_path: Path) -> tuple[HttpServer, dict[str, object]]:
    """An autoconfig server for ``HOST``; ``kw`` makes fetch() reach it."""
    server = HttpServer({PATH: GOOD}, tls=server_context(HOST))
    with server:
        yield server, fetch_kw(server, tmp_path)


def test_fetch_verifies_the_certificate_for_the_url_host(
    https: tuple[HttpServer, dict[str, object]],
) -> None:
    server, kw = https

    body = autoconfig.fetch(f"https://{HOST}{PATH}?emailaddress=a%40b", **kw)  # type: ignore[arg-type]

    assert body == GOOD
    assert server.requests[-1].host == HOST
    assert server.requests[-1].path == f"{PATH}?emailaddress=a%40b"


def test_fetch_refuses_a_certificate_from_an_unknown_authority(
    tmp_path: Path,
) -> None:
    server = HttpServer({PATH: GOOD}, tls=server_context(HOST, authority=stranger_ca()))
    with server, pytest.raises(FetchError) as exc:
        autoconfig.fetch(f"https://{HOST}{PATH}", **fetch_kw(server, tmp_path))  # type: ignore[arg-type]

    assert reason(exc) == "tls"
    assert server.requests == []


def test_fetch_refuses_a_certificate_for_another_name(tmp_path: Path) -> None:
    server = HttpServer({PATH: GOOD}, tls=server_context("other.example.com"))
    with server, pytest.raises(FetchError) as exc:
        autoconfig.fetch(f"https://{HOST}{PATH}", **fetch_kw(server, tmp_path))  # type: ignore[arg-type]

    assert reason(exc) == "tls"
    assert exc.value.fields == {"host": HOST}


def test_fetch_refuses_plain_http_unless_allowed() -> None:
    with HttpServer({PATH: GOOD}) as server:
        with pytest.raises(FetchError) as exc:
            autoconfig.fetch(server.url + PATH, timeout=3)
        assert reason(exc) == "plain_http"
        assert server.requests == []

        assert autoconfig.fetch(server.url + PATH, timeout=3, allow_plain=True) == GOOD


def test_fetch_follows_https_redirects_but_never_to_plain_http(
    https: tuple[HttpServer, dict[str, object]],
) -> None:
    server, kw = https
    server.routes["/moved"] = Reply(status=301, headers={"Location": PATH})
    server.routes["/downgrade"] = Reply(
        status=302, headers={"Location": f"http://{HOST}{PATH}"}
    )

    assert autoconfig.fetch(f"https://{HOST}/moved", **kw) == GOOD  # type: ignore[arg-type]
    with pytest.raises(FetchError) as exc:
        autoconfig.fetch(f"https://{HOST}/downgrade", **kw)  # type: ignore[arg-type]
    assert reason(exc) == "plain_http"


def test_fetch_gives_up_on_a_redirect_loop(
    https: tuple[HttpServer, dict[str, object]],
) -> None:
    server, kw = https
    server.routes["/loop"] = Reply(status=302, headers={"Location": "/loop"})

    with pytest.raises(FetchError) as exc:
        autoconfig.fetch(f"https://{HOST}/loop", **kw)  # type: ignore[arg-type]

    assert reason(exc) == "http_status"
    assert len(server.requests) == autoconfig.MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (Reply(b"gone", status=404), "not_found"),
        (Reply(b"oops", status=500), "http_status"),
        (Reply(b"x" * (MAX_BYTES + 1)), "too_large"),
        (Reply(b"x" * (MAX_BYTES + 1), length=False), "too_large"),
    ],
)
def test_fetch_reports_unusable_answers(
    https: tuple[HttpServer, dict[str, object]], reply: Reply, why: str
) -> None:
    server, kw = https
    server.routes["/answer"] = reply

    with pytest.raises(FetchError) as exc:
        autoconfig.fetch(f"https://{HOST}/answer", **kw)  # type: ignore[arg-type]

    assert reason(exc) == why


@pytest.mark.parametrize(
    "reply",
    [
        Reply(GOOD, delay=5),  # silent server
        Reply(GOOD * 40, drip=0.05),  # a byte stream too slow to finish
    ],
    ids=["silent", "dripping"],
)
def test_fetch_keeps_to_its_deadline(
    https: tuple[HttpServer, dict[str, object]], reply: Reply
) -> None:
    server, kw = https
    server.routes["/slow"] = reply
    kw["timeout"] = 0.6

    started = time.monotonic()
    with pytest.raises(FetchError) as exc:
        autoconfig.fetch(f"https://{HOST}/slow", **kw)  # type: ignore[arg-type]

    assert reason(exc) == "timeout"
    assert time.monotonic() - started < 2


def test_fetch_contacts_no_name_missing_from_connect_to(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as exc:
        autoconfig.fetch(
            "https://firma.example.com/x", timeout=1, connect_to={HOST: (LOOPBACK, 1)}
        )

    assert reason(exc) == "unresolved"
    assert exc.value.fields == {"host": "firma.example.com"}


def test_fetch_reports_a_refused_connection() -> None:
    with pytest.raises(FetchError) as exc:
        autoconfig.fetch(
            f"https://{HOST}{PATH}",
            timeout=2,
            connect_to={HOST: (LOOPBACK, free_port())},
        )

    assert reason(exc) == "connect"
