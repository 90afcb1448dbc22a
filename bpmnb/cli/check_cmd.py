"""``bpmnb check`` (the form's "Sprawdź połączenie") and ``bpmnb probe``.

``check`` exit codes: 0 every stage passed, 1 a stage failed, 2 the settings
are invalid (the findings are printed at their fields). ``probe`` exits 0
when at least one combination works, else 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from pydantic import SecretStr, ValidationError

from bpmnb import credentials, diagnosis, message, rules, storage
from bpmnb import probe as probe_mod
from bpmnb.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliContext,
    echo_json,
    fail,
    pass_ctx,
)
from bpmnb.errors import BpmnbError, SettingsError
from bpmnb.i18n import Lang, text
from bpmnb.rules import Finding
from bpmnb.settings import AccountSettings, Encryption
from bpmnb.transport import Transcript


def _print_findings(
    findings: list[Finding],
    lang: Lang,
    as_json: bool,
    message: str | None = None,
    hint: str | None = None,
    code: str = "INVALID_SETTINGS",
) -> None:
    """Invalid settings, in the check's own JSON shape (issue: ``code``,
    ``stage``, ``message``, ``hint``, ``stages``, ``tls``), so a script reads
    one shape whatever stopped the check."""
    if as_json:
        payload = {
            "ok": False,
            "code": code,
            "stage": "settings",
            "message": message or text("diagnosis.INVALID_SETTINGS", lang),
            "hint": hint or text("diagnosis.INVALID_SETTINGS.hint", lang),
            "stages": [],
            "tls": None,
            "findings": [f.as_json() for f in findings],
        }
        echo_json(payload)
        return
    click.echo(text("diagnosis.INVALID_SETTINGS", lang), err=True)
    for finding in findings:
        click.echo(f"  {finding.field or '-'}: {finding.text.get(lang)}", err=True)


def _settings(
    ctx: CliContext, overrides: dict[str, object], as_json: bool
) -> AccountSettings:
    """Saved settings with the command line's overrides applied."""
    try:
        saved = storage.load(ctx.home)
    except SettingsError as exc:
        _print_findings(exc.findings, ctx.lang, as_json)
        raise SystemExit(EXIT_USAGE) from None
    except BpmnbError as exc:
        # A damaged settings or secrets file: said in the check's shape too.
        if as_json:
            _print_findings(
                [],
                ctx.lang,
                True,
                exc.message(ctx.lang),
                exc.hint(ctx.lang),
                code=str(exc.code),
            )
        fail(exc, ctx.lang, code=EXIT_USAGE)
    if saved is None and "host" not in overrides:
        message = text("diagnosis.ui.no_settings", ctx.lang)
        hint = text("diagnosis.ui.no_settings_hint", ctx.lang)
        if as_json:
            _print_findings([], ctx.lang, as_json, message, hint)
        click.echo(f"{message}\n{hint}", err=True)
        raise SystemExit(EXIT_USAGE)
    data = saved.public_dict() if saved is not None else {}
    data.update(overrides)
    settings, findings = rules.parse(data)
    if settings is None:
        _print_findings(findings, ctx.lang, as_json)
        raise SystemExit(EXIT_USAGE)
    return settings


def _print_report(report: diagnosis.CheckReport, lang: Lang) -> None:
    for stage in report.stages:
        mark = text("diagnosis.ui.ok" if stage.ok else "diagnosis.ui.failed", lang)
        label = text(f"diagnosis.stage.{stage.name}", lang)
        click.echo(f"{mark:>5}  {label:<32} {stage.ms:8.1f} ms  {stage.detail}")
    click.echo("")
    if report.ok:
        click.echo(text("diagnosis.ui.verdict_ok", lang))
    else:
        where = text(f"diagnosis.stage.{report.stage}", lang)
        click.echo(text("diagnosis.ui.verdict", lang, code=report.code, stage=where))
    click.echo(report.message(lang))
    if report.smtp_reply:
        click.echo(text("diagnosis.ui.server_said", lang, reply=report.smtp_reply))
    if not report.ok:
        click.echo(text("diagnosis.ui.fix", lang, hint=report.hint(lang)))
    if report.tls is not None:
        tls = report.tls
        click.echo(
            text(
                "diagnosis.ui.tls",
                lang,
                version=tls.version,
                cipher=tls.cipher,
                subject=tls.subject,
                issuer=tls.issuer,
                not_after=tls.not_after,
            )
        )


@click.command("check")
@click.option("--host", default=None, help="Server name (overrides the settings).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port.")
@click.option(
    "--encryption",
    type=click.Choice([e.value for e in Encryption]),
    default=None,
    help="none, auto, ssl (TLS from the first byte) or starttls.",
)
@click.option("--login", default=None, help="Login (overrides the settings).")
@click.option("--sender", default=None, help="Sender address for MAIL FROM.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=None)
@click.option("--ca-file", type=click.Path(dir_okay=False), default=None)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)
@click.option("--to", "rcpt", default=None, help="Test recipient for RCPT TO.")
@click.option("--send", is_flag=True, help="Also send a short test message.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--transcript",
    "transcript_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Save the conversation (passwords masked) to this file.",
)
@pass_ctx
def check(
    ctx: CliContext,
    host: str | None,
    port: int | None,
    encryption: str | None,
    login: str | None,
    sender: str | None,
    timeout: float | None,
    ca_file: str | None,
    password_stdin: bool,
    rcpt: str | None,
    send: bool,
    as_json: bool,
    transcript_file: str | None,
) -> None:
    """Check the connection stage by stage and name the first fault."""
    lang = ctx.lang
    given: dict[str, object] = {
        "host": host,
        "port": port,
        "encryption": encryption,
        "login": login,
        "sender": sender,
        "timeout": timeout,
        "ca_file": ca_file,
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    settings = _settings(ctx, overrides, as_json)
    if password_stdin:
        typed = sys.stdin.readline().rstrip("\r\n")
        settings = settings.model_copy(update={"password": SecretStr(typed)})
    try:
        stored = not password_stdin and storage.password_stored(
            ctx.home, account=settings
        )
    except BpmnbError as exc:
        # A damaged secrets file: say so, not "no password is saved".
        fail(exc, lang, as_json=as_json, code=EXIT_FAILED)
    findings = rules.errors(
        rules.check(settings, password_stored=stored, for_sending=True)
    )
    if rcpt is not None:
        try:
            rcpt = message.check_recipient(rcpt)
        except message.MessageError as exc:
            findings.append(exc.finding)
    if findings:
        _print_findings(findings, lang, as_json)
        raise SystemExit(EXIT_USAGE)
    try:
        credential = credentials.for_settings(settings, ctx.home)
    except BpmnbError as exc:
        fail(exc, lang, as_json=as_json, code=EXIT_FAILED)
    if transcript_file:
        # Refuse an unwritable --transcript before connecting, naming it (the
        # generic OS message would point at --home).
        try:
            Path(transcript_file).write_text("", encoding="utf-8")
        except OSError as exc:
            click.echo(
                text(
                    "diagnosis.ui.transcript_unwritable",
                    lang,
                    path=transcript_file,
                    reason=exc.strerror or exc,
                ),
                err=True,
            )
            raise SystemExit(EXIT_USAGE) from None
    transcript = Transcript() if transcript_file else None
    report = diagnosis.check(
        settings, credential, rcpt=rcpt, send=send, transcript=transcript
    )
    if transcript is not None and transcript_file:
        Path(transcript_file).write_text(transcript.text() + "\n", encoding="utf-8")
    if as_json:
        echo_json(report.as_json(lang))
    else:
        _print_report(report, lang)
        if transcript_file:
            click.echo(
                text("diagnosis.ui.transcript_saved", lang, path=transcript_file)
            )
    raise SystemExit(EXIT_OK if report.ok else EXIT_FAILED)


def _parse_ports(value: str | None) -> dict[str, int] | None:
    """``submissions=10465,submission=10587,smtp=10025`` (any subset)."""
    if not value:
        return None
    ports: dict[str, int] = {}
    for part in value.split(","):
        role, sep, number = part.partition("=")
        role = role.strip()
        if not sep or role not in probe_mod.DEFAULT_PORTS or not number.isdigit():
            raise click.BadParameter(
                f"{part!r}: use ROLE=PORT with ROLE in "
                + ", ".join(probe_mod.DEFAULT_PORTS),
                param_hint="--ports",
            )
        ports[role] = int(number)
    return ports


@click.command("probe")
@click.argument("target")
@click.option(
    "--ports",
    default=None,
    help="Override port numbers by role: submissions=465,submission=587,smtp=25.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 60),
    default=probe_mod.DEFAULT_TIMEOUT,
    show_default=True,
)
@click.option("--ca-file", type=click.Path(dir_okay=False), default=None)
@click.option("--all", "show_all", is_flag=True, help="Also list what failed.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def probe(
    ctx: CliContext,
    target: str,
    ports: str | None,
    timeout: float,
    ca_file: str | None,
    show_all: bool,
    as_json: bool,
) -> None:
    """Try the usual port/encryption pairs of a server or an address's domain."""
    lang = ctx.lang
    if not probe_mod.valid_target(target):
        click.echo(text("diagnosis.ui.probe_bad_target", lang, target=target), err=True)
        raise SystemExit(EXIT_USAGE)
    try:
        results = probe_mod.probe(
            target,
            ports=_parse_ports(ports),
            timeout=timeout,
            ca_file=ca_file,
            include_failed=True,
        )
    except ValidationError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(EXIT_USAGE) from None
    working = [r for r in results if r.ok]
    if as_json:
        shown = results if show_all else working
        echo_json(
            {
                "target": target,
                "ok": bool(working),
                "results": [r.as_json() for r in shown],
            }
        )
    else:
        if not working:
            click.echo(text("diagnosis.ui.probe_none", lang, target=target))
        for r in results if show_all else working:
            mechs = " ".join(r.auth_mechs) or text("diagnosis.ui.probe_no_auth", lang)
            cloud = (
                "" if r.cloud_open else text("diagnosis.ui.probe_cloud_closed", lang)
            )
            line = text(
                "diagnosis.ui.probe_row",
                lang,
                host=r.host,
                port=r.port,
                encryption=r.encryption,
                mechs=mechs,
                cloud=cloud,
            )
            suffix = "" if r.ok else f"  [{r.code}]"
            click.echo(line + suffix)
    raise SystemExit(EXIT_OK if working else EXIT_FAILED)


def register(group: click.Group) -> None:
    """Add ``check`` and ``probe`` to ``group``."""
    group.add_command(check)
    group.add_command(probe)
