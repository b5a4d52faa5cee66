"""`aipipe policy check`: the CrossGuard guardrails of stacks/policy over the offline plan, without the Pulumi CLI.

The pack and the stack's program are loaded from the project folder when the command runs (never at import), so
an installed aipipe without a checkout still starts; `policy check` then says the folder has no pack.
"""

from __future__ import annotations

from pathlib import Path

import click

from aipipe_ops.errors import BudgetExceededError
from aipipe_ops.output import plural
from aipipe_ops.pricing.target_options import target_options, target_spec


class PolicyViolationError(BudgetExceededError):
    """A mandatory policy failed (exit 1, like `pulumi preview --policy-pack` refusing the update)."""


@click.group("policy")
def policy() -> None:
    """The stack's guardrails (the CrossGuard pack in stacks/policy), run offline."""


@policy.command("check")
@target_options
@click.option("--policy-pack-config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Policy configuration (JSON keyed by policy name), as `pulumi preview --policy-pack-config`.")
@click.option("--format", "fmt", type=click.Choice(("table", "json", "markdown")), default="table",
              show_default=True, help="table for people, json for machines, markdown for a pull-request comment.")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file instead of standard output (written atomically).")
@click.option("--no-cache", is_flag=True, help="Run the stack's program even when an identical run is cached.")
def check(stack: str | None, plan_file: Path | None, project_dir: Path, config_file: Path | None, fmt: str,
          output_path: Path | None, no_cache: bool) -> None:
    """Run every policy of the pack over the stack's offline plan and print the violations `pulumi preview
    --policy-pack stacks/policy` would; exit 1 when a mandatory policy is violated."""
    from aipipe_ops.pricing.policy_check import check_plan, read_policy_config, render_report, stack_file_config
    from aipipe_ops.pricing.targets import load_plan

    spec = target_spec(stack, plan_file)
    project_dir = project_dir.resolve()
    plan = load_plan(spec, project_dir, use_cache=not no_cache)
    report = check_plan(plan, project_dir, read_policy_config(config_file), stack_file_config(spec))
    text = render_report(report, fmt)
    if output_path:
        from aipipe_ops.atomic import write_text_atomic

        write_text_atomic(output_path, text + "\n")
    else:
        click.echo(text)
    if report.mandatory:
        names = sorted({v.policy for v in report.mandatory})
        raise PolicyViolationError(f"{plural(len(report.mandatory), 'mandatory policy violation')}: "
                                   f"{', '.join(names)}")


COMMANDS = [policy]
