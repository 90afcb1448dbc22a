"""A minimal STARTTLS + AUTH SMTP sink for benchmarks (loopback only).

The bpmnb sandbox is a faithful server (aiosmtpd, a Maildir write per
message), and at a few milliseconds per message it is itself the bottleneck
of a drain benchmark. This sink does the same protocol steps the client
must do (greeting, EHLO, STARTTLS with a verified certificate, EHLO, AUTH
PLAIN, MAIL, RCPT, DATA) and then discards the message, so the client's own
cost is what gets measured. Like the sandbox, it advertises PIPELINING
(RFC 2920) after TLS: it reads line by line from a buffered stream, answers
in order, and sends the replies to a pipelined group in one write.

    python bench/sink_smtp.py --port 2525 --chain chain.pem
"""

from __future__ import annotations

import argparse
import asyncio
import ssl


async def session(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, context: ssl.SSLContext
) -> None:
    tls = False
    held = b""

    async def say(text: bytes, *, hold: bool = False) -> None:
        """Send a reply; with ``hold`` (replies to MAIL, RCPT, RSET) keep it
        while the next command is already waiting, so a pipelined group's
        replies go out together (RFC 2920 section 3.2), like the sandbox."""
        nonlocal held
        if hold and b"\n" in getattr(reader, "_buffer", b""):
            held += text
            return
        writer.write(held + text)
        held = b""
        await writer.drain()

    await say(b"220 sink ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            if tls:
                # PIPELINING (RFC 2920): commands are read one line at a time
                # from a buffered stream and answered in order, so a group
                # of MAIL, RCPT and DATA is served like single commands.
                await say(
                    b"250-sink\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                    b"250 AUTH PLAIN LOGIN\r\n"
                )
            else:
                await say(b"250-sink\r\n250-8BITMIME\r\n250 STARTTLS\r\n")
        elif verb == b"STAR":
            await say(b"220 go ahead\r\n")
            await writer.start_tls(context)
            tls = True
        elif verb == b"AUTH":
            await say(b"235 2.7.0 accepted\r\n")
        elif verb in (b"MAIL", b"RCPT", b"RSET"):
            await say(b"250 OK\r\n", hold=True)
        elif verb == b"NOOP":
            await say(b"250 OK\r\n")
        elif verb == b"DATA":
            await say(b"354 go on\r\n")
            while (await reader.readline()) not in (b".\r\n", b""):
                pass
            await say(b"250 2.0.0 discarded\r\n")
        elif verb == b"QUIT":
            await say(b"221 bye\r\n")
            break
        else:
            await say(b"502 not here\r\n")
    writer.close()


async def serve(port: int, chain: str) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    server = await asyncio.start_server(
        lambda r, w: session(r, w, context), "127.0.0.1", port
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chain", required=True, help="PEM: key and certificate")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.chain))


if __name__ == "__main__":
    main()
