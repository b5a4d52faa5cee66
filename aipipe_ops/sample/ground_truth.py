"""ground_truth.json: what the generator put into the fleet, by run, step, artifact and bucket.

Money is exact: decimal strings of the summed micro-dollar integers, per currency. Buckets add up to the
export's total (Σ cost + Σ credits over all rows); a run's steps add up to the run's net cost. Ids are the MLMD
ids the store writer got. Format documented in docs/sample-fleet.md.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from aipipe_ops.sample.billing_rows import BUCKETS, Truth
from aipipe_ops.sample.cluster import CURRENCY, NodeVM
from aipipe_ops.sample.hourly_usage import POOL_NAMES
from aipipe_ops.sample.plan import Fleet

FORMAT = "aipipe-sample-ground-truth/1"


def money(micros: int) -> str:
    return format(Decimal(int(micros)).scaleb(-6), "f")


def iso(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _usd(micros: int) -> dict[str, str]:
    return {CURRENCY: money(micros)}


def build_ground_truth(fleet: Fleet, vms: list[NodeVM], truth: Truth, ids: dict, step_index: dict[str, int],
                       billing_rows: int, workloads: list | None = None) -> dict:
    exec_ids = ids["executions"]
    art_ids = {k: v[0] for k, v in ids["artifacts"].items()}
    art_uris = {k: v[1] for k, v in ids["artifacts"].items()}
    ctx_ids = ids["contexts"]
    runs = {}
    events = 0
    for r_index, run in enumerate(fleet.runs):
        steps = {}
        for step in run.steps:
            i = step_index[step.key]
            inputs = [{"key": k, "artifact_id": art_ids[a]} for k, a in step.inputs]
            outputs = [{"key": k, "artifact_id": art_ids[a]} for k, a in step.outputs + step.reused_outputs]
            events += len(inputs) + len(outputs)
            steps[str(exec_ids[step.key])] = {
                "step": step.step,
                "type": step.exec_type,
                "state": step.state,
                "node_pool": step.node_pool,
                "cached_from": exec_ids[step.cached_from] if step.cached_from else None,
                "parent_dag_id": exec_ids[step.parent] if step.parent else None,
                "created": iso(step.created),
                "updated": iso(step.updated),
                "pods": [{"name": p.name, "node": vms[p.vm].name, "node_pool": p.pool, "start": iso(p.start),
                          "end": iso(p.end)} for p in step.pods],
                "inputs": inputs,
                "outputs": outputs,
                "cost": _usd(truth.step_cost[i]),
                "credits": _usd(truth.step_credit[i]),
                "net_cost": _usd(truth.step_cost[i] + truth.step_credit[i]),
            }
        pipeline_ctx = "ctx:pipeline:" if run.orchestrator == "tfx" else "ctx:system.Pipeline:"
        run_ctx = f"ctx:pipeline_run:{run.key}" if run.orchestrator == "tfx" else f"ctx:system.PipelineRun:{run.key}"
        entry = {
            "pipeline": run.pipeline,
            "orchestrator": run.orchestrator,
            "kfp_run_uuid": run.kfp_run_uuid,
            "workflow": run.workflow,
            "namespace": run.namespace,
            "state": run.state,
            "trigger": run.trigger,
            "scenario": run.scenario,
            "retry_of": run.retry_of,
            "created": iso(run.created),
            "finished": iso(run.finished),
            "pipeline_context_id": ctx_ids[pipeline_ctx + run.pipeline],
            "run_context_id": ctx_ids[run_ctx],
            "labels": {f"k8s-label/{k}": v for k, v in run.labels},
            "cost": _usd(truth.run_cost[r_index]),
            "credits": _usd(truth.run_credit[r_index]),
            "net_cost": _usd(truth.run_cost[r_index] + truth.run_credit[r_index]),
            "steps": steps,
        }
        if run.orchestrator == "tfx":
            entry["anomalies_found"] = run.anomalies_found
        if truth.run_adjustment[r_index]:
            entry["adjustments"] = _usd(truth.run_adjustment[r_index])
        runs[run.key] = entry
    artifacts = {}
    for key, art in fleet.artifacts.items():
        if key not in art_ids:
            continue
        artifacts[str(art_ids[key])] = {"type": art.type_name, "uri": art_uris[key],
                                        "producer": exec_ids.get(art.producer)}
    net = truth.bucket_cost + truth.bucket_credit
    steps_all = [s for r in fleet.runs for s in r.steps]
    counts = {
        "runs": len(fleet.runs),
        "runs_by_state": dict(sorted(Counter(r.state for r in fleet.runs).items())),
        "runs_by_pipeline": dict(sorted(Counter(r.pipeline for r in fleet.runs).items())),
        "executions": len(steps_all),
        "executions_by_state": dict(sorted(Counter(s.state for s in steps_all).items())),
        "executions_by_type": dict(sorted(Counter(s.exec_type for s in steps_all).items())),
        "artifacts": len(artifacts),
        "artifacts_by_type": dict(sorted(Counter(a["type"] for a in artifacts.values()).items())),
        "events": events,
        "contexts": len(ctx_ids),
        "pods": sum(len(s.pods) for s in steps_all),
        "node_vms": len(vms),
        "billing_rows": billing_rows,
        "billing_rows_by_bucket": {b: int(truth.rows_by_bucket[i]) for i, b in enumerate(BUCKETS)},
    }
    allocation, run_allocation = truth.ledger.allocation() if truth.ledger is not None else (None, {})
    for r_index, run in enumerate(fleet.runs):
        if r_index in run_allocation:
            runs[run.key]["allocation"] = run_allocation[r_index]
    return {
        "format": FORMAT,
        "currency": CURRENCY,
        "export_total": _usd(int(net.sum())),
        "export_cost": _usd(int(truth.bucket_cost.sum())),
        "export_credits": _usd(int(truth.bucket_credit.sum())),
        "buckets": {CURRENCY: {b: money(net[i]) for i, b in enumerate(BUCKETS)}},
        "idle_by_node_pool": {p: _usd(truth.idle_by_pool[i]) for i, p in enumerate(POOL_NAMES)},
        "other_workloads": {w.name: {"kind": w.kind, "namespace": w.namespace, "node_pool": w.pool,
                                     "labels": {f"k8s-label/{k}": v for k, v in w.labels},
                                     "net_cost": _usd(truth.tenant_net[w.index])} for w in workloads or []},
        "runs": runs,
        **({"allocation": allocation} if allocation is not None else {}),
        "artifacts": artifacts,
        "counts": counts,
    }


def write_ground_truth(path: Path, truth: dict) -> None:
    """Indented for people at sample sizes; compact for benchmark fleets (tens of thousands of executions)."""
    compact = truth["counts"]["executions"] > 5000
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(truth, handle, indent=None if compact else 1, separators=(",", ":") if compact else None)
        handle.write("\n")
