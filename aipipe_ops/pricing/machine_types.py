"""Which Cloud Billing Catalog SKUs price a machine series' cores and RAM: the description prefix of each
series' "Core" and "Ram" SKUs ("N2 Instance" -> "N2 Instance Core running in Americas").

The machine types themselves (vCPUs, memory, bundled Local SSD, the series each is billed under) are facts
about Google Cloud: aipipe_ops/gcp/machine_families.py. This module keeps only how the Catalog names them
(Catalog API SKU descriptions, see /work/shared/reference/prices.md s10).

Limitations: C2/C3/C4/N4/M-series/T2 series and custom machine types ("Custom Instance Core/Ram") are
not listed, so not priced.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SkuFamily:
    """The Catalog description prefix of a family's core and RAM SKUs ("N2 Instance" -> "N2 Instance Core
    running in Americas")."""

    key: str  # the series as aipipe_ops.gcp.machine_families names it ("N2", "A3 High")
    core_ram_prefix: str


SKU_FAMILIES: dict[str, SkuFamily] = {
    family.key: family
    for family in (
        SkuFamily("N1", "N1 Predefined Instance"),
        SkuFamily("N2", "N2 Instance"),
        SkuFamily("E2", "E2 Instance"),
        SkuFamily("G2", "G2 Instance"),
        SkuFamily("A2", "A2 Instance"),
        SkuFamily("A3 High", "A3 Instance"),
        SkuFamily("A3 Mega", "A3Plus Instance"),
        SkuFamily("A3 Ultra", "A3 Ultra Instance"),
    )
}
