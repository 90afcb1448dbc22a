"""``bpmnb settings``: show, validate, import, export and set the account.

The password never passes through argv: ``set`` takes it from standard input
(``--password-stdin``), and ``show`` says only where it is stored.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from bpmnb import rules, storage
from bpmnb.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliContext,
    echo_json,
    fail,
    pass_ctx,
)
from bpmnb.errors import BpmnbError, SecretStoreError, SettingsError
from bpmnb.i18n import Lang, text
from bpmnb.rules import Finding
from bpmnb.secrets import SecretStore, describe, open_store
from bpmnb.settings import AccountSettings, AuthMethod, OAuthSettings
from bpmnb.storage import StorageError

MASK = "********"


def _echo_findings(findings: list[Finding], lang: Lang) -> None:
    for finding in findings:
        level = text(f"rules.level.{finding.level}", lang)
        field = finding.field or "-"
        click.echo(f"[{level}] {field}: {finding.text.get(lang)}", err=True)


def _fail_settings(exc: SettingsError, lang: Lang) -> None:
    _echo_findings(exc.findings, lang)
    click.echo(text("storage.cli.invalid", lang, count=len(exc.findings)), err=True)
    sys.exit(EXIT_USAGE)


def _fail(
    exc: BpmnbError, lang: Lang, code: int = EXIT_FAILED, as_json: bool = False
) -> None:
    fail(exc, lang, as_json=as_json, code=code)


def _store_or_fail(ctx: CliContext, as_json: bool = False) -> SecretStore:
    try:
        return open_store(ctx.home)
    except SecretStoreError as exc:
        fail(exc, ctx.lang, as_json=as_json, code=EXIT_FAILED)


def _password_state(
    ctx: CliContext, store: SecretStore, settings: AccountSettings
) -> tuple[str | None, str]:
    """(masked value or None, where it comes from) - never the value itself."""
    if os.environ.get("BPMNB_PASSWORD"):
        return MASK, text("storage.cli.password_env", ctx.lang)
    if storage.password_stored(ctx.home, store, account=settings):
        backend = describe(store, ctx.lang)
        return MASK, text("storage.cli.password_stored", ctx.lang, backend=backend)
    return None, text("storage.cli.password_none", ctx.lang)


def _value_text(value: object, lang: Lang, choice: str | None = None) -> str:
    if isinstance(value, bool):
        return text("choice.yes" if value else "choice.no", lang)
    if value is None:
        return ""
    if choice is not None:
        from bpmnb.catalog import CATALOG

        key = f"choice.{choice}.{value}"
        if key in CATALOG:
            return f"{CATALOG[key].get(lang)} ({value})"
    # A hand-edited file may hold terminal escape sequences: show them, do
    # not let them drive the terminal.
    return _TERMINAL_CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", str(value))


_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


_CHOICES = {
    "encryption": "encryption",
    "auth": "auth",
    "delivery_component": "delivery_component",
    "oauth.flow": "oauth_flow",
}


def _load_or_fail(ctx: CliContext, as_json: bool = False) -> AccountSettings | None:
    # A saved file that cannot be used is a failure to read it (exit 1), not
    # invalid input on this command line (2): the user typed nothing wrong.
    try:
        return storage.load(ctx.home)
    except BpmnbError as exc:
        fail(exc, ctx.lang, as_json=as_json, code=EXIT_FAILED)


def _nothing_saved(ctx: CliContext, as_json: bool) -> None:
    fail(
        StorageError("storage.nothing_saved", file=ctx.home.settings_file),
        ctx.lang,
        as_json=as_json,
        code=EXIT_FAILED,
    )


@click.group("settings")
def settings_group() -> None:
    """Show, check, import, export and change the account settings."""


@settings_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def show(ctx: CliContext, as_json: bool) -> None:
    """Print the saved settings; the password only as ********."""
    settings = _load_or_fail(ctx, as_json)
    if settings is None:
        _nothing_saved(ctx, as_json)
        return
    store = _store_or_fail(ctx, as_json)
    masked, where = _password_state(ctx, store, settings)
    if as_json:
        data: dict[str, Any] = settings.public_dict()
        data["password"] = masked
        data["password_source"] = where
        data["secret_store"] = describe(store, ctx.lang)
        if settings.auth is AuthMethod.OAUTH2_OFFICE365:
            data["oauth_client_secret"] = (
                MASK if store.get("oauth_client_secret") else None
            )
        echo_json(data)
        return
    public = settings.public_dict()
    for name, value in public.items():
        if name == "oauth":
            if settings.auth is not AuthMethod.OAUTH2_OFFICE365:
                continue
            assert isinstance(value, dict)
            for sub, sub_value in value.items():
                field = f"oauth.{sub}"
                shown = _value_text(sub_value, ctx.lang, _CHOICES.get(field))
                click.echo(f"{rules.label(field).get(ctx.lang)} ({field}): {shown}")
            secret_label = rules.label("oauth.client_secret").get(ctx.lang)
            secret = MASK if store.get("oauth_client_secret") else "-"
            click.echo(f"{secret_label} (oauth.client_secret): {secret}")
            continue
        shown = _value_text(value, ctx.lang, _CHOICES.get(name))
        click.echo(f"{rules.label(name).get(ctx.lang)} ({name}): {shown}")
        if name == "login":
            password_label = rules.label("password").get(ctx.lang)
            click.echo(f"{password_label} (password): {masked or '-'} [{where}]")
    click.echo(
        f"{text('storage.cli.secret_store', ctx.lang)}: {describe(store, ctx.lang)}"
    )


@settings_group.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--sending",
    is_flag=True,
    help="Check as for sending: incomplete settings are errors even when disabled.",
)
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def validate(ctx: CliContext, as_json: bool, sending: bool, file: Path | None) -> None:
    """Check FILE (JSON or TOML), or the saved settings; exit 2 on errors."""
    try:
        if file is not None:
            data = storage.read_mapping(file)
            # The file may rely on the password already stored in this home,
            # as an import into it would.
            stored = storage.password_stored(
                ctx.home,
                _store_or_fail(ctx, as_json),
                account=data,
            )
            _, findings = rules.review(
                data, password_stored=stored, for_sending=sending
            )
        else:
            settings = _load_or_fail(ctx, as_json)
            if settings is None:
                _nothing_saved(ctx, as_json)
                return
            stored = storage.password_stored(
                ctx.home,
                _store_or_fail(ctx, as_json),
                account=settings,
            )
            findings = rules.check(
                settings, password_stored=stored, for_sending=sending
            )
    except SecretStoreError as exc:
        _fail(exc, ctx.lang, EXIT_FAILED, as_json)
        return
    except BpmnbError as exc:
        # FILE cannot be read or parsed: the input given here is bad.
        _fail(exc, ctx.lang, EXIT_USAGE, as_json)
        return
    problems = rules.errors(findings)
    if as_json:
        report = {"ok": not problems, "findings": [f.as_json() for f in findings]}
        echo_json(report)
    else:
        _echo_findings(findings, ctx.lang)
        if problems:
            summary = text("storage.cli.invalid", ctx.lang, count=len(problems))
        elif findings:
            summary = text(
                "storage.cli.valid_with_warnings", ctx.lang, count=len(findings)
            )
        else:
            summary = text("storage.cli.valid", ctx.lang)
        click.echo(summary)
    sys.exit(EXIT_USAGE if problems else EXIT_OK)


@settings_group.command("import")
# No exists=True: storage says "no such file" in the user's language.
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def import_cmd(ctx: CliContext, file: Path) -> None:
    """Read settings from FILE (JSON or TOML); a password goes to the secret store."""
    store = _store_or_fail(ctx)
    try:
        had_password = "password" in storage.read_mapping(file)
        imported = storage.import_(ctx.home, file, store)
    except SettingsError as exc:
        _fail_settings(exc, ctx.lang)
    except SecretStoreError as exc:
        _fail(exc, ctx.lang)
    except BpmnbError as exc:
        _fail(exc, ctx.lang, EXIT_USAGE)
    click.echo(text("storage.cli.imported", ctx.lang, file=file))
    if had_password and imported.auth is not AuthMethod.PASSWORD:
        # OAuth2 has no use for it: it was dropped, not stored.
        click.echo(text("rules.password_unused", ctx.lang), err=True)
    elif had_password:
        click.echo(
            text(
                "storage.cli.password_moved",
                ctx.lang,
                backend=describe(store, ctx.lang),
                file=file,
            )
        )
    click.echo(text("storage.saved", ctx.lang))


@settings_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def export_cmd(ctx: CliContext, file: Path) -> None:
    """Write the saved settings to FILE (.json or .toml), never with secrets."""
    try:
        storage.export(ctx.home, file)
    except SettingsError as exc:
        click.echo(exc.message(ctx.lang), err=True)
        sys.exit(EXIT_FAILED)
    except BpmnbError as exc:
        _fail(exc, ctx.lang)
    click.echo(text("storage.cli.exported", ctx.lang, file=file))


def _optional_fields() -> set[str]:
    """Fields whose default is None: an empty value clears them."""
    names = {n for n, f in AccountSettings.model_fields.items() if f.default is None}
    names |= {
        f"oauth.{n}" for n, f in OAuthSettings.model_fields.items() if f.default is None
    }
    return names


def _apply(data: dict[str, Any], pairs: tuple[str, ...], lang: Lang) -> None:
    optional = _optional_fields()
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            click.echo(text("storage.cli.bad_pair", lang, pair=pair), err=True)
            sys.exit(EXIT_USAGE)
        # Any spelling: "Password=..." is as visible in the process list.
        if name.lower() in ("password", "oauth.client_secret", "client_secret"):
            click.echo(text("storage.cli.password_in_argv", lang), err=True)
            sys.exit(EXIT_USAGE)
        converted: object = value
        if name in optional and value.strip() == "":
            converted = None
        if "." in name:
            table, _, sub = name.partition(".")
            nested = data.get(table)
            if not isinstance(nested, dict):
                nested = {}
                data[table] = nested
            nested[sub] = converted
        else:
            data[name] = converted


def _fields_help() -> str:
    skip = ("oauth", "password", "server_type")
    names = [n for n in AccountSettings.model_fields if n not in skip]
    names += [f"oauth.{n}" for n in OAuthSettings.model_fields]
    return (
        "Fields: "
        + ", ".join(names)
        + ".\n\nenabled takes tak/nie (yes/no); an empty value clears an"
        " optional field; the password goes only through --password-stdin."
    )


@settings_group.command("set", epilog=_fields_help())
@click.argument("pairs", nargs=-1, metavar="FIELD=VALUE...")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (never put it in argv).",
)
@pass_ctx
def set_cmd(ctx: CliContext, pairs: tuple[str, ...], password_stdin: bool) -> None:
    """Change fields (e.g. host=smtp.wp.pl port=465 oauth.tenant_id=...) and save."""
    _apply({}, pairs, ctx.lang)  # FIELD=VALUE syntax first, before any prompt
    password = ""
    if password_stdin:
        if sys.stdin.isatty():
            password = click.prompt(
                rules.label("password").get(ctx.lang), hide_input=True, default=""
            )
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            click.echo(text("storage.cli.empty_password", ctx.lang), err=True)
            sys.exit(EXIT_USAGE)
    with storage.editing(ctx.home):
        _change(ctx, pairs, password)


def _change(ctx: CliContext, pairs: tuple[str, ...], password: str) -> None:
    current = _load_or_fail(ctx)
    data: dict[str, Any] = current.public_dict() if current else {}
    _apply(data, pairs, ctx.lang)
    if password:
        data["password"] = password
    store = _store_or_fail(ctx)
    settings, findings = rules.review(
        data,
        password_stored=storage.password_stored(ctx.home, store, account=data),
    )
    if settings is None:
        _echo_findings(findings, ctx.lang)
        count = len(rules.errors(findings))
        click.echo(text("storage.cli.invalid", ctx.lang, count=count), err=True)
        sys.exit(EXIT_USAGE)
    try:
        storage.save(ctx.home, settings, store)
    except SettingsError as exc:
        _fail_settings(exc, ctx.lang)
    except BpmnbError as exc:
        _fail(exc, ctx.lang)
    warnings = rules.warnings(
        rules.check(
            settings,
            password_stored=storage.password_stored(ctx.home, store, account=settings),
        )
    )
    _echo_findings(warnings, ctx.lang)
    click.echo(text("storage.saved", ctx.lang))


def register(group: click.Group) -> None:
    """Add ``bpmnb settings`` to ``group``."""
    group.add_command(settings_group)
