"""``bpmnb sandbox``: run the local SMTP sandbox in the foreground.

It prints where it listens and its own login and password (a throw-away
credential of the sandbox, so showing it is the point), optionally saves
account settings pointing at it, and stops cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from types import FrameType

import click

from bpmnb.cli import EXIT_FAILED, EXIT_OK, CliContext, pass_ctx
from bpmnb.errors import BpmnbError
from bpmnb.i18n import text


def _port(value: int | None) -> int | None:
    return value or None


@click.command("sandbox")
@click.option(
    "--starttls-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port offering STARTTLS (default or 0: a free port).",
)
@click.option(
    "--tls-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port speaking TLS from the first byte (default or 0: a free port).",
)
@click.option(
    "--configure",
    is_flag=True,
    help="Also save account settings pointing at the sandbox.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the details as JSON.")
@pass_ctx
def sandbox(
    cli: CliContext,
    starttls_port: int | None,
    tls_port: int | None,
    configure: bool,
    as_json: bool,
) -> None:
    """Run a local SMTP server (STARTTLS and SSL/TLS ports) until Ctrl+C."""
    from bpmnb.sandbox import Sandbox

    lang = cli.lang
    box = Sandbox(
        cli.home.ensure(), starttls_port=_port(starttls_port), tls_port=_port(tls_port)
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        try:
            box.start()
        except OSError as exc:
            port = starttls_port or tls_port or 0
            click.echo(
                text("delivery.sandbox.port_busy", lang, port=port, reason=exc),
                err=True,
            )
            raise SystemExit(EXIT_FAILED) from exc
        if configure:
            from bpmnb import storage

            try:
                storage.save(cli.home, box.settings())
            except BpmnbError as exc:
                click.echo(exc.describe(lang), err=True)
                raise SystemExit(EXIT_FAILED) from exc
        details = {
            "host": box.host,
            "starttls_port": box.starttls_port,
            "tls_port": box.tls_port,
            "login": box.login,
            "password": box.password,
            "ca_file": str(box.ca_file),
            "maildir": str(box.maildir),
            "configured": configure,
        }
        if as_json:
            click.echo(json.dumps(details))
        else:
            click.echo(text("delivery.sandbox.started", lang))
            for key in (
                "host",
                "starttls_port",
                "tls_port",
                "login",
                "password",
                "ca_file",
                "maildir",
            ):
                label = text(f"delivery.sandbox.{key}", lang)
                click.echo(f"  {label}: {details[key]}")
            if configure:
                click.echo(text("delivery.sandbox.configured", lang))
        # Whoever started us (a test, a script) waits for these lines.
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        box.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not as_json:
        click.echo(text("delivery.sandbox.stopped", lang))
    raise SystemExit(EXIT_OK)


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""
    group.add_command(sandbox)
