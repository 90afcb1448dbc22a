"""``bpmnb detect EMAIL``: find the outgoing server for an address."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from bpmnb import detect as detection
from bpmnb.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliContext, echo_json, pass_ctx
from bpmnb.i18n import Lang, text


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""
    group.add_command(detect_command)


def _connect_to(values: tuple[str, ...], lang: Lang) -> dict[str, tuple[str, int]]:
    mapping: dict[str, tuple[str, int]] = {}
    for value in values:
        name, _, target = value.partition("=")
        address, _, port = target.rpartition(":")
        if not name or not address or not port.isdigit():
            raise click.UsageError(
                text(
                    "detect.invalid_option",
                    lang,
                    option="--connect-to",
                    value=value,
                )
            )
        mapping[name.lower()] = (address.strip("[]"), int(port))
    return mapping


@click.command("detect")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--ispdb-url",
    default=detection.ISPDB_URL,
    show_default=True,
    help="Base URL of Thunderbird's ISP database (the domain is appended).",
)
@click.option(
    "--dns-server",
    metavar="IP[:PORT]",
    default=None,
    help="DNS server for the MX query (default: the system's).",
)
@click.option(
    "--no-network",
    is_flag=True,
    help="Ask only the built-in catalogue.",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Choice(detection.SOURCES),
    help="Ask only this source (repeatable; default: all, in order).",
)
@click.option(
    "--connect-to",
    "connect_to",
    multiple=True,
    metavar="NAME=ADDR:PORT",
    help="Send HTTPS requests for NAME to ADDR:PORT, still checking NAME's "
    "certificate (repeatable). When given, other names are not contacted: "
    "for trying an autoconfig server before its DNS entry exists.",
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Extra PEM authorities to trust for HTTPS.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=60),
    default=detection.REQUEST_TIMEOUT,
    show_default=True,
    help="Seconds for each request.",
)
@pass_ctx
def detect_command(
    cli: CliContext,
    email: str,
    as_json: bool,
    ispdb_url: str,
    dns_server: str | None,
    no_network: bool,
    sources: tuple[detection.Source, ...],
    connect_to: tuple[str, ...],
    ca_file: str | None,
    timeout: float,
) -> None:
    """Find the outgoing server settings for EMAIL and say where they came from.

    Sources, in order: the built-in catalogue, the domain's autoconfig file,
    Thunderbird's ISP database, the domain's MX records.
    """
    lang = cli.lang
    if dns_server:
        try:
            detection.parse_dns_server(dns_server)
        except ValueError:
            raise click.UsageError(
                text(
                    "detect.invalid_option",
                    lang,
                    option="--dns-server",
                    value=dns_server,
                )
            ) from None
    trace: list[detection.Attempt] = []
    try:
        found = detection.detect(
            email,
            network=not no_network,
            sources=sources or detection.SOURCES,
            ispdb_url=ispdb_url,
            dns_server=dns_server,
            connect_to=_connect_to(connect_to, lang) if connect_to else None,
            ca_file=ca_file,
            timeout=timeout,
            total_timeout=max(detection.TOTAL_TIMEOUT, 3 * timeout),
            trace=trace,
        )
    except detection.AddressError as exc:
        _fail(exc.message(lang), as_json, EXIT_USAGE, email, [], lang)

    _, domain = detection.split_address(email)
    tried = [
        {
            "source": a.source,
            "target": a.target,
            "outcome": a.outcome,
            "message": a.describe(lang),
        }
        for a in trace
    ]
    if found is None:
        message = text("detect.not_found", lang, domain=domain)
        _fail(message, as_json, EXIT_FAILED, email, tried, lang)

    if as_json:
        data = {"ok": True, "found": True, **found.to_dict(), "tried": tried}
        echo_json(data)
        sys.exit(EXIT_OK)

    source = text(f"detect.source.{found.source}", lang)
    click.echo(text("detect.found", lang, email=found.email, source=source))
    rows = [
        ("detect.label.provider", found.provider_name or "-"),
        ("field.host", found.host),
        ("field.port", str(found.port)),
        ("field.encryption", text(f"choice.encryption.{found.encryption}", lang)),
        ("field.auth", text(f"choice.auth.{found.auth}", lang)),
        ("field.login", found.login),
    ]
    if found.alternatives:
        choices = ", ".join(
            f"{s.host}:{s.port} {text(f'choice.encryption.{s.encryption}', lang)}"
            for s in found.alternatives
        )
        rows.append(("detect.label.alternatives", choices))
    for key, value in rows:
        click.echo(f"  {text(key, lang)}: {value}")
    for note in found.notes:
        click.echo(f"! {note.text.get(lang)}")
    if found.origin:
        click.echo(f"  ({found.origin})")


def _fail(
    message: str,
    as_json: bool,
    code: int,
    email: str,
    tried: list[dict[str, str]],
    lang: Lang,
) -> NoReturn:
    if as_json:
        data = {
            "ok": False,
            "found": False,
            "email": email,
            "error": message,
            "tried": tried,
        }
        echo_json(data)
    else:
        click.echo(message, err=True)
        if tried:
            click.echo(f"{text('detect.label.tried', lang)}:", err=True)
        for attempt in tried:
            click.echo(f"  {attempt['source']}: {attempt['message']}", err=True)
    sys.exit(code)
