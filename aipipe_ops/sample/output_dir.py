"""The sample's output directory: built beside its final place, then renamed into it.

A reader never sees half a sample: everything is written into a sibling `.<name>.tmp-<pid>` directory, which
replaces DIR in two renames at the end. DIR may be missing, empty, or a previous sample (it has fleet.json);
anything else is refused, so a typo cannot wipe a directory of real data.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from aipipe_ops.errors import InputError

MARKER = "fleet.json"


def check_target(out: Path, force: bool = False) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    if force:
        if out.resolve() in (Path("/").resolve(), Path.home().resolve(), Path.cwd().resolve()):
            raise InputError(f"--out {out}: refusing to replace the root, home or current directory")
        return
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise InputError(f"--out {out}: directory is not empty and holds no {MARKER}, so it is not a previous "
                         f"sample; refusing to overwrite it (choose an empty or new directory, or pass --force)")


def staging_dir(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def publish(tmp: Path, out: Path, force: bool = False) -> None:
    check_target(out, force)
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def discard(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
