"""The options naming what a pricing command reads, shared by `aipipe estimate` and `aipipe policy check`:
--stack NAME or --plan FILE, and --project-dir. One definition, so both commands take and explain them alike."""

from __future__ import annotations

from pathlib import Path

import click

from aipipe_ops.errors import ConfigError


def target_options(func):
    """Add --stack, --plan and --project-dir (parameters `stack`, `plan_file`, `project_dir`)."""
    func = click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                        show_default=True,
                        help="The Pulumi project folder (holding Pulumi.yaml, Pulumi.<stack>.yaml and "
                             "stacks/policy).")(func)
    func = click.option("--plan", "plan_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="A plan file instead of a stack: `pulumi preview --json` or `pulumi stack export` "
                             "output.")(func)
    func = click.option("--stack", "stack", metavar="NAME",
                        help="The stack NAME: its Pulumi.NAME.yaml in the project folder, run offline under "
                             "Pulumi's mocks (no CLI, no cloud). A path to a Pulumi.<name>.yaml file works too.")(func)
    return func


def target_spec(stack: str | None, plan_file: Path | None) -> str:
    """The one target given, as load_plan takes it; a usage error unless exactly one was given."""
    if bool(stack) == bool(plan_file):
        raise ConfigError("give exactly one of --stack NAME (a stack of the project folder) or --plan FILE "
                          "(`pulumi preview --json` or `pulumi stack export` output)")
    return str(plan_file) if plan_file else stack
