"""Properties of the fleet model that everything else relies on."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aipipe_ops.sample.billing_rows import SKU_INDEX, sku_cost_micros, split_exact
from aipipe_ops.sample.cluster import DAEMONSETS, DEPLOYMENTS, NODE_POOLS, daemonsets_for
from aipipe_ops.sample.fleet import build_fleet, run_counts
from aipipe_ops.sample.pipelines import MIN_RUNS, PIPELINES
from aipipe_ops.sample.placement import place_pods
from aipipe_ops.sample.skus import SKUS
from aipipe_ops.sample.tenants import tenant_pods, tenant_workloads

START = 1790812800  # 2026-10-01T00:00:00Z


@given(st.integers(min_value=MIN_RUNS, max_value=100_000))
def test_run_counts_add_up_and_keep_minimums(total):
    counts = run_counts(total)
    assert sum(counts.values()) == total
    assert all(counts[name] >= spec.min_runs for name, spec in PIPELINES.items())


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 10 ** 7), st.lists(st.integers(1, 10 ** 8), min_size=1, max_size=6)),
                min_size=1, max_size=20))
def test_split_exact_is_exact_and_fair(rows):
    totals = np.array([t for t, _ in rows], dtype=np.int64)
    row_of_part = np.array([i for i, (_, ws) in enumerate(rows) for _ in ws], dtype=np.int64)
    weights = np.array([w for _, ws in rows for w in ws], dtype=np.int64)
    row_weight = np.array([sum(ws) for _, ws in rows], dtype=np.int64)
    parts = split_exact(totals, row_of_part, weights, row_weight)
    sums = np.zeros(len(rows), dtype=np.int64)
    np.add.at(sums, row_of_part, parts)
    assert np.array_equal(sums, totals)
    exact = totals[row_of_part] * weights / row_weight[row_of_part]
    assert np.all(np.abs(parts - exact) < 1.0 + 1e-9)


def test_cost_rounding_matches_decimal_arithmetic():
    for sku in SKUS.values():
        for usage in (1, 999, 3600 * 7910, 12345678):
            exact = Decimal(usage) * Decimal(sku.price_nanos) / Decimal(sku.divisor * 1000)
            assert sku_cost_micros(usage, SKU_INDEX[sku.key]) == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_placement_never_exceeds_allocatable_capacity():
    fleet = build_fleet(120, 6, 3, START)
    pods = list(fleet.pods()) + tenant_pods(tenant_workloads(12, 3), fleet.start, fleet.end, 3)
    vms = place_pods(pods, fleet.start, fleet.end)
    events = []
    for p in pods:
        events += [(p.start, 1, p), (p.end, -1, p)]
    events.sort(key=lambda e: (e[0], e[1]))  # ends before starts at the same second
    used: dict[int, np.ndarray] = {}
    for t, sign, p in events:
        vm = vms[p.vm]
        assert vm.pool == p.pool and vm.created <= p.start and (p.end <= vm.deleted or vm.permanent)
        pool = NODE_POOLS[vm.pool]
        cap = np.array([pool.machine.allocatable_cpu_m - sum(d.cpu_m for d in daemonsets_for(pool))
                        - sum(DEPLOYMENTS[i].cpu_m for i in vm.deployments),
                        pool.machine.allocatable_memory_mib - sum(d.memory_mib for d in daemonsets_for(pool))
                        - sum(DEPLOYMENTS[i].memory_mib for i in vm.deployments),
                        pool.machine.gpus, pool.machine.tpu_chips])
        u = used.setdefault(p.vm, np.zeros(4, dtype=np.int64))
        u += sign * np.array([p.cpu_m, p.memory_mib, p.gpus, p.tpu_chips])
        assert np.all(u <= cap), (vm.name, t)
    assert {v.pool for v in vms} == set(NODE_POOLS)
    assert DAEMONSETS


def test_every_promised_scenario_is_in_the_smallest_fleet():
    fleet = build_fleet(MIN_RUNS, 3, 9, START)
    seen = {(r.pipeline, r.scenario) for r in fleet.runs}
    for pipeline, scenario in [("taxi-tfx", "ok"), ("taxi-tfx", "anomalies"), ("taxi-tfx", "fail"),
                               ("taxi-tfx", "retry"), ("taxi-tfx", "unblessed"), ("taxi-tfx", "hotfix"),
                               ("llm-finetune", "fail"), ("llm-finetune", "retry"), ("llm-finetune", "stuck"),
                               ("llm-finetune", "below_threshold"), ("penguin-tfx-v2", "unblessed"),
                               ("tpu-pretrain", "ok"), ("nightly-scoring", "ok")]:
        assert (pipeline, scenario) in seen
    retries = [r for r in fleet.runs if r.trigger == "retry"]
    assert retries and all(any(x.key == r.retry_of and x.state == "FAILED" for x in fleet.runs) for r in retries)
