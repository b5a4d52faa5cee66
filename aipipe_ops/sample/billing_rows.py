"""Prices hourly usage into detailed-export rows: SKU, labels, cost, credits, export time, invoice month.

Money is integer USD micro-units throughout: each row's cost and each credit is rounded once (half up) to 6
decimal places, so float64 `cost` values survive a cast to DECIMAL(38,9) exactly and the ground truth sums the
very numbers the export holds. The same pass records the truth: every row's bucket, and for pipeline rows the
run and the exact split of the row (cost and credits) over the steps whose pods it merges.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from aipipe_ops.sample import cluster as C
from aipipe_ops.sample.hourly_usage import (
    OWNER_DAEMONSET, OWNER_DEPLOYMENT, OWNER_IDLE, OWNER_OVERHEAD, OWNER_RUN, OWNER_TENANT, POOL_NAMES,
    RES_CPU, RES_DISK, RES_GPU, RES_NET, RES_RAM, RES_TPU, UsageRows, VmTable,
)
from aipipe_ops.sample.plan import RunPlan
from aipipe_ops.sample.skus import SKUS

PACIFIC = ZoneInfo("America/Los_Angeles")  # Google's billing day and invoice boundaries
SKU_LIST = list(SKUS.values())
SKU_INDEX = {s.key: i for i, s in enumerate(SKU_LIST)}
SKU_PRICE = np.array([s.price_nanos for s in SKU_LIST], dtype=np.int64)
SKU_DEN = np.array([s.divisor * 1000 for s in SKU_LIST], dtype=np.int64)


def sku_cost_micros(usage, sku):
    """Exact cost in USD micro-units, rounded half up: usage (internal units, int or int64 array) x the price of
    `sku` (a SKU_INDEX index, or an int64 array of them).

    Integer arithmetic only: numerator = usage * price_nanos (fits int64 for one row), denominator =
    divisor * 1000 (nanos -> micros)."""
    return (usage * SKU_PRICE[sku] + SKU_DEN[sku] // 2) // SKU_DEN[sku]

CREDIT_SUD, CREDIT_CUD_CPU, CREDIT_CUD_RAM, CREDIT_CUD_GPU, CREDIT_FREE_TIER = range(5)
CREDIT_KINDS = (  # (name, full_name, id, type): ids that are type descriptions have no full_name
    ("Sustained Usage Discount", None, "Sustained Usage Discount", "SUSTAINED_USAGE_DISCOUNT"),
    ("Committed Usage Discount: CPU", None, "Committed Usage Discount: CPU", "COMMITTED_USAGE_DISCOUNT"),
    ("Committed Usage Discount: RAM", None, "Committed Usage Discount: RAM", "COMMITTED_USAGE_DISCOUNT"),
    ("Committed Usage Discount: GPU", None, "Committed Usage Discount: GPU", "COMMITTED_USAGE_DISCOUNT"),
    ("Free Tier: Kubernetes Engine", None, "Free Tier: Kubernetes Engine", "FREE_TIER"),
)
BUCKETS = ("direct", "idle", "overhead", "cluster_fee", "shared_namespaces", "other_workloads", "unattributed", "tax",
           "adjustment")
B = {name: i for i, name in enumerate(BUCKETS)}
COST_TYPES = ("regular", "tax", "adjustment")
# N2 sustained-use tiers (prices.md §9): usage beyond 25/50/75 % of the month is billed at 86.78/73.3/60 %.
SUD_TIERS_PPM = ((0.75, 400_000), (0.50, 267_000), (0.25, 132_200))
TAX_RATE_PPM = 60_000  # a 6 % sales tax on each invoice month's net charges
ADJUSTMENT_SHARE_PPM = 250_000  # the correction takes back 25 % of one over-reported spot GPU row


def pacific_month(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=PACIFIC).strftime("%Y%m")


def month_seconds(month: str) -> int:
    year, mon = int(month[:4]), int(month[4:])
    return calendar.monthrange(year, mon)[1] * 86400


def next_month_start_utc(month: str) -> int:
    year, mon = int(month[:4]), int(month[4:])
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return int(datetime(year, mon, 1, tzinfo=PACIFIC).timestamp())


class ExportTables:
    """Small lookup tables the rows index into (label sets, resources, locations, machines, months...)."""

    def __init__(self):
        self.labelsets: list[tuple[tuple[str, str], ...]] = []
        self._labelset_index: dict = {}
        self.resources: list[tuple[str, str]] = []
        self.locations: list[tuple[str, str, str, str | None]] = []
        self.machines: list[tuple[tuple[str, str], ...]] = [()]
        self.months: list[str] = []
        self._month_index: dict[str, int] = {}
        self.adjustments: list[tuple[str, str, str, str]] = []
        self.subscriptions: list[str] = []

    def labelset(self, pairs) -> int:
        key = tuple(pairs)
        if key not in self._labelset_index:
            self._labelset_index[key] = len(self.labelsets)
            self.labelsets.append(key)
        return self._labelset_index[key]

    def month(self, m: str) -> int:
        if m not in self._month_index:
            self._month_index[m] = len(self.months)
            self.months.append(m)
        return self._month_index[m]

    def add(self, table: list, value) -> int:
        if value in table:
            return table.index(value)
        table.append(value)
        return len(table) - 1


@dataclass
class RowBatch:
    """Detailed-export rows as parallel arrays; -1 means NULL / none in the index columns."""

    start: np.ndarray  # usage_start_time, epoch seconds
    end: np.ndarray
    sku: np.ndarray
    labelset: np.ndarray
    resource: np.ndarray
    location: np.ndarray
    machine: np.ndarray
    usage: np.ndarray  # internal units (skus.DIVISOR), may be negative on a correction
    has_usage: np.ndarray  # False: the row has no usage/price record (tax)
    cost: np.ndarray  # micros
    credit_kind: np.ndarray
    credit: np.ndarray  # micros, <= 0 on regular rows
    export_us: np.ndarray
    invoice: np.ndarray
    cost_type: np.ndarray
    adjustment: np.ndarray
    subscription: np.ndarray
    bucket: np.ndarray
    run: np.ndarray
    pool: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def concat(cls, batches: list["RowBatch"]) -> "RowBatch":
        names = cls.__dataclass_fields__.keys()
        return cls(**{n: np.concatenate([getattr(b, n) for b in batches]) for n in names})

    def take(self, idx) -> "RowBatch":
        return RowBatch(**{n: getattr(self, n)[idx] for n in self.__dataclass_fields__})


def _batch(n: int, **cols) -> RowBatch:
    defaults = dict(labelset=-1, resource=-1, location=-1, machine=0, has_usage=True, credit_kind=-1, credit=0,
                    cost_type=0, adjustment=-1, subscription=-1, run=-1, pool=-1)
    out = {}
    for name in RowBatch.__dataclass_fields__:
        value = cols.get(name, defaults.get(name))
        dtype = bool if name == "has_usage" else np.int64
        out[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
    return RowBatch(**out)


def split_exact(total: np.ndarray, row_of_part: np.ndarray, weight: np.ndarray, row_weight: np.ndarray):
    """Split each row's integer `total` over its parts in proportion to `weight`, exactly (largest remainder).

    total >= 0 per row; the parts of a row sum to its total."""
    num = total[row_of_part] * weight
    den = row_weight[row_of_part]
    share = num // den
    rem = num % den
    left = total.copy()
    np.subtract.at(left, row_of_part, share)
    order = np.lexsort((np.arange(len(rem)), -rem, row_of_part))
    rows_sorted = row_of_part[order]
    first = np.r_[0, np.flatnonzero(rows_sorted[1:] != rows_sorted[:-1]) + 1] if len(order) else np.zeros(0, int)
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    bonus = np.zeros(len(order), dtype=np.int64)
    bonus[order] = (rank < left[rows_sorted]).astype(np.int64)
    return share + bonus


@dataclass
class Truth:
    """Exact money by bucket, run, step and idle pool (micros), accumulated as rows are priced."""

    runs: int
    steps: int
    tenants: int = 0
    bucket_cost: np.ndarray = None
    bucket_credit: np.ndarray = None
    run_cost: np.ndarray = None
    run_credit: np.ndarray = None
    run_adjustment: np.ndarray = None
    step_cost: np.ndarray = None
    step_credit: np.ndarray = None
    idle_by_pool: np.ndarray = None
    rows_by_bucket: np.ndarray = None
    tenant_net: np.ndarray = None
    ledger: object = None  # ground_truth_allocation.AllocationLedger: the rows again, for the policies' truth

    def __post_init__(self):
        z = lambda n: np.zeros(n, dtype=np.int64)  # noqa: E731
        self.bucket_cost, self.bucket_credit = z(len(BUCKETS)), z(len(BUCKETS))
        self.run_cost, self.run_credit, self.run_adjustment = z(self.runs), z(self.runs), z(self.runs)
        self.step_cost, self.step_credit = z(self.steps), z(self.steps)
        self.idle_by_pool = z(len(POOL_NAMES))
        self.rows_by_bucket = z(len(BUCKETS))
        self.tenant_net = z(self.tenants)

    def add_rows(self, b: RowBatch) -> None:
        net = b.cost + b.credit
        np.add.at(self.bucket_cost, b.bucket, b.cost)
        np.add.at(self.bucket_credit, b.bucket, b.credit)
        np.add.at(self.rows_by_bucket, b.bucket, 1)
        direct = b.bucket == B["direct"]
        np.add.at(self.run_cost, b.run[direct], b.cost[direct])
        np.add.at(self.run_credit, b.run[direct], b.credit[direct])
        adj = (b.bucket == B["adjustment"]) & (b.run >= 0)
        np.add.at(self.run_adjustment, b.run[adj], net[adj])
        other = b.bucket == B["other_workloads"]
        np.add.at(self.tenant_net, b.run[other], net[other])
        idle = b.bucket == B["idle"]
        np.add.at(self.idle_by_pool, b.pool[idle], net[idle])
        if self.ledger is not None:
            self.ledger.add(b)


class BillingPricer:
    def __init__(self, runs: list[RunPlan], vms: VmTable, n_steps: int, seed: int, window: tuple[int, int],
                 tenants: list | None = None):
        self.runs = runs
        self.tenants = tenants or []
        self.vms = vms
        self.seed = seed
        self.window = window
        self.tables = ExportTables()
        self.truth = Truth(len(runs), n_steps, len(self.tenants))
        t = self.tables
        self.vm_resource = np.array([
            t.add(t.resources, (v.name, f"//compute.googleapis.com/projects/{C.PROJECT_ID}/zones/{v.zone}"
                                        f"/instances/{v.name}")) for v in vms.vms], dtype=np.int64)
        self.vm_location = np.array([t.add(t.locations, (v.zone, "US", C.REGION, v.zone)) for v in vms.vms],
                                    dtype=np.int64)
        self.vm_machine = np.array([t.add(t.machines, (
            ("compute.googleapis.com/cores", str(C.NODE_POOLS[v.pool].machine.vcpus)),
            ("compute.googleapis.com/machine_spec", C.NODE_POOLS[v.pool].machine.name),
            ("compute.googleapis.com/memory", str(C.NODE_POOLS[v.pool].machine.memory_mib)),
        )) for v in vms.vms], dtype=np.int64)
        self.region_location = t.add(t.locations, (C.REGION, "US", C.REGION, None))
        self.dev_location = t.add(t.locations, (C.DEV_CLUSTER_LOCATION, "US", C.REGION, C.DEV_CLUSTER_LOCATION))
        self.prod_cluster_resource = t.add(t.resources, (
            C.CLUSTER, f"//container.googleapis.com/projects/{C.PROJECT_ID}/locations/{C.CLUSTER_LOCATION}"
                       f"/clusters/{C.CLUSTER}"))
        self.dev_cluster_resource = t.add(t.resources, (
            C.DEV_CLUSTER, f"//container.googleapis.com/projects/{C.PROJECT_ID}/locations/"
                           f"{C.DEV_CLUSTER_LOCATION}/clusters/{C.DEV_CLUSTER}"))
        self.commitment_subscription = t.add(t.subscriptions, C.COMMITMENT_ID)
        self._labelset_cache: dict = {}
        self.step_labels = None  # sample/step_labels.StepLabels: step labels from a day on, labelled jobs
        self._sud_carry: dict[tuple[int, str], int] = {}
        self._free_tier_used: dict[str, int] = {}
        self._month_cache: dict[int, int] = {}
        self.month_net: dict[int, int] = {}  # invoice month index -> net of regular rows (for tax)
        self.month_span: dict[int, list[int]] = {}
        self.adjust_source: RowBatch | None = None
        self._adjust_fallback: RowBatch | None = None
        # resource -> sku per pool
        self.pool_sku = {}
        for pi, name in enumerate(POOL_NAMES):
            p = C.NODE_POOLS[name]
            self.pool_sku[(pi, RES_CPU)] = SKU_INDEX[p.core_sku] if p.core_sku else -1
            self.pool_sku[(pi, RES_RAM)] = SKU_INDEX[p.ram_sku] if p.ram_sku else -1
            self.pool_sku[(pi, RES_GPU)] = SKU_INDEX[p.accelerator_sku] if p.accelerator == "gpu" else -1
            self.pool_sku[(pi, RES_TPU)] = SKU_INDEX[p.accelerator_sku] if p.accelerator == "tpu" else -1
            self.pool_sku[(pi, RES_DISK)] = SKU_INDEX["pd_balanced"]
            self.pool_sku[(pi, RES_NET)] = SKU_INDEX["inter_zone_egress"]

    # ---- labels ------------------------------------------------------------------------------------------
    def _cluster_labels(self, pool: str):
        return [("goog-k8s-cluster-location", C.CLUSTER_LOCATION), ("goog-k8s-cluster-name", C.CLUSTER),
                ("goog-k8s-node-pool-name", pool)]

    def labelset_for(self, kind: int, owner: int, pool: int) -> int:
        key = (kind, owner if kind in (OWNER_RUN, OWNER_DAEMONSET, OWNER_DEPLOYMENT, OWNER_TENANT) else 0, pool)
        if key in self._labelset_cache:
            return self._labelset_cache[key]
        pool_name = POOL_NAMES[pool]
        labels = self._cluster_labels(pool_name)
        if kind == OWNER_RUN:
            run = self.runs[owner]
            labels.append(("k8s-namespace", run.namespace))
            labels += sorted((f"k8s-label/{k}", v) for k, v in run.labels)
        elif kind == OWNER_TENANT:
            w = self.tenants[owner]
            labels.append(("k8s-namespace", w.namespace))
            labels += sorted((f"k8s-label/{k}", v) for k, v in w.labels)
        elif kind in (OWNER_DAEMONSET, OWNER_DEPLOYMENT):
            w = (C.DAEMONSETS if kind == OWNER_DAEMONSET else C.DEPLOYMENTS)[owner]
            labels += [("k8s-namespace", w.namespace), (f"k8s-label/{w.label_key}", w.app)]
        elif kind == OWNER_OVERHEAD:
            labels.append(("k8s-namespace", "kube:system-overhead"))
        elif kind == OWNER_IDLE:
            labels.append(("k8s-namespace", "kube:unallocated"))
        idx = self.tables.labelset(labels)
        self._labelset_cache[key] = idx
        return idx

    # ---- time --------------------------------------------------------------------------------------------
    def invoice_index(self, ts: int) -> int:
        hour = ts - ts % 3600
        if hour not in self._month_cache:
            self._month_cache[hour] = self.tables.month(pacific_month(hour))
        return self._month_cache[hour]

    def _export_times(self, start: np.ndarray, sku: np.ndarray, chunk: int):
        """Rows are exported in hourly batches a few hours after usage; some accelerator rows arrive a day late."""
        rng = np.random.default_rng([self.seed, 7, chunk])
        hours, inv = np.unique(start, return_inverse=True)
        delay = rng.integers(2 * 3600, 6 * 3600, size=len(hours))
        micro = rng.integers(0, 1_000_000, size=len(hours))
        export = (start + 3600 + delay[inv]) * 1_000_000 + micro[inv]
        accel = np.isin(sku, [SKU_INDEX["a100"], SKU_INDEX["l4_spot"], SKU_INDEX["tpu_v5e"]])
        late = accel & (rng.random(len(start)) < 0.03)
        export[late] += rng.integers(26 * 3600, 40 * 3600, size=int(late.sum())) * 1_000_000
        return export, late

    # ---- chunk -------------------------------------------------------------------------------------------
    def price_chunk(self, u: UsageRows, c0: int, c1: int, chunk: int) -> RowBatch:
        lo, hi = max(c0, self.window[0]), min(c1, self.window[1])
        step = None
        if self.step_labels is not None:  # labelled hours: one row per step (sample/step_labels.py)
            u, step = self.step_labels.split(u)
        nvm = len(self.vms.vms)
        pool = self.vms.pool[u.vm] if len(u) else np.zeros(0, dtype=np.int64)
        sku = np.full(len(u), -1, dtype=np.int64)
        for (pi, res), s in self.pool_sku.items():
            sku[(pool == pi) & (u.resource == res)] = s
        if np.any(sku < 0):
            raise AssertionError("usage of a resource the node pool does not bill")
        owner = np.where(np.isin(u.owner_kind, [OWNER_RUN, OWNER_DAEMONSET, OWNER_DEPLOYMENT, OWNER_TENANT]), u.owner,
                         0)
        combo = (u.owner_kind * (int(owner.max(initial=0)) + 1) + owner) * len(POOL_NAMES) + pool
        combos, first, inv = np.unique(combo, return_index=True, return_inverse=True)
        labelset = np.array([self.labelset_for(int(u.owner_kind[i]), int(owner[i]), int(pool[i])) for i in first],
                            dtype=np.int64)[inv] if len(u) else np.zeros(0, dtype=np.int64)
        if step is not None:
            labelset = self.step_labels.labelsets(self.tables, labelset, step, self.runs, u.owner)
        bucket = np.select(
            [u.owner_kind == OWNER_RUN, u.owner_kind == OWNER_IDLE, u.owner_kind == OWNER_OVERHEAD,
             (u.owner_kind == OWNER_DAEMONSET) | (u.owner_kind == OWNER_DEPLOYMENT), u.owner_kind == OWNER_TENANT],
            [B["direct"], B["idle"], B["overhead"], B["shared_namespaces"], B["other_workloads"]], B["unattributed"])
        cost = sku_cost_micros(u.usage, sku)
        host_rows = np.isin(u.resource, [RES_CPU, RES_RAM, RES_GPU, RES_TPU])
        batch = _batch(
            len(u), start=u.hour, end=u.hour + 3600, sku=sku, labelset=labelset, resource=self.vm_resource[u.vm],
            location=self.vm_location[u.vm], machine=np.where(host_rows, self.vm_machine[u.vm], 0), usage=u.usage,
            cost=cost, bucket=bucket, run=np.where(np.isin(u.owner_kind, [OWNER_RUN, OWNER_TENANT]), u.owner, -1),
            pool=pool,
            export_us=0, invoice=0)
        self._sustained_use(batch, u, lo, nvm)
        self._committed_use(batch, lo, hi)
        fees = self._hourly_fee_rows(lo, hi)
        if self.step_labels is not None:
            fees = RowBatch.concat([fees, self.step_labels.job_rows(self, lo, hi)])
        batch = RowBatch.concat([batch, fees])
        batch.export_us, late = self._export_times(batch.start, batch.sku, chunk)
        hours, inv = np.unique(batch.start, return_inverse=True)
        batch.invoice = np.array([self.invoice_index(int(h)) for h in hours], dtype=np.int64)[inv]
        # Late rows exported after their invoice month closed land on the next month's invoice.
        for i in np.flatnonzero(late):
            export_month = self.invoice_index(int(batch.export_us[i] // 1_000_000))
            if self.tables.months[export_month] > self.tables.months[batch.invoice[i]]:
                batch.invoice[i] = export_month
        self._step_truth(batch, u)
        self.truth.add_rows(batch)
        for m in np.unique(batch.invoice):
            sel = batch.invoice == m
            self.month_net[int(m)] = self.month_net.get(int(m), 0) + int((batch.cost[sel] + batch.credit[sel]).sum())
            span = self.month_span.setdefault(int(m), [int(batch.start[sel].min()), int(batch.end[sel].max())])
            span[0], span[1] = min(span[0], int(batch.start[sel].min())), max(span[1], int(batch.end[sel].max()))
        if self.adjust_source is None:  # the correction negates part of the first spot-GPU pipeline row
            gpu = np.flatnonzero((batch.bucket == B["direct"]) & (batch.sku == SKU_INDEX["l4_spot"]))
            if len(gpu):
                self.adjust_source = batch.take(gpu[:1])
        if self._adjust_fallback is None:
            direct = np.flatnonzero(batch.bucket == B["direct"])
            if len(direct):
                self._adjust_fallback = batch.take(direct[:1])
        return batch

    def _sustained_use(self, b: RowBatch, u: UsageRows, lo: int, nvm: int) -> None:
        v_item, v_hour, v_sec = u.vm_hours
        nh = max(int((v_hour.max() - lo) // 3600) + 1, 1) if len(v_hour) else 1
        rate = np.zeros(nh * nvm, dtype=np.int64)
        for vm in np.unique(v_item):
            if not C.NODE_POOLS[POOL_NAMES[int(self.vms.pool[vm])]].sustained_use:
                continue
            sel = np.flatnonzero(v_item == vm)
            for s in sel[np.argsort(v_hour[sel], kind="stable")]:
                month = self.tables.months[self.invoice_index(int(v_hour[s]))]
                before = self._sud_carry.get((int(vm), month), 0)
                fraction = before / month_seconds(month)
                for threshold, ppm in SUD_TIERS_PPM:
                    if fraction >= threshold:
                        rate[((v_hour[s] - lo) // 3600) * nvm + vm] = ppm
                        break
                self._sud_carry[(int(vm), month)] = before + int(v_sec[s])
        rows = np.flatnonzero(np.isin(b.sku, [SKU_INDEX["n2_core"], SKU_INDEX["n2_ram"]]))
        ppm = rate[((b.start[rows] - lo) // 3600) * nvm + u.vm[rows]]
        credit = -((b.cost[rows] * ppm + 500_000) // 1_000_000)
        has = credit < 0
        b.credit_kind[rows[has]] = CREDIT_SUD
        b.credit[rows[has]] = credit[has]

    def _committed_use(self, b: RowBatch, lo: int, hi: int) -> None:
        nh = (hi - lo) // 3600
        for sku_key, kind, committed in (("a2_core", CREDIT_CUD_CPU, C.COMMITMENT["cud_a2_core"] * 1000 * 3600),
                                         ("a2_ram", CREDIT_CUD_RAM, C.COMMITMENT["cud_a2_ram"] * 1024 * 3600),
                                         ("a100", CREDIT_CUD_GPU, C.COMMITMENT["cud_a100"] * 3600)):
            rows = np.flatnonzero(b.sku == SKU_INDEX[sku_key])
            if not len(rows):
                continue
            h = (b.start[rows] - lo) // 3600
            total = np.zeros(nh, dtype=np.int64)
            np.add.at(total, h, b.usage[rows])
            covered = np.minimum(total, committed)
            credit = -((b.cost[rows] * covered[h] + total[h] // 2) // np.maximum(total[h], 1))
            has = credit < 0
            b.credit_kind[rows[has]] = kind
            b.credit[rows[has]] = credit[has]

    def _hourly_fee_rows(self, lo: int, hi: int) -> RowBatch:
        hours = np.arange(lo, hi, 3600, dtype=np.int64)
        n = len(hours)
        out = []
        fee_labels = self.tables.labelset([("goog-k8s-cluster-name", C.CLUSTER)])
        sku = SKU_INDEX["regional_cluster"]
        cost = sku_cost_micros(3600, sku)
        out.append(_batch(n, start=hours, end=hours + 3600, sku=sku, labelset=fee_labels,
                          resource=self.prod_cluster_resource, location=self.region_location, usage=3600,
                          cost=cost, bucket=B["cluster_fee"], export_us=0, invoice=0))
        dev_labels = self.tables.labelset([("goog-k8s-cluster-name", C.DEV_CLUSTER)])
        sku = SKU_INDEX["zonal_cluster"]
        cost = sku_cost_micros(3600, sku)
        credits = np.zeros(n, dtype=np.int64)
        for i, h in enumerate(hours):  # the free tier covers up to $74.40 of zonal cluster fees per month
            month = pacific_month(int(h))
            used = self._free_tier_used.get(month, 0)
            take = min(cost, C.FREE_TIER_MONTHLY_MICROS - used)
            credits[i] = -take
            self._free_tier_used[month] = used + take
        dev = _batch(n, start=hours, end=hours + 3600, sku=sku, labelset=dev_labels,
                     resource=self.dev_cluster_resource, location=self.dev_location, usage=3600, cost=cost,
                     credit=credits, credit_kind=np.where(credits < 0, CREDIT_FREE_TIER, -1),
                     bucket=B["cluster_fee"], export_us=0, invoice=0)
        out.append(dev)
        no_labels = self.tables.labelset([])
        for key, qty in (("cud_a2_core", C.COMMITMENT["cud_a2_core"]), ("cud_a2_ram", C.COMMITMENT["cud_a2_ram"]),
                         ("cud_a100", C.COMMITMENT["cud_a100"])):
            sku = SKU_INDEX[key]
            usage = qty * 3600
            cost = sku_cost_micros(usage, sku)
            out.append(_batch(n, start=hours, end=hours + 3600, sku=sku, labelset=no_labels,
                              location=self.region_location, usage=usage, cost=cost, bucket=B["unattributed"],
                              subscription=self.commitment_subscription, export_us=0, invoice=0))
        return RowBatch.concat(out)

    def _step_truth(self, b: RowBatch, u: UsageRows) -> None:
        """Split each pipeline row's cost and credit over its steps, in proportion to their usage."""
        if not len(u.part_row):
            return
        rows = u.part_row  # usage rows come first in the batch, so row ids are batch indexes
        for values, target in ((b.cost, self.truth.step_cost), (-b.credit, self.truth.step_credit)):
            parts = split_exact(values, rows, u.part_usage, u.usage)
            np.add.at(target, u.part_step, parts if target is self.truth.step_cost else -parts)

    # ---- closing rows: tax per invoice month, one usage correction ----------------------------------------
    def closing_rows(self) -> RowBatch:
        out = []
        for m in sorted(self.month_net, key=lambda i: self.tables.months[i]):
            net = self.month_net[m]
            tax = (net * TAX_RATE_PPM + 500_000) // 1_000_000
            first, last = self.month_span[m]
            export = (last + 86400 + 5 * 3600) * 1_000_000
            out.append(_batch(1, start=first, end=last, sku=SKU_INDEX["tax"], labelset=self.tables.labelset([]),
                              usage=0, has_usage=False, cost=tax, cost_type=1, bucket=B["tax"], export_us=export,
                              invoice=m, machine=0))
        src = self.adjust_source if self.adjust_source is not None else self._adjust_fallback
        if src is not None:
            adj = src.take(np.arange(1))
            month = self.tables.months[int(src.invoice[0])]
            later = next_month_start_utc(month)
            info = self.tables.add(self.tables.adjustments, (
                "adj-" + hashlib.sha256(f"{self.seed}/{int(src.start[0])}".encode()).hexdigest()[:16],
                "Correction of over-reported GPU usage", "PARTIAL_CORRECTION", "USAGE_CORRECTION"))
            adj.usage = -((src.usage * ADJUSTMENT_SHARE_PPM + 500_000) // 1_000_000)
            adj.cost = -((src.cost * ADJUSTMENT_SHARE_PPM + 500_000) // 1_000_000)
            adj.credit = (-src.credit * ADJUSTMENT_SHARE_PPM + 500_000) // 1_000_000
            adj.export_us = np.array([(later + 2 * 86400 + 9 * 3600) * 1_000_000 + 417_000], dtype=np.int64)
            adj.invoice = np.array([self.tables.month(pacific_month(later + 86400))], dtype=np.int64)
            adj.cost_type[:] = 2
            adj.adjustment[:] = info
            adj.bucket[:] = B["adjustment"]
            out.append(adj)
        batch = RowBatch.concat(out)
        self.truth.add_rows(batch)
        return batch
