"""The ``bpmnb`` command line.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid
settings. Every command accepts ``--home``; ``--json`` output uses the
settings' field names. Each area registers its commands from its own module.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sqlite3
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

import click

from bpmnb.errors import BpmnbError, SettingsError
from bpmnb.home import Home
from bpmnb.i18n import Lang, default_lang, text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


@dataclass
class CliContext:
    home: Home
    lang: Lang


pass_ctx = click.make_pass_decorator(CliContext)


def echo_json(data: object) -> None:
    """Print ``--json`` output: indented, non-ASCII (Polish) letters kept."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# Which module defines each command. Modules are imported only when their
# command runs, so ``bpmnb settings show`` does not pay for msal or ipywidgets.
COMMANDS: dict[str, str] = {
    "settings": "settings_cmd",
    "send-test": "send_cmd",
    "sandbox": "sandbox_cmd",
    "app": "app_cmd",
    "queue": "queue_cmd",
    "worker": "queue_cmd",
    "check": "check_cmd",
    "probe": "check_cmd",
    "detect": "detect_cmd",
    "oauth": "oauth_cmd",
}


HOME_HELP = "State directory (default: $BPMNB_HOME or the user data directory)."
LANG_HELP = "Language of messages (default: pl, or $BPMNB_LANG)."


def _home_option(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> str | None:
    if value is not None and not value.strip():
        # "--home $DIR" with DIR unset would otherwise mean the current
        # directory, and settings and secrets would land there.
        raise click.BadParameter(text("storage.cli.empty_home", default_lang()))
    return value


def _set_home(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    value = _home_option(ctx, param, value)
    state = ctx.find_object(CliContext)
    if value is not None and state is not None:
        state.home = Home.resolve(value)


def _set_lang(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    state = ctx.find_object(CliContext)
    if value in ("pl", "en") and state is not None:
        state.lang = "en" if value == "en" else "pl"


def with_common_options(command: click.Command) -> click.Command:
    """Let ``command`` (and its subcommands) take ``--home`` and ``--lang``
    after its name too, as the README promises: ``bpmnb settings show --home
    DIR`` works like ``bpmnb --home DIR settings show``."""
    present = {opt for param in command.params for opt in getattr(param, "opts", ())}
    if "--home" not in present:
        command.params.append(
            click.Option(
                ["--home"],
                type=click.Path(file_okay=False),
                expose_value=False,
                callback=_set_home,
                help=HOME_HELP,
            )
        )
    if "--lang" not in present:
        command.params.append(
            click.Option(
                ["--lang"],
                type=click.Choice(["pl", "en"], case_sensitive=False),
                expose_value=False,
                callback=_set_lang,
                help=LANG_HELP,
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_common_options(sub)
    return command


def fail(
    exc: BaseException, lang: Lang, *, as_json: bool = False, code: int | None = None
) -> NoReturn:
    """End the command with ``exc`` explained (never a traceback): its message
    and hint on stderr, and with ``as_json`` a JSON object on stdout too, so
    a script reading ``--json`` output can always parse it."""
    if isinstance(exc, BpmnbError):
        try:
            message, hint = exc.message(lang), exc.hint(lang)
        except KeyError:
            message, hint = str(exc), ""
        error: dict[str, Any] = {"code": str(exc.code)}
        key = getattr(exc, "key", None)
        if key:
            error["key"] = key
        if isinstance(exc, SettingsError):
            error["findings"] = [f.as_json() for f in exc.findings]
        status = EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_FAILED
    else:
        reason = exc.strerror if isinstance(exc, OSError) else None
        where = getattr(exc, "filename", None)
        detail = f"{reason or exc}" + (f": {where}" if where else "")
        message = text("storage.cli.os_error", lang, error=detail)
        hint = ""
        error = {"code": type(exc).__name__, "detail": detail}
        status = EXIT_FAILED
    error["message"] = message
    if hint:
        error["hint"] = hint
    if as_json:
        echo_json({"ok": False, "error": error})
    click.echo(message, err=True)
    if hint:
        click.echo(hint, err=True)
    sys.exit(status if code is None else code)


class LazyGroup(click.Group):
    """A group that imports a command's module when the command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"bpmnb.cli.{module_name}")
        holder = click.Group()
        module.register(holder)
        command = holder.commands.get(cmd_name)
        return with_common_options(command) if command is not None else None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            # The table, not self.commands (empty: commands load lazily), so
            # click can suggest the nearest name ("Did you mean 'settings'?").
            raise click.exceptions.NoSuchCommand(
                name, possibilities=list(COMMANDS), ctx=ctx
            )
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        # A failure no command caught (a secrets file others can read, a
        # read-only home) is explained, not shown as a traceback.
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]
        as_json = "--json" in args
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`bpmnb queue list | head -1`): nothing
            # to explain. Python's advice: point stdout at devnull so the
            # flush at exit does not fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(EXIT_FAILED) from None
        except (BpmnbError, OSError) as exc:
            state = ctx.find_object(CliContext)
            fail(exc, state.lang if state else default_lang(), as_json=as_json)
        except sqlite3.DatabaseError as exc:
            # Only the mail queue is a database: name it and say what to do.
            from bpmnb.storage import StorageError

            state = ctx.find_object(CliContext)
            home = state.home if state else Home.resolve()
            problem = StorageError(
                "storage.queue_unusable", file=home.queue_file, reason=exc
            )
            fail(problem, state.lang if state else default_lang(), as_json=as_json)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    "home_dir",
    type=click.Path(file_okay=False),
    default=None,
    callback=_home_option,
    help=HOME_HELP,
)
@click.option(
    "--lang",
    type=click.Choice(["pl", "en"], case_sensitive=False),
    default=None,
    help=LANG_HELP,
)
@click.option("-v", "--verbose", count=True, help="-v: INFO, -vv: DEBUG on stderr.")
@click.version_option(package_name="bpmnb")
@click.pass_context
def main(
    ctx: click.Context, home_dir: str | None, lang: str | None, verbose: int
) -> None:
    """bpmnb: set up and prove an outgoing mail account."""
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
    chosen: Lang = "en" if lang == "en" else ("pl" if lang == "pl" else default_lang())
    ctx.obj = CliContext(home=Home.resolve(home_dir), lang=chosen)
