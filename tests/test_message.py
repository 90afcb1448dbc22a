"""Building messages: Polish text arrives intact, nothing can inject headers.

Encoding is checked end to end: the message goes through the sandbox and
the raw bytes it stored are parsed again with ``email.policy.default``.
"""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from bpmnb import message as msg
from bpmnb.errors import BpmnbError, Code
from bpmnb.i18n import text
from bpmnb.message import (
    MAX_ATTACHMENT_BYTES,
    Attachment,
    MessageError,
    _recipients,
)
from bpmnb.sandbox import Received, Sandbox, received
from bpmnb.settings import AccountSettings, Encryption
from bpmnb.transport import Credential, deliver
from tests.support.smtpd import ScriptedSmtp

POLISH_NAME = "Zażółć Gęślą Jaźń"
POLISH_SUBJECT = "Wniosek urlopowy nr 7 — zaakceptowany (źdźbło, łąka)"


def send_via(box: Sandbox, settings: AccountSettings, **kw: object) -> Received:
    built = msg.build(settings, **kw)  # type: ignore[arg-type]
    result = deliver(
        settings, Credential(box.login, "password", lambda: box.password), built
    )
    found = [r for r in received(box.home) if r.message_id == result.message_id]
    assert len(found) == 1
    return found[0]


def test_polish_display_name_and_subject_arrive_decoded(sandbox: Sandbox) -> None:
    settings = sandbox.settings().model_copy(update={"display_name": POLISH_NAME})
    got = send_via(
        sandbox,
        settings,
        to="Łukasz Ślęzak <lukasz@example.com>",
        subject=POLISH_SUBJECT,
        body="Dzień dobry,\nwniosek został zaakceptowany.\nPozdrawiamy — zespół BPM",
    )
    head = got.raw.split(b"\r\n\r\n", 1)[0]
    # On the wire the headers are 7-bit: RFC 2047 encoded words.
    assert head.isascii()
    assert b"=?utf-8?" in head
    parsed = BytesParser(policy=policy.default).parsebytes(got.raw)
    sender = parsed["From"].addresses[0]
    assert sender.display_name == POLISH_NAME
    assert sender.addr_spec == "powiadomienia@example.com"
    assert parsed["Subject"] == POLISH_SUBJECT
    assert parsed["To"].addresses[0].display_name == "Łukasz Ślęzak"
    assert got.subject == POLISH_SUBJECT
    assert got.from_header == f"{POLISH_NAME} <powiadomienia@example.com>"
    body = parsed.get_body(("plain",))
    assert body is not None
    assert "Pozdrawiamy — zespół BPM" in body.get_content()
    assert body.get_content_charset() == "utf-8"


def test_display_name_with_comma_and_quotes(sandbox: Sandbox) -> None:
    name = 'Kowalski, Jan "Dział Kadr"'
    settings = sandbox.settings().model_copy(update={"display_name": name})
    got = send_via(sandbox, settings, to="jan@example.com", subject="x", body="y")
    assert got.message["From"].addresses[0].display_name == name


def test_reply_to_date_and_generated_message_id(sandbox: Sandbox) -> None:
    settings = sandbox.settings().model_copy(update={"reply_to": "kadry@example.com"})
    got = send_via(sandbox, settings, to="jan@example.com", subject="x", body="y")
    parsed = got.message
    assert parsed["Reply-To"].addresses[0].addr_spec == "kadry@example.com"
    assert got.message_id.startswith("<") and got.message_id.endswith("@example.com>")
    assert got.date is not None
    assert got.date.tzinfo is not None
    assert parsedate_to_datetime(str(parsed["Date"])) == got.date


def test_no_reply_to_when_empty(sandbox: Sandbox) -> None:
    built = msg.build(sandbox.settings(), to="jan@example.com", subject="x", body="y")
    assert "Reply-To" not in built


def test_given_message_id_is_kept(sandbox: Sandbox) -> None:
    given = "<wniosek-7.krok-3@bpm.example.com>"
    got = send_via(
        sandbox,
        sandbox.settings(),
        to="jan@example.com",
        subject="x",
        body="y",
        message_id=given,
    )
    assert got.message_id == given
    bare = msg.build(
        sandbox.settings(),
        to="a@example.com",
        subject="x",
        body="y",
        message_id="abc@x.example.com",
    )
    assert bare["Message-ID"] == "<abc@x.example.com>"


def test_attachment_arrives(sandbox: Sandbox) -> None:
    content = bytes(range(256)) * 64
    got = send_via(
        sandbox,
        sandbox.settings(),
        to="jan@example.com",
        subject="Raport",
        body="W załączniku raport.",
        attachments=[Attachment("raport_źródła.pdf", content, "application/pdf")],
    )
    parts = list(got.message.iter_attachments())
    assert len(parts) == 1
    assert parts[0].get_filename() == "raport_źródła.pdf"
    assert parts[0].get_content_type() == "application/pdf"
    assert parts[0].get_content() == content


def test_attachment_type_guessed_from_name(sandbox: Sandbox) -> None:
    built = msg.build(
        sandbox.settings(),
        to="jan@example.com",
        subject="x",
        body="y",
        attachments=[Attachment("dane.csv", b"a;b\n1;2\n")],
    )
    part = next(built.iter_attachments())
    assert part.get_content_type() == "text/csv"


def test_attachments_over_the_limit_are_refused(sandbox: Sandbox) -> None:
    with ScriptedSmtp() as server:
        settings = sandbox.settings().model_copy(update={"port": server.port})
        with pytest.raises(MessageError) as info:
            msg.build(
                settings,
                to="jan@example.com",
                subject="x",
                body="y",
                attachments=[
                    Attachment("a.bin", b"\0" * (MAX_ATTACHMENT_BYTES // 2)),
                    Attachment("b.bin", b"\0" * (MAX_ATTACHMENT_BYTES // 2 + 1)),
                ],
            )
    error = info.value
    assert error.key == "delivery.attachment_too_large"
    assert error.field == "attachments"
    assert "MB" in error.message("pl") and "MB" in error.message("en")
    assert error.message("pl") != error.message("en")
    assert server.connections == 0


INJECTIONS = ["\r\nBcc: ofiara@example.com", "\nX-Evil: 1", "\rX", "a\0b"]


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize(
    "where",
    ["display_name", "subject", "to", "reply_to", "sender", "filename", "message_id"],
)
def test_header_injection_refused_before_any_connection(
    sandbox: Sandbox, where: str, payload: str
) -> None:
    with ScriptedSmtp() as server:
        settings = sandbox.settings(Encryption.NONE).model_copy(
            update={"port": server.port, "login": ""}
        )
        kw: dict[str, object] = {
            "to": "jan@example.com",
            "subject": "Temat",
            "body": "Treść",
        }
        if where in ("display_name", "reply_to", "sender"):
            base = {
                "display_name": "Jan",
                "reply_to": "kadry@example.com",
                "sender": "powiadomienia@example.com",
            }[where]
            # Bypass model validation as a widget or file could.
            object.__setattr__(settings, where, base + payload)
        elif where == "filename":
            kw["attachments"] = [Attachment("plik" + payload + ".txt", b"x")]
        elif where == "message_id":
            kw["message_id"] = "<id@example.com>" + payload
        else:
            kw[where] = str(kw[where]) + payload

        with pytest.raises(MessageError) as info:
            deliver(settings, None, msg.build(settings, **kw))  # type: ignore[arg-type]
    assert info.value.key == "delivery.header_injection"
    assert info.value.field == {"filename": "attachments"}.get(where, where)
    assert server.connections == 0
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, BpmnbError)
    assert info.value.code is Code.INVALID_SETTINGS
    finding = info.value.finding
    assert finding.level == "error"
    assert finding.text.pl and finding.text.en


def test_header_injection_message_names_the_field() -> None:
    settings = AccountSettings(sender="a@example.com", display_name="x")
    with pytest.raises(MessageError) as info:
        msg.build(settings, to="b@example.com", subject="a\nb", body="")
    # The user sees the field by its label, not by its internal name.
    assert info.value.message("pl") == text(
        "delivery.header_injection", "pl", field="Temat"
    )
    assert "“Subject”" in info.value.message("en")
    assert info.value.field == "subject"


@pytest.mark.parametrize(
    "bad", ["not-an-address", "jan@", "jan@@example.com", "a b@example.com"]
)
def test_invalid_recipient(bad: str) -> None:
    settings = AccountSettings(sender="a@example.com")
    with pytest.raises(MessageError) as info:
        msg.build(settings, to=bad, subject="x", body="y")
    assert info.value.key in ("delivery.invalid_address", "delivery.no_recipient")
    assert info.value.field == "to"


def test_no_recipient() -> None:
    settings = AccountSettings(sender="a@example.com")
    with pytest.raises(MessageError) as info:
        msg.build(settings, to=[], subject="x", body="y")
    assert info.value.key == "delivery.no_recipient"


def test_several_recipients_forms() -> None:
    settings = AccountSettings(sender="a@example.com")
    built = msg.build(
        settings, to="Jan <jan@example.com>, anna@example.com", subject="x", body="y"
    )
    assert [a.addr_spec for a in built["To"].addresses] == [
        "jan@example.com",
        "anna@example.com",
    ]
    built = msg.build(
        settings, to=["jan@example.com", "anna@example.com"], subject="x", body="y"
    )
    assert len(built["To"].addresses) == 2


def test_idn_recipient_is_written_as_a_labels() -> None:
    settings = AccountSettings(sender="powiadomienia@przykład.example.com")
    built = msg.build(
        settings, to="użytkownik@przykład.example.com", subject="x", body="y"
    )
    to = built["To"].addresses[0]
    assert to.username == "użytkownik"
    assert to.domain == "xn--przykad-rjb.example.com"
    assert built["Message-ID"].endswith("@xn--przykad-rjb.example.com>")


def test_body_is_seven_bit_quoted_printable(tmp_path: Path) -> None:
    settings = AccountSettings(sender="a@example.com", display_name=POLISH_NAME)
    built = msg.build(
        settings, to="b@example.com", subject=POLISH_SUBJECT, body="Zażółć " * 40
    )
    raw = built.as_bytes(policy=policy.SMTP)
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


@pytest.mark.parametrize("to", ["jan@", "jan@, anna@firma.pl", "anna@firma.pl, <>"])
def test_an_unparseable_recipient_is_refused_not_dropped(to: str) -> None:
    # getaddresses() turns "jan@" into ("", ""); dropping it would send the
    # message to the other recipients only, without a word.
    with pytest.raises(MessageError) as caught:
        _recipients(to)
    assert caught.value.field == "to"
    assert "Adres email odbiorcy" in caught.value.message("pl")
    assert "Recipient's email address" in caught.value.message("en")


def test_recipient_lists_split_at_commas_and_semicolons_outside_quotes() -> None:
    found = _recipients('"Kowalski, Jan" <jan@wp.pl>; anna@firma.pl,,')
    assert [str(a.addr_spec) for a in found] == ["jan@wp.pl", "anna@firma.pl"]
    assert found[0].display_name == "Kowalski, Jan"
