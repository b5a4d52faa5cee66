"""The `aipipe` command: thin. It parses options, calls the engine modules and prints through output.py.

Each area keeps its commands in its own module (listed in COMMAND_MODULES); a module exposes COMMANDS, a list
of click commands or groups. Every failure is one line on stderr: an AipipeError or a usage error prints
`aipipe: error: ...` and exits 2 (the traceback only under --debug), Ctrl-C prints `aipipe: aborted` and exits
130. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import signal
import sys


def _abort_while_starting(signum, frame) -> None:
    # Ctrl-C while the commands are still being imported: nothing has started, so end at once with the one line.
    sys.stderr.write("aipipe: aborted\n")
    sys.stderr.flush()
    os._exit(130)


# Only in the `aipipe` process itself (the console script or `python -m aipipe_ops`), never in a host that imports
# this module (pytest, the docs generator): main() installs the handling for the rest of the run.
if os.path.basename(sys.argv[0] if sys.argv else "") in ("aipipe", "__main__.py"):
    try:
        signal.signal(signal.SIGINT, _abort_while_starting)
    except ValueError:  # not the main thread
        pass

import errno
import importlib
import threading
import traceback
import warnings

import click

from aipipe_ops import __version__
from aipipe_ops.cli_context import AppContext
from aipipe_ops.errors import AipipeError
from aipipe_ops.workspace import WORKSPACE_ENV, interrupt_open_workspaces

COMMAND_MODULES = [
    "aipipe_ops.workspace_commands",
    "aipipe_ops.reports.commands",
    "aipipe_ops.pricing.commands",
    "aipipe_ops.pricing.policy_commands",
    "aipipe_ops.lineage.commands",
    "aipipe_ops.billing.commands",
    "aipipe_ops.sample.commands",
]

# google-api-core warns at import (BigQuery, Cloud Storage, Catalog clients) about the Python version's end of life:
# not actionable for a user of the command, and it would print before the line that matters.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.api_core\._python_version_support")

ABORTED_EXIT = 130
# After Ctrl-C the command has this long to unwind (roll back, remove its staging files) before the process ends
# anyway: a library that swallows KeyboardInterrupt (an asyncio loop, a gRPC wait) must not keep it running.
ABORT_GRACE_SECONDS = 3.0


class _Interrupted(BaseException):
    """Ctrl-C, carried past click's main(), which would answer a KeyboardInterrupt with a blank line on stderr."""


class _AipipeGroup(click.Group):
    # click's main() writes an empty line on KeyboardInterrupt (to end the terminal's `^C` echo) before raising Abort:
    # the interrupt leaves as _Interrupted instead, and report_abort writes that line only on a terminal.
    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise _Interrupted() from exc

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _Interrupted() from exc


@click.group(cls=_AipipeGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    if workspace_option is not None and not workspace_option.strip():
        raise click.BadParameter("expected a file path, got an empty value", param_hint="'--workspace'")
    ctx.obj = AppContext(workspace_option=workspace_option, debug=debug)


def _register_commands() -> None:
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()


# -- Ctrl-C ---------------------------------------------------------------------------------------------------
class _Interrupts:
    """SIGINT, seen at once by a watcher thread (the main thread may be inside DuckDB's C code for seconds).

    The watcher interrupts every open workspace query, so the main thread gets its exception at once, and ends the
    process after ABORT_GRACE_SECONDS if the command has not unwound by then."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.reported = threading.Lock()
        self._done = True
        self._write_fd: int | None = None
        self._previous: tuple | None = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            if self._write_fd is None:
                read_fd, self._write_fd = os.pipe()
                os.set_blocking(self._write_fd, False)
                threading.Thread(target=self._watch, args=(read_fd,), name="aipipe-sigint", daemon=True).start()
            previous_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
            # A handler of our own (not default_int_handler) also keeps asyncio.run from installing one that only
            # cancels its main task and leaves the loop running.
            previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
        except (ValueError, OSError):
            return
        self._previous = (previous_fd, previous_handler)
        self._done = False

    def finish(self) -> None:
        """The command returned: no forced exit any more; give the process its former SIGINT handling back."""
        self._done = True
        if self._previous is not None and threading.current_thread() is threading.main_thread():
            previous_fd, previous_handler = self._previous
            self._previous = None
            try:
                signal.signal(signal.SIGINT, previous_handler)
                signal.set_wakeup_fd(previous_fd)
            except (ValueError, OSError, TypeError):
                pass

    def _on_sigint(self, signum, frame) -> None:
        self.received.set()
        raise KeyboardInterrupt

    def _watch(self, read_fd: int) -> None:
        while True:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            if signal.SIGINT not in data or self._done:
                continue
            self.received.set()
            interrupt_open_workspaces()
            timer = threading.Timer(ABORT_GRACE_SECONDS, self.force_exit)
            timer.daemon = True
            timer.start()

    def report_abort(self) -> int:
        """Print the one line (once) and return the exit status."""
        if self.reported.acquire(blocking=False):
            # The process is ending: what the interrupted work leaves to the garbage collector (coroutines, event
            # loops of a library) may complain while it goes, and none of that is the user's business.
            sys.unraisablehook = lambda unraisable: None
            try:
                sys.stdout.flush()
            except Exception:
                pass
            try:
                on_terminal = sys.stderr.isatty()
            except (AttributeError, ValueError):
                on_terminal = False
            # On a terminal the line starts after the `^C` the terminal echoed.
            click.echo("\naipipe: aborted" if on_terminal else "aipipe: aborted", err=True)
        return ABORTED_EXIT

    def force_exit(self) -> None:
        if self._done:
            return
        self.report_abort()
        try:
            sys.stderr.flush()
        finally:
            os._exit(ABORTED_EXIT)



_INTERRUPTS = _Interrupts()


def _caused_by_interrupt(exc: BaseException) -> bool:
    import duckdb

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (KeyboardInterrupt, duckdb.InterruptException)):
            return True
        if isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# -- errors ---------------------------------------------------------------------------------------------------
def _command_path(exc: click.UsageError) -> str:
    ctx = exc.ctx
    return ctx.command_path if ctx is not None and ctx.command_path else "aipipe"


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _usage_line(exc: click.UsageError) -> str:
    message = _one_line(exc.format_message())
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        message = message[0].lower() + message[1:]   # "Invalid value for ..." reads on after "error: "
    return f"aipipe: error: {message} (see `{_command_path(exc)} --help`)"


def _os_error_line(exc: OSError) -> str:
    path = exc.filename
    reason = exc.strerror or _one_line(str(exc))
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and path is not None:
        return f"aipipe: error: cannot write {path}: {reason}"
    if path is not None:
        return f"aipipe: error: {path}: {reason}"
    return f"aipipe: error: {reason}"


def _duckdb_error_line(exc: Exception) -> str:
    # DuckDB's messages start with the error class ("IO Error: ...") and may hold a hint on further lines.
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"aipipe: error: workspace: {_one_line(text)}"


def main(argv: list[str] | None = None) -> int:
    args = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in args
    _INTERRUPTS.received.clear()
    _INTERRUPTS.reported = threading.Lock()
    _INTERRUPTS.install()
    try:
        return _run(args, debug)
    finally:
        _INTERRUPTS.finish()


def _run(args: list[str], debug: bool) -> int:
    import duckdb

    try:
        cli.main(args=args, prog_name="aipipe", standalone_mode=False)
    except click.exceptions.Abort:
        return _INTERRUPTS.report_abort()
    except (KeyboardInterrupt, _Interrupted):
        return _INTERRUPTS.report_abort()
    except click.exceptions.NoArgsIsHelpError as exc:
        # `aipipe lineage` alone: what the group offers is the useful answer; still not a success for a script.
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        return 2
    except click.UsageError as exc:
        if debug:
            traceback.print_exc()
        click.echo(_usage_line(exc), err=True)
        return 2
    except click.ClickException as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"aipipe: error: {_one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except BrokenPipeError:
        _silence_broken_stdout()
        return 0
    except BaseException as exc:  # noqa: BLE001 - sorted below; a bug re-raises with its traceback
        if _INTERRUPTS.received.is_set() or _caused_by_interrupt(exc):
            return _INTERRUPTS.report_abort()
        if isinstance(exc, AipipeError):
            if debug:
                traceback.print_exc()
            click.echo(f"aipipe: error: {_one_line(str(exc))}", err=True)
            return exc.exit_code
        if isinstance(exc, OSError) and not debug:
            click.echo(_os_error_line(exc), err=True)
            return 2
        if isinstance(exc, (duckdb.IOException, duckdb.TransactionException, duckdb.PermissionException)) \
                and not debug:
            click.echo(_duckdb_error_line(exc), err=True)
            return 2
        raise
    return 0


def _silence_broken_stdout() -> None:
    # The reader went away (`aipipe ... | head`): send the rest of stdout nowhere, so the interpreter's final
    # flush does not print "Exception ignored ... BrokenPipeError".
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
