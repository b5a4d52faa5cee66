"""Generate docs/cli.md from the click command tree, so the reference cannot drift from the code.

`python -m aipipe_ops.cli_reference > docs/cli.md` (what `make docs` runs); tests/test_cli_reference.py fails
when the checked-in file differs from what this prints.
"""

from __future__ import annotations

import click

from aipipe_ops.cli import cli


def _walk(command: click.Command, ctx: click.Context, path: list[str]):
    """Yield (path, command, context) for the command and every subcommand, depth first, sorted by name."""
    yield path, command, ctx
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            yield from _walk(sub, _context(sub, name, ctx), path + [name])


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    # A fixed width keeps the generated file identical on every terminal.
    # The same help option names as the real CLI: click caches a command's help option on first use.
    return click.Context(command, info_name=name, parent=parent, terminal_width=100, max_content_width=100,
                         help_option_names=["-h", "--help"])


def _commands():
    return _walk(cli, _context(cli, "aipipe", None), [])


def render_reference() -> str:
    lines = [
        "# aipipe command reference",
        "",
        "Generated from `aipipe --help` by `make docs` (`python -m aipipe_ops.cli_reference`); do not edit by hand.",
        "",
    ]
    for path, command, ctx in _commands():
        title = " ".join(["aipipe", *path])
        lines += [f"{'#' * min(2 + len(path), 4)} `{title}`", "", "```text", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(lines)


def undocumented_commands() -> list[str]:
    """Commands or options without help text: each is a gap in the reference."""
    missing = []
    for path, command, _ctx in _commands():
        name = " ".join(["aipipe", *path])
        if not (command.help or command.short_help):
            missing.append(name)
        for param in command.params:
            if isinstance(param, click.Option) and not param.help and not param.hidden:
                missing.append(f"{name} {param.opts[0]}")
    return missing


if __name__ == "__main__":
    print(render_reference(), end="")
