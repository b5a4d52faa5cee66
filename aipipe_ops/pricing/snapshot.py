"""The shipped price book: every SKU the stacks can use, in three regions, on-demand and spot, with the
public source and date of each price.

This module is the reviewable form of `data/price_book.json` (Cloud Billing Catalog JSON) and
`data/sources.json` (source, date and derivation per skuId): `python -m aipipe_ops.pricing.snapshot`
writes both, and a test fails when the shipped files differ from what it builds. Every number below is
copied from /work/shared/reference/prices.md (the section is named beside it) or derived from numbers
there by the formula written next to it; derived prices are rounded to nanos (the Catalog's precision).

SKU ids: where a public source gives the real id it is used (sources say which); otherwise the id is a
placeholder starting `AIPIPE-`, never mistaken for a real one. `aipipe prices refresh` replaces the
whole book with the Catalog's own SKUs.

Known gaps (no price in a citable source; an estimate that needs one says so on the line):
- T4 in us-east5; spot A2 hosts and A100 GPUs in us-east5 and europe-west4; H200 / A3 Ultra outside
  us-central1; A3 Mega; Hyperdisk Balanced; TPU v4 and CUD prices.
- Spot prices are the snapshot's: Google changes them up to once a day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from aipipe_ops.pricing.catalog_skus import COMPUTE_ENGINE, KUBERNETES_ENGINE, SERVICE_NAMES
from aipipe_ops.pricing.lines import HOURS_PER_MONTH
from aipipe_ops.pricing.machine_types import SKU_FAMILIES
from aipipe_ops.pricing.price_book import SHIPPED_PRICE_BOOK, SHIPPED_SOURCES

SNAPSHOT_DATE = "2026-07-30"
REFERENCE = "/work/shared/reference/prices.md"

NANO = Decimal("0.000000001")

SOURCES = {
    "CN": "Cyclenerd/google-cloud-pricing-cost-calculator pricing.yml (rev fd66b26, generated 2026-07-30), "
          "machine-type prices built from Cloud Billing Catalog SKUs",
    "SP": "skypilot-org/skypilot-catalog catalogs/v8/gcp/vms.csv (rev 006059e0; snapshot date not visible)",
    "OC": "opencost/opencost pkg/cloud/gcp/test/skus.json (Catalog API SKU objects, effectiveTime 2023-03-24)",
    "HAIL": "hail-is/hail batch/batch/cloud/gcp/driver/pricing.py (G2 and L4 SKU ids)",
    "NISE": "project-koku/nise nise/generators/gcp/compute_engine_generator.py (SKU ids)",
    "G-SPOT": "cloud.google.com/spot-vms/pricing (archived copy; us-central1 per the CN cross-check below)",
    "G-GKE": "cloud.google.com/kubernetes-engine/pricing (archived copies)",
    "UNATTR": "public code whose repository could not be established, 'read from the Cloud Billing Catalog "
              "on 2026-09-23' (UNVERIFIED)",
}
SOURCE_DATES = {"CN": "2026-07-30", "SP": "undated", "OC": "2023-03-24", "G-SPOT": "undated", "G-GKE": "undated",
                "UNATTR": "2026-09-23", "HAIL": "undated", "NISE": "undated"}

REGIONS = ("us-central1", "us-east5", "europe-west4")
LOCATION = {"us-central1": "Americas", "us-east5": "Columbus", "europe-west4": "Netherlands"}
REGION_CODE = {"us-central1": "USC1", "us-east5": "USE5", "europe-west4": "EUW4"}

UNITS = {
    # usageUnit: (usageUnitDescription, baseUnit, baseUnitDescription, baseUnitConversionFactor)
    "h": ("hour", "s", "second", 3600),
    "GiBy.h": ("gibibyte hour", "By.s", "byte second", 3865470566400),
    # The Catalog's month is 31 days (2^30 bytes x 2,678,400 s); estimates use Google's 730-hour month.
    "GiBy.mo": ("gibibyte month", "By.s", "byte second", 2.8759101014016e15),
}


def nanos(value: Decimal | str) -> Decimal:
    return Decimal(value).quantize(NANO, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class SkuFact:
    sku_id: str
    description: str
    service_id: str
    resource_family: str
    resource_group: str
    usage_type: str
    regions: tuple[str, ...]
    usage_unit: str
    price: Decimal
    source: str  # keys of SOURCES joined by "+", the price's origin first
    derivation: str  # how the number was obtained (prices.md section, formula)
    date: str = SNAPSHOT_DATE


FACTS: list[SkuFact] = []


def _add(sku_id: str | None, description: str, *, region: str, group: str, usage_unit: str, price,
         source: str, derivation: str, spot: bool = False, family: str = "Compute",
         service: str = COMPUTE_ENGINE, usage_type: str | None = None, date: str | None = None) -> None:
    if sku_id is None:
        code = "".join(ch if ch.isalnum() else "-" for ch in description.upper())
        code = "-".join(part for part in code.split("-") if part and part not in {"RUNNING", "IN", "VMS"})
        sku_id = f"AIPIPE-{code}"
    FACTS.append(SkuFact(
        sku_id=sku_id, description=description, service_id=service, resource_family=family,
        resource_group=group, usage_type=usage_type or ("Preemptible" if spot else "OnDemand"),
        regions=(region,), usage_unit=usage_unit, price=nanos(price), source=source, derivation=derivation,
        date=date or SOURCE_DATES.get(source.split("+")[0], SNAPSHOT_DATE)))


# -- Cores and RAM (prices.md section 2) --------------------------------------------------------------

# family: {region: (on-demand core, on-demand RAM, spot core, spot RAM)}, [CN] 2026-07-30, per vCPU-hour / GiB-hour.
CORE_RAM = {
    "N1": {"us-central1": ("0.031611", "0.004237", "0.011150", "0.001494"),
           "us-east5": ("0.031611", "0.004237", "0.005140", "0.000689"),
           "europe-west4": ("0.034802", "0.004664", "0.020220", "0.002710")},
    "N2": {"us-central1": ("0.031611", "0.004237", "0.014990", "0.002010"),
           "us-east5": ("0.031611", "0.004237", "0.014960", "0.002004"),
           "europe-west4": ("0.034802", "0.004664", "0.012650", "0.001696")},
    # E2 on-demand at the SKU's own precision ([UNATTR] 0.02181159 / 0.00292353): it reproduces [CN]'s
    # e2-standard-4 0.13402 where the 6-digit rates (0.021812 / 0.002924) give 0.13403.
    "E2": {"us-central1": ("0.02181159", "0.00292353", "0.013090", "0.001754"),
           "us-east5": ("0.02181159", "0.00292353", "0.007570", "0.001014"),
           "europe-west4": ("0.024013", "0.003218", "0.011480", "0.001538")},
}
CORE_RAM_IDS = {
    ("N1", "us-central1", "core"): ("2E27-4F75-95CD", "UNATTR"), ("N1", "us-central1", "ram"): ("6C71-E844-38BC", "UNATTR"),
    ("N2", "us-central1", "core"): ("BB77-5FDA-69D9", "UNATTR"), ("N2", "us-central1", "ram"): ("5B01-D157-A097", "UNATTR"),
    ("E2", "us-central1", "core"): ("CF4E-A0C7-E3BF", "OC"), ("E2", "us-central1", "ram"): ("F449-33EC-A5EF", "OC"),
}
CORE_RAM_GROUP = {"N1": ("N1Standard", "N1Standard"), "N2": ("CPU", "RAM"), "E2": ("CPU", "RAM")}


def _core_ram(family: str, region: str, core: Decimal, ram: Decimal, *, spot: bool, source: str,
              derivation: str, ids: tuple[str | None, str | None] = (None, None),
              location: str | None = None, groups: tuple[str, str] = ("CPU", "RAM")) -> None:
    where = location or LOCATION[region]
    prefix = SKU_FAMILIES[family].core_ram_prefix
    spot_prefix = "Spot Preemptible " if spot else ""
    _add(ids[0], f"{spot_prefix}{prefix} Core running in {where}", region=region, group=groups[0],
         usage_unit="h", price=core, source=source, derivation=derivation, spot=spot)
    _add(ids[1], f"{spot_prefix}{prefix} Ram running in {where}", region=region, group=groups[1],
         usage_unit="GiBy.h", price=ram, source=source, derivation=derivation, spot=spot)


for _family, _regions in CORE_RAM.items():
    for _region, (_odc, _odr, _spc, _spr) in _regions.items():
        _ids = tuple(CORE_RAM_IDS.get((_family, _region, part), (None, None))[0] for part in ("core", "ram"))
        _id_note = " SKU ids per [UNATTR]/[OC]/[NISE]." if any(_ids) else ""
        _core_ram(_family, _region, Decimal(_odc), Decimal(_odr), spot=False, source="CN",
                  derivation=f"prices.md s2: {_family} {_region} on-demand vCPU/GiB rates, solved from [CN] "
                             f"standard/highmem machine pairs.{_id_note}", ids=_ids, groups=CORE_RAM_GROUP[_family])
        _core_ram(_family, _region, Decimal(_spc), Decimal(_spr), spot=True, source="CN",
                  derivation=f"prices.md s2: {_family} {_region} spot vCPU/GiB rates from [CN] hour_spot.",
                  groups=CORE_RAM_GROUP[_family])

# G2 (prices.md s2): G2 always has 4 GiB per vCPU, so machine prices fix only the price of a 4 vCPU + 16 GiB
# block. us-central1 on-demand has SKU values ([UNATTR], ids [HAIL]); elsewhere the block is split in the
# same core:RAM proportion (an assumption that cannot change any G2 machine's price).
G2_CORE_USC1 = Decimal("0.024988212")
G2_RAM_USC1 = Decimal("0.002927448")
G2_BLOCK_USC1 = 4 * G2_CORE_USC1 + 16 * G2_RAM_USC1  # 0.146792016
G2_BLOCKS = {  # region: (on-demand block, spot block), [CN]-derived (g2-standard-4 minus one L4)
    "us-central1": ("0.146792", "0.082536"),
    "us-east5": ("0.165332", "0.016520"),
    "europe-west4": ("0.154286", "0.080960"),
}
G2_IDS = {("us-central1", False): ("D18E-3563-415F", "F0A4-E3D3-33BD"),
          ("us-central1", True): ("59A6-9C49-BDDB", "BF80-650A-78E6"),
          ("us-east5", False): ("A312-C1EC-7F1A", "AD5C-91E0-93B5"),
          ("us-east5", True): ("B56F-7169-FA2D", "3E11-DA70-84B2")}
G2_LOCATION = {"us-central1": "Iowa"}  # [HAIL] names the us-central1 G2/L4 SKUs "... running in Iowa"


def g2_split(block: Decimal) -> tuple[Decimal, Decimal]:
    """Core and RAM rates for a 4 vCPU + 16 GiB block price, in us-central1's on-demand proportion."""
    return nanos(block * G2_CORE_USC1 / G2_BLOCK_USC1), nanos(block * G2_RAM_USC1 / G2_BLOCK_USC1)


for _region, (_od_block, _spot_block) in G2_BLOCKS.items():
    for _spot, _block in ((False, Decimal(_od_block)), (True, Decimal(_spot_block))):
        if _region == "us-central1" and not _spot:
            _core, _ram = G2_CORE_USC1, G2_RAM_USC1
            _how = "prices.md s2/s10: G2 us-central1 SKU rates ([UNATTR] 2026-09-23, ids [HAIL]); 4 x core + 16 x RAM = 0.146792 = [CN] block."
            _source = "UNATTR+HAIL+CN"
        else:
            _core, _ram = g2_split(_block)
            _how = (f"prices.md s2: [CN] G2 {'spot ' if _spot else ''}block (4 vCPU + 16 GiB) {_block} $/h, split "
                    f"in the us-central1 on-demand core:RAM proportion (assumption; machine totals exact).")
            _source = "CN"
            if _region == "us-east5" and _spot:
                _how += " [CN] value looks anomalous (10% of on-demand): UNVERIFIED."
        _core_ram("G2", _region, _core, _ram, spot=_spot, source=_source, derivation=_how,
                  ids=G2_IDS.get((_region, _spot), (None, None)), location=G2_LOCATION.get(_region))

# A2 host (prices.md s2, s10): on-demand = N1 rates ([OC] SKUs in us-central1); us-east5 equals us-central1
# ([CN] a2-highgpu-1g is 3.67339 in both). Spot only in us-central1, from [G-SPOT] A2 rates, which with the
# derived A100 spot rate below reproduce [CN] a2-highgpu-8g spot 15.42416 exactly.
A2_OD = {"us-central1": ("0.031611", "0.004237"), "us-east5": ("0.031611", "0.004237"),
         "europe-west4": ("0.034802", "0.004664")}
A2_SPOT_USC1 = (Decimal("0.01264"), Decimal("0.001695"))
for _region, (_c, _r) in A2_OD.items():
    _ids = ("2922-40C5-B19F", "2390-DCAF-DA38") if _region == "us-central1" else (None, None)
    _core_ram("A2", _region, Decimal(_c), Decimal(_r), spot=False,
              source="OC+CN" if _region == "us-central1" else "CN",
              derivation=f"prices.md s2/s3: A2 host {_region} on-demand; reproduces [CN] a2-highgpu-1g with the A100 rate.",
              ids=_ids)
_core_ram("A2", "us-central1", *A2_SPOT_USC1, spot=True, source="G-SPOT+CN",
          derivation="prices.md s2: [G-SPOT] A2 spot vCPU 0.01264 / GiB 0.001695; with the A100 spot rate below "
                     "it reproduces [CN] a2-highgpu-8g spot 15.42416 (us-central1).")

# A3 High host (prices.md s2): [SP] gives the host price of a3-highgpu-8g (208 vCPU + 1872 GiB); every A3 High
# type has 9 GiB per vCPU, so the split is free: it follows [G-SPOT]'s A3-HIGH spot ratio 0.000888 : 0.0102.
A3_RAM_PER_CORE = Decimal("0.000888") / Decimal("0.0102")
A3_HOSTS = {  # region: (on-demand host, spot host) for 208 vCPU + 1872 GiB, [SP]
    "us-central1": ("9.46006", "2.88933"),
    "us-east5": ("10.65487", "2.32627"),
    "europe-west4": ("9.93306", "2.27469"),
}


def a3_split(host: Decimal, vcpus: int = 208, gib: int = 1872) -> tuple[Decimal, Decimal]:
    core = host / (vcpus + gib * A3_RAM_PER_CORE)
    return nanos(core), nanos(core * A3_RAM_PER_CORE)


for _region, (_od, _sp) in A3_HOSTS.items():
    for _spot, _host in ((False, Decimal(_od)), (True, Decimal(_sp))):
        _c, _r = a3_split(_host)
        _core_ram("A3 High", _region, _c, _r, spot=_spot, source="SP+G-SPOT",
                  derivation=f"prices.md s2: [SP] a3-highgpu-8g {'spot ' if _spot else ''}host {_host} $/h for 208 vCPU + "
                             "1872 GiB, split in [G-SPOT]'s A3-HIGH ratio (assumption; A3 High totals exact).")

# A3 Ultra host, us-central1 only (prices.md s2; [SP] UNVERIFIED date): 224 vCPU + 2952 GiB, same split rule.
for _spot, _host in ((False, Decimal("12.26600")), (True, Decimal("3.74713"))):
    _c, _r = a3_split(_host, 224, 2952)
    _core_ram("A3 Ultra", "us-central1", _c, _r, spot=_spot, source="SP+G-SPOT",
              derivation=f"prices.md s2: [SP] a3-ultragpu-8g {'spot ' if _spot else ''}host {_host} $/h (UNVERIFIED "
                         "recency), split in [G-SPOT]'s A3-HIGH ratio (assumption).")

# -- Local SSD (prices.md s6), needed for the Local SSD bundled with A2 Ultra and A3 -------------------------

LOCAL_SSD = {"us-central1": ("0.08", "0.0428"), "us-east5": ("0.08", "0.048"), "europe-west4": ("0.088", "0.0494")}
for _region, (_od, _sp) in LOCAL_SSD.items():
    _add(None, f"SSD backed Local Storage in {LOCATION[_region]}", region=_region, group="LocalSSD",
         usage_unit="GiBy.mo", price=_od, family="Storage", source="CN",
         derivation=f"prices.md s6: Local SSD on-demand {_region}, $/GiB-month.")
    _add(None, f"SSD backed Local Storage attached to Spot Preemptible VMs in {LOCATION[_region]}", region=_region,
         group="LocalSSD", usage_unit="GiBy.mo", price=_sp, family="Storage", spot=True, source="CN",
         derivation=f"prices.md s6: Local SSD spot {_region}, $/GiB-month.")


def lssd_hourly(gib: int, region: str, spot: bool) -> Decimal:
    """$/h of a machine's bundled Local SSD (the GiB-month price over Google's 730-hour month)."""
    return gib * Decimal(LOCAL_SSD[region][1 if spot else 0]) / HOURS_PER_MONTH


# -- GPUs (prices.md section 4), per GPU-hour ---------------------------------------------------------

def _gpu(sku_id, name: str, region: str, price, *, spot: bool, source: str, derivation: str,
         location: str | None = None) -> None:
    where = location or LOCATION[region]
    attached = "attached to Spot Preemptible VMs " if spot else ""
    _add(sku_id, f"{name} GPU {attached}running in {where}", region=region, group="GPU", usage_unit="h",
         price=price, spot=spot, source=source, derivation=derivation)


_gpu("88B8-C3ED-03F0", "Nvidia Tesla T4", "us-central1", "0.35", spot=False, source="SP+UNATTR",
     derivation="prices.md s4: T4 us-central1 on-demand ([SP]; 0.35 also [UNATTR] with this id).")
_gpu(None, "Nvidia Tesla T4", "us-central1", "0.175", spot=True, source="SP", derivation="prices.md s4: T4 us-central1 spot [SP].")
_gpu(None, "Nvidia Tesla T4", "europe-west4", "0.3675", spot=False, source="SP", derivation="prices.md s4: T4 europe-west4 [SP].")
_gpu(None, "Nvidia Tesla T4", "europe-west4", "0.175", spot=True, source="SP", derivation="prices.md s4: T4 europe-west4 spot [SP].")

# L4: on-demand = [CN] g2 machine price minus the G2 block; spot likewise from [CN] hour_spot.
_gpu("A88A-5A60-E821", "Nvidia L4", "us-central1", "0.560040239", spot=False, source="UNATTR+HAIL+CN",
     derivation="prices.md s4/s10: L4 SKU rate [UNATTR], id [HAIL]; = [CN] g2-standard-4 0.70683 - block 0.146792.",
     location="Iowa")
_gpu("AEC2-3D5C-61BF", "Nvidia L4", "us-central1", "0.3148", spot=True, source="CN+HAIL",
     derivation="prices.md s4: [CN] g2-standard-4 spot 0.39734 - spot block 0.082536; id [HAIL].", location="Iowa")
_gpu("1BBE-D828-4747", "Nvidia L4", "us-east5", "0.630773", spot=False, source="CN+HAIL",
     derivation="prices.md s4: [CN] g2-standard-4 us-east5 0.79611 - block 0.165332; id [HAIL].")
_gpu(None, "Nvidia L4", "us-east5", "0.0631", spot=True, source="CN",
     derivation="prices.md s4: [CN]-derived spot; looks anomalous (10% of on-demand): UNVERIFIED.")
_gpu(None, "Nvidia L4", "europe-west4", "0.588630", spot=False, source="CN",
     derivation="prices.md s4: [CN] g2-standard-4 europe-west4 0.74292 - block 0.154286.")
_gpu(None, "Nvidia L4", "europe-west4", "0.3089", spot=True, source="CN",
     derivation="prices.md s4: [CN] g2-standard-4 europe-west4 spot 0.38986 - spot block 0.080960.")

# A100 40GB: one on-demand price in all three regions ([OC] SKU; [CN]-derived for us-east5, europe-west4).
A100_OD = Decimal("2.933908")
_gpu("039F-D0DA-4055", "Nvidia Tesla A100", "us-central1", A100_OD, spot=False, source="OC+CN",
     derivation="prices.md s4/s10: [OC] SKU 2.933908; = [CN] a2-highgpu-1g 3.67339 - 12 x 0.031611 - 85 x 0.004237.")
for _region in ("us-east5", "europe-west4"):
    _gpu(None, "Nvidia Tesla A100", _region, A100_OD, spot=False, source="CN",
         derivation=f"prices.md s4: [CN] a2-highgpu-1g {_region} minus the A2 host.")
A100_SPOT_USC1 = nanos(Decimal("1.92802") - (12 * A2_SPOT_USC1[0] + 85 * A2_SPOT_USC1[1]))
_gpu(None, "Nvidia Tesla A100", "us-central1", A100_SPOT_USC1, spot=True, source="CN+G-SPOT",
     derivation="prices.md s3: [CN] a2-highgpu-1g spot 1.92802 - 12 x 0.01264 - 85 x 0.001695 ([G-SPOT] host).")

# A100 80GB (A2 Ultra): on-demand [CN]-derived; spot us-central1 = [CN] a2-ultragpu-1g spot - host - Local SSD.
for _region, _price in (("us-central1", "3.928080"), ("us-east5", "4.424197"), ("europe-west4", "4.325209")):
    _gpu(None, "Nvidia Tesla A100 80GB", _region, _price, spot=False, source="CN",
         derivation=f"prices.md s4: [CN] a2-ultragpu-1g {_region} - A2 host - 375 GiB Local SSD.")
A100_80_SPOT_USC1 = nanos(Decimal("2.75955") - (12 * A2_SPOT_USC1[0] + 170 * A2_SPOT_USC1[1])
                          - lssd_hourly(375, "us-central1", spot=True))
_gpu(None, "Nvidia Tesla A100 80GB", "us-central1", A100_80_SPOT_USC1, spot=True, source="CN+G-SPOT",
     derivation="prices.md s3: [CN] a2-ultragpu-1g spot 2.75955 - [G-SPOT] A2 host (12 vCPU, 170 GiB) - 375 GiB spot Local SSD.")

# H100 80GB (A3 High): on-demand [CN]-derived (a3-highgpu-8g - [SP] host - 6000 GiB Local SSD) / 8; spot likewise.
H100_OD = {"us-central1": "9.796550569", "us-east5": "11.033850", "europe-west4": "12.735516"}
A3_HIGHGPU_8G_SPOT = {"us-central1": "50.60954", "us-east5": "37.27810", "europe-west4": "44.11878"}
for _region in REGIONS:
    _gpu(None, "Nvidia H100 80GB", _region, H100_OD[_region], spot=False, source="CN+SP",
         derivation=f"prices.md s4: ([CN] a3-highgpu-8g {_region} - [SP] host - 6000 GiB Local SSD) / 8"
                    + (" (SKU precision per prices.md)" if _region == "us-central1" else "") + ".")
    _spot = nanos((Decimal(A3_HIGHGPU_8G_SPOT[_region]) - Decimal(A3_HOSTS[_region][1])
                   - lssd_hourly(6000, _region, spot=True)) / 8)
    _gpu(None, "Nvidia H100 80GB", _region, _spot, spot=True, source="CN+SP",
         derivation=f"prices.md s3: ([CN] a3-highgpu-8g spot {A3_HIGHGPU_8G_SPOT[_region]} - [SP] spot host "
                    f"{A3_HOSTS[_region][1]} - 6000 GiB spot Local SSD) / 8.")

# H200 141GB (A3 Ultra): us-central1 only; the other regions' [SP] rows are anomalous (prices.md s4).
_gpu(None, "H200 141GB", "us-central1", "9.31174", spot=False, source="SP",
     derivation="prices.md s4: [SP] 74.49392 / 8 (UNVERIFIED recency).", location="Americas")
_gpu(None, "H200 141GB", "us-central1", "4.6559", spot=True, source="SP",
     derivation="prices.md s4: [SP] spot (UNVERIFIED recency).", location="Americas")

# -- TPUs (prices.md section 5), per chip-hour, [SP]. Spot TPU SKUs are usageType OnDemand + "Preemptible".
TPUS = {
    "TpuV5e": {"us-central1": ("1.20", "0.24493"), "us-east5": ("1.20", "0.60"), "europe-west4": ("1.56", "0.44498")},
    "TpuV5p": {"us-central1": ("4.20", "0.83570"), "us-east5": ("4.20", "1.68"), "europe-west4": ("4.2525", "1.34849")},
    "TpuV6e": {"us-central1": ("2.70", "0.54421"), "us-east5": ("2.70", "1.215"), "europe-west4": ("2.97", "1.03748")},
}
for _token, _regions in TPUS.items():
    for _region, (_od, _sp) in _regions.items():
        _add(None, f"{_token} chip running in {LOCATION[_region]}", region=_region, group="TPU", usage_unit="h",
             price=_od, source="SP", derivation=f"prices.md s5: {_token} {_region} on-demand per chip-hour [SP].")
        _add(None, f"Preemptible {_token} chip running in {LOCATION[_region]}", region=_region, group="TPU",
             usage_unit="h", price=_sp, source="SP", usage_type="OnDemand",
             derivation=f"prices.md s5: {_token} {_region} spot per chip-hour [SP].")

# -- Persistent disks (prices.md section 6), $/GiB-month, [CN] ---------------------------------------------
DISKS = {  # description: (group, {region: price})
    "Storage PD Capacity": ("PDStandard", ("0.04", "0.04", "0.044")),
    "Balanced PD Capacity": ("SSD", ("0.10", "0.10", "0.11")),
    "SSD backed PD Capacity": ("SSD", ("0.17", "0.17", "0.187")),
    "Extreme PD Capacity": ("SSD", ("0.125", "0.125", "0.138")),
    "Hyperdisk Extreme Capacity": ("SSD", ("0.125", "0.125", "0.131")),
    "Regional Storage PD Capacity": ("PDStandard", ("0.08", "0.08", "0.088")),
    "Regional Balanced PD Capacity": ("SSD", ("0.20", "0.20", "0.22")),
    "Regional SSD backed PD Capacity": ("SSD", ("0.34", "0.34", "0.374")),
}
for _description, (_group, _prices) in DISKS.items():
    for _region, _price in zip(REGIONS, _prices):
        _id = "D973-5D65-BAB2" if (_description == "Storage PD Capacity" and _region == "us-central1") else None
        _label = _description if _region == "us-central1" else f"{_description} in {LOCATION[_region]}"
        _add(_id, _label, region=_region, group=_group, usage_unit="GiBy.mo", price=_price, family="Storage",
             source="CN" if _id is None else "CN+NISE",
             derivation=f"prices.md s6: {_description} {_region}, $/GiB-month" + (" (id [NISE])." if _id else "."))

# -- GKE cluster management fee (prices.md section 7), service Kubernetes Engine, region global -----------
for _sku_id, _mode, _note in (
        ("6B92-A835-08AB", "Zonal", "id seen in public code, repository not established (UNVERIFIED)"),
        ("B561-BFBD-1264", "Regional", "id per [UNATTR] (UNVERIFIED)"),
        (None, "Autopilot", "id not found")):
    _add(_sku_id, f"{_mode} Kubernetes Clusters", region="global", group="Kubernetes Clusters", usage_unit="h",
         price="0.10", service=KUBERNETES_ENGINE, family="Compute", source="G-GKE",
         derivation=f"prices.md s7: $0.10 per cluster per hour for every mode; {_note}.", date="undated")


# -- Writing the Catalog JSON ---------------------------------------------------------------------------

def _money(price: Decimal, currency: str = "USD") -> dict:
    units = int(price)
    return {"currencyCode": currency, "units": str(units), "nanos": int((price - units) * 1_000_000_000)}


def _effective_time(date: str) -> str:
    return f"{date if date[:2] == '20' else SNAPSHOT_DATE}T00:00:00Z"


def sku_json(fact: SkuFact) -> dict:
    description, base_unit, base_description, factor = UNITS[fact.usage_unit]
    geo = {"type": "GLOBAL"} if fact.regions == ("global",) else {"type": "REGIONAL", "regions": list(fact.regions)}
    return {
        "name": f"services/{fact.service_id}/skus/{fact.sku_id}",
        "skuId": fact.sku_id,
        "description": fact.description,
        "category": {"serviceDisplayName": SERVICE_NAMES[fact.service_id], "resourceFamily": fact.resource_family,
                     "resourceGroup": fact.resource_group, "usageType": fact.usage_type},
        "serviceRegions": list(fact.regions),
        "pricingInfo": [{
            "summary": "",
            "pricingExpression": {
                "usageUnit": fact.usage_unit, "displayQuantity": 1,
                "tieredRates": [{"startUsageAmount": 0, "unitPrice": _money(fact.price)}],
                "usageUnitDescription": description, "baseUnit": base_unit,
                "baseUnitDescription": base_description, "baseUnitConversionFactor": factor,
            },
            "currencyConversionRate": 1,
            "effectiveTime": _effective_time(fact.date),
        }],
        "serviceProviderName": "Google",
        "geoTaxonomy": geo,
    }


def build() -> tuple[dict, dict]:
    """(price book, sources) as JSON-ready dicts."""
    ids = [fact.sku_id for fact in FACTS]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate SKU ids in the snapshot facts: {sorted(duplicates)}")
    services = [{"name": f"services/{sid}", "serviceId": sid, "displayName": SERVICE_NAMES[sid],
                 "businessEntityName": "businessEntities/GCP"} for sid in (COMPUTE_ENGINE, KUBERNETES_ENGINE)]
    book = {
        "kind": "aipipe#priceBook",
        "version": 1,
        "currency": "USD",
        "snapshot": {
            "origin": "shipped snapshot",
            "date": SNAPSHOT_DATE,
            "regions": list(REGIONS),
            "source": f"public sources listed per SKU in sources.json (fact sheet: {REFERENCE})",
        },
        "services": [
            {**service, "skus": [sku_json(f) for f in FACTS if f.service_id == service["serviceId"]]}
            for service in services
        ],
    }
    sources = {
        fact.sku_id: {
            "source": "; ".join(f"[{key}] {SOURCES[key]}" for key in fact.source.split("+")),
            "date": fact.date,
            "derivation": fact.derivation,
            **({"placeholderId": True} if fact.sku_id.startswith("AIPIPE-") else {}),
        }
        for fact in FACTS
    }
    return book, sources


def render() -> tuple[str, str]:
    book, sources = build()
    return json.dumps(book, indent=1) + "\n", json.dumps(sources, indent=1, sort_keys=True) + "\n"


def main() -> None:
    from aipipe_ops.atomic import write_text_atomic

    book_text, sources_text = render()
    write_text_atomic(SHIPPED_PRICE_BOOK, book_text)
    write_text_atomic(SHIPPED_SOURCES, sources_text)
    print(f"wrote {SHIPPED_PRICE_BOOK} ({len(FACTS)} SKUs) and {SHIPPED_SOURCES}")


if __name__ == "__main__":
    main()
