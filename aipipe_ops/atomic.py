"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# Errors of writing a file that carry no file name (the write itself, the final flush): the target is the file.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}


def _temporary_name(target: Path) -> tuple[str, str]:
    return f".{target.name}.", ".tmp"


def _is_temporary(target: Path, filename) -> bool:
    if filename is None:
        return False
    path = Path(os.fsdecode(filename))
    prefix, suffix = _temporary_name(target)
    return path.parent == target.parent and path.name.startswith(prefix) and path.name.endswith(suffix)


def _about_target(target: Path, exc: OSError) -> OSError:
    """The same error about `target`, the file the caller asked for: the temporary name means nothing to a user,
    and the file is gone once the write has failed."""
    renamed = OSError(exc.errno, exc.strerror or str(exc), str(target))  # OSError() picks the subclass by errno
    renamed.__cause__ = exc
    return renamed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` only if the block succeeds.

    An OSError that names the temporary file (making it, writing it, the final rename) is raised naming `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path: Path | None = None
    prefix, suffix = _temporary_name(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would, or keep the target's.
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp_path, mode)
        yield tmp_path
        os.replace(tmp_path, target)
    except OSError as exc:
        if not _is_temporary(target, exc.filename):
            raise
        raise _about_target(target, exc) from exc
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside `target` for writing; it replaces `target` when the block succeeds.

    A failed write (a full disk, an I/O error) is raised naming `target`."""
    with atomic_path(target) as tmp:
        with open(tmp, mode, **kwargs) as handle:
            try:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as exc:
                if exc.filename is None and exc.errno in _WRITE_ERRNOS:
                    raise _about_target(Path(target), exc) from exc
                raise


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    with atomic_open(target, "w", encoding="utf-8") as handle:
        handle.write(text)
