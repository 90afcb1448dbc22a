"""The ``bpmnb`` command line.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid
settings. Every command accepts ``--home``; ``--json`` output uses the
settings' field names. Each area registers its commands from its own module.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass

import click

from bpmnb.home import Home
from bpmnb.i18n import Lang, default_lang

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
        return holder.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    "home_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="State directory (default: $BPMNB_HOME or the user data directory).",
)
@click.option(
    "--lang",
    type=click.Choice(["pl", "en"]),
    default=None,
    help="Language of messages (default: pl, or $BPMNB_LANG).",
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
