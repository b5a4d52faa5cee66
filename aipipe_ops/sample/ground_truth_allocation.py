"""The allocation truth: what every run, namespace and workload costs under each idle, shared and commitments
policy (docs/cost-model.md §2, §5), for ground_truth.json's `allocation`.

Computed from what the generator knows each export row is -- its owner (a run, a tenant or system workload, idle,
overhead, a cluster fee, a commitment fee, the rest), node pool, resource kind, hour and money, and the commitment
credit it received -- never from the attribution engine's SQL: a test that compares `aipipe costs` with it checks
the engine against an independent computation. Money is exact: integer micro-dollars per row, exact rationals
(`Fraction`) for every share, rounded once (half even) to 9 decimals when written, so the figures match the
engine's nano-unit splits to far below a cent.

The rules, restated from docs/cost-model.md (the spec):
- A run's rows (and a correction carrying its labels) are its direct cost; a tenant's or a system Deployment's or
  DaemonSet's rows are the direct cost of the workload `namespace/<first workload label>` (or the namespace alone).
- Commitments `amortize`: the resource-based commitment's fee rows of an hour and resource kind (fee F, committed
  units U = Σ their usage) are spread over the rows that received that kind's COMMITTED_USAGE_DISCOUNT credit in
  that hour, in proportion to the credit: utilisation u = min(1, covered units / U), each covered row covering
  usage x |credit| / cost units; F x u is absorbed, F x (1 - u) is the `unused_commitment` bucket. `separate`: the
  fees stay whole in a `commitment` bucket. Every weight below is then the effective (net + absorbed) cost.
- Idle `share`: the idle of a (US/Pacific day, node pool, resource kind) goes to the workloads with direct cost of
  that kind in that pool that day, by that cost; else to those with any direct cost in the pool that day; else it
  stays idle.
- Shared `weighted` | `even`: a pool's `kube:system-overhead` per (day, pool), the cluster fee per (day, cluster),
  go to the workloads with direct cost in that scope, by that cost (its positive part; evenly if all are zero) or
  in equal parts; a scope without workloads keeps its overhead.

A run's figures are kept per bucket (`direct`, `idle_share`, `overhead_share`), each under the policies it depends
on, so any policy combination's total is their sum; namespaces, pipelines, other workloads, idle per node pool and
the buckets are given for every combination.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import numpy as np

from aipipe_ops.sample import cluster as C
from aipipe_ops.sample.billing_rows import (
    B, CREDIT_CUD_CPU, CREDIT_CUD_GPU, CREDIT_CUD_RAM, PACIFIC, SKU_LIST, RowBatch,
)
from aipipe_ops.sample.hourly_usage import POOL_NAMES
from aipipe_ops.sample.skus import BASE_FACTOR

IDLE_POLICIES = ("separate", "share")
SHARED_POLICIES = ("separate", "weighted", "even")
COMMITMENT_POLICIES = ("amortize", "separate")
# docs/cost-model.md §2 "Workloads": the pod labels that name a workload, most specific first.
WORKLOAD_LABELS = ("serving.kserve.io/inferenceservice", "notebook-name", "app.kubernetes.io/name", "app",
                   "k8s-app")
IDLE_NAMESPACE = "kube:unallocated"
OVERHEAD_NAMESPACE = "kube:system-overhead"
NO_NAMESPACE = "(none)"  # the key of lines without a namespace (non-GKE services, node disks, fees, tax)

RUN, WORKLOAD, IDLE, OVERHEAD, CLUSTER_FEE, COMMITMENT_FEE, UNATTRIBUTED = range(7)
KINDS = ("cpu", "ram", "gpu", "tpu", "disk", "network", "cluster_fee", "other")
_KIND_OF_RESOURCE = {"commitment_cpu": "cpu", "commitment_ram": "ram", "commitment_gpu": "gpu",
                     "bigquery_scan": "other", "tax": "other"}
SKU_KIND = np.array([KINDS.index(_KIND_OF_RESOURCE.get(s.resource, s.resource)) for s in SKU_LIST], dtype=np.int64)
# The export's usage.amount per internal usage unit (skus.BASE_FACTOR, exactly): covered and committed units
# are compared in the export's own units.
UNIT_FACTOR = [Fraction(BASE_FACTOR[s.resource]).limit_denominator(10 ** 6) for s in SKU_LIST]
CUD_CREDITS = (CREDIT_CUD_CPU, CREDIT_CUD_RAM, CREDIT_CUD_GPU)
COMMITMENT_SKUS = np.array([i for i, s in enumerate(SKU_LIST) if s.resource.startswith("commitment_")],
                           dtype=np.int64)


def policy_key(idle: str, shared: str, commitments: str) -> str:
    return f"idle={idle},shared={shared},commitments={commitments}"


def workload_name(namespace: str, labels) -> str:
    """`namespace/<value of the first WORKLOAD_LABELS pod label>`, or the namespace alone; labels: (key, value)
    pod labels (without the `k8s-label/` prefix)."""
    found = dict(labels)
    for key in WORKLOAD_LABELS:
        if found.get(key):
            return f"{namespace}/{found[key]}"
    return namespace


def money(micros) -> str:
    """Micro-units (an int or a Fraction) as a decimal string of the currency with 9 places, rounded half even."""
    return format(Decimal(round(Fraction(micros) * 1000)).scaleb(-9), "f")


def _split(amount: Fraction, weights: dict, weighted: bool) -> dict:
    """amount over the recipients of `weights`, by the positive part of their weight (evenly if all are zero, or
    if not `weighted`), exactly."""
    positive = {r: max(w, Fraction(0)) for r, w in weights.items()}
    total = sum(positive.values(), Fraction(0))
    if weighted and total > 0:
        return {r: amount * w / total for r, w in positive.items()}
    return {r: amount / len(weights) for r in weights}


def _add(target: dict, key, value) -> None:
    target[key] = target.get(key, 0) + value


class AllocationLedger:
    """Accumulates the priced rows (Truth.add_rows hands it each batch) into lines per (US/Pacific day, owner, node
    pool, resource kind), the commitment credits per hour and the commitment fees per hour; `allocation()` is the
    truth under every policy."""

    def __init__(self, tables, runs, tenants):
        self.tables = tables  # billing_rows.ExportTables: the label sets the rows index
        self.runs = runs
        self.workloads: list[tuple[str, str]] = []  # (name, namespace)
        self._workload_index: dict[str, int] = {}
        self.clusters: list[str] = []
        self.tenant_workload = np.array([self._workload(t.namespace, t.labels) for t in tenants] or [0],
                                        dtype=np.int64)
        self._labelset_owner: dict[int, int] = {}
        self._day_of_hour: dict[int, int] = {}
        self.days: dict[int, str] = {}
        # (day, class, who, pool, kind) -> net micros; who: run index, workload index or cluster index
        self.lines: dict[tuple, int] = {}
        # (hour, kind) -> [{line key: CUD credit micros}, covered units]; (hour, kind) -> [fee micros, units]
        self.covered: dict[tuple, list] = {}
        self.fees: dict[tuple, list] = {}

    # ---- owners ------------------------------------------------------------------------------------------
    def _workload(self, namespace: str, labels) -> int:
        name = workload_name(namespace, labels)
        if name not in self._workload_index:
            self._workload_index[name] = len(self.workloads)
            self.workloads.append((name, namespace))
        return self._workload_index[name]

    def _cluster(self, name: str) -> int:
        if name not in self.clusters:
            self.clusters.append(name)
        return self.clusters.index(name)

    def _labels(self, labelset: int) -> dict:
        return dict(self.tables.labelsets[labelset])

    def _system_workload(self, labelset: int) -> int:
        if labelset not in self._labelset_owner:
            labels = self._labels(labelset)
            pod = [(k[len("k8s-label/"):], v) for k, v in labels.items() if k.startswith("k8s-label/")]
            self._labelset_owner[labelset] = self._workload(labels["k8s-namespace"], pod)
        return self._labelset_owner[labelset]

    def _owners(self, b: RowBatch) -> tuple[np.ndarray, np.ndarray]:
        cls = np.full(len(b), UNATTRIBUTED, dtype=np.int64)
        who = np.zeros(len(b), dtype=np.int64)
        run = ((b.bucket == B["direct"]) | (b.bucket == B["adjustment"])) & (b.run >= 0)
        cls[run], who[run] = RUN, b.run[run]
        tenant = b.bucket == B["other_workloads"]
        cls[tenant], who[tenant] = WORKLOAD, self.tenant_workload[b.run[tenant]]
        system = np.flatnonzero(b.bucket == B["shared_namespaces"])
        sets, at = np.unique(b.labelset[system], return_inverse=True)
        cls[system] = WORKLOAD
        who[system] = np.array([self._system_workload(int(ls)) for ls in sets], dtype=np.int64)[at.ravel()] \
            if len(system) else 0
        cls[b.bucket == B["idle"]] = IDLE
        cls[b.bucket == B["overhead"]] = OVERHEAD
        fee = np.flatnonzero(b.bucket == B["cluster_fee"])
        cls[fee] = CLUSTER_FEE
        who[fee] = [self._cluster(self._labels(int(ls))["goog-k8s-cluster-name"]) for ls in b.labelset[fee]]
        cls[np.isin(b.sku, COMMITMENT_SKUS)] = COMMITMENT_FEE
        return cls, who

    def _day(self, hour: int) -> int:
        if hour not in self._day_of_hour:
            day = datetime.fromtimestamp(hour, tz=PACIFIC).date()
            self._day_of_hour[hour] = day.toordinal()
            self.days[day.toordinal()] = day.isoformat()
        return self._day_of_hour[hour]

    # ---- accumulation ------------------------------------------------------------------------------------
    def add(self, b: RowBatch) -> None:
        if not len(b):
            return
        hour = b.start - b.start % 3600
        hours, inv = np.unique(hour, return_inverse=True)
        day = np.array([self._day(int(h)) for h in hours], dtype=np.int64)[inv.ravel()]
        cls, who = self._owners(b)
        kind = SKU_KIND[b.sku]
        keys = np.stack([day, cls, who, b.pool, kind], axis=1)
        unique, at = np.unique(keys, axis=0, return_inverse=True)
        sums = np.zeros(len(unique), dtype=np.int64)
        np.add.at(sums, at.ravel(), b.cost + b.credit)
        for key, net in zip(map(tuple, unique.tolist()), sums.tolist()):
            _add(self.lines, key, net)
        for i in np.flatnonzero(np.isin(b.credit_kind, CUD_CREDITS) & (b.credit != 0)):
            units = UNIT_FACTOR[b.sku[i]] * int(b.usage[i]) * -int(b.credit[i]) / int(b.cost[i])
            entry = self.covered.setdefault((int(hour[i]), int(kind[i])), [{}, Fraction(0)])
            _add(entry[0], tuple(keys[i].tolist()), int(b.credit[i]))
            entry[1] += units
        for i in np.flatnonzero(cls == COMMITMENT_FEE):
            entry = self.fees.setdefault((int(hour[i]), int(kind[i])), [0, Fraction(0)])
            entry[0] += int(b.cost[i] + b.credit[i])
            entry[1] += UNIT_FACTOR[b.sku[i]] * int(b.usage[i])

    # ---- policies ----------------------------------------------------------------------------------------
    def effective_lines(self, commitments: str) -> tuple[dict, Fraction, Fraction]:
        """(line key -> effective cost, the `commitment` bucket, the `unused_commitment` bucket): commitment fee
        lines are left out; under `amortize` their absorbed part is added to the lines it covered."""
        lines = {k: Fraction(v) for k, v in self.lines.items() if k[1] != COMMITMENT_FEE}
        fees = sum((v for k, v in self.lines.items() if k[1] == COMMITMENT_FEE), 0)
        if fees != sum(f for f, _ in self.fees.values()):
            raise AssertionError("commitment fee lines and fee hours disagree")
        if commitments == "separate":
            return lines, Fraction(fees), Fraction(0)
        unused = Fraction(0)
        for (hour, kind), (fee, committed) in sorted(self.fees.items()):
            credits, covered = self.covered.get((hour, kind), ({}, Fraction(0)))
            total_credit = sum(credits.values())
            absorbed = Fraction(0)
            if committed > 0 and covered > 0 and total_credit:
                absorbed = fee * min(Fraction(1), covered / committed)
                for key, credit in credits.items():
                    lines[key] += absorbed * credit / total_credit
            unused += fee - absorbed
        return lines, Fraction(0), unused

    def _recipient_namespace(self, recipient) -> str:
        kind, who = recipient
        return self.runs[who].namespace if kind == "run" else self.workloads[who][1]

    def _allocate(self, commitments: str) -> dict:
        """Each recipient's direct cost, idle share (idle `share`) and overhead shares (`weighted`, `even`), and
        what stays in its own bucket, under one commitments policy."""
        lines, commitment, unused = self.effective_lines(commitments)
        direct, lines_by_namespace = {}, {}
        pool_kind, pool, in_cluster = {}, {}, {}
        idle, overhead, fee_groups = {}, {}, {}
        unattributed = Fraction(0)
        prod = self._cluster(C.CLUSTER)  # every node pool of the sample is the production cluster's
        for (day, cls, who, p, kind), amount in lines.items():
            if cls in (RUN, WORKLOAD):
                recipient = ("run" if cls == RUN else "workload", who)
                _add(direct, recipient, amount)
                namespace = (self.runs[who].namespace if p >= 0 else NO_NAMESPACE) if cls == RUN \
                    else self.workloads[who][1]
                _add(lines_by_namespace, namespace, amount)
                if p >= 0:  # a line of a node pool: a weight in the pool's and the cluster's scopes that day
                    _add(pool_kind.setdefault((day, p, kind), {}), recipient, amount)
                    _add(pool.setdefault((day, p), {}), recipient, amount)
                    _add(in_cluster.setdefault((day, prod), {}), recipient, amount)
            elif cls == IDLE:
                _add(idle, (day, p, kind), amount)
            elif cls == OVERHEAD:
                _add(overhead, (day, p), amount)
            elif cls == CLUSTER_FEE:
                _add(fee_groups, (day, who), amount)
            else:
                unattributed += amount
                _add(lines_by_namespace, NO_NAMESPACE, amount)
        idle_share, idle_kept = {}, {}
        for (day, p, kind), amount in sorted(idle.items()):
            weights = pool_kind.get((day, p, kind)) or pool.get((day, p))
            if weights:
                for r, part in _split(amount, weights, True).items():
                    _add(idle_share, r, part)
            else:
                _add(idle_kept, POOL_NAMES[p], amount)
        overhead_share = {"weighted": {}, "even": {}}
        overhead_kept = {"weighted": {}, "even": {}}
        # Overhead scopes: a pool's kube:system-overhead per day, a cluster's fee per day (no pool).
        groups = [((day, C.CLUSTER, POOL_NAMES[p]), amount, pool.get((day, p)))
                  for (day, p), amount in overhead.items()]
        groups += [((day, self.clusters[c], None), amount, in_cluster.get((day, c)))
                   for (day, c), amount in fee_groups.items()]
        for split in ("weighted", "even"):
            for (day, cluster, p), amount, weights in groups:
                if weights:
                    for r, part in _split(amount, weights, split == "weighted").items():
                        _add(overhead_share[split], r, part)
                else:
                    _add(overhead_kept[split], (cluster, p), amount)
        idle_by_pool, overhead_all = {}, {}
        for (day, p, kind), amount in idle.items():
            _add(idle_by_pool, POOL_NAMES[p], amount)
        for (day, cluster, p), amount, _ in groups:
            _add(overhead_all, (cluster, p), amount)
        return {"direct": direct, "lines_by_namespace": lines_by_namespace, "idle_by_pool": idle_by_pool,
                "idle_share": idle_share, "idle_kept": idle_kept, "overhead_all": overhead_all,
                "overhead_share": overhead_share, "overhead_kept": overhead_kept,
                "unattributed": unattributed, "commitment": commitment, "unused_commitment": unused}

    def allocation(self) -> tuple[dict, dict]:
        """(the `allocation` section of ground_truth.json, {run index: that run's figures by bucket and policy})."""
        parts = {c: self._allocate(c) for c in COMMITMENT_POLICIES}
        export_total = sum(self.lines.values())
        policies = {}
        for idle_policy, shared, commitments in itertools.product(IDLE_POLICIES, SHARED_POLICIES, COMMITMENT_POLICIES):
            a = parts[commitments]
            idle_on = idle_policy == "share"
            shares = a["overhead_share"].get(shared, {})
            total = dict(a["direct"])
            for source in ((a["idle_share"],) if idle_on else ()) + ((shares,) if shared != "separate" else ()):
                for r, amount in source.items():
                    _add(total, r, amount)
            namespaces = dict(a["lines_by_namespace"])
            for r, amount in total.items():
                _add(namespaces, self._recipient_namespace(r), amount - a["direct"].get(r, 0))
            idle_kept = a["idle_kept"] if idle_on else a["idle_by_pool"]
            idle_left = sum(idle_kept.values(), Fraction(0))
            overhead_left = sum((a["overhead_kept"][shared] if shared != "separate" else a["overhead_all"]).values(),
                                Fraction(0))
            # What stays idle or overhead keeps its namespace (the cluster fee has none).
            for key, amount in self._kept_by_namespace(a, idle_on, shared).items():
                _add(namespaces, key, amount)
            buckets = {
                "direct": sum(a["direct"].values(), Fraction(0)),
                "idle_share": sum(a["idle_share"].values(), Fraction(0)) if idle_on else Fraction(0),
                "overhead_share": sum(shares.values(), Fraction(0)) if shared != "separate" else Fraction(0),
                "idle": idle_left,
                "overhead": overhead_left,
                "unattributed": a["unattributed"],
                "commitment": a["commitment"],
                "unused_commitment": a["unused_commitment"],
            }
            if sum(buckets.values()) != export_total:
                raise AssertionError(f"allocation truth under {policy_key(idle_policy, shared, commitments)} does "
                                     f"not add up to the export total")
            pipelines, workloads = {}, {}
            for (kind, who), amount in total.items():
                if kind == "run":
                    _add(pipelines, self.runs[who].pipeline, amount)
                else:
                    _add(workloads, self.workloads[who][0], amount)
            policies[policy_key(idle_policy, shared, commitments)] = {
                "buckets": {k: money(v) for k, v in buckets.items()},
                "idle_by_node_pool": {p: money(idle_kept.get(p, Fraction(0))) for p in POOL_NAMES},
                "unused_commitment": money(a["unused_commitment"]),
                "namespaces": {k: money(v) for k, v in sorted(namespaces.items()) if v},
                "pipelines": {k: money(v) for k, v in sorted(pipelines.items())},
                "workloads": {k: money(v) for k, v in sorted(workloads.items())},
            }
        runs = {}
        for r in range(len(self.runs)):
            key = ("run", r)
            runs[r] = {
                "direct": {c: money(parts[c]["direct"].get(key, Fraction(0))) for c in COMMITMENT_POLICIES},
                "idle_share": {c: money(parts[c]["idle_share"].get(key, Fraction(0))) for c in COMMITMENT_POLICIES},
                "overhead_share": {s: {c: money(parts[c]["overhead_share"][s].get(key, Fraction(0)))
                                       for c in COMMITMENT_POLICIES} for s in ("weighted", "even")},
            }
        section = {
            "currency": C.CURRENCY,
            "export_total": money(export_total),
            "policies": policies,
        }
        return section, runs

    def _kept_by_namespace(self, a: dict, idle_on: bool, shared: str) -> dict:
        out = {}
        idle_kept = a["idle_kept"] if idle_on else a["idle_by_pool"]
        _add(out, IDLE_NAMESPACE, sum(idle_kept.values(), Fraction(0)))
        kept = a["overhead_kept"][shared] if shared != "separate" else a["overhead_all"]
        for (cluster, p), amount in kept.items():
            _add(out, OVERHEAD_NAMESPACE if p is not None else NO_NAMESPACE, amount)
        _add(out, NO_NAMESPACE, a["commitment"] + a["unused_commitment"])
        return out
