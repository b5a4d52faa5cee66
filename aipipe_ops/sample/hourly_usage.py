"""Integer resource usage per (hour, node VM, owner, resource): what GKE cost allocation splits a VM's bill by.

Allocation is by requests x time (billing.md §2.1). One chunk covers whole hours [c0, c1). Owners:
- RUN: the pods of one pipeline run on that VM (all steps share the run's label set, so their usage merges);
  the per-step shares are kept beside the row ("parts") so the step truth can be split exactly later;
- DAEMONSET / DEPLOYMENT: kube-system and kubeflow pods (one row per workload label set);
- OVERHEAD: capacity - allocatable (`kube:system-overhead`);
- IDLE: allocatable (or accelerator capacity) not requested by any pod (`kube:unallocated`);
- TENANT: a notebook or model server sharing the cluster (tenants.py), one row per workload;
- DISK: the node's boot disk; EGRESS: inter-zone bytes sent by the pipeline pods on that VM.
Units: cpu millicore-seconds, ram MiB-seconds, gpu/tpu unit-seconds, disk GiB-seconds, network bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aipipe_ops.sample.cluster import DAEMONSETS, DEPLOYMENTS, NODE_POOLS, NodeVM, daemonsets_for
from aipipe_ops.sample.plan import Pod

RES_CPU, RES_RAM, RES_GPU, RES_TPU, RES_DISK, RES_NET = range(6)
RESOURCE_NAMES = ("cpu", "ram", "gpu", "tpu", "disk", "network")
(OWNER_RUN, OWNER_DAEMONSET, OWNER_DEPLOYMENT, OWNER_OVERHEAD, OWNER_IDLE, OWNER_DISK, OWNER_EGRESS,
 OWNER_TENANT) = range(8)
POOL_NAMES = tuple(NODE_POOLS)


@dataclass
class PodTable:
    start: np.ndarray
    end: np.ndarray
    vm: np.ndarray
    run: np.ndarray
    step: np.ndarray
    req: np.ndarray  # (n, 4): cpu_m, memory_mib, gpus, tpu_chips
    egress: np.ndarray

    @classmethod
    def for_tenants(cls, pods: list[Pod]) -> "PodTable":
        index = {p.run_key: int(p.run_key.split(":")[1]) for p in pods}
        return cls.build(pods, index, {p.step_key: -1 for p in pods})

    @classmethod
    def build(cls, pods: list[Pod], run_index: dict[str, int], step_index: dict[str, int]) -> "PodTable":
        return cls(
            start=np.array([p.start for p in pods], dtype=np.int64),
            end=np.array([p.end for p in pods], dtype=np.int64),
            vm=np.array([p.vm for p in pods], dtype=np.int64),
            run=np.array([run_index[p.run_key] for p in pods], dtype=np.int64),
            step=np.array([step_index[p.step_key] for p in pods], dtype=np.int64),
            req=np.array([[p.cpu_m, p.memory_mib, p.gpus, p.tpu_chips] for p in pods], dtype=np.int64).reshape(-1, 4),
            egress=np.array([p.egress_bytes for p in pods], dtype=np.int64),
        )


@dataclass
class VmTable:
    created: np.ndarray
    deleted: np.ndarray
    pool: np.ndarray  # index into POOL_NAMES
    capacity: np.ndarray  # (n, 4) cpu_m, memory_mib, gpus, tpu_chips
    allocatable: np.ndarray  # (n, 2) cpu_m, memory_mib
    bills_host: np.ndarray
    disk_gib: np.ndarray
    ds_req: np.ndarray  # (n, len(DAEMONSETS), 2): requests of each daemonset on this VM (0 if absent)
    vms: list[NodeVM]
    with_deployments: list[NodeVM]

    @classmethod
    def build(cls, vms: list[NodeVM]) -> "VmTable":
        n = len(vms)
        ds_req = np.zeros((n, len(DAEMONSETS), 2), dtype=np.int64)
        for v in vms:
            pool = NODE_POOLS[v.pool]
            for d in daemonsets_for(pool):
                j = DAEMONSETS.index(d)
                ds_req[v.index, j] = (d.cpu_m, d.memory_mib)
        pools = [NODE_POOLS[v.pool] for v in vms]
        return cls(
            created=np.array([v.created for v in vms], dtype=np.int64),
            deleted=np.array([v.deleted for v in vms], dtype=np.int64),
            pool=np.array([POOL_NAMES.index(v.pool) for v in vms], dtype=np.int64),
            capacity=np.array([[p.machine.cpu_m, p.machine.memory_mib, p.machine.gpus, p.machine.tpu_chips]
                               for p in pools], dtype=np.int64).reshape(-1, 4),
            allocatable=np.array([[p.machine.allocatable_cpu_m, p.machine.allocatable_memory_mib] for p in pools],
                                 dtype=np.int64).reshape(-1, 2),
            bills_host=np.array([p.machine.bills_host for p in pools], dtype=bool),
            disk_gib=np.array([p.disk_gib for p in pools], dtype=np.int64),
            ds_req=ds_req,
            vms=vms,
            with_deployments=[v for v in vms if v.deployments],
        )


@dataclass
class UsageRows:
    hour: np.ndarray  # epoch seconds of the hour's start
    vm: np.ndarray
    owner_kind: np.ndarray
    owner: np.ndarray  # run index / daemonset index / deployment index / 0
    resource: np.ndarray
    usage: np.ndarray
    part_row: np.ndarray  # step parts of RUN rows: row index, step index, usage
    part_step: np.ndarray
    part_usage: np.ndarray
    vm_hours: tuple[np.ndarray, np.ndarray, np.ndarray]  # (vm, hour, seconds) of every VM-hour in the chunk

    def __len__(self) -> int:
        return len(self.hour)


def hour_segments(start: np.ndarray, end: np.ndarray, c0: int, c1: int):
    """Split intervals [start, end) clipped to [c0, c1) at hour boundaries: (item index, hour start, seconds)."""
    s = np.maximum(start, c0)
    e = np.minimum(end, c1)
    keep = np.flatnonzero(e > s)
    s, e = s[keep], e[keep]
    h0 = s // 3600
    n = (e - 1) // 3600 - h0 + 1
    total = int(n.sum())
    item = np.repeat(keep, n)
    offset = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
    hour = (np.repeat(h0, n) + offset) * 3600
    seconds = np.minimum(np.repeat(e, n), hour + 3600) - np.maximum(np.repeat(s, n), hour)
    return item, hour, seconds


def _group(key: np.ndarray, values: np.ndarray):
    """Sum the rows of `values` (n, k) by `key`: (sorted unique keys, sums (m, k), inverse index)."""
    order = np.argsort(key, kind="stable")
    sk = key[order]
    if len(sk) == 0:
        return sk, values[:0], np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
    sums = np.add.reduceat(values[order], starts, axis=0)
    inverse = np.empty(len(key), dtype=np.int64)
    inverse[order] = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(sk)]))
    return sk[starts], sums, inverse


class _RowSink:
    def __init__(self):
        self.cols = {k: [] for k in ("hour", "vm", "owner_kind", "owner", "resource", "usage")}

    def add(self, hour, vm, owner_kind, owner, resource, usage):
        keep = usage > 0
        if not np.any(keep):
            return np.zeros(0, dtype=np.int64), keep
        n = int(keep.sum())
        base = sum(len(a) for a in self.cols["hour"])
        for name, value in (("hour", hour), ("vm", vm), ("owner_kind", owner_kind), ("owner", owner),
                            ("resource", resource), ("usage", usage)):
            arr = np.broadcast_to(np.asarray(value, dtype=np.int64), usage.shape)[keep]
            self.cols[name].append(arr)
        return base + np.arange(n, dtype=np.int64), keep

    def arrays(self):
        return {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)) for k, v in self.cols.items()}


def _pod_rows(sink: "_RowSink", pods: PodTable, vms: VmTable, lo: int, hi: int, owner_kind: int, with_parts: bool):
    """Rows of pods merged per (hour, VM, owner); with_parts keeps each row's split by step."""
    nvm = len(vms.vms)
    item, hour, sec = hour_segments(pods.start, pods.end, lo, hi)
    vm, owner, step = pods.vm[item], pods.run[item], pods.step[item]
    use = pods.req[item] * sec[:, None]  # (n, 4)
    use[~vms.bills_host[vm], 0:2] = 0  # TPU VM host cores/RAM are not billed (cluster.MachineType.bills_host)
    nown = int(pods.run.max()) + 1 if len(pods.run) else 1
    rel = (hour - lo) // 3600
    keys, sums, inv = _group((rel * nvm + vm) * nown + owner, use)
    g_owner = keys % nown
    g_vm = (keys // nown) % nvm
    g_hour = (keys // nown // nvm) * 3600 + lo
    parts = ([], [], [])
    for res in (RES_CPU, RES_RAM, RES_GPU, RES_TPU):
        row_ids, keep = sink.add(g_hour, g_vm, owner_kind, g_owner, res, sums[:, res])
        if not with_parts or len(row_ids) == 0:
            continue
        group_to_row = np.full(len(keys), -1, dtype=np.int64)
        group_to_row[np.flatnonzero(keep)] = row_ids
        seg_rows = group_to_row[inv]
        seg_use = use[:, res]
        ok = (seg_rows >= 0) & (seg_use > 0)
        pk, psum, _ = _group(seg_rows[ok] * (1 << 32) + step[ok], seg_use[ok][:, None])
        parts[0].append(pk >> 32)
        parts[1].append(pk & ((1 << 32) - 1))
        parts[2].append(psum[:, 0])
    segments = (rel * nvm + vm, pods.req[item] * sec[:, None], pods.egress[item] * sec
                // np.maximum(pods.end[item] - pods.start[item], 1))
    return parts, segments


def hourly_usage(pods: PodTable, vms: VmTable, c0: int, c1: int, window: tuple[int, int],
                 tenants: PodTable | None = None) -> UsageRows:
    lo, hi = max(c0, window[0]), min(c1, window[1])
    sink = _RowSink()
    nvm = len(vms.vms)

    # VM-hours: everything a node is billed for, whoever requested it.
    v_item, v_hour, v_sec = hour_segments(vms.created, vms.deleted, lo, hi)
    host = vms.bills_host[v_item]

    # Pipeline pods, merged per (hour, VM, run) since all steps of a run share its label set; the per-step
    # shares are kept beside the row for the step truth. Tenant pods: one row per workload.
    (part_rows, part_steps, part_usage), run_seg = _pod_rows(sink, pods, vms, lo, hi, OWNER_RUN, True)
    segs = [run_seg]
    if tenants is not None and len(tenants.start):
        _, tenant_seg = _pod_rows(sink, tenants, vms, lo, hi, OWNER_TENANT, False)
        segs.append(tenant_seg)
    seg_vh = np.concatenate([s[0] for s in segs])
    seg_req = np.concatenate([s[1] for s in segs])

    # Requests of everything on each VM-hour, to compute what is left idle.
    vh_key = ((v_hour - lo) // 3600) * nvm + v_item
    requested = np.zeros((len(v_item), 4), dtype=np.int64)
    if len(seg_vh):
        order = np.argsort(vh_key, kind="stable")
        pos = order[np.minimum(np.searchsorted(vh_key[order], seg_vh), len(order) - 1)]
        if not np.array_equal(vh_key[pos], seg_vh):
            raise AssertionError("a pod runs outside its node's lifetime: placement is inconsistent")
        np.add.at(requested, pos, seg_req)

    # kube-system DaemonSets on every node (not on TPU VMs, whose host is not billed).
    for j, _ in enumerate(DAEMONSETS):
        req = vms.ds_req[v_item, j]  # (n, 2)
        use = req * v_sec[:, None]
        use[~host] = 0
        requested[:, 0:2] += use
        sink.add(v_hour, v_item, OWNER_DAEMONSET, j, RES_CPU, use[:, 0])
        sink.add(v_hour, v_item, OWNER_DAEMONSET, j, RES_RAM, use[:, 1])

    # Long-lived deployments (KFP control plane, add-ons) on the permanent nodes.
    for v in vms.with_deployments:
        sel = np.flatnonzero(v_item == v.index)
        for j in v.deployments:
            d = DEPLOYMENTS[j]
            cpu = d.cpu_m * v_sec[sel]
            mem = d.memory_mib * v_sec[sel]
            requested[sel, 0] += cpu
            requested[sel, 1] += mem
            sink.add(v_hour[sel], v.index, OWNER_DEPLOYMENT, j, RES_CPU, cpu)
            sink.add(v_hour[sel], v.index, OWNER_DEPLOYMENT, j, RES_RAM, mem)

    cap = vms.capacity[v_item] * v_sec[:, None]
    alloc = vms.allocatable[v_item] * v_sec[:, None]
    overhead = cap[:, 0:2] - alloc
    overhead[~host] = 0
    idle = np.concatenate([alloc - requested[:, 0:2], cap[:, 2:4] - requested[:, 2:4]], axis=1)
    idle[~host, 0:2] = 0
    if np.any(idle < 0):
        raise AssertionError("requests exceed allocatable capacity: placement is inconsistent")
    for res in (RES_CPU, RES_RAM):
        sink.add(v_hour, v_item, OWNER_OVERHEAD, 0, res, overhead[:, res])
    for res in (RES_CPU, RES_RAM, RES_GPU, RES_TPU):
        sink.add(v_hour, v_item, OWNER_IDLE, 0, res, idle[:, res])
    sink.add(v_hour, v_item, OWNER_DISK, 0, RES_DISK, vms.disk_gib[v_item] * v_sec)

    # Inter-zone egress of the pipeline pods, spread evenly over each pod's life.
    if len(run_seg[0]):
        ek, esum, _ = _group(run_seg[0], run_seg[2][:, None])
        sink.add((ek // nvm) * 3600 + lo, ek % nvm, OWNER_EGRESS, 0, RES_NET, esum[:, 0])

    cols = sink.arrays()
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64)  # noqa: E731
    return UsageRows(cols["hour"], cols["vm"], cols["owner_kind"], cols["owner"], cols["resource"], cols["usage"],
                     cat(part_rows), cat(part_steps), cat(part_usage), (v_item, v_hour, v_sec))
