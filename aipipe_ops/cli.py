"""The `aipipe` command: thin. It parses options, calls the engine modules and prints through output.py.

Each area keeps its commands in its own module (listed in COMMAND_MODULES); a module exposes COMMANDS, a list
of click commands or groups. An AipipeError becomes one line on stderr and exit status 2 (the traceback only
under --debug); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from aipipe_ops import __version__
from aipipe_ops.cli_context import AppContext
from aipipe_ops.errors import AipipeError
from aipipe_ops.workspace import WORKSPACE_ENV

COMMAND_MODULES = [
    "aipipe_ops.workspace_commands",
    "aipipe_ops.reports.commands",
    "aipipe_ops.pricing.commands",
    "aipipe_ops.lineage.commands",
    "aipipe_ops.billing.commands",
    "aipipe_ops.sample.commands",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--workspace",
    "workspace_option",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"DuckDB workspace file [default: ${WORKSPACE_ENV} or .aipipe/workspace.duckdb].",
)
@click.option("--debug", is_flag=True, help="Show the full traceback of errors.")
@click.version_option(__version__, prog_name="aipipe")
@click.pass_context
def cli(ctx: click.Context, workspace_option: str | None, debug: bool) -> None:
    """aipipe: cost-aware provisioning and audit of Kubeflow Pipelines and TFX on Google Cloud.

    Price a stack before `pulumi up`, read MLMD lineage and Cloud Billing exports, attribute every cent to
    pipelines, runs, steps and models, audit the lineage, and write reports.
    """
    ctx.obj = AppContext(workspace_option=workspace_option, debug=debug)


def _register_commands() -> None:
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="aipipe", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aipipe: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except AipipeError as exc:
        if debug:
            traceback.print_exc()
        message = str(exc).replace("\n", " ")
        click.echo(f"aipipe: error: {message}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
