"""``bpmnb app``: the mail account form as a local web page."""

from __future__ import annotations

import os

import click

from bpmnb.cli import EXIT_FAILED, CliContext, pass_ctx
from bpmnb.i18n import text


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""
    group.add_command(app)


@click.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port on 127.0.0.1 (default: 8866, or a free one when taken).",
)
@click.option("--no-browser", is_flag=True, help="Only print the address.")
@pass_ctx
def app(ctx: CliContext, port: int | None, no_browser: bool) -> None:
    """Serve the "Serwer pocztowy" page (Voila) on 127.0.0.1.

    With no saved settings, a sandbox is started alongside and the form
    points at it, so a first test message can be sent and seen at once.
    """
    from bpmnb import app as app_mod

    # The page runs in Voila's own kernel: --lang reaches it as BPMNB_LANG.
    os.environ["BPMNB_LANG"] = ctx.lang

    def say(key: str, fields: dict[str, object]) -> None:
        click.echo(text(key, ctx.lang, **fields), err=key != "ui.app.url")

    try:
        code = app_mod.run(ctx.home, port, browser=not no_browser, say=say)
    except app_mod.AppError as exc:
        click.echo(text(exc.key, ctx.lang, **exc.fields), err=True)
        raise SystemExit(EXIT_FAILED) from None
    if code:
        raise SystemExit(EXIT_FAILED)
