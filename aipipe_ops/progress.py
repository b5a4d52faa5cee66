"""Progress bars for long work (rich), quiet when stderr is not a terminal or when asked."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class _Quiet:
    def add_task(self, *args, **kwargs) -> int:
        return 0

    def update(self, *args, **kwargs) -> None:
        pass

    def advance(self, *args, **kwargs) -> None:
        pass


def progress_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("AIPIPE_NO_PROGRESS")


@contextlib.contextmanager
def progress_bar(enabled: bool | None = None) -> Iterator[Progress | _Quiet]:
    """Yield a rich Progress on stderr (add_task/update/advance), or a silent stand-in."""
    if enabled is None:
        enabled = progress_enabled()
    if not enabled:
        yield _Quiet()
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        yield progress
