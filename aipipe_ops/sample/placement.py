"""Places every pod on a node VM, with the cluster autoscaler's behaviour, so billing knows which VM paid.

Per node pool: `min_nodes` permanent nodes live through the whole window (the cpu-pool's carry the KFP control
plane and cluster add-ons); a pod goes to the fullest node it fits on (requests, not usage, as GKE schedules);
when none fits the autoscaler adds a node, billed from NODE_BOOT_S before the pod starts; a node left without
pods for SCALE_DOWN_AFTER_S is removed. Deterministic: pods are placed in (start, name) order.
"""

from __future__ import annotations

import hashlib
import heapq

import numpy as np

from aipipe_ops.sample.cluster import (
    CLUSTER, DEPLOYMENTS, NODE_BOOT_S, NODE_POOLS, SCALE_DOWN_AFTER_S, ZONES, NodeVM, daemonsets_for,
)
from aipipe_ops.sample.plan import Pod


def _node_name(pool: str, zone: str, ordinal: int) -> str:
    group = hashlib.sha256(f"{CLUSTER}/{pool}/{zone}".encode()).hexdigest()[:8]
    suffix = hashlib.sha256(f"{pool}/{zone}/{ordinal}".encode()).hexdigest()[:4]
    return f"gke-{CLUSTER}-{pool}-{group}-{suffix}"


class _PoolState:
    """The live nodes of one pool. Arrays hold live nodes only (retired ones are dropped), so each placement
    costs O(live nodes) however many nodes the window has seen."""

    def __init__(self, name: str, vms: list[NodeVM], start: int, end: int):
        self.name = name
        self.pool = NODE_POOLS[name]
        m = self.pool.machine
        ds = daemonsets_for(self.pool)
        self.node_free = np.array([m.allocatable_cpu_m - sum(d.cpu_m for d in ds),
                                   m.allocatable_memory_mib - sum(d.memory_mib for d in ds), m.gpus, m.tpu_chips],
                                  dtype=np.int64)
        self.vms = vms
        self.end = end
        self.ordinal = 0
        self.n = 0  # live slots in use
        self.vm_index = np.zeros(8, dtype=np.int64)
        self.free = np.zeros((8, 4), dtype=np.int64)
        self.pods = np.zeros(8, dtype=np.int64)
        self.empty_since = np.zeros(8, dtype=np.int64)
        self.permanent = np.zeros(8, dtype=bool)
        for _ in range(self.pool.min_nodes):
            self._add_vm(start, permanent=True)

    def _grow(self) -> None:
        size = len(self.vm_index) * 2
        for name in ("vm_index", "free", "pods", "empty_since", "permanent"):
            old = getattr(self, name)
            new = np.zeros((size,) + old.shape[1:], dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _add_vm(self, created: int, permanent: bool = False) -> int:
        zone = ZONES[self.ordinal % len(ZONES)]
        vm = NodeVM(len(self.vms), self.name, _node_name(self.name, zone, self.ordinal), zone, created, self.end,
                    permanent)
        self.ordinal += 1
        self.vms.append(vm)
        if self.n == len(self.vm_index):
            self._grow()
        slot = self.n
        self.n += 1
        self.vm_index[slot] = vm.index
        self.free[slot] = self.node_free
        self.pods[slot] = 0
        self.empty_since[slot] = created
        self.permanent[slot] = permanent
        return slot

    def slot_of(self, vm_index: int) -> int:
        return int(np.flatnonzero(self.vm_index[: self.n] == vm_index)[0])

    def retire_idle(self, now: int) -> None:
        n = self.n
        idle = ~self.permanent[:n] & (self.pods[:n] == 0) & (now - self.empty_since[:n] > SCALE_DOWN_AFTER_S)
        if not idle.any():
            return
        for slot in np.flatnonzero(idle):
            self.vms[int(self.vm_index[slot])].deleted = int(self.empty_since[slot]) + SCALE_DOWN_AFTER_S
        keep = np.flatnonzero(~idle)
        for name in ("vm_index", "free", "pods", "empty_since", "permanent"):
            arr = getattr(self, name)
            arr[: len(keep)] = arr[keep]
        self.n = len(keep)

    def place(self, pod: Pod) -> int:
        """Return the VM index the pod lands on."""
        self.retire_idle(pod.start)
        need = np.array([pod.cpu_m, pod.memory_mib, pod.gpus, pod.tpu_chips], dtype=np.int64)
        n = self.n
        fits = np.flatnonzero(np.all(self.free[:n] >= need, axis=1))
        if len(fits):
            slot = int(fits[np.argmin(self.free[fits, 0])])
        else:
            if np.any(need > self.node_free):
                raise ValueError(f"pod {pod.name} does not fit on a {self.pool.machine.name} node")
            slot = self._add_vm(pod.start - NODE_BOOT_S)
        self.free[slot] -= need
        self.pods[slot] += 1
        return int(self.vm_index[slot])

    def release(self, vm_index: int, pod: Pod) -> None:
        slot = self.slot_of(vm_index)
        self.free[slot] += [pod.cpu_m, pod.memory_mib, pod.gpus, pod.tpu_chips]
        self.pods[slot] -= 1
        if self.pods[slot] == 0:
            self.empty_since[slot] = pod.end

    def finish(self) -> None:
        for slot in range(self.n):
            if not self.permanent[slot]:
                self.vms[int(self.vm_index[slot])].deleted = int(self.empty_since[slot]) + SCALE_DOWN_AFTER_S


def place_pods(pods: list[Pod], start: int, end: int) -> list[NodeVM]:
    """Assign pod.vm for every pod; return the node VMs with their billed lifetimes."""
    vms: list[NodeVM] = []
    pools = {name: _PoolState(name, vms, start, end) for name in NODE_POOLS}
    permanent_cpu = [vm for vm in vms if vm.pool == "cpu-pool" and vm.permanent]
    cpu_pool = pools["cpu-pool"]
    for i, _ in enumerate(DEPLOYMENTS):  # control plane and add-ons, spread over the permanent nodes
        vm = permanent_cpu[i % len(permanent_cpu)]
        vm.deployments.append(i)
        cpu_pool.free[cpu_pool.slot_of(vm.index)] -= [DEPLOYMENTS[i].cpu_m, DEPLOYMENTS[i].memory_mib, 0, 0]
    running: list[tuple[int, int]] = []  # (end, pod index)
    order = sorted(range(len(pods)), key=lambda i: (pods[i].start, pods[i].name))
    for i in order:
        pod = pods[i]
        while running and running[0][0] <= pod.start:
            _, j = heapq.heappop(running)
            pools[pods[j].pool].release(pods[j].vm, pods[j])
        pod.vm = pools[pod.pool].place(pod)
        heapq.heappush(running, (pod.end, i))
    while running:
        _, j = heapq.heappop(running)
        pools[pods[j].pool].release(pods[j].vm, pods[j])
    for state in pools.values():
        state.finish()
    return vms
