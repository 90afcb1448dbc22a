"""SMTP servers on loopback that fail on purpose, for queue and worker tests.

:class:`FaultServer` is a small asyncio SMTP server (RFC 5321 commands only,
no TLS) running in its own thread. Each step's replies come from scripts
consumed in order, one entry per use, then the default. An entry is either a
reply line ("451 4.3.0 try later") or an action:

* ``DROP``: close the connection without a reply;
* ``STALL``: say nothing until the client goes away (or 60 s pass);
* ``DROP_MID`` (DATA only): answer 354, read one line of content, close;
* ``SLOW:<seconds>`` (DATA end only): wait, then accept (a message in flight).

A message counts as received only when its final "250" was written, so the
tests compare what the server accepted with what the queue says.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from bpmnb.settings import AccountSettings, Encryption
from tests.support.net import Running, free_port

_MSGID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass
class Accepted:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message_id(self) -> str:
        found = _MSGID.search(self.data)
        return found.group(1).decode() if found else ""


@dataclass
class Script:
    greeting: list[str] = field(default_factory=list)
    mail: list[str] = field(default_factory=list)
    rcpt: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)  # reply to DATA (before 354)
    end: list[str] = field(default_factory=list)  # reply after the final "."
    # Close the connection after this many accepted messages (None: never).
    messages_per_connection: int | None = None


class FaultServer(Running):
    """A scripted SMTP server on 127.0.0.1 (plain text, no AUTH)."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.accepted: list[Accepted] = []
        self.connections = 0
        self.commands: list[str] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.data_started = threading.Event()  # a client sent DATA content

    # -- life cycle ----------------------------------------------------------

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault server did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, self.host, self.port)
        )
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._server.wait_closed())
            loop.close()

    # -- what happened -------------------------------------------------------

    def message_ids(self) -> list[str]:
        with self._lock:
            return [a.message_id for a in self.accepted]

    # -- the protocol --------------------------------------------------------

    def _next(self, entries: list[str], default: str) -> str:
        with self._lock:
            return entries.pop(0) if entries else default

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with self._lock:
            self.connections += 1
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _act(
        self, action: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Perform ``action``; False when the connection is over."""
        if action == "DROP":
            return False
        if action == "STALL":
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(), 60)
            return False
        writer.write(action.encode() + b"\r\n")
        await writer.drain()
        return True

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        script = self.script
        greeting = self._next(script.greeting, "220 127.0.0.1 fault ESMTP ready")
        if not await self._act(greeting, reader, writer):
            return
        if not greeting.startswith("2"):
            return  # 421 at the greeting: the server closes (RFC 5321 3.8)
        sender = ""
        recipients: list[str] = []
        served = 0
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            with self._lock:
                self.commands.append(line)
            if verb in ("EHLO", "HELO"):
                writer.write(b"250-127.0.0.1\r\n250-8BITMIME\r\n250 SIZE 20000000\r\n")
            elif verb == "MAIL":
                reply = self._next(script.mail, "250 2.1.0 OK")
                if not await self._act(reply, reader, writer):
                    return
                if reply.startswith("250"):
                    sender = line.split(":", 1)[1].strip().split(" ")[0].strip("<>")
                    recipients = []
                continue
            elif verb == "RCPT":
                reply = self._next(script.rcpt, "250 2.1.5 OK")
                if not await self._act(reply, reader, writer):
                    return
                if reply.startswith("25"):
                    recipients.append(line.split(":", 1)[1].strip().strip("<>"))
                continue
            elif verb == "DATA":
                reply = self._next(script.data, "354 end with <CRLF>.<CRLF>")
                if reply == "DROP_MID":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    await reader.readline()
                    self.data_started.set()
                    return
                if not await self._act(reply, reader, writer):
                    return
                if not reply.startswith("354"):
                    continue
                content = await self._read_data(reader)
                self.data_started.set()
                end = self._next(script.end, "250 2.0.0 queued")
                if end.startswith("SLOW:"):
                    await asyncio.sleep(float(end.split(":", 1)[1]))
                    end = "250 2.0.0 queued after a pause"
                if not await self._act(end, reader, writer):
                    return
                if end.startswith("250"):
                    with self._lock:
                        self.accepted.append(Accepted(sender, recipients, content))
                    served += 1
                    if (
                        script.messages_per_connection is not None
                        and served >= script.messages_per_connection
                    ):
                        return  # close without a word, like an idle timeout
                continue
            elif verb == "RSET":
                sender, recipients = "", []
                writer.write(b"250 2.0.0 reset\r\n")
            elif verb == "NOOP":
                writer.write(b"250 2.0.0 OK\r\n")
            elif verb == "QUIT":
                writer.write(b"221 2.0.0 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"502 5.5.2 not implemented\r\n")
            await writer.drain()

    @staticmethod
    async def _read_data(reader: asyncio.StreamReader) -> bytes:
        lines: list[bytes] = []
        while True:
            raw = await reader.readline()
            if not raw:
                raise ConnectionError("client went away in DATA")
            if raw in (b".\r\n", b".\n"):
                break
            lines.append(raw[1:] if raw.startswith(b"..") else raw)
        return b"".join(lines)


def script(**entries: Iterable[str] | int | None) -> Script:
    """A :class:`Script` from keyword lists (copies them)."""
    values: dict[str, object] = {}
    for key, value in entries.items():
        values[key] = list(value) if isinstance(value, list | tuple) else value
    return Script(**values)  # type: ignore[arg-type]


def plain_settings(server: FaultServer, **overrides: object) -> AccountSettings:
    """Settings pointing at ``server``: sending on, no TLS, no login, short
    timeout (the tests of faults must stay fast)."""
    values: dict[str, object] = {
        "enabled": True,
        "account_name": "Powiadomienia",
        "sender": "powiadomienia@example.com",
        "display_name": "Powiadomienia BPM",
        "host": server.host,
        "port": server.port,
        "encryption": Encryption.NONE,
        "timeout": 2.0,
    }
    values.update(overrides)
    return AccountSettings.model_validate(values)
