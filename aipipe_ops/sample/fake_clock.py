"""Gives ml-metadata the simulated time of each write, through libfaketime.

MLMD sets every node's create_time/last_update_time from the wall clock (the fields are output-only: a value
passed in is ignored). A sample store whose times all read "today" would be useless for what the times are read
for (run windows, step lifetimes against billing hours). So the store writer runs in a child process with
libfaketime preloaded, and before each call writes the call's simulated time into libfaketime's timestamp file
(FAKETIME_NO_CACHE re-reads it on every clock read). The file lives in a tmpfs when one exists: it is rewritten
tens of thousands of times.

Without libfaketime (Debian/Ubuntu package `libfaketime`) the store is written with the real clock and the
fleet summary says so (`mlmd_clock: "wall"`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

LIBRARY_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)
LIBRARY_ENV = "AIPIPE_LIBFAKETIME"  # path override; "" disables the fake clock


def find_libfaketime() -> str | None:
    override = os.environ.get(LIBRARY_ENV)
    if override is not None:
        return override if override and Path(override).exists() else None
    for path in LIBRARY_CANDIDATES:
        if Path(path).exists():
            return path
    return None


def scratch_dir() -> Path | None:
    """A RAM-backed directory for the store and the timestamp file while they are written, if there is one."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return None


def child_environment(library: str, timestamp_file: Path, first_time: int) -> dict[str, str]:
    FakeClock(str(timestamp_file)).set(first_time)
    env = dict(os.environ)
    env.update({
        "LD_PRELOAD": library + (":" + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else ""),
        "FAKETIME_TIMESTAMP_FILE": str(timestamp_file),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "TZ": "UTC",  # libfaketime reads the absolute timestamp in local time
    })
    return env


class FakeClock:
    """Sets the frozen time libfaketime reports (absolute 'YYYY-MM-DD HH:MM:SS', no ticking)."""

    def __init__(self, timestamp_file: str | None):
        self.path = timestamp_file
        self.current: int | None = None

    @property
    def active(self) -> bool:
        return self.path is not None

    def set(self, epoch_seconds: int) -> None:
        if self.path is None or epoch_seconds == self.current:
            return
        text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch_seconds))
        with open(self.path, "w") as handle:
            handle.write(text + "\n")
        self.current = epoch_seconds
