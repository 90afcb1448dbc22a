"""``bpmnb oauth login|preflight|status|logout`` for Office 365 accounts.

``login`` is the only interactive step of the OAuth2 path: for a user's own
mailbox it runs the device-code sign-in (printing the verification page and
code, which are not secrets); for the client-credential flows it stores the
client secret (typed without echo, or read from stdin) and proves it by
getting a token. Exit codes: 0 success, 1 no usable token, 2 bad settings.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from bpmnb import oauth, storage, token_preflight
from bpmnb.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliContext, echo_json, pass_ctx
from bpmnb.errors import BpmnbError, SettingsError
from bpmnb.i18n import Lang, text
from bpmnb.rules import Finding
from bpmnb.secrets import SecretStore, describe, open_store
from bpmnb.settings import AccountSettings


def _fail_findings(
    findings: list[Finding], lang: Lang, as_json: bool = False
) -> SystemExit:
    if as_json:
        echo_json(
            {
                "ok": False,
                "code": "INVALID_SETTINGS",
                "findings": [f.as_json() for f in findings],
            }
        )
    for finding in findings:
        click.echo(f"  {finding.field or '-'}: {finding.text.get(lang)}", err=True)
    return SystemExit(EXIT_USAGE)


def _settings(ctx: CliContext, as_json: bool = False) -> AccountSettings:
    try:
        settings = storage.load(ctx.home)
    except SettingsError as exc:
        raise _fail_findings(exc.findings, ctx.lang, as_json) from None
    if settings is None:
        message = text("oauth.cli.no_settings", ctx.lang)
        if as_json:
            echo_json({"ok": False, "code": "INVALID_SETTINGS", "message": message})
        click.echo(message, err=True)
        raise SystemExit(EXIT_USAGE)
    try:
        oauth.validate(settings)
    except SettingsError as exc:
        raise _fail_findings(exc.findings, ctx.lang, as_json) from None
    return settings


def _explain(exc: BpmnbError, lang: Lang) -> str:
    try:
        return f"{exc.message(lang)}\n{exc.hint(lang)}"
    except KeyError:
        return exc.describe(lang)


def _when(stamp: float | int | None, lang: Lang) -> str:
    if stamp is None:
        return text("oauth.cli.none", lang)
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


def register(group: click.Group) -> None:
    """Add ``bpmnb oauth ...`` to ``group``."""

    @group.group("oauth")
    def oauth_group() -> None:
        """Office 365 OAuth2: sign-in, token check, stored state."""

    @oauth_group.command("login")
    @click.option(
        "--client-secret",
        "ask_secret",
        is_flag=True,
        help="Prompt (without echo) for the client secret and store it.",
    )
    @click.option(
        "--client-secret-stdin",
        "secret_stdin",
        is_flag=True,
        help="Read the client secret from standard input and store it.",
    )
    @pass_ctx
    def login(ctx: CliContext, ask_secret: bool, secret_stdin: bool) -> None:
        """Sign in (device code) or store and prove the client secret."""
        settings = _settings(ctx)
        store = open_store(ctx.home)
        if ask_secret or secret_stdin:
            _store_secret(ctx, store, secret_stdin)

        def show(url: str, code: str, expires_in: int) -> None:
            minutes = max(1, expires_in // 60)
            line = text(
                "oauth.cli.device_prompt", ctx.lang, url=url, code=code, minutes=minutes
            )
            click.echo(line)
            sys.stdout.flush()

        try:
            token = oauth.login(settings, store, show=show)
        except KeyboardInterrupt:
            click.echo(text("oauth.login_interrupted", ctx.lang), err=True)
            raise SystemExit(130) from None
        except SettingsError as exc:
            raise _fail_findings(exc.findings, ctx.lang) from None
        except BpmnbError as exc:
            click.echo(_explain(exc, ctx.lang), err=True)
            raise SystemExit(EXIT_FAILED) from None
        kind = token_preflight.TokenFacts.of(token.claims).kind
        click.echo(text("oauth.cli.token_ok", ctx.lang, kind=kind))
        raise SystemExit(EXIT_OK)

    @oauth_group.command("preflight")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_ctx
    def preflight(ctx: CliContext, as_json: bool) -> None:
        """Get a token as delivery would and say what is wrong with it."""
        settings = _settings(ctx, as_json)
        report = token_preflight.run(settings, open_store(ctx.home))
        if as_json:
            echo_json(report.as_json())
        else:
            click.echo(report.text(ctx.lang))
        raise SystemExit(EXIT_OK if report.ok else EXIT_FAILED)

    @oauth_group.command("status")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_ctx
    def status(ctx: CliContext, as_json: bool) -> None:
        """What is stored (no network, no secret shown)."""
        settings = _settings(ctx, as_json)
        state = oauth.status(settings, open_store(ctx.home))
        if as_json:
            echo_json(state)
            raise SystemExit(EXIT_OK)
        lang = ctx.lang

        def yes(value: object) -> str:
            return text("oauth.cli.yes" if value else "oauth.cli.no", lang)

        accounts = [str(a) for a in state["accounts"]]  # type: ignore[attr-defined]
        click.echo(
            text(
                "oauth.cli.status",
                lang,
                flow=state["flow"],
                tenant_id=state["tenant_id"],
                client_id=state["client_id"],
                send_as=state["send_as"],
                secret=yes(state["client_secret_stored"]),
                accounts=", ".join(accounts)
                if accounts
                else text("oauth.cli.none", lang),
                refresh=yes(state["refresh_token"]),
                expires=_when(state["token_expires_at"], lang),  # type: ignore[arg-type]
            )
        )
        raise SystemExit(EXIT_OK)

    @oauth_group.command("logout")
    @click.option(
        "--forget-secret", is_flag=True, help="Also remove the stored client secret."
    )
    @pass_ctx
    def logout(ctx: CliContext, forget_secret: bool) -> None:
        """Remove stored tokens (and optionally the client secret)."""
        store = open_store(ctx.home)
        oauth.logout(store, forget_secret=forget_secret)
        click.echo(text("oauth.cli.logged_out", ctx.lang))
        if forget_secret:
            click.echo(text("oauth.cli.secret_forgotten", ctx.lang))
        raise SystemExit(EXIT_OK)


def _store_secret(ctx: CliContext, store: SecretStore, from_stdin: bool) -> None:
    if from_stdin:
        secret = sys.stdin.readline().strip()
    else:
        secret = str(
            click.prompt(text("oauth.cli.secret_prompt", ctx.lang), hide_input=True)
        ).strip()
    secret = oauth.clean_secret(secret)
    if not secret:
        click.echo(text("oauth.secret_missing", ctx.lang), err=True)
        raise SystemExit(EXIT_USAGE)
    if oauth.looks_like_secret_id(secret):
        # Entra ID secret values are never GUIDs; a GUID is the "Secret ID".
        click.echo(text("oauth.secret_is_id", ctx.lang), err=True)
        click.echo(text("oauth.secret_is_id.hint", ctx.lang), err=True)
        raise SystemExit(EXIT_USAGE)
    store.set("oauth_client_secret", secret)
    click.echo(
        text("oauth.cli.secret_saved", ctx.lang, store=describe(store, ctx.lang))
    )
