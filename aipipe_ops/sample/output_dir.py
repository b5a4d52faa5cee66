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

# What a sample takes on disk, measured on this generator (docs/sample-fleet.md sizes): NDJSON is most of it, with
# about 145 kB of billing rows per run and, per day, 5.3 MB for the cluster's own rows plus 0.32 MB per tenant;
# Parquet is about 3 % of that; the MLMD store about 15 kB per run. Within about 10 % from 20 to 2000 runs.
_JSONL_PER_RUN = 145_000
_JSONL_PER_DAY = 5_300_000
_JSONL_PER_TENANT_DAY = 320_000
_PARQUET_SHARE = 0.03
_STORE_PER_RUN = 15_000
# Room kept free on the disk after the sample is written.
_HEADROOM = 0.05


def estimate_bytes(runs: int, days: int, tenants: int, formats) -> int:
    """Roughly how many bytes a sample of this size writes."""
    billing = runs * _JSONL_PER_RUN + days * (_JSONL_PER_DAY + tenants * _JSONL_PER_TENANT_DAY)
    total = runs * _STORE_PER_RUN
    if "jsonl" in formats:
        total += billing
    if "parquet" in formats:
        total += int(billing * _PARQUET_SHARE)
    return int(total)


def human_bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} PB"


def check_room(out: Path, needed: int) -> None:
    """Refuse a sample that will not fit on the disk of `out` (the staging copy is written beside it)."""
    probe = out.resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    limit = int(usage.free * (1 - _HEADROOM))
    if needed > limit:
        raise InputError(f"--out {out}: the sample would take about {human_bytes(needed)}, more than the "
                         f"{human_bytes(limit)} free on its disk (less {_HEADROOM:.0%} headroom); choose fewer "
                         f"--runs/--days/--tenants, --billing-format parquet, or pass --no-size-check")


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
