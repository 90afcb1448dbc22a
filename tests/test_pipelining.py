"""Command pipelining (RFC 2920) in the transport, the sandbox and the worker.

The servers are real aiosmtpd servers on loopback, over STARTTLS with AUTH
and a trustme certificate, as a provider would run them. Their handler
decides each reply; their protocol object records every chunk it reads
(after TLS, so in clear), which is how these tests see from the server's
side whether the client wrote MAIL FROM, RCPT TO and DATA in one go or
waited for each reply.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from bpmnb.errors import Code, DeliveryError, SmtpTimeout, Stage
from bpmnb.home import Home
from bpmnb.queue import Queue, Status
from bpmnb.sandbox import Sandbox
from bpmnb.settings import AccountSettings, Encryption
from bpmnb.transport import Credential, SmtpSession
from bpmnb.worker import Worker, WorkerConfig
from tests.support.net import LOOPBACK, ca_file, free_port, server_context
from tests.support.smtpd import ScriptedSmtp

LOGIN = "user@example.com"
PASSWORD = "sekret-Źdźbło"  # the test server's own credential
SENDER = "powiadomienia@example.com"
FAST = WorkerConfig(backoff_base=0.05, backoff_cap=0.2, max_attempts=4, poll=0.05)


def raw_message(n: int = 0, to: str = "a@example.com") -> bytes:
    return (
        f"From: {SENDER}\r\nTo: {to}\r\nSubject: Powiadomienie {n}\r\n"
        f"Message-ID: <pipe-{n}@example.com>\r\n\r\nTresc {n}\r\n.kropka\r\n"
    ).encode()


def mail(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Powiadomienia <{SENDER}>"
    msg["To"] = "a@example.com"
    msg["Subject"] = f"Powiadomienie {n}"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(f"Treść {n}\n")
    return msg


class Handler:
    """Replies chosen per test; records what the server read and stored.

    ``rcpt`` maps an address to its refusal; ``keep_refused`` makes the
    server take a refused recipient into the envelope anyway, so it answers
    DATA with 354 although every RCPT TO failed (RFC 2920 section 1 (3)
    names such servers). ``data`` refuses the DATA command itself.
    """

    def __init__(
        self,
        *,
        pipelining: bool = True,
        mail: str | None = None,
        rcpt: dict[str, str] | None = None,
        keep_refused: bool = False,
        data: str | None = None,
        close_after: int | None = None,
    ) -> None:
        self.pipelining = pipelining
        self.close_after = close_after  # messages per connection, then close
        self.mail = mail
        self.rcpt = dict(rcpt or {})
        self.keep_refused = keep_refused
        self.data = data
        self.chunks: list[bytes] = []  # every read, in clear
        self.content: list[bool] = []  # was it read after a 354?
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.awaiting_content = False
        self.queue: Queue | None = None
        # (messages stored, queue's sent count) when each content arrived
        self.seen: list[tuple[int, int]] = []

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: Any
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return list(responses)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.mail is not None:
            return self.mail
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        reply = self.rcpt.get(address)
        if reply is None or self.keep_refused:
            envelope.rcpt_tos.append(address)
        return reply or "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 2.0.0 queued"

    def groups(self) -> list[list[str]]:
        """What each read after AUTH held: its command verbs, or ``["."]``
        for a lone end-of-data line, or ``["<content>"]`` for a message."""
        out: list[list[str]] = []
        authenticated = False
        for chunk, content in zip(self.chunks, self.content, strict=True):
            if content:
                out.append(["."] if chunk == b".\r\n" else ["<content>"])
                continue
            verbs = [
                line.split(b" ", 1)[0].upper().decode() for line in chunk.splitlines()
            ]
            if authenticated:
                out.append(verbs)
            authenticated = authenticated or "AUTH" in verbs
        return out


class _RecordingSMTP(SMTP):
    """aiosmtpd's server, noting each chunk it reads and closing after a
    421 as RFC 5321 section 3.8 says a server does."""

    @property
    def owner(self) -> Handler:
        handler = self.event_handler
        assert isinstance(handler, Handler)
        return handler

    def data_received(self, data: bytes) -> None:
        owner = self.owner
        owner.chunks.append(bytes(data))
        owner.content.append(owner.awaiting_content)
        if owner.awaiting_content:
            owner.awaiting_content = False
            if owner.queue is not None:
                owner.seen.append(
                    (len(owner.messages), owner.queue.counts()[Status.SENT])
                )
        super().data_received(data)

    async def push(self, status: Any) -> None:
        owner = self.owner
        text = status.decode() if isinstance(status, bytes) else str(status)
        owner.awaiting_content = text.startswith("354")
        await super().push(status)
        if self.transport is None:
            return
        if text.startswith("421"):
            self.transport.close()
        elif (
            text.startswith("250 2.0.0 queued")
            and owner.close_after is not None
            and len(owner.messages) % owner.close_after == 0
        ):
            self.transport.close()  # like a per-connection message limit

    async def smtp_DATA(self, arg: str) -> None:
        if self.owner.data is not None:
            await self.push(self.owner.data)
            return
        await super().smtp_DATA(arg)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _RecordingSMTP(self.handler, **self.SMTP_kwargs)


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (
        data.login == LOGIN.encode() and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@contextlib.contextmanager
def server(tmp_path: Path, **handler: Any) -> Iterator[tuple[Handler, AccountSettings]]:
    """A STARTTLS + AUTH aiosmtpd server with :class:`Handler`, and settings
    for it (the login is :data:`LOGIN`)."""
    owner = Handler(**handler)
    port = free_port()
    controller = _Controller(
        owner,
        hostname=LOOPBACK,
        port=port,
        tls_context=server_context(),
        require_starttls=True,
        auth_require_tls=True,
        auth_required=True,
        authenticator=_authenticator,
    )
    controller.start()
    settings = AccountSettings.model_validate(
        {
            "enabled": True,
            "sender": SENDER,
            "host": LOOPBACK,
            "port": port,
            "encryption": Encryption.STARTTLS,
            "login": LOGIN,
            "timeout": 3.0,
            "ca_file": str(ca_file(tmp_path)),
        }
    )
    try:
        yield owner, settings
    finally:
        controller.stop()


def credential() -> Credential:
    return Credential(LOGIN, "password", lambda: PASSWORD)


def transcript(session: SmtpSession) -> list[str]:
    return [f"{who}: {line}" for who, line in session.transcript.lines]


# -- the transport -------------------------------------------------------------


def test_mail_rcpt_and_data_arrive_in_one_write(tmp_path: Path) -> None:
    """The server reads the whole envelope and DATA in a single chunk, so
    the client cannot have waited for any reply; the content comes only
    after the 354, and the transcript shows every command and reply."""
    with server(tmp_path) as (owner, settings):
        with SmtpSession(settings, credential()) as session:
            assert "pipelining" in session.features
            result = session.send_raw(
                raw_message(1), SENDER, ["a@example.com", "b@example.com"]
            )
            lines = transcript(session)
    assert result.accepted == ("a@example.com", "b@example.com")
    assert owner.groups() == [["MAIL", "RCPT", "RCPT", "DATA"], ["<content>"], ["QUIT"]]
    assert owner.messages[0][1] == ["a@example.com", "b@example.com"]
    assert owner.messages[0][2].endswith(b"\r\n.kropka\r\n")  # dot-stuffed, undone
    start = next(i for i, line in enumerate(lines) if line.startswith("C: MAIL"))
    assert [line[:9] for line in lines[start:]] == [
        "C: MAIL F",
        "C: RCPT T",
        "C: RCPT T",
        "C: DATA",
        "S: 250 2.",
        "S: 250 2.",
        "S: 250 2.",
        "S: 354 En",
        "*: (messa",
        "S: 250 2.",
    ]


@pytest.mark.parametrize("how", ["not offered", "switched off"])
def test_without_pipelining_each_command_waits_for_its_reply(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if how == "switched off":
        monkeypatch.setenv("BPMNB_PIPELINING", "0")
    with server(tmp_path, pipelining=how == "switched off") as (owner, settings):
        with SmtpSession(settings, credential()) as session:
            session.send_raw(raw_message(1), SENDER, ["a@example.com", "b@example.com"])
    assert owner.groups() == [
        ["MAIL"],
        ["RCPT"],
        ["RCPT"],
        ["DATA"],
        ["<content>"],
        ["QUIT"],
    ]
    assert len(owner.messages) == 1


def test_mixed_recipient_replies_go_to_their_recipients(tmp_path: Path) -> None:
    refusals = {
        "b@example.com": "550 5.1.1 User unknown",
        "d@example.com": "452 4.2.2 Mailbox full",
    }
    to = ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]
    with server(tmp_path, rcpt=refusals) as (owner, settings):
        with SmtpSession(settings, credential()) as session:
            result = session.send_raw(raw_message(1), SENDER, to)
    assert owner.groups()[0] == ["MAIL", "RCPT", "RCPT", "RCPT", "RCPT", "DATA"]
    assert result.accepted == ("a@example.com", "c@example.com")
    assert result.refused == {
        "b@example.com": (550, "5.1.1 User unknown"),
        "d@example.com": (452, "4.2.2 Mailbox full"),
    }
    assert owner.messages[0][1] == ["a@example.com", "c@example.com"]


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("550 5.1.1 User unknown", Code.RECIPIENT_REJECTED),
        ("451 4.3.0 Try later", Code.TEMPORARY_FAILURE),
    ],
)
def test_no_recipient_but_354_gets_only_the_terminating_dot(
    tmp_path: Path, reply: str, code: Code
) -> None:
    """RFC 2920 section 3.1: DATA may be accepted although no RCPT TO was;
    the client then sends a single dot, never the content, and the session
    stays usable."""
    refusals = {"a@example.com": reply, "b@example.com": reply}
    with server(tmp_path, rcpt=refusals, keep_refused=True) as (owner, settings):
        with SmtpSession(settings, credential()) as session:
            with pytest.raises(DeliveryError) as info:
                session.send_raw(
                    raw_message(1), SENDER, ["a@example.com", "b@example.com"]
                )
            after = session.send_raw(raw_message(2), SENDER, ["c@example.com"])
            lines = transcript(session)
    assert info.value.code is code
    assert info.value.stage is Stage.RCPT_TO
    assert set(info.value.refused) == {"a@example.com", "b@example.com"}  # type: ignore[attr-defined]
    groups = owner.groups()
    assert groups[:2] == [["MAIL", "RCPT", "RCPT", "DATA"], ["."]]
    assert "RSET" not in [
        verb for group in groups for verb in group
    ]  # the dot ended the transaction
    assert owner.messages[0][2] == b""  # the content was never sent
    assert after.accepted == ("c@example.com",)
    assert owner.messages[1][2].startswith(b"From: ")
    assert sum(line.startswith("*: (message content") for line in lines) == 1
    assert "C: ." in lines


def test_no_recipient_and_data_refused_resets(tmp_path: Path) -> None:
    """aiosmtpd's own answer to DATA without recipients: 503, then RSET."""
    with server(tmp_path, rcpt={"a@example.com": "550 5.1.1 Nope"}) as (
        owner,
        settings,
    ):
        with SmtpSession(settings, credential()) as session:
            with pytest.raises(DeliveryError) as info:
                session.send_raw(raw_message(1), SENDER, ["a@example.com"])
            session.send_raw(raw_message(2), SENDER, ["c@example.com"])
    assert info.value.code is Code.RECIPIENT_REJECTED
    assert info.value.smtp_code == 550
    assert owner.groups()[:3] == [
        ["MAIL", "RCPT", "DATA"],
        ["RSET"],
        ["MAIL", "RCPT", "DATA"],
    ]
    assert len(owner.messages) == 1


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("554 5.7.1 Not now, not ever", Code.MESSAGE_REJECTED),
        ("452 4.3.1 Insufficient system storage", Code.TEMPORARY_FAILURE),
    ],
)
def test_data_refused(tmp_path: Path, reply: str, code: Code) -> None:
    with server(tmp_path, data=reply) as (owner, settings):
        with SmtpSession(settings, credential()) as session:
            with pytest.raises(DeliveryError) as info:
                session.send_raw(raw_message(1), SENDER, ["a@example.com"])
            assert session.is_alive()
    assert info.value.code is code
    assert info.value.stage is Stage.DATA
    assert info.value.smtp_code == int(reply[:3])
    assert owner.groups()[:2] == [["MAIL", "RCPT", "DATA"], ["RSET"]]
    assert owner.messages == []


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("550 5.7.1 Sender address rejected", Code.SENDER_REJECTED),
        ("451 4.7.1 Greylisted", Code.TEMPORARY_FAILURE),
        ("530 5.7.0 Authentication required", Code.AUTH_FAILED),
        ("552 5.3.4 Message too big", Code.MESSAGE_REJECTED),
    ],
)
def test_sender_refused_in_a_group(tmp_path: Path, reply: str, code: Code) -> None:
    """The replies aiosmtpd then gives RCPT TO and DATA (503) are read and
    dropped; RSET leaves the session usable."""
    with server(tmp_path, mail=reply) as (owner, settings):
        with SmtpSession(settings, credential()) as session:
            with pytest.raises(DeliveryError) as info:
                session.send_raw(raw_message(1), SENDER, ["a@example.com"])
            assert session.is_alive()
    assert info.value.code is code
    assert info.value.stage is Stage.MAIL_FROM
    assert info.value.smtp_code == int(reply[:3])
    assert owner.groups()[:2] == [["MAIL", "RCPT", "DATA"], ["RSET"]]
    assert owner.messages == []


@pytest.mark.parametrize(
    ("where", "stage"),
    [("mail", Stage.MAIL_FROM), ("rcpt", Stage.RCPT_TO), ("data", Stage.DATA)],
)
def test_421_in_the_middle_of_a_group_ends_the_session(
    tmp_path: Path, where: str, stage: Stage
) -> None:
    closing = "421 4.3.2 Service shutting down"
    options: dict[str, Any] = {
        "mail": {"mail": closing},
        "rcpt": {"rcpt": {"b@example.com": closing}},
        "data": {"data": closing},
    }[where]
    with server(tmp_path, **options) as (owner, settings):
        session = SmtpSession(settings, credential())
        session.open()
        with pytest.raises(DeliveryError) as info:
            session.send_raw(raw_message(1), SENDER, ["a@example.com", "b@example.com"])
        assert not session.is_alive()  # the client closed its side at once
        session.close()
    assert info.value.code is Code.TEMPORARY_FAILURE
    assert info.value.smtp_code == 421
    assert info.value.stage is stage
    assert owner.groups()[0] == ["MAIL", "RCPT", "RCPT", "DATA"]
    assert owner.messages == []


def test_after_mail_runs_after_the_group_and_before_the_replies(
    tmp_path: Path,
) -> None:
    seen: list[list[str]] = []
    with server(tmp_path) as (_owner, settings):
        with SmtpSession(settings, credential()) as session:
            session.send_raw(
                raw_message(1),
                SENDER,
                ["a@example.com"],
                after_mail=lambda: seen.append(transcript(session)[-3:]),
            )
    size = len(raw_message(1))
    assert seen == [
        [
            f"C: MAIL FROM:<powiadomienia@example.com> SIZE={size}",
            "C: RCPT TO:<a@example.com>",
            "C: DATA",
        ]
    ]


def test_a_long_envelope_is_split_within_the_tcp_window(tmp_path: Path) -> None:
    """RFC 2920 section 3.1: a client that does not read while it writes
    keeps each group within the TCP window (4 KB): 200 recipients go out
    in several groups, DATA last, every reply still matched."""
    to = [f"odbiorca{i:03d}@example.com" for i in range(200)]
    with server(tmp_path, rcpt={to[150]: "550 5.1.1 User unknown"}) as (
        owner,
        settings,
    ):
        with SmtpSession(settings, credential()) as session:
            result = session.send_raw(raw_message(1), SENDER, to)
    groups = owner.groups()[:-2]  # the content and QUIT left out
    assert len(groups) > 1
    assert groups[0][:3] == ["MAIL", "RCPT", "RCPT"]  # pipelined, not lock-step
    assert [verb for group in groups for verb in group] == [
        "MAIL",
        *["RCPT"] * 200,
        "DATA",
    ]
    assert all(len(chunk) <= 4096 for chunk in owner.chunks if b"RCPT" in chunk)
    assert result.refused == {to[150]: (550, "5.1.1 User unknown")}
    assert len(result.accepted) == 199


# -- the sandbox ---------------------------------------------------------------


def _read_reply(file: Any) -> bytes:
    lines = []
    while True:
        line = file.readline()
        assert line, "the server closed the connection"
        lines.append(line)
        if line[3:4] != b"-":
            return b"".join(lines)


@contextlib.contextmanager
def sandbox_session(box: Sandbox) -> Iterator[tuple[ssl.SSLSocket, Any]]:
    """A raw client socket to the sandbox's STARTTLS port, logged in; the
    TLS socket and a reader of it."""
    sock = socket.create_connection((box.host, box.starttls_port), timeout=5)
    try:
        plain = sock.makefile("rb")
        assert _read_reply(plain).startswith(b"220")
        sock.sendall(b"EHLO [127.0.0.1]\r\n")
        assert b"250-PIPELINING" in _read_reply(plain)
        sock.sendall(b"STARTTLS\r\n")
        assert _read_reply(plain).startswith(b"220")
        context = ssl.create_default_context(cafile=str(box.ca_file))
        tls = context.wrap_socket(sock, server_hostname=box.host)
        file = tls.makefile("rb")
        tls.sendall(b"EHLO [127.0.0.1]\r\n")
        assert b"250-PIPELINING" in _read_reply(file)
        plain_auth = base64.b64encode(f"\0{box.login}\0{box.password}".encode())
        tls.sendall(b"AUTH PLAIN " + plain_auth + b"\r\n")
        assert _read_reply(file).startswith(b"235")
        yield tls, file
    finally:
        sock.close()


def test_the_sandbox_answers_a_pipelined_group_in_order(
    fresh_sandbox: Any,
) -> None:
    """aiosmtpd really processes pipelined commands, so the sandbox may
    advertise PIPELINING: a raw socket over STARTTLS writes MAIL, RCPTs and
    DATA at once and gets one reply per command, in order, including a
    refused RCPT TO (a parameter aiosmtpd does not know)."""
    box: Sandbox = fresh_sandbox()
    with sandbox_session(box) as (tls, file):
        tls.sendall(
            b"MAIL FROM:<powiadomienia@example.com>\r\n"
            b"RCPT TO:<jan@example.com>\r\n"
            b"RCPT TO:<ewa@example.com> X-UNKNOWN=1\r\n"
            b"DATA\r\n"
        )
        codes = [_read_reply(file)[:3] for _ in range(4)]
        assert codes == [b"250", b"250", b"501", b"354"]
        tls.sendall(
            b"Subject: potok\r\nMessage-ID: <potok@example.com>\r\n\r\nx\r\n.\r\n"
        )
        assert _read_reply(file).startswith(b"250")

        tls.sendall(
            b"MAIL FROM:<powiadomienia@example.com>\r\n"
            b"RCPT TO:<ewa@example.com> X-UNKNOWN=1\r\n"
            b"DATA\r\n"
        )
        codes = [_read_reply(file)[:3] for _ in range(3)]
        assert codes == [b"250", b"501", b"503"]
        tls.sendall(b"RSET\r\nQUIT\r\n")
        assert [_read_reply(file)[:3] for _ in range(2)] == [b"250", b"221"]
    got = box.received()
    assert [(m.message_id, m.recipients) for m in got] == [
        ("<potok@example.com>", ("jan@example.com",))
    ]


def test_the_sandbox_sends_a_groups_replies_together(fresh_sandbox: Any) -> None:
    """RFC 2920 section 3.2: the replies to MAIL and RCPT are held while the
    next command is already waiting and go out with the reply to DATA, in
    one TLS record (one read of the socket returns them all); a command
    sent alone is answered at once."""
    box: Sandbox = fresh_sandbox()
    with sandbox_session(box) as (tls, _file):
        tls.sendall(
            b"MAIL FROM:<powiadomienia@example.com>\r\n"
            b"RCPT TO:<jan@example.com>\r\n"
            b"RCPT TO:<ewa@example.com>\r\n"
            b"DATA\r\n"
        )
        time.sleep(0.3)  # let every reply arrive before the first read
        first = tls.recv(65536)
        assert first.split(b"\r\n")[:4] == [
            b"250 OK",
            b"250 OK",
            b"250 OK",
            b"354 End data with <CR><LF>.<CR><LF>",
        ]
        tls.sendall(b"Subject: razem\r\n\r\nx\r\n.\r\n")
        assert tls.recv(65536).startswith(b"250")
        tls.sendall(b"RSET\r\n")  # alone: not held
        assert tls.recv(65536) == b"250 OK\r\n"


def test_the_transport_pipelines_to_the_sandbox(fresh_sandbox: Any) -> None:
    box: Sandbox = fresh_sandbox()
    with SmtpSession(
        box.settings(), Credential(box.login, "password", lambda: box.password)
    ) as session:
        assert "pipelining" in session.features
        for n in range(3):
            session.send_raw(
                raw_message(n), SENDER, ["jan@example.com", "ewa@example.com"]
            )
        lines = transcript(session)
    assert lines.count("S: 354 End data with <CR><LF>.<CR><LF>") == 3
    data_at = [i for i, line in enumerate(lines) if line == "C: DATA"]
    assert all(lines[i - 1].startswith("C: RCPT") for i in data_at)
    assert sorted(m.message_id for m in box.received()) == [
        f"<pipe-{n}@example.com>" for n in range(3)
    ]


# -- the worker ----------------------------------------------------------------


def test_the_worker_records_each_status_before_the_next_content(
    tmp_path: Path,
) -> None:
    """With pipelining the status of an accepted message is written once
    the next group is on its way, and still before that message's content
    arrives at the server (at-least-once with a one-message window)."""
    home = Home(tmp_path / "home").ensure()
    queue = Queue(home.queue_file)
    ids = queue.enqueue_many(mail(n) for n in range(12))
    with server(tmp_path) as (owner, settings):
        owner.queue = queue
        worker = Worker(home, config=FAST, settings=settings, credential=credential())
        assert worker.drain(timeout=30) == 12
    assert owner.seen == [(k, k) for k in range(12)]
    assert owner.groups() == [["MAIL", "RCPT", "DATA"], ["<content>"]] * 12 + [["QUIT"]]
    assert all(queue.get(i).status is Status.SENT for i in ids)  # type: ignore[union-attr]


def test_the_worker_reconnects_when_the_server_closes_between_groups(
    tmp_path: Path,
) -> None:
    """A server closing a reused connection (here after every 3 messages):
    the next group is written into a closed connection, the drop comes
    before MAIL FROM's reply, so the worker reconnects and resends without
    spending an attempt, and nothing is sent twice."""
    home = Home(tmp_path / "home").ensure()
    queue = Queue(home.queue_file)
    ids = queue.enqueue_many(mail(n) for n in range(10))
    with server(tmp_path, close_after=3) as (owner, settings):
        worker = Worker(home, config=FAST, settings=settings, credential=credential())
        assert worker.drain(timeout=30) == 10
    assert len(owner.messages) == 10
    assert owner.chunks.count(b"STARTTLS\r\n") == 4  # connections
    assert all(queue.get(i).status is Status.SENT for i in ids)  # type: ignore[union-attr]
    assert all(queue.get(i).attempts == 1 for i in ids)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("word", "stage"), [("MAIL", Stage.MAIL_FROM), ("DATA", Stage.DATA)]
)
def test_every_read_of_a_group_has_the_timeout(
    tmp_path: Path, word: str, stage: Stage
) -> None:
    """A server that takes the group and then falls silent (tests.support's
    line-level server, which advertises PIPELINING): the read of the owed
    reply ends after ``timeout``, named at the command it belongs to."""
    with ScriptedSmtp(replies={word: "<hang>"}) as scripted:
        settings = AccountSettings.model_validate(
            {
                "enabled": True,
                "sender": SENDER,
                "host": LOOPBACK,
                "port": scripted.port,
                "encryption": Encryption.NONE,
                "timeout": 1.0,
            }
        )
        started = time.monotonic()
        with SmtpSession(settings, None) as session:
            assert "pipelining" in session.features
            with pytest.raises(SmtpTimeout) as info:
                session.send_raw(raw_message(1), SENDER, ["a@example.com"])
        elapsed = time.monotonic() - started
    assert info.value.stage is stage
    assert info.value.code is Code.CONNECTION_DROPPED
    assert elapsed < settings.timeout + 1.5


SWAKS = shutil.which("swaks")


@pytest.mark.skipif(SWAKS is None, reason="swaks (reference SMTP client) not installed")
def test_a_reference_client_pipelines_to_the_sandbox(fresh_sandbox: Any) -> None:
    """swaks --pipeline, another implementation of RFC 2920, sends through
    the sandbox with two recipients, one of them refused."""
    box: Sandbox = fresh_sandbox()
    assert SWAKS is not None
    done = subprocess.run(
        [SWAKS, "--server", box.host, "--port", str(box.starttls_port), "--tls",
         "--tls-verify", "--tls-ca-path", str(box.ca_file), "--pipeline",
         "--auth", "PLAIN", "--auth-user", box.login, "--auth-password", box.password,
         "--from", "powiadomienia@example.com",
         "--to", "jan@example.com,ewa@example.com X-UNKNOWN=1",
         "--header", "Subject: swaks potok", "--timeout", "5"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # swaks shows a pipelined group as client lines ("~>" under TLS) with
    # no reply between, then the replies in order.
    out = [line.strip().split(" ", 1) for line in done.stdout.splitlines()]
    mail = out.index(["~>", "MAIL FROM:<powiadomienia@example.com>"])
    assert [line[0] for line in out[mail : mail + 8]] == ["~>"] * 4 + [
        "<~",
        "<~",
        "<~*",
        "<~",
    ]
    assert out[mail + 6][1].startswith("501")  # the refused recipient
    got = box.received()
    assert [(m.subject, m.recipients) for m in got] == [
        ("swaks potok", ("jan@example.com",))
    ]
