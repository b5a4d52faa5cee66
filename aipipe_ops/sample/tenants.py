"""Workloads that share the cluster with the pipelines: Kubeflow notebook servers and KServe model servers.

Real ML platform clusters run more than pipelines. These pods sit in the same team namespaces, on the same
node pools, with their own labels and no run label: their rows are what a per-run attribution must leave out
(the `other_workloads` bucket). `--tenants N` sets how many there are; it is also the knob that makes a fleet
big (rows per hour) without making it busier in MLMD.
- notebook servers (StatefulSet `<name>`, pod `<name>-0`): US working-hours sessions on weekdays, culled at night;
- model servers (InferenceService predictors): always on, one or two replicas, some on the spot L4 pool.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from aipipe_ops.sample.cluster import TEAM_NAMESPACES
from aipipe_ops.sample.plan import Pod

DAY = 86400
USERS = ("alice", "bao", "carmen", "dmitri", "esra", "farid", "gita", "hugo", "ines", "jun", "kofi", "lena",
         "mateo", "nadia", "oskar", "priya", "quinn", "rosa", "sven", "tariq", "uma", "viktor", "wen", "yara")
SERVICES = ("taxi-tips-api", "support-llm-api", "churn-scorer", "eta-predictor", "fraud-screen", "search-rerank")


@dataclass(frozen=True)
class TenantWorkload:
    index: int
    kind: str  # "notebook" | "serving"
    name: str
    namespace: str
    pool: str
    cpu_m: int
    memory_mib: int
    gpus: int
    replicas: int
    labels: tuple[tuple[str, str], ...]


def tenant_workloads(count: int, seed: int) -> list[TenantWorkload]:
    rng = random.Random(f"aipipe-sample-tenants:{seed}")
    out = []
    for i in range(count):
        namespace = TEAM_NAMESPACES[i % len(TEAM_NAMESPACES)]
        if i % 10 not in (2, 5, 8):  # seven notebooks in ten workloads
            name = f"nb-{USERS[i % len(USERS)]}" + (f"-{i // len(USERS)}" if i >= len(USERS) else "")
            gpu = rng.random() < 0.1
            cpu, mem = (4000, 16384) if gpu else rng.choice([(1000, 4096), (2000, 8192), (4000, 16384)])
            out.append(TenantWorkload(i, "notebook", name, namespace, "gpu-l4-spot" if gpu else "cpu-pool", cpu, mem,
                                      1 if gpu else 0, 1,
                                      (("app", name), ("notebook-name", name), ("statefulset", name))))
        else:
            base = SERVICES[i % len(SERVICES)]
            name = base if i < 10 else f"{base}-{i}"
            gpu = "llm" in base or rng.random() < 0.2
            cpu, mem = (4000, 16384) if gpu else (2000, 8192)
            out.append(TenantWorkload(i, "serving", name, namespace, "gpu-l4-spot" if gpu else "cpu-pool", cpu, mem,
                                      1 if gpu else 0, rng.choice([1, 2]),
                                      (("app", f"{name}-predictor"), ("component", "predictor"),
                                       ("serving.kserve.io/inferenceservice", name))))
    return out


def tenant_pods(workloads: list[TenantWorkload], start: int, end: int, seed: int) -> list[Pod]:
    rng = random.Random(f"aipipe-sample-tenant-pods:{seed}")
    pods = []
    for w in workloads:
        key = f"tenant:{w.index}"
        if w.kind == "serving":
            for r in range(w.replicas):
                name = f"{w.name}-predictor-{rng.getrandbits(40):010x}-{rng.getrandbits(20):05x}"
                pods.append(Pod(name, w.pool, w.cpu_m, w.memory_mib, w.gpus, 0, start, end, key, key))
            continue
        day = start - start % DAY
        while day < end:
            weekday = (day // DAY + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
            if weekday < 5 or rng.random() < 0.15:
                s = day + int(rng.uniform(13.5, 16.5) * 3600)
                e = s + int(rng.uniform(4, 10) * 3600)
                s, e = max(s, start), min(e, end)
                if e > s:
                    pods.append(Pod(f"{w.name}-0", w.pool, w.cpu_m, w.memory_mib, w.gpus, 0, s, e, key, key))
            day += DAY
    return pods
