"""Step cost labels in the sample fleet (issue 15, docs/cost-model.md §6).

The pod cost-label policy (stacks/pod_cost_labels.py) is installed on the production cluster on a day inside the
window (`labels_since`): from then on GKE cost allocation exports each pod's usage with `k8s-label/aipipe/step`,
so a run's usage row of an hour becomes one row per step; before, the rows carry no step label, as on a live
cluster where the policy arrives late (GKE has no backfill). Some steps also launch a BigQuery job labelled the
way `aipipe_ops.pipeline_labels.cloud_job_labels()` labels it (`aipipe-run`, `aipipe-step`, `aipipe-pipeline`):
a row of the BigQuery service, billed to the step that launched it.

Both keep the ground truth exact: a split row's parts are whole rows of one step, and a job's cost is its step's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aipipe_ops.pipeline_labels import gcp_label_value, kubernetes_label_value
from aipipe_ops.sample.billing_rows import B, SKU_INDEX, SKU_LIST, _batch
from aipipe_ops.sample.hourly_usage import OWNER_RUN, UsageRows
from aipipe_ops.sample.plan import RunPlan

DAY = 86400
BIGQUERY_JOB_EVERY = 3  # every third KFP run with a step started after labels_since launches one job
BIGQUERY_BYTES = (50 << 30, 2 << 40)  # bytes a job scans (on-demand analysis is billed per TiB scanned)


def labels_since(window: tuple[int, int]) -> int:
    """The day the policy is installed: the start of the window's middle day (UTC)."""
    start, end = window
    return start + ((end - start) // DAY // 2) * DAY


@dataclass
class BigQueryJob:
    run: int  # run index
    step: int  # step index
    start: int  # usage hour (epoch seconds)
    bytes: int
    labels: tuple[tuple[str, str], ...]


@dataclass
class StepLabels:
    """The labelled period and the jobs of one fleet; `BillingPricer.step_labels` when set."""

    since: int
    step_names: list[str]  # by step index
    jobs: list[BigQueryJob] = field(default_factory=list)
    _labelsets: dict = field(default_factory=dict)

    @classmethod
    def for_fleet(cls, runs: list[RunPlan], step_index: dict[str, int], window: tuple[int, int],
                  seed: int) -> "StepLabels":
        names = [""] * len(step_index)
        for run in runs:
            for step in run.steps:
                names[step_index[step.key]] = step.step
        since = labels_since(window)
        rng = np.random.default_rng([seed, 15])
        jobs, eligible = [], 0
        for r, run in enumerate(runs):
            if run.orchestrator != "kfp-v2":
                continue
            step = next((s for s in run.steps if s.pods and s.state == "COMPLETE" and s.pods[0].start >= since
                         and s.pods[0].end <= window[1]), None)
            if step is None:
                continue
            eligible += 1
            if eligible % BIGQUERY_JOB_EVERY:
                continue
            hour = step.pods[0].start - step.pods[0].start % 3600
            labels = (("aipipe-pipeline", gcp_label_value(run.pipeline)), ("aipipe-run", gcp_label_value(run.key)),
                      ("aipipe-step", gcp_label_value(step.step)))
            jobs.append(BigQueryJob(r, step_index[step.key], hour, int(rng.integers(*BIGQUERY_BYTES)), labels))
        return cls(since, names, jobs)

    def split(self, u: UsageRows) -> tuple[UsageRows, np.ndarray]:
        """`u` with every run row of a labelled hour replaced by one row per step part, and each row's step
        (-1: no step label). Parts of the kept rows keep pointing at their rows."""
        n = len(u)
        if not n or not len(u.part_row):
            return u, np.full(n, -1, dtype=np.int64)
        labelled = (u.owner_kind == OWNER_RUN) & (u.hour >= self.since)
        # A labelled row must be wholly its parts (each part becomes a row); any remainder keeps an unlabelled row.
        part_sum = np.zeros(n, dtype=np.int64)
        np.add.at(part_sum, u.part_row, u.part_usage)
        split_rows = labelled & (part_sum > 0)
        residual = np.where(split_rows, u.usage - part_sum, 0)
        keep = ~split_rows | (residual > 0)
        kept = np.flatnonzero(keep)
        new_index = np.full(n, -1, dtype=np.int64)
        new_index[kept] = np.arange(len(kept))
        usage = np.where(split_rows, residual, u.usage)[kept]
        moved = split_rows[u.part_row]  # parts that become rows of their own
        p_keep = np.flatnonzero(~moved)
        p_move = np.flatnonzero(moved)
        src = u.part_row[p_move]
        m = len(kept)
        cat = lambda a, b: np.concatenate([a, b])  # noqa: E731
        rows = UsageRows(
            hour=cat(u.hour[kept], u.hour[src]), vm=cat(u.vm[kept], u.vm[src]),
            owner_kind=cat(u.owner_kind[kept], u.owner_kind[src]), owner=cat(u.owner[kept], u.owner[src]),
            resource=cat(u.resource[kept], u.resource[src]), usage=cat(usage, u.part_usage[p_move]),
            part_row=cat(new_index[u.part_row[p_keep]], m + np.arange(len(p_move))),
            part_step=cat(u.part_step[p_keep], u.part_step[p_move]),
            part_usage=cat(u.part_usage[p_keep], u.part_usage[p_move]),
            vm_hours=u.vm_hours)
        step = cat(np.full(m, -1, dtype=np.int64), u.part_step[p_move])
        return rows, step

    def labelsets(self, tables, labelset: np.ndarray, step: np.ndarray, runs: list[RunPlan],
                  run_of_row: np.ndarray) -> np.ndarray:
        """`labelset` with the pod cost labels added on the rows that have a step."""
        out = labelset.copy()
        for i in np.flatnonzero(step >= 0):
            key = (int(labelset[i]), int(step[i]))
            if key not in self._labelsets:
                run = runs[int(run_of_row[i])]
                base = list(tables.labelsets[key[0]])
                workflow = dict(run.labels).get("workflows.argoproj.io/workflow", "")
                pipeline = workflow[:-6] if len(workflow) > 6 and workflow[-6] == "-" else run.pipeline
                added = [("k8s-label/aipipe/pipeline", kubernetes_label_value(pipeline)),
                         ("k8s-label/aipipe/run", kubernetes_label_value(dict(run.labels).get("pipeline/runid", run.key))),
                         ("k8s-label/aipipe/step", kubernetes_label_value(self.step_names[key[1]]))]
                self._labelsets[key] = tables.labelset(sorted(base + [a for a in added if a[1]]))
            out[i] = self._labelsets[key]
        return out

    def job_rows(self, pricer, lo: int, hi: int):
        return job_rows(pricer, lo, hi)

    def jobs_in(self, c0: int, c1: int) -> list[BigQueryJob]:
        return [j for j in self.jobs if c0 <= j.start < c1]

    def describe(self) -> dict:
        """For ground_truth.json: when labels start and which steps launched a labelled job."""
        import time

        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
        return {"since": iso(self.since),
                "bigquery_jobs": [{"run_index": j.run, "step": self.step_names[j.step], "hour": iso(j.start),
                                   "bytes": j.bytes, "labels": dict(j.labels)} for j in self.jobs]}


def job_rows(pricer, lo: int, hi: int):
    """The BigQuery rows of the jobs started in [lo, hi), their cost added to their step's true cost."""
    jobs = pricer.step_labels.jobs_in(lo, hi)
    if not jobs:
        return _batch(0, start=0, end=0, sku=0, usage=0, cost=0, bucket=0, export_us=0, invoice=0)
    sku = SKU_INDEX["bigquery_analysis"]
    usage = np.array([j.bytes for j in jobs], dtype=np.int64)
    # Bytes x nanos/TiB overflows int64 (sku_cost_micros): priced in Python integers, rounded half up.
    price, divisor = SKU_LIST[sku].price_nanos, SKU_LIST[sku].divisor * 1000
    cost = np.array([(j.bytes * price + divisor // 2) // divisor for j in jobs], dtype=np.int64)
    start = np.array([j.start for j in jobs], dtype=np.int64)
    labelset = np.array([pricer.tables.labelset(list(j.labels)) for j in jobs], dtype=np.int64)
    batch = _batch(len(jobs), start=start, end=start + 3600, sku=sku, labelset=labelset,
                   location=pricer.region_location, usage=usage, cost=cost, bucket=B["direct"],
                   run=np.array([j.run for j in jobs], dtype=np.int64), export_us=0, invoice=0)
    np.add.at(pricer.truth.step_cost, np.array([j.step for j in jobs], dtype=np.int64), cost)
    return batch
