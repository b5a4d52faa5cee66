"""Zone and region names of Google Cloud: a zone is `<region>-<letter>` (us-central1-a), a region is
`<geo>-<area><number>` (us-central1).

Source: Compute Engine "Regions and zones" (cloud.google.com/compute/docs/regions-zones): zone names are
the region name plus a one-letter suffix. AI zones (us-central1-ai1) keep the region prefix and a longer
suffix; `region_of` accepts them, `ZONE` (what a stack config may name) does not.
"""

from __future__ import annotations

import re

from aipipe_ops.gcp.tables import read_table, words

ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")  # group 1: the region
REGION = re.compile(r"^[a-z]+-[a-z]+\d+$")
_ANY_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z0-9]+$")


def region_of(location: str) -> str:
    """us-central1 from us-central1-a (a zone, AI zones such as us-central1-ai1 too) or us-central1."""
    match = _ANY_ZONE.match(location)
    return match.group(1) if match else location


def is_zone(location: str) -> bool:
    return region_of(location) != location


def _regions() -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    from aipipe_ops.gcp.tpus import TPU_ZONES  # the TPU zones name regions of their own (us-central2: TPU v4 only)

    rows = read_table("regions.csv")
    names = [row["region"] for row in rows]
    names += sorted({ZONE.match(z).group(1) for zones in TPU_ZONES.values() for z in zones if ZONE.match(z)}
                    - set(names))
    return tuple(names), {row["region"]: words(row["zones"]) for row in rows if row["zones"].strip()}


# Every region a stack may name: a location outside them is a typo (`mars-north1-a`), refused before any
# resource; a region Google adds later is one line in data/regions.csv.
GCP_REGIONS, REGION_ZONES = _regions()
