"""Training data from an unapproved source (WARNING): a source dataset in a model's provenance read from outside the
allowed prefixes (`aipipe audit --allowed-data gs://bucket/path/`, repeatable), or a dataset nothing produced.

A source dataset is a dataset in a model's provenance that came from outside the pipelines: one a KFP v2 importer
brought in (its URI is where the data was read from), or one that no execution in the store produced (put into
MLMD by hand or by a tool that records no execution). Datasets that pipeline steps wrote (into the pipeline root)
are not sources. With no --allowed-data prefix the rule reports only datasets with no producer; with prefixes, a
source whose URI starts with none of them is reported too (any scheme other than the allowed ones counts as
outside). Limitation: TFX ExampleGen's `input_base` is an execution property aipipe does not copy, so a TFX
pipeline's external input is not checked against the prefixes.
"""

from __future__ import annotations

from aipipe_ops.lineage import graph
from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.node_labels import short_run
from aipipe_ops.output import plural


class UnapprovedDataSource(AuditRule):
    name = "unapproved-data-source"
    severity = Severity.WARNING
    title = ("training data read from outside the --allowed-data prefixes, or a dataset with no producer "
             "(only the latter when no prefix is given)")

    def check(self, ctx: AuditContext):
        con = ctx.con
        allowed = tuple(p for p in ctx.options.get("allowed_data") or () if p)
        used: dict[int, list[int]] = {}
        for model_id, dataset_id, _hops, _ in graph.upstream_artifacts(con, kind="model", upstream_kinds=("dataset",)):
            used.setdefault(dataset_id, []).append(model_id)
        if not used:
            return []
        sources = con.execute(f"""
            SELECT a.artifact_id, a.uri,
                   list(p.execution_id ORDER BY p.execution_id) FILTER (WHERE p.execution_id IS NOT NULL) AS producers,
                   bool_and(coalesce(s.component = 'importer' OR s.type_name LIKE '%ImporterExecution', FALSE)) AS imported,
                   any_value(p.run_id) AS run_id
            FROM artifacts a
            LEFT JOIN lineage_producers p USING (artifact_id)
            LEFT JOIN steps s ON s.execution_id = p.execution_id
            WHERE a.artifact_id IN (SELECT unnest(CAST({sorted(used)} AS BIGINT[])))
            GROUP BY a.artifact_id, a.uri
            HAVING count(p.execution_id) = 0 OR bool_and(coalesce(s.component = 'importer'
                                                                  OR s.type_name LIKE '%ImporterExecution', FALSE))
            ORDER BY a.artifact_id
        """).fetchall()
        model_runs = dict(con.execute("""
            SELECT p.artifact_id, any_value(p.run_id) FROM lineage_producers p
            JOIN artifacts a ON a.artifact_id = p.artifact_id WHERE a.kind = 'model' GROUP BY p.artifact_id
        """).fetchall())
        findings = []
        for dataset_id, uri, producers, imported, run_id in sources:
            models = sorted(set(used[dataset_id]))
            reasons = []
            if not producers:
                reasons.append("no execution produced it (its origin is not recorded)")
            if allowed and not (uri or "").startswith(allowed):
                reasons.append(f"{uri or 'no URI'} is outside the allowed prefixes {', '.join(allowed)}")
            if not reasons:
                continue
            how = f"imported by #{', #'.join(map(str, producers))} (run {short_run(run_id)})" if producers else \
                "no producer"
            evidence = [f"dataset #{dataset_id} {uri or ''} ({how})".replace("  ", " ")]
            evidence += [f"-> model #{m} (run {short_run(model_runs.get(m))})" for m in models[:10]]
            if len(models) > 10:
                evidence.append(f"-> and {plural(len(models) - 10, 'more model')}")
            findings.append(self.finding(
                f"artifact {dataset_id}",
                f"dataset #{dataset_id} trained {plural(len(models), 'model')} from an unapproved source: "
                f"{'; '.join(reasons)}",
                evidence, [run_id] + [model_runs.get(m) for m in models]))
        return findings


RULE = UnapprovedDataSource()
