"""A model trained on examples whose validation found anomalies, where the store says so (WARNING).

Which examples an anomalies artifact judges: the nearest datasets in its provenance (ExampleValidator <-
statistics <- StatisticsGen <- examples). A model is reported when one of those datasets is in its provenance.

Where the store says so: TFX records the anomalies themselves in a file at the artifact's URI, which aipipe does
not read. The verdict is taken from the anomalies artifact's properties when a writer put one there:
`anomalies_found` / `has_anomalies` (true), `num_anomalies` / `anomaly_count` (> 0), or `blessed` = 0 — either a
number or, as newer writers do, a per-split struct such as {"train": 1, "eval": 0}. That struct is the
validator's verdict on data; it is never read as a model blessing (its kind is `anomalies`, not `blessing`).
An anomalies artifact without any of these says nothing, and the rule stays quiet about it.
"""

from __future__ import annotations

import json
from typing import Any

from aipipe_ops.lineage import graph
from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.node_labels import short_run
from aipipe_ops.output import plural

_TRUE_KEYS = ("anomalies_found", "has_anomalies")
_COUNT_KEYS = ("num_anomalies", "anomaly_count", "anomalies_count")


def _falsy_verdict(value: Any) -> bool:
    if isinstance(value, bool):
        return value is False
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, str):
        return value.strip().lower() in ("0", "0.0", "false")
    return False


def anomalies_verdict(properties: dict[str, Any]) -> str | None:
    """Why the properties say anomalies were found, or None when they do not say so."""
    for key in _TRUE_KEYS:
        if properties.get(key) in (True, 1, 1.0, "true", "True", "1"):
            return f"{key}={properties[key]}"
    for key in _COUNT_KEYS:
        value = properties.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return f"{key}={value:g}"
    blessed = properties.get("blessed")
    if isinstance(blessed, dict):
        failing = sorted(split for split, verdict in blessed.items()
                         if _falsy_verdict(verdict.get("blessed") if isinstance(verdict, dict) else verdict))
        if failing:
            return f"not blessed for split {', '.join(failing)}"
    elif blessed is not None and _falsy_verdict(blessed):
        return "blessed=0"
    return None


class TrainedOnAnomalies(AuditRule):
    name = "trained-on-anomalies"
    severity = Severity.WARNING
    title = "a model was trained on examples whose validation found anomalies"

    def check(self, ctx: AuditContext):
        con = ctx.con
        flagged: dict[int, dict[str, Any]] = {}
        for artifact_id, properties, validator, step, run_id in con.execute("""
                SELECT a.artifact_id, a.properties, e.execution_id, coalesce(s.step, s.component), s.run_id
                FROM artifacts a
                LEFT JOIN events e ON e.artifact_id = a.artifact_id AND e.direction = 'output'
                LEFT JOIN steps s ON s.execution_id = e.execution_id
                WHERE a.kind = 'anomalies' AND a.properties IS NOT NULL
                ORDER BY a.artifact_id""").fetchall():
            verdict = anomalies_verdict(json.loads(properties))
            if verdict:
                flagged[artifact_id] = {"verdict": verdict, "validator": validator, "step": step, "run": run_id}
        if not flagged:
            return []
        # The datasets each flagged report judges: the nearest ones in its provenance.
        judged: dict[int, list[int]] = {}
        nearest: dict[int, int] = {}
        for anomalies_id, dataset_id, hops, _ in graph.upstream_artifacts(con, artifact_ids=flagged,
                                                                          upstream_kinds=("dataset",)):
            if anomalies_id not in nearest or hops == nearest[anomalies_id]:
                nearest[anomalies_id] = hops
                judged.setdefault(dataset_id, []).append(anomalies_id)
        if not judged:
            return []
        findings = []
        model_rows = graph.upstream_artifacts(con, kind="model", upstream_kinds=("dataset",))
        model_runs = dict(con.execute("""
            SELECT p.artifact_id, any_value(p.run_id) FROM lineage_producers p
            JOIN artifacts a ON a.artifact_id = p.artifact_id WHERE a.kind = 'model' GROUP BY p.artifact_id
        """).fetchall())
        reported: dict[int, list[tuple[int, int, int]]] = {}
        for model_id, dataset_id, hops, _ in model_rows:
            for anomalies_id in judged.get(dataset_id, []):
                reported.setdefault(model_id, []).append((dataset_id, hops, anomalies_id))
        for model_id, hits in sorted(reported.items()):
            evidence = [f"model #{model_id} (run {short_run(model_runs.get(model_id))})"]
            runs = [model_runs.get(model_id)]
            reasons = []
            for dataset_id, hops, anomalies_id in hits:
                info = flagged[anomalies_id]
                evidence.append(f"<- dataset #{dataset_id} ({plural(hops, 'hop')} up)")
                evidence.append(f"   judged by anomalies #{anomalies_id} from {info['step'] or 'validator'} "
                                f"#{info['validator']} (run {short_run(info['run'])}): {info['verdict']}")
                runs.append(info["run"])
                reasons.append(f"dataset #{dataset_id}: {info['verdict']}")
            findings.append(self.finding(
                f"artifact {model_id}",
                f"model #{model_id} was trained on examples whose validation found anomalies ({'; '.join(reasons)})",
                evidence, runs))
        return findings


RULE = TrainedOnAnomalies()
